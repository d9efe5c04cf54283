"""`semantic-layer export cube`: what the CRM project becomes, what is reported instead, and the command.

That Cube compiles the model and answers like this layer is tests/test_cube_equivalence.py (slow).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from semantic_layer.cli import app
from semantic_layer.interop.cube import REPORT_FILE, CubeExport, export_cube
from semantic_layer.project import load

METRICS = Path(__file__).resolve().parents[1] / "metrics"
INEXPRESSIBLE = {
    "customer_base": "cumulative",
    "customer_growth_rate": "offset",
    "retention_rate": "retention",
    "retention_rate_2q": "retention",
    "retention_rate_3q": "retention",
    "retention_rate_4q": "retention",
    "churn_rate": "retention_rate",
    "lead_to_win_rate_90d": "conversion",
    "overdue_receivables": "semi-additive",
    "pipeline_value": "semi-additive",
    "customer_lifetime_value": "different models",
    "complaint_rate": "different models",
    "channel_contribution": "reduced by",
    "high_value_customer_share": "customers.tier",
}


def _crm(dialect: str = "postgres") -> CubeExport:
    return export_cube(load(METRICS), dialect)


def _cube(found: CubeExport, name: str) -> dict:
    return found.cubes[name].as_cube()


def _member(cube: dict, kind: str, name: str) -> dict:
    return next(m for m in cube[kind] if m["name"] == name)


def test_every_metric_is_exported_or_reported_with_its_reason() -> None:
    found = _crm()
    omitted = found.omitted_metrics()
    assert set(found.metrics) | set(omitted) == set(load(METRICS).metrics)
    assert not set(found.metrics) & set(omitted)
    assert set(omitted) == set(INEXPRESSIBLE)
    for metric, word in INEXPRESSIBLE.items():
        assert word in omitted[metric], (metric, omitted[metric])


def test_a_model_becomes_a_cube_with_its_joins_keys_time_measures_and_segments() -> None:
    orders = _cube(_crm(), "orders")
    assert orders["sql_table"] == "orders"
    joins = {j["name"]: j for j in orders["joins"]}
    assert joins["owner_rep"] == {
        "name": "owner_rep",
        "relationship": "many_to_one",
        "sql": "{CUBE}.owner_rep_id = {owner_rep}.rep_id",
    }
    assert joins["payments"]["relationship"] == "one_to_many"
    assert _member(orders, "dimensions", "order_id")["primary_key"] is True
    assert _member(orders, "dimensions", "signed_at")["type"] == "time"
    revenue = _member(orders, "measures", "revenue")
    assert revenue["type"] == "sum" and revenue["sql"] == "{CUBE}.amount"
    assert revenue["filters"] == [{"sql": "NOT {CUBE}.status IN ('cancelled', 'refunded')"}]
    assert revenue["format"] == "currency" and revenue["title"] == "成交金额"
    median = _member(orders, "measures", "median_order_amount")
    assert median["type"] == "number" and median["sql"].startswith("PERCENTILE_CONT(0.5) WITHIN GROUP")
    assert "CASE WHEN NOT {CUBE}.status" in median["sql"]  # number measures take no `filters` in Cube
    assert _member(orders, "segments", "large")["sql"] == "{CUBE}.amount >= 50000"


def test_ratios_within_one_cube_are_calculated_measures() -> None:
    aov = _member(_cube(_crm(), "orders"), "measures", "average_order_value")
    assert aov["type"] == "number"
    assert aov["sql"] == "CAST(({revenue}) AS DOUBLE PRECISION) / NULLIF(({order_count}), 0)"


def test_a_renamed_join_reaches_a_copy_of_its_target_and_a_metric_never_takes_a_dimensions_name() -> None:
    found = _crm()
    owner = _cube(found, "owner_rep")
    assert owner["sql_table"] == "sales_reps" and "measures" not in owner
    assert {d["name"] for d in owner["dimensions"]} == {d["name"] for d in _cube(found, "sales_reps")["dimensions"]}
    assert found.metrics["csat"] == "tickets.csat_metric"  # tickets has a dimension csat
    assert _member(_cube(found, "tickets"), "dimensions", "csat")["type"] == "number"


def test_calendar_dates_and_composite_keys() -> None:
    found = _crm()
    due = _member(_cube(found, "payments"), "dimensions", "due_date")
    assert due["sql"] == "(CAST({CUBE}.due_date AS TIMESTAMP) AT TIME ZONE 'Asia/Shanghai')"
    key = _member(_cube(found, "campaign_responses"), "dimensions", "primary_key")
    assert key["primary_key"] is True
    assert key["sql"] == "CAST({CUBE}.campaign_id AS TEXT) || '|' || CAST({CUBE}.customer_id AS TEXT)"


def test_sql_follows_the_dialect_and_medians_are_refused_where_there_is_no_percentile() -> None:
    duck = _member(_cube(_crm("duckdb"), "closed_opportunities"), "measures", "sales_cycle")
    assert "DATE_DIFF('DAY'" in duck["sql"].upper()
    maria = _crm("mariadb")
    assert "sales_cycle" in maria.omitted_metrics() and "percentile" in maria.omitted_metrics()["sales_cycle"]


def test_access_policies_are_reported_as_cube_access_policies() -> None:
    notes = {n.role: n for n in _crm().policies}
    rep = notes["sales_rep"]
    assert rep.entries["customers"]["row_level"] == {
        "filters": [{"member": "customers.region", "operator": "equals", "values": ["{ securityContext.region }"]}]
    }
    assert rep.entries["contacts"]["member_level"] == {"includes": "*", "excludes": ["phone", "email"]}
    assert any("orders" in caveat for caveat in rep.caveats)
    assert notes["admin"].entries == {"*": {"role": "admin", "member_level": {"includes": "*"}}}


def test_derived_metrics_in_one_cube_are_exported_and_row_rules_without_a_cube_form_are_noted(tmp_path: Path) -> None:
    (tmp_path / "semantic_layer.yml").write_text("name: tiny\ndialect: duckdb\n")
    (tmp_path / "models.yml").write_text(
        """
models:
  - name: sales
    table: sales
    primary_key: id
    time: sold_at
    dimensions:
      - {name: region}
      - {name: sold_at, type: time}
    measures:
      - {name: amount, agg: sum}
      - {name: cost, agg: sum}
metrics:
  - {name: amount, type: simple, measure: sales.amount}
  - {name: cost, type: simple, measure: sales.cost}
  - {name: margin, type: derived, expr: "(amount - cost) / amount"}
  - {name: east_amount, type: simple, measure: sales.amount, filter: "sales.region = 'east'"}
  - {name: padded, type: simple, measure: sales.cost, fill_nulls_with: 0}
policies:
  - role: local
    rows:
      - {model: sales, where: "region = {{ user.region }} OR amount > 5"}
"""
    )
    found = export_cube(load(tmp_path))
    sales = _cube(found, "sales")
    margin = _member(sales, "measures", "margin")
    assert margin["type"] == "number"
    assert margin["sql"] == "CAST(((({amount}) - ({cost}))) AS DOUBLE) / NULLIF((({amount})), 0)"
    assert _member(sales, "measures", "east_amount")["filters"] == [{"sql": "{CUBE}.region = 'east'"}]
    assert "fill_nulls_with" in found.omitted_metrics()["padded"]
    assert any("has no Cube form" in c for c in found.policies[0].caveats)


def test_the_command_writes_one_file_per_cube_and_the_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["export", "cube", "--output", str(tmp_path), "--project", str(METRICS), "--dialect", "postgres"]
    )
    assert result.exit_code == 0, result.output
    total = len(load(METRICS).metrics)
    assert f"{total - len(INEXPRESSIBLE)} of {total} metrics exported" in result.output
    assert "not exported: metric retention_rate" in result.output
    files = sorted(p.name for p in tmp_path.glob("*.yml"))
    assert "orders.yml" in files and "owner_rep.yml" in files and len(files) == len(_crm().cubes)
    orders = yaml.safe_load((tmp_path / "orders.yml").read_text())
    assert [c["name"] for c in orders["cubes"]] == ["orders"]
    report = (tmp_path / REPORT_FILE).read_text()
    assert "| `churn_rate` |" in report and "access_policy" in report


def test_files_of_cubes_that_are_gone_are_removed_and_other_files_kept(tmp_path: Path) -> None:
    (tmp_path / "old_cube.yml").write_text(
        "# Exported from project 'crm' by `semantic-layer export cube`.\ncubes: []\n"
    )
    (tmp_path / "hand_written.yml").write_text("cubes: []\n")
    _crm().write(tmp_path)
    assert not (tmp_path / "old_cube.yml").exists() and (tmp_path / "hand_written.yml").exists()


def test_sql_reading_another_model_and_one_join_name_for_two_models_are_reported(tmp_path: Path) -> None:
    (tmp_path / "semantic_layer.yml").write_text("name: tiny\ndialect: duckdb\n")
    (tmp_path / "models.yml").write_text(
        """
models:
  - name: sales
    table: sales
    primary_key: id
    joins:
      - {model: shops, on: "sales.shop_id = shops.id", relationship: many_to_one}
      - {name: shops_again, model: shops, on: "sales.other_shop_id = shops_again.id", relationship: many_to_one}
    dimensions:
      - {name: shop_city, expr: "shops.city"}
    measures:
      - {name: amount, agg: sum}
  - name: shops
    table: shops
    primary_key: id
    dimensions:
      - {name: city}
  - name: staff
    table: staff
    primary_key: id
  - name: refunds
    table: refunds
    primary_key: id
    joins:
      - {name: shops_again, model: staff, on: "refunds.staff_id = shops_again.id", relationship: many_to_one}
"""
    )
    found = export_cube(load(tmp_path))
    omitted = {(o.kind, o.name): o.reason for o in found.omitted}
    assert "reads 'shops.city' from another model" in omitted[("dimension", "sales.shop_city")]
    assert "Cube joins cubes by name" in omitted[("join", "refunds.shops_again")]  # shops_again is shops already
    assert [j["name"] for j in _cube(found, "sales")["joins"]] == ["shops", "shops_again"]
    assert _cube(found, "shops_again")["sql_table"] == "shops"


def test_an_unknown_dialect_is_refused_with_the_choices(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "cube", "-o", str(tmp_path), "-p", str(METRICS), "--dialect", "oracle"])
    assert result.exit_code == 1
    assert "unknown dialect 'oracle'" in result.output and "postgres" in result.output
