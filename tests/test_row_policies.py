"""Row policies follow the data: a model whose rows come from a filtered table is filtered or refused.

A policy on `customers` must also hold for a model over the customers table under another name and
for a `sql:` model reading it. Such a model must join the filtered model (the policy then applies
through the join); otherwise the project does not load, and a compiler handed such a graph anyway
refuses the query with FORBIDDEN instead of answering with every row.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from helpers import make_project
from liveserver import LiveServer

import semantic_layer as sl
from semantic_layer import definitions as d
from semantic_layer.compiler.lineage import read_tables
from semantic_layer.graph import SemanticGraph
from server import ServerSettings, create_app

SECRET = "row-policy-test-secret-of-32-bytes!!"
POLICIES = """\
policies:
  - role: admin
  - role: regional
    rows:
      - model: customers
        where: "region_id = {{ user.region_id }}"
"""
# Reads the filtered table and joins the filtered model: the policy applies through the join.
JOINED = """\
models:
  - name: customer_orders
    sql: |
      SELECT c.customer_id, c.segment, COUNT(o.order_id) AS orders, COALESCE(SUM(o.amount), 0) AS amount
      FROM main.customers AS c LEFT JOIN orders AS o ON o.customer_id = c.customer_id
      GROUP BY c.customer_id, c.segment
    primary_key: customer_id
    joins:
      - model: customers
        on: customer_orders.customer_id = customers.customer_id
        relationship: one_to_one
    dimensions:
      - {name: segment}
    measures:
      - {name: ordered_amount, agg: sum, expr: amount}
      - {name: ordering_customers, agg: count, filter: "orders > 0"}
  - name: ship_modes
    sql: "SELECT ship_mode, SUM(quantity) AS quantity FROM order_lines GROUP BY ship_mode"
    primary_key: ship_mode
    dimensions:
      - {name: ship_mode}
    measures:
      - {name: shipped_quantity, agg: sum, expr: quantity}
metrics:
  - {name: ordered_amount, type: simple, measure: customer_orders.ordered_amount}
  - {name: ordering_customers, type: simple, measure: customer_orders.ordering_customers}
  - {name: shipped_quantity, type: simple, measure: ship_modes.shipped_quantity}
"""
# Reads the filtered table with no join to the filtered model: the policy cannot reach its rows.
LEAK = """\
models:
  - name: segment_sizes
    sql: |
      WITH sized AS (SELECT segment, COUNT(*) AS customers FROM main.Customers GROUP BY segment)
      SELECT segment, customers FROM sized
    primary_key: segment
    dimensions:
      - {name: segment}
    measures:
      - {name: segment_customers, agg: sum, expr: customers}
metrics:
  - {name: segment_customers, type: simple, measure: segment_sizes.segment_customers}
"""
LEAK_MESSAGE = (
    "model 'segment_sizes' reads table 'main.Customers', whose rows role 'regional' may see only through "
    "the row policy on model 'customers', but 'segment_sizes' has no to-one join path to 'customers'"
)
FIX = "declare a many_to_one join from 'segment_sizes' to 'customers', or remove the model"


def policy_project(root: Path, db: Path, *extra: str) -> Path:
    make_project(root, db)
    (root / "policies.yml").write_text(POLICIES)
    (root / "joined.yml").write_text(JOINED)
    for i, text in enumerate(extra):
        (root / f"extra{i}.yml").write_text(text)
    return root


def token(roles: list[str], **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"roles": roles, "exp": now + 600, "nbf": now - 1, **claims}, SECRET, algorithm="HS256")


REGIONAL = token(["regional"], region_id=2)
ADMIN = token(["admin"])
QUERY = "query Q($input: QueryInput!) { query(input: $input) { rows } }"


def gql(live: LiveServer, document: str, bearer: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{live.url}/graphql",
        json={"query": document, "variables": variables or {}},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def rows(live: LiveServer, bearer: str, **query: Any) -> list[tuple[Any, ...]]:
    body = gql(live, QUERY, bearer, {"input": query})
    assert body.get("data") is not None, body
    return [tuple(row.values()) for row in body["data"]["query"]["rows"]]


def wait_for(predicate: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


# -- over HTTP ------------------------------------------------------------------------------------
def test_over_http_a_joined_sql_model_is_filtered_and_a_leaking_one_is_never_served(
    tmp_path: Path, shop_db: Path, hand: Any
) -> None:
    root = policy_project(tmp_path / "p", shop_db)
    settings = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None, reload=True, reload_interval=0.1)
    with LiveServer(create_app(settings)) as live:
        # Reads customers and joins them: the rep sees their region's customers only.
        by_segment = """SELECT c.segment, SUM(COALESCE(o.amount, 0)), COUNT(DISTINCT o.customer_id)
                        FROM customers c LEFT JOIN orders o USING (customer_id) {where} GROUP BY 1 ORDER BY 1"""
        query = {
            "metrics": ["ordered_amount", "ordering_customers"],
            "dimensions": ["customer_orders.segment"],
            "orderBy": [{"member": "customer_orders.segment"}],
        }
        mine = hand(by_segment.format(where="WHERE c.region_id = 2"))
        everyone = hand(by_segment.format(where=""))
        assert mine != everyone
        assert rows(live, REGIONAL, **query) == [(s, float(a), n) for s, a, n in mine]
        assert rows(live, ADMIN, **query) == [(s, float(a), n) for s, a, n in everyone]
        # Unrelated to customers: the rep sees every row, as the admin does.
        shipped = hand("SELECT SUM(quantity) FROM order_lines")[0][0]
        assert rows(live, REGIONAL, metrics=["shipped_quantity"]) == [(shipped,)]

        # A change adding a model that reads customers without joining them is refused; the last
        # good version keeps serving, so the rep never sees every region's rows.
        (root / "leak.yml").write_text(LEAK)
        wait_for(lambda: bool(gql(live, "{ projectErrors { message } }", ADMIN)["data"]["projectErrors"]))
        errors = gql(live, "{ projectErrors { file line column message } }", ADMIN)["data"]["projectErrors"]
        assert [(e["file"].endswith("leak.yml"), e["line"], e["column"]) for e in errors] == [(True, 3, 5)]
        assert LEAK_MESSAGE in errors[0]["message"] and FIX in errors[0]["message"]
        body = gql(live, QUERY, REGIONAL, {"input": {"metrics": ["segment_customers"]}})
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNKNOWN_MEMBER"
        assert rows(live, REGIONAL, **query) == [(s, float(a), n) for s, a, n in mine]


# -- at load time ---------------------------------------------------------------------------------
def errors_of(root: Path) -> list[sl.Issue]:
    with pytest.raises(sl.ValidationError) as info:
        sl.load(root)
    return info.value.errors


def test_a_sql_model_reading_the_filtered_table_without_a_join_fails_to_load(tmp_path: Path, shop_db: Path) -> None:
    errors = errors_of(policy_project(tmp_path / "p", shop_db, LEAK))
    assert len(errors) == 1
    issue = errors[0]
    assert (issue.file.endswith("extra0.yml"), issue.line, issue.column) == (True, 3, 5)  # its `sql:`
    assert LEAK_MESSAGE in issue.message and FIX in issue.message


def test_every_role_filtering_the_table_is_named_once(tmp_path: Path, shop_db: Path) -> None:
    second = "policies:\n  - role: by_segment\n    rows:\n      - {model: customers, where: \"segment = 'smb'\"}\n"
    errors = errors_of(policy_project(tmp_path / "p", shop_db, LEAK, second))
    assert len(errors) == 1 and "rows roles 'by_segment', 'regional' may see only" in errors[0].message
    assert "so those roles would see every row of it" in errors[0].message


def test_a_model_over_the_filtered_table_under_another_name_must_join_it(tmp_path: Path, shop_db: Path) -> None:
    accounts = "models:\n  - name: accounts\n    table: main.CUSTOMERS\n    primary_key: customer_id\n"
    errors = errors_of(policy_project(tmp_path / "p", shop_db, accounts))
    assert len(errors) == 1 and (errors[0].line, errors[0].column) == (3, 5)  # its `table:`
    assert "model 'accounts' reads table 'main.CUSTOMERS'" in errors[0].message
    joined = accounts + (
        "    joins:\n      - {model: customers, on: accounts.customer_id = customers.customer_id, "
        "relationship: one_to_one}\n"
    )
    (tmp_path / "p" / "extra0.yml").write_text(joined)
    assert "accounts" in sl.load(tmp_path / "p").models


def test_a_policy_on_a_model_only_its_carriers_need_to_reach(tmp_path: Path, shop_db: Path) -> None:
    """Models unrelated to the filtered table (regions, order lines, a generated series) stay valid."""
    unrelated = (
        "models:\n  - name: numbers\n    sql: SELECT i AS n FROM range(10) AS r(i)\n    primary_key: n\n"
        "  - name: region_names\n    sql: SELECT region_id, name FROM regions\n    primary_key: region_id\n"
    )
    project = sl.load(policy_project(tmp_path / "p", shop_db, unrelated))
    assert {"numbers", "region_names", "ship_modes", "customer_orders"} <= set(project.models)


def test_the_crm_channel_months_model_that_leaked_no_longer_loads(tmp_path: Path) -> None:
    """The shipped model that showed a sales rep every region's channel revenue."""
    shutil.copytree(Path(__file__).resolve().parents[1] / "metrics", tmp_path / "crm")
    (tmp_path / "crm" / "channels.yml").write_text("""\
models:
  - name: channel_months
    sql: |
      WITH revenue AS (
        SELECT CAST(date_trunc('month', o.signed_at) AS DATE) AS month, c.channel_id, SUM(o.amount) AS amount
        FROM orders AS o JOIN customers AS c ON c.customer_id = o.customer_id GROUP BY 1, 2)
      SELECT r.month, ch.channel_id, SUM(r.amount) AS month_revenue
      FROM revenue AS r CROSS JOIN channels AS ch GROUP BY r.month, ch.channel_id
    primary_key: [month, channel_id]
    measures:
      - {name: month_revenue, agg: sum}
""")
    errors = errors_of(tmp_path / "crm")
    assert [(e.line, e.column) for e in errors] == [(3, 5)]
    assert (
        "model 'channel_months' reads table 'customers', whose rows role 'sales_rep' may see only through the "
        "row policy on model 'customers'"
    ) in errors[0].message


@pytest.mark.parametrize(
    ("sql", "tables"),
    [
        ("SELECT * FROM main.customers", {"customers": "main.customers"}),
        ('SELECT * FROM Main."Customers" AS c', {"customers": 'Main."Customers"'}),
        ("WITH customers AS (SELECT * FROM raw.customers) SELECT * FROM customers", {"customers": "raw.customers"}),
        ("WITH customers AS (SELECT * FROM customers WHERE x) SELECT * FROM customers", {"customers": "customers"}),
        ("WITH t AS (SELECT 1 AS x) SELECT * FROM t", {}),
        ("SELECT (SELECT MAX(x) FROM customers) AS m FROM a", {"a": "a", "customers": "customers"}),
        ("SELECT * FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.k = a.k)", {"a": "a", "b": "b"}),
        ("SELECT k FROM a UNION ALL SELECT k FROM (SELECT k FROM c) AS s", {"a": "a", "c": "c"}),
        ("SELECT i FROM range(10) AS r(i)", {}),
    ],
    ids=[
        "qualified",
        "quoted",
        "cte shadowing a table",
        "cte reading the table it shadows",
        "cte only",
        "scalar subquery",
        "exists",
        "union and subquery",
        "table function",
    ],
)
def test_the_tables_a_sql_model_reads(sql: str, tables: dict[str, str]) -> None:
    model = d.Model(name="m", sql=sql, primary_key="k")
    assert read_tables(model, "duckdb") == tables


# -- at query time --------------------------------------------------------------------------------
def leaking_layer(project: sl.Project) -> sl.Layer:
    """The project with the leaking model added behind validation's back, as a library caller could."""
    model = d.Model.model_validate(
        {
            "name": "segment_sizes",
            "primary_key": "segment",
            "sql": "SELECT segment, COUNT(*) AS customers FROM customers GROUP BY segment",
            "dimensions": [{"name": "segment"}],
            "measures": [{"name": "segment_customers", "agg": "sum", "expr": "customers"}],
        }
    )
    metric = d.SimpleMetric(name="segment_customers", type="simple", measure="segment_sizes.segment_customers")
    graph = SemanticGraph(
        project.settings, {**project.models, model.name: model}, {**project.metrics, metric.name: metric}
    )
    return sl.Layer(dataclasses.replace(project, graph=graph, models=graph.models, metrics=graph.metrics))


def test_the_compiler_refuses_a_role_whose_policy_cannot_reach_the_rows(tmp_path: Path, shop_db: Path) -> None:
    with leaking_layer(sl.load(policy_project(tmp_path / "p", shop_db))) as layer:
        rep = sl.Principal(("regional",), {"region_id": 2})
        for query in ({"metrics": ["segment_customers"]}, {"dimensions": ["segment_sizes.segment"]}):
            with pytest.raises(sl.ForbiddenError) as info:
                layer.query(principal=rep, **query)
            assert info.value.code == "FORBIDDEN"
            assert info.value.message == (
                "role 'regional' may not query model 'segment_sizes': it reads table 'customers', whose rows that "
                "role sees only through the row policy on model 'customers', and 'segment_sizes' has no to-one "
                "join path to 'customers' to apply it on — the project needs a many_to_one join from "
                "'segment_sizes' to 'customers'"
            )
        everyone = layer.query(metrics=["segment_customers"]).rows
        # Another role that sees every row makes the answer everyone's: nothing is withheld or leaked.
        both = sl.Principal(("regional", "admin"), {"region_id": 2})
        assert layer.query(principal=both, metrics=["segment_customers"]).rows == everyone
        # The rep's other questions are unaffected.
        assert layer.query(principal=rep, metrics=["customer_count"]).rows[0]["customer_count"] > 0
