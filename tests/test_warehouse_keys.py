"""`validate --warehouse` checks the keys the project promises: a join declared to-one whose "one"
side repeats its key, or a primary key that repeats, multiplies numbers without any error."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import duckdb
import pytest
from engines import mysql_copy, postgres_copy
from helpers import run_cli as run

import semantic_layer as sl

DATA = """
CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, region_code VARCHAR, amount INTEGER);
INSERT INTO orders VALUES (1, 1, 'N', 100), (2, 2, 'S', 50), (3, NULL, NULL, 10);
CREATE TABLE customers (customer_id INTEGER, name VARCHAR);
INSERT INTO customers VALUES (1, 'ann'), (2, 'bob');
CREATE TABLE regions (region_id INTEGER, region_code VARCHAR, name VARCHAR);
INSERT INTO regions VALUES (1, 'N', 'north'), (2, 'N', 'north (old)'), (3, 'S', 'south'), (4, NULL, 'x'), (5, NULL, 'y');
CREATE TABLE order_lines (order_id INTEGER, line_no INTEGER, quantity INTEGER);
INSERT INTO order_lines VALUES (1, 1, 3), (1, 1, 3), (1, 2, 1), (2, NULL, 5);
"""

MODELS = """\
models:
  - name: orders
    table: orders
    primary_key: order_id
    joins:
      - model: regions
        on: orders.region_code = regions.region_code
        relationship: many_to_one
      - model: customers
        on: orders.customer_id = customers.customer_id
        relationship: many_to_one
    measures:
      - {name: revenue, agg: sum, expr: amount}
  - name: order_lines
    table: order_lines
    primary_key: [order_id, line_no]
    joins:
      - model: orders
        on: order_lines.order_id = orders.order_id
        relationship: many_to_one
  - name: customers
    table: customers
    primary_key: customer_id
  - name: regions
    table: regions
    primary_key: region_id
    dimensions:
      - name: name
metrics:
  - {name: revenue, type: simple, measure: orders.revenue}
"""

FIX_KEY = "fix the data, or declare as primary_key the columns that identify one row"
EXPECTED = [
    "models.yml:6:9: join 'regions' of model 'orders' is declared many_to_one, but model 'regions' is not unique on "
    "region_code: 1 key value has several rows (e.g. 2 rows have region_code = 'N'), so every number reached through "
    "this join is multiplied — many_to_many is not supported: declare the join one_to_many from the other side, or fix "
    "the data or the key",
    "models.yml:16:5: model 'order_lines': primary key (order_id, line_no) is not unique: 1 key value has several rows "
    f"(e.g. 2 rows have order_id = 1, line_no = 1) — {FIX_KEY}",
    f"models.yml:16:5: model 'order_lines': 1 row has a NULL primary key (a NULL in order_id or line_no) — {FIX_KEY}",
]


def duckdb_file(path: Path, sql: str = DATA) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(sql)
    return path


def project(root: Path, connection: str, models: str = MODELS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "semantic_layer.yml").write_text(f"name: keys\nconnection: {connection}\n")
    (root / "models.yml").write_text(models)
    return root


def on_duckdb(db: Path) -> AbstractContextManager[str]:
    return nullcontext(f"duckdb:///{db}")


ENGINES: dict[str, Callable[[Path], AbstractContextManager[str]]] = {
    "duckdb": on_duckdb,
    "postgres": postgres_copy,
    "mariadb": mysql_copy,
}


@pytest.fixture(params=sorted(ENGINES))
def connection(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with ENGINES[request.param](duckdb_file(tmp_path / "keys.duckdb")) as url:
        yield url


def test_repeated_keys_fail_validate_with_their_locations(
    tmp_path: Path, connection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # positions are printed relative to the working directory
    root = project(tmp_path / "p", connection)
    assert run("validate", "--project", str(root))[0] == 0  # the definitions alone are fine
    code, out, err = run("validate", "--project", str(root), "--warehouse")
    assert code == 1 and out == ""
    assert [line.removeprefix("p/") for line in err.splitlines()[:-1]] == EXPECTED
    assert err.splitlines()[-1] == "error: 3 warehouse problems"


def issues_of(tmp_path: Path, models: str, data: str) -> list[str]:
    root = project(tmp_path / "p", f"duckdb:///{duckdb_file(tmp_path / 'k.duckdb', data)}", textwrap.dedent(models))
    with sl.connect(root) as layer:
        return [f"{Path(i.file).name}:{i.line}:{i.column}: {i.message}" for i in layer.validate_warehouse()]


KEY_SHAPES = """\
    models:
      - name: orders
        table: orders
        primary_key: order_id
        joins:
          - model: invoices
            on: orders.invoice_no = invoices.invoice_no AND invoices.voided = false
            relationship: one_to_one
      - name: invoices
        table: invoices
        primary_key: invoice_id
      - name: sales
        table: sales
        primary_key: sale_id
        joins:
          - model: prices
            on: sales.product = prices.product AND sales.sold_on >= prices.valid_from AND sales.sold_on < prices.valid_to
            relationship: many_to_one
      - name: prices
        table: prices
        primary_key: [product, valid_from]
    """


def test_the_key_is_what_the_join_matches_on_each_side(tmp_path: Path) -> None:
    """one_to_one promises one row on both sides: two orders share invoice 'A'. The voided invoice
    repeating 'A' is not one the join can match, and several prices per product are what a validity
    range join is for: neither is reported."""
    data = (
        "CREATE TABLE orders AS SELECT * FROM (VALUES (1, 'A'), (2, 'A'), (3, 'B')) t(order_id, invoice_no);"
        "CREATE TABLE invoices AS SELECT * FROM (VALUES (1, 'A', false), (2, 'A', true), (3, 'B', false)) "
        "t(invoice_id, invoice_no, voided);"
        "CREATE TABLE sales AS SELECT 1 AS sale_id, 'p' AS product, DATE '2024-02-01' AS sold_on;"
        "CREATE TABLE prices AS SELECT * FROM (VALUES ('p', DATE '2024-01-01', DATE '2024-03-01'), "
        "('p', DATE '2024-03-01', DATE '2099-01-01')) t(product, valid_from, valid_to);"
    )
    assert issues_of(tmp_path, KEY_SHAPES, data) == [
        "models.yml:6:9: join 'invoices' of model 'orders' is declared one_to_one, but model 'orders' is not unique "
        "on invoice_no: 1 key value has several rows (e.g. 2 rows have invoice_no = 'A'), so a row of 'invoices' "
        "matches several rows of 'orders' — declare relationship: many_to_one, or fix the data or the key"
    ]


def test_a_sql_model_is_checked_as_a_subquery(tmp_path: Path) -> None:
    models = """\
        models:
          - name: orders
            table: orders
            primary_key: order_id
            joins:
              - {model: latest, on: orders.customer_id = latest.customer_id, relationship: many_to_one}
          - name: latest
            sql: SELECT customer_id, status FROM statuses WHERE status <> 'gone'
            primary_key: customer_id
        """
    data = (
        "CREATE TABLE orders AS SELECT * FROM (VALUES (1, 7)) t(order_id, customer_id);"
        "CREATE TABLE statuses AS SELECT * FROM (VALUES (7, 'new'), (7, 'paid'), (8, 'gone'), (8, 'new')) "
        "t(customer_id, status);"
    )
    assert issues_of(tmp_path, models, data) == [
        "models.yml:6:9: join 'latest' of model 'orders' is declared many_to_one, but model 'latest' is not unique "
        "on customer_id: 1 key value has several rows (e.g. 2 rows have customer_id = 7), so every number reached "
        "through this join is multiplied — many_to_many is not supported: declare the join one_to_many from the "
        "other side, or fix the data or the key",
        "models.yml:9:5: model 'latest': primary key customer_id is not unique: 1 key value has several rows (e.g. 2 "
        f"rows have customer_id = 7) — {FIX_KEY}",
    ]


def test_a_column_of_the_joined_side_of_on_must_be_in_its_table(tmp_path: Path) -> None:
    models = MODELS.replace("orders.customer_id = customers.customer_id", "orders.customer_id = customers.customer")
    data = DATA.replace("(1, 'N', 'north'), (2, 'N', 'north (old)')", "(1, 'N', 'north'), (2, 'E', 'east')")
    data = data.replace("(1, 1, 3), (1, 1, 3), (1, 2, 1), (2, NULL, 5)", "(1, 1, 3)")
    assert issues_of(tmp_path, models, data) == [
        "models.yml:9:9: join 'customers' of model 'orders': column 'customer' is not in table 'customers' of model "
        "'customers' — did you mean 'customer_id'?"
    ]
