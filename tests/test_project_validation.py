"""Loading and validation: every rule reports file, line, column and a fix, all in one pass."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

import semantic_layer as sl

BASE = """
models:
  - name: orders
    table: orders
    primary_key: order_id
    time: created_at
    joins:
      - model: customers
        on: orders.customer_id = customers.customer_id
        relationship: many_to_one
      - model: lines
        on: orders.order_id = lines.order_id
        relationship: one_to_many
    dimensions:
      - name: status
      - name: created_at
        type: time
    measures:
      - name: revenue
        agg: sum
        expr: amount
      - name: order_count
        agg: count
  - name: customers
    table: customers
    primary_key: customer_id
    dimensions:
      - name: region
  - name: lines
    table: lines
    primary_key: [order_id, line_no]
    dimensions:
      - name: sku
metrics:
  - {name: revenue, type: simple, measure: orders.revenue}
  - {name: order_count, type: simple, measure: orders.order_count}
"""


def write(root: Path, extra: str = "", base: str = BASE, settings: str = "name: t\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "semantic_layer.yml").write_text(settings)
    (root / "base.yml").write_text(base)
    if extra:
        (root / "extra.yml").write_text(textwrap.dedent(extra))
    return root


def errors_of(root: Path) -> list[sl.Issue]:
    with pytest.raises(sl.ValidationError) as info:
        sl.load(root)
    return info.value.errors


def test_a_valid_project_exposes_models_and_metrics(tmp_path: Path) -> None:
    project = sl.load(write(tmp_path))
    assert set(project.models) == {"orders", "customers", "lines"}
    assert project.metrics["revenue"].measure == "orders.revenue"  # type: ignore[union-attr]
    assert project.models["lines"].primary_keys == ["order_id", "line_no"]


def test_every_error_is_reported_in_one_pass_with_positions(tmp_path: Path) -> None:
    errs = errors_of(
        write(
            tmp_path,
            """
        metrics:
          - name: a
            type: simple
            measure: orders.revenu
          - name: b
            type: ratio
            numerator: revenue
            denominator: order_cnt
        """,
        )
    )
    assert len(errs) == 2
    first, second = errs
    assert first.file.endswith("extra.yml") and (first.line, first.column) == (5, 5)
    assert "unknown measure 'orders.revenu' — did you mean 'orders.revenue'" in first.message
    assert second.line == 9 and "did you mean 'order_count'" in second.message


def test_malformed_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    errs = errors_of(write(tmp_path, "metrics:\n  - name: x\n    type: [simple\n"))
    assert errs[0].file.endswith("extra.yml") and errs[0].line >= 3
    assert "invalid YAML" in errs[0].message


def test_an_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    errs = errors_of(write(tmp_path, "metrics:\n  - {name: x, type: simple, measure: orders.revenue, tiers: a}\n"))
    assert "unknown key 'tiers' — did you mean 'tier'" in errs[0].message


def test_an_unknown_top_level_key_is_an_error(tmp_path: Path) -> None:
    errs = errors_of(write(tmp_path, "metric:\n  - {name: x, type: simple, measure: orders.revenue}\n"))
    assert "unknown top-level key 'metric' — did you mean 'metrics'?" in errs[0].message


RULES = [
    ("duplicate model", "models:\n  - {name: orders, table: o2, primary_key: id}\n", "duplicate model name 'orders'"),
    (
        "join name shares the model namespace",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    joins:\n"
        "      - {name: customers, model: orders, on: m.id = customers.order_id, relationship: many_to_one}\n",
        "join name 'customers' is already a model name",
    ),
    (
        "unknown join target",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    joins:\n"
        "      - {model: customer, on: m.id = customer.id, relationship: many_to_one}\n",
        "join to unknown model 'customer' — did you mean 'customers'?",
    ),
    (
        "badly qualified on",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    joins:\n"
        "      - {model: customers, on: x.id = customers.id, relationship: many_to_one}\n",
        "column 'x.id' in 'on' must be qualified by 'm' or 'customers'",
    ),
    (
        "unparsable dimension expr",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    dimensions:\n      - {name: d, expr: 'a +* (b'}\n",
        "dimension 'd': 'a +* (b' is not valid SQL",
    ),
    (
        "expr names an unreachable model",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    dimensions:\n      - {name: d, expr: 'orders.status'}\n",
        "'orders' is neither model 'm' nor a join reachable from it",
    ),
    (
        "measure through a one_to_many join",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    joins:\n"
        "      - {model: lines, on: m.id = lines.order_id, relationship: one_to_many}\n"
        "    measures:\n      - {name: q, agg: sum, expr: lines.qty}\n",
        "is reached through a one_to_many join",
    ),
    (
        "percentile without its fraction",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    measures:\n      - {name: p, agg: percentile, expr: x}\n",
        "agg 'percentile' needs 'percentile:'",
    ),
    (
        "table and sql together",
        "models:\n  - {name: m, table: m, sql: 'select 1 as id', primary_key: id}\n",
        "exactly one of 'table:' or 'sql:'",
    ),
    ("names are snake_case", "models:\n  - {name: MyModel, table: m, primary_key: id}\n", "is not snake_case"),
    (
        "time names a non-time dimension",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    time: status\n    dimensions:\n      - name: status\n",
        "time 'status' names dimension of type 'string'",
    ),
    (
        "non_additive dimension unknown",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    measures:\n"
        "      - {name: v, agg: sum, non_additive: {dimension: snapshot_day}}\n",
        "non_additive dimension 'snapshot_day' is not a dimension",
    ),
    ("unknown metric type", "metrics:\n  - {name: x, type: conversions}\n", "unknown metric type 'conversions'"),
    (
        "ratio side unknown",
        "metrics:\n  - {name: x, type: ratio, numerator: revenue, denominator: nope}\n",
        "unknown metric 'nope'",
    ),
    (
        "derived expr names an unknown input",
        "metrics:\n  - {name: x, type: derived, expr: 'revenue / ordercount'}\n",
        "'ordercount', which is neither an input alias nor a metric — did you mean 'order_count'?",
    ),
    (
        "derived offset that does not parse",
        "metrics:\n  - name: x\n    type: derived\n    expr: p\n    inputs: [{metric: revenue, alias: p, offset: 1 fortnight}]\n",
        "is not an interval like '30 days'",
    ),
    (
        "cumulative over a non-simple metric",
        "metrics:\n  - {name: aov, type: ratio, numerator: revenue, denominator: order_count}\n"
        "  - {name: x, type: cumulative, metric: aov}\n",
        "must accumulate a simple metric; 'aov' is ratio",
    ),
    (
        "metric cycle",
        "metrics:\n  - {name: x, type: derived, expr: 'y + 1'}\n  - {name: y, type: derived, expr: 'x * 2'}\n",
        "depends on itself",
    ),
    (
        "metric filter names an unknown dimension",
        "metrics:\n  - {name: x, type: simple, measure: orders.revenue, filter: \"customers.regoin = 'n'\"}\n",
        "model 'customers' has no dimension 'regoin'",
    ),
    (
        "cumulative needs a time on its model",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    measures:\n      - {name: n, agg: count}\n"
        "metrics:\n  - {name: mn, type: simple, measure: m.n}\n  - {name: x, type: cumulative, metric: mn}\n",
        "model 'm' has no 'time:'",
    ),
    (
        "retention on an unknown model",
        "metrics:\n  - {name: x, type: retention, activity: order, entity: customer_id}\n",
        "unknown model 'order' — did you mean 'orders'?",
    ),
    (
        "retention on a model without a time",
        "metrics:\n  - {name: x, type: retention, activity: customers, entity: customer_id}\n",
        "retention metric 'x': activity model 'customers' has no 'time:', so its rows fall in no period",
    ),
    (
        "retention entity that misspells a column",
        "metrics:\n  - {name: x, type: retention, activity: orders, entity: custmer_id}\n",
        "entity 'custmer_id' reads 'custmer_id', which is not a known column of model 'orders' — did you mean "
        "'customer_id'?",
    ),
    (
        "retention entity through a one_to_many join",
        "metrics:\n  - {name: x, type: retention, activity: orders, entity: lines.sku}\n",
        "entity on model 'orders': 'lines.sku' is reached through a one_to_many join",
    ),
    (
        "retention entity that does not parse",
        "metrics:\n  - {name: x, type: retention, activity: orders, entity: 'a +* (b'}\n",
        "entity on model 'orders': 'a +* (b' is not valid SQL",
    ),
    (
        "retention offset below one",
        "metrics:\n  - {name: x, type: retention, activity: orders, entity: customer_id, offset: 0}\n",
        "greater than or equal to 1",
    ),
    (
        "retention period that is not a calendar period",
        "metrics:\n  - {name: x, type: retention, activity: orders, entity: customer_id, period: fiscal_year}\n",
        "period",
    ),
    (
        "deprecated metric replaced by an unknown one",
        "metrics:\n  - {name: x, type: simple, measure: orders.revenue, status: deprecated, replaced_by: revenu}\n",
        "replaced_by 'revenu' is not a metric — did you mean 'revenue'?",
    ),
    (
        "policy on an unknown model",
        "policies:\n  - role: r\n    rows: [{model: custmers, where: 'region = 1'}]\n",
        "row policy on unknown model 'custmers'",
    ),
    (
        "policy hides an unknown member",
        "policies:\n  - {role: r, hide: [customers.phone]}\n",
        "hide names unknown member 'customers.phone'",
    ),
    (
        "default role without a policy",
        "policies:\n  - {role: admin}\ndefault_role: viewer\n",
        "default_role 'viewer' has no policy",
    ),
    (
        "policy filters on a misspelled column",
        "policies:\n  - role: r\n    rows: [{model: customers, where: 'regoin = {{ user.region }}'}]\n",
        "row policy on 'customers': 'regoin' is not a known column of model 'customers' — did you mean 'region'?",
    ),
    (
        "policy filters on a misspelled column of a joined model",
        "policies:\n  - role: r\n    rows: [{model: orders, where: \"customers.regon = 'east' AND status = 'x'\"}]\n",
        "'regon' is not a known column of model 'customers' — did you mean 'region'?",
    ),
    (
        "policy on a sql model names a column it does not select",
        "models:\n  - {name: m, sql: 'SELECT id, region FROM t', primary_key: id}\n"
        "policies:\n  - role: r\n    rows: [{model: m, where: 'regio = 1'}]\n",
        "did you mean 'region'? (a policy may use the columns the sql of 'm' selects",
    ),
    (
        "model sql that does not parse",
        "models:\n  - name: m\n    sql: 'SELECT FROM WHERE ('\n    primary_key: id\n",
        "Expected table name",
    ),
    (
        "conversion base measure unknown",
        "metrics:\n  - {name: x, type: conversion, base: orders.order_cnt, conversion: orders.order_count, "
        "entity: customer_id}\n",
        "unknown measure 'orders.order_cnt' — did you mean 'orders.order_count'",
    ),
    (
        "conversion base that is not a count",
        "metrics:\n  - {name: x, type: conversion, base: orders.revenue, conversion: orders.order_count, "
        "entity: customer_id}\n",
        "base measure 'orders.revenue' is agg 'sum', but a conversion metric counts base events",
    ),
    (
        "conversion model without a time",
        "models:\n  - {name: m, table: m, primary_key: id, dimensions: [{name: customer_id}], "
        "measures: [{name: n, agg: count}]}\n"
        "metrics:\n  - {name: x, type: conversion, base: orders.order_count, conversion: m.n, entity: customer_id}\n",
        "conversion metric 'x': conversion model 'm' has no 'time:'",
    ),
    (
        "conversion entity not a column of one model",
        "models:\n  - {name: m, table: m, primary_key: id, time: t, measures: [{name: n, agg: count}]}\n"
        "metrics:\n  - {name: x, type: conversion, base: orders.order_count, conversion: m.n, entity: customer_id}\n",
        "entity 'customer_id' reads 'customer_id', which is not a known column of model 'm'",
    ),
    (
        "conversion entity through a one_to_many join",
        "metrics:\n  - {name: x, type: conversion, base: orders.order_count, conversion: orders.order_count, "
        "entity: lines.sku}\n",
        "entity on model 'orders': 'lines.sku' is reached through a one_to_many join",
    ),
    (
        "conversion window that does not parse",
        "metrics:\n  - {name: x, type: conversion, base: orders.order_count, conversion: orders.order_count, "
        "entity: customer_id, window: 3 fortnights}\n",
        "is not an interval like '30 days'",
    ),
    (
        "conversion metric filter that neither model reads",
        "metrics:\n  - {name: x, type: conversion, base: orders.order_count, conversion: orders.order_count, "
        "entity: customer_id, filter: \"lines.qty > 1 OR tickets.priority = 'high'\"}\n",
        "a filter of conversion metric 'x' is read on its base model 'orders', or else on its conversion model",
    ),
    (
        "two joins under one name",
        "models:\n  - name: m\n    table: m\n    primary_key: id\n    joins:\n"
        "      - {model: customers, on: m.a = customers.id, relationship: many_to_one}\n"
        "      - {model: customers, on: m.b = customers.id, relationship: many_to_one}\n",
        "joins twice under the name 'customers'",
    ),
]


@pytest.mark.parametrize(("extra", "message"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_each_validation_rule_reports_its_problem(tmp_path: Path, extra: str, message: str) -> None:
    errs = errors_of(write(tmp_path, extra))
    assert any(message in e.message for e in errs), [str(e) for e in errs]
    assert all(e.line >= 1 and e.column >= 1 for e in errs)


def test_a_conversion_metric_error_points_at_its_key(tmp_path: Path) -> None:
    extra = """
    metrics:
      - name: x
        type: conversion
        base: orders.revenue
        conversion: orders.order_count
        entity: customer_id
    """
    (err,) = errors_of(write(tmp_path, extra))
    assert err.file.endswith("extra.yml") and (err.line, err.column) == (5, 5), str(err)  # at `base:`
    assert "use a count measure (agg: count)" in err.message


def test_a_retention_entity_is_located_with_the_fix(tmp_path: Path) -> None:
    errs = errors_of(
        write(
            tmp_path,
            """
        metrics:
          - name: buyer_retention
            type: retention
            activity: orders
            entity: customers.regoin
        """,
        )
    )
    assert [(e.file.endswith("extra.yml"), e.line, e.column) for e in errs] == [(True, 6, 5)]
    assert errs[0].message == (
        "retention metric 'buyer_retention': entity 'customers.regoin' reads 'regoin', which is not a known "
        "column of model 'customers' — did you mean 'region'? (an entity may use the columns the key, time, "
        "dimensions, measures, segments and joins of 'customers' read; declare the column as a dimension of "
        "'customers' if its source has it)"
    )


def test_a_retention_metric_of_known_parts_loads(tmp_path: Path) -> None:
    project = sl.load(
        write(
            tmp_path, "metrics:\n  - {name: r, type: retention, activity: orders, entity: customer_id, period: week}\n"
        )
    )
    assert project.metrics["r"].period == "week"  # type: ignore[union-attr]


def test_a_misspelled_policy_column_is_located_with_the_fix(tmp_path: Path) -> None:
    errs = errors_of(
        write(
            tmp_path,
            """
        policies:
          - role: rep
            rows:
              - model: customers
                where: "regoin = {{ user.region }}"
        """,
        )
    )
    assert [(e.file.endswith("extra.yml"), e.line, e.column) for e in errs] == [(True, 6, 9)]
    assert errs[0].message == (
        "row policy on 'customers': 'regoin' is not a known column of model 'customers' — did you mean 'region'? "
        "(a policy may use the columns the key, time, dimensions, measures, segments and joins of 'customers' "
        "read; declare the column as a dimension of 'customers' if its source has it)"
    )


def test_policy_columns_may_be_keys_join_columns_or_selected_by_sql(tmp_path: Path) -> None:
    project = sl.load(
        write(
            tmp_path,
            """
        models:
          - {name: m, sql: 'SELECT id, owner FROM t', primary_key: id}
        policies:
          - role: rep
            rows:
              - {model: customers, where: "customer_id = {{ user.customer }} AND Region <> 'x'"}
              - {model: orders, where: "customers.customer_id > 0 AND amount > 0 AND orders.created_at IS NOT NULL"}
              - {model: m, where: "owner = {{ user.name }}"}
        """,
        )
    )
    assert [len(p.rows) for p in project.policies] == [3]


def test_default_role_in_a_policy_file_is_accepted(tmp_path: Path) -> None:
    project = sl.load(write(tmp_path, "policies:\n  - {role: admin}\ndefault_role: admin\n"))
    assert project.settings.default_role == "admin"


def test_environment_names_the_project_and_overrides_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write(tmp_path / "proj", settings="name: t\nconnection: duckdb:///nowhere.duckdb\n")
    monkeypatch.setenv("SEMANTIC_LAYER_PROJECT", str(root))
    monkeypatch.setenv("SEMANTIC_LAYER_CONNECTION", "duckdb:///:memory:")
    project = sl.load()
    assert project.root == root.resolve()
    assert project.settings.connection == "duckdb:///:memory:"


def test_relative_duckdb_paths_are_read_from_the_project_folder(tmp_path: Path) -> None:
    root = write(tmp_path, settings="name: t\nconnection: duckdb:///data/x.duckdb\n")
    assert sl.load(root).connection_url() == f"duckdb:///{(root / 'data' / 'x.duckdb').resolve()}"


def test_a_missing_project_folder_is_a_clear_error(tmp_path: Path) -> None:
    errs = errors_of(tmp_path / "absent")
    assert "project folder not found" in errs[0].message


def test_a_folder_without_settings_is_not_taken_for_an_empty_project(tmp_path: Path) -> None:
    for root in (tmp_path / "empty", write(tmp_path / "no_settings")):
        root.mkdir(exist_ok=True)
        (root / "semantic_layer.yml").unlink(missing_ok=True)
        errs = errors_of(root)
        assert len(errs) == 1 and (errs[0].file, errs[0].line) == (str(root.resolve()), 1)
        assert errs[0].message.startswith(f"no semantic_layer.yml in {root.resolve()} — is this the project folder?")


def test_a_project_without_models_is_an_error(tmp_path: Path) -> None:
    errs = errors_of(write(tmp_path / "p", base="metrics: []\n"))
    assert len(errs) == 1 and errs[0].file.endswith("semantic_layer.yml")
    assert (
        errs[0].message == f"the project in {(tmp_path / 'p').resolve()} defines no models — add a YAML file "
        "there with a 'models:' list"
    )
    broken = errors_of(write(tmp_path / "q", base="models:\n  - {name: m, primary_key: id}\n"))
    assert [e.message for e in broken] == ["'m': a model needs exactly one of 'table:' or 'sql:'"]


def test_bad_settings_are_located_in_semantic_layer_yml(tmp_path: Path) -> None:
    errs = errors_of(write(tmp_path, settings="name: t\nweek_start: friday\nfiscal_year_start_month: 13\n"))
    assert {e.line for e in errs} == {2, 3}
    assert all(e.file.endswith("semantic_layer.yml") for e in errs)


def located(errs: list[sl.Issue], root: Path) -> list[str]:
    return [f"{os.path.relpath(e.file, root)}:{e.line}:{e.column}: {e.message}" for e in errs]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "metrics:\n  - name: x\n    type: simple\n    measure: orders.revenue\n    measure: orders.order_count\n",
            "extra.yml:5:5: duplicate key 'measure': it is already set at line 4, column 5 — YAML would silently keep only "
            "the last one; remove one of them",
        ),
        (
            "metrics:\n  - {name: x, type: simple, measure: orders.revenue}\nmetrics:\n  - {name: y, type: simple, "
            "measure: orders.revenue}\n",
            "extra.yml:3:1: duplicate key 'metrics': it is already set at line 1, column 1 — YAML would silently keep only "
            "the last one; remove one of them",
        ),
    ],
    ids=["in a metric", "a second metrics: list"],
)
def test_a_key_given_twice_in_a_mapping_is_an_error(tmp_path: Path, extra: str, expected: str) -> None:
    assert located(errors_of(write(tmp_path, extra)), tmp_path) == [expected]


@pytest.mark.parametrize(
    ("extra", "kind", "first"),
    [
        ("metrics:\n  - name: revenue\n    type: simple\n    measure: orders.order_count\n", "metric", "base.yml:35:6"),
        ("models:\n  - name: customers\n    table: clients\n    primary_key: id\n", "model", "base.yml:24:5"),
    ],
    ids=["metric", "model"],
)
def test_a_name_defined_again_in_another_file_points_at_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, kind: str, first: str
) -> None:
    """Whichever definition is the new one, its location is reported with the other."""
    monkeypatch.chdir(tmp_path)  # positions in messages are relative to the working directory
    name = extra.split("name: ")[1].split("\n")[0]
    assert sorted(located(errors_of(write(tmp_path, extra)), tmp_path)) == [
        f"{first}: duplicate {kind} name '{name}' (also defined at extra.yml:2:5)",
        f"extra.yml:2:5: duplicate {kind} name '{name}' (also defined at {first})",
    ]


def test_yes_no_on_off_are_words_not_booleans(tmp_path: Path) -> None:
    """YAML 1.1 reads them as booleans: synonyms [no, on] became 'False' and 'True', a label No was refused."""
    project = sl.load(
        write(
            tmp_path,
            "metrics:\n  - {name: x, type: simple, measure: orders.revenue, label: No,\n"
            "     synonyms: [no, on, Yes, off]}\n",
        )
    )
    metric = project.metrics["x"]
    assert (metric.label, metric.synonyms) == ("No", ["no", "on", "Yes", "off"])


def test_off_is_not_a_number_of_seconds(tmp_path: Path) -> None:
    """YAML 1.1 read `off` as false, which pydantic took for 0: the cache was silently disabled."""
    errs = errors_of(write(tmp_path, settings="name: t\ncache: {ttl_seconds: off}\n"))
    assert located(errs, tmp_path) == [
        "semantic_layer.yml:2:9: 't': ttl_seconds: Input should be a valid integer, unable to parse string as an "
        "integer"
    ]


def test_a_value_yaml_does_not_read_as_text_is_to_be_quoted(tmp_path: Path) -> None:
    errs = errors_of(
        write(
            tmp_path,
            "metrics:\n  - {name: x, type: simple, measure: orders.revenue, label: 2024,\n     description: true}\n",
        )
    )
    assert located(errs, tmp_path) == [
        "extra.yml:2:54: 'x': label: YAML reads this value as the number 2024, not text — put it in quotes",
        "extra.yml:3:6: 'x': description: YAML reads this value as the boolean true, not text — put it in quotes",
    ]


def test_a_tab_indented_file_says_tabs_are_the_problem(tmp_path: Path) -> None:
    errs = errors_of(write(tmp_path, "metrics:\n\t- name: x\n\t  type: simple\n"))
    assert located(errs, tmp_path) == [
        "extra.yml:2:1: invalid YAML: a tab character — YAML indents with spaces only; replace the tabs with spaces"
    ]


def test_a_file_not_in_utf8_is_located_not_a_crash(tmp_path: Path) -> None:
    root = write(tmp_path)
    (root / "extra.yml").write_bytes(
        "metrics:\n  - {name: x, type: simple, measure: orders.revenue, label: 成交}\n".encode("gbk")
    )
    assert located(errors_of(root), tmp_path) == [
        "extra.yml:2:61: the file is not UTF-8 text (byte 0xb3) — save it with the UTF-8 encoding"
    ]


def test_a_dimension_reaching_through_a_one_to_many_join_does_not_load(tmp_path: Path) -> None:
    """Its value would repeat each order once per line: counted by it, orders were counted twice."""
    base = BASE.replace(
        """      - name: status
""",
        """      - name: status
      - name: line_sku
        expr: "lines.sku"
""",
    )
    (error,) = errors_of(write(tmp_path, base=base))
    assert error.file.endswith("base.yml") and (error.line, error.column) == (17, 9)  # its expr
    assert "dimension 'line_sku'" in error.message and "one_to_many join" in error.message
    assert "declare the dimension on that model" in error.message


THRESHOLD = "metrics:\n  - name: x\n    type: simple\n    measure: orders.revenue\n    thresholds:\n{}"


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        (
            "      warn: {}\n",
            "extra.yml:6:7: 'x': warn: a threshold level needs 'above:', 'below:' or both (e.g. {above: 0.12})",
        ),
        (
            "      warn: {above: 5, below: 10}\n",
            "extra.yml:6:7: 'x': warn: above (5) must be greater than below (10): the level fires outside the band "
            "between them, and this band is empty, so it would fire for every value",
        ),
        (
            "      warn: {above: 10}\n      critical: {above: 5}\n",
            "extra.yml:5:5: 'x': thresholds: critical above (5) is not beyond warn above (10): a critical level must "
            "be the further one, so that a value crosses warn first — swap them",
        ),
        (
            "      warn: {below: 10}\n      critical: {below: 10}\n",
            "extra.yml:5:5: 'x': thresholds: critical below (10) is not beyond warn below (10): a critical level must "
            "be the further one, so that a value crosses warn first — lower critical below",
        ),
        (
            "      grain: monthly\n      warn: {below: 10}\n",
            "extra.yml:6:7: 'x': grain: Input should be 'hour', 'day', 'week', 'month', 'quarter', 'year', "
            "'fiscal_quarter' or 'fiscal_year'",
        ),
        ("      warn: {abov: 10}\n", "extra.yml:6:14: 'x': unknown key 'abov' — did you mean 'above'?"),
    ],
    ids=[
        "a level without a bound",
        "an empty band",
        "critical short of warn",
        "critical equal to warn",
        "grain",
        "key",
    ],
)
def test_thresholds_are_checked_at_load_with_their_position(tmp_path: Path, levels: str, expected: str) -> None:
    assert located(errors_of(write(tmp_path, THRESHOLD.format(levels))), tmp_path) == [expected]


def test_thresholds_whose_question_does_not_compile_are_refused_at_their_grain(tmp_path: Path) -> None:
    """Alerts judge a metric by period at its thresholds' grain: a retention by quarter judged by
    month, or a metric of a model without time, would break every evaluation of the project's alerts."""
    extra = """\
    metrics:
      - {name: buyers_kept, type: retention, activity: orders, entity: customer_id, period: quarter,
         thresholds: {grain: month, warn: {below: 0.5}}}
      - {name: regions, type: simple, measure: customers.region_count, thresholds: {warn: {below: 1}}}
    """
    base = BASE.replace(
        "      - name: region\n", "      - name: region\n    measures:\n      - {name: region_count, agg: count}\n"
    )
    assert located(errors_of(write(tmp_path, extra, base=base)), tmp_path) == [
        "extra.yml:3:19: metric 'buyers_kept': thresholds judged by metric_time:month: retention metric "
        "'buyers_kept' has period 'quarter' and cannot be grouped by 'metric_time:month' — group it by "
        "'metric_time:quarter'; for retention at another grain or offset (a cohort view), define one retention "
        "metric per period and offset",
        "extra.yml:4:68: metric 'regions': thresholds judged by metric_time:month: model 'customers' has no "
        "'time:' so its measures cannot be grouped or filtered by metric_time — add 'time: <column>' to model "
        "'customers' (while grouping metrics on model 'customers' by 'metric_time:month')",
    ]


def test_thresholds_on_both_sides_and_independent_levels_load(tmp_path: Path) -> None:
    levels = "      grain: week\n      warn: {above: 10, below: 2}\n      critical: {below: 0}\n"
    metric = sl.load(write(tmp_path, THRESHOLD.format(levels))).metrics["x"]
    assert metric.thresholds is not None and [name for name, _ in metric.thresholds.levels()] == ["critical", "warn"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            "alerts: {every: soon}\n",
            [
                "semantic_layer.yml:2:10: 't': every: 'soon' is not a duration like '15 minutes', '1 hour' or "
                "'30 seconds' (units: seconds, minutes, hours, days; a whole number above 0)"
            ],
        ),
        (
            "alerts:\n  webhooks:\n    - {url: 'ftp://x', format: teams}\n",
            [
                "semantic_layer.yml:4:8: 't': url: a webhook is an http:// or https:// URL (without spaces)",
                "semantic_layer.yml:4:24: 't': format: Input should be 'generic', 'slack', 'wecom' or 'dingtalk'",
            ],
        ),
        ("alerts: {webhook: []}\n", ["semantic_layer.yml:2:10: 't': unknown key 'webhook' — did you mean 'webhooks'?"]),
    ],
    ids=["every", "webhook", "key"],
)
def test_alert_settings_are_checked_at_load(tmp_path: Path, settings: str, expected: list[str]) -> None:
    assert located(errors_of(write(tmp_path, settings=f"name: t\n{settings}")), tmp_path) == expected


def test_alert_settings_load() -> None:
    from semantic_layer.definitions import AlertSettings, parse_duration

    alerts = AlertSettings.model_validate(
        {
            "every": "15 minutes",
            "webhooks": [{"url": "https://example.com/hook"}, {"url": "http://h/x", "format": "wecom"}],
        }
    )
    assert [w.format for w in alerts.webhooks] == ["generic", "wecom"]
    assert [parse_duration(t) for t in ("15 minutes", "1 hour", "30 seconds", "2h", "1 DAY", "90s")] == [
        900,
        3600,
        30,
        7200,
        86400,
        90,
    ]
    for bad in ("0 minutes", "1.5 hours", "15", "a while", "1 month"):
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(bad)
