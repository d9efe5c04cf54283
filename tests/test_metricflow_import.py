"""`import metricflow` without MetricFlow: what each MetricFlow definition becomes, and what is reported.

The numbers are checked against MetricFlow itself in test_metricflow_mf.py (slow).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.cli import app
from semantic_layer.interop.metricflow import REPORT_FILE, import_and_write, import_metricflow
from semantic_layer.interop.metricflow_filters import translate_filter
from semantic_layer.interop.report import Unmappable

CRM = Path(__file__).parent / "dbt_metricflow_crm"

CUSTOMERS = {
    "name": "customers",
    "model": "ref('customers')",
    "defaults": {"agg_time_dimension": "signed_up_at"},
    "entities": [{"name": "customer", "type": "primary", "expr": "customer_id"}],
    "dimensions": [
        {"name": "region", "type": "categorical"},
        {"name": "signed_up_at", "type": "time", "type_params": {"time_granularity": "day"}},
    ],
    "measures": [{"name": "signups", "agg": "count", "expr": "customer_id"}],
}
ORDERS = {
    "name": "orders",
    "model": "ref('orders')",
    "defaults": {"agg_time_dimension": "ordered_at"},
    "entities": [
        {"name": "order", "type": "primary", "expr": "order_id"},
        {"name": "customer", "type": "foreign", "expr": "customer_id"},
    ],
    "dimensions": [
        {"name": "ordered_at", "type": "time", "type_params": {"time_granularity": "hour"}},
        {"name": "status", "type": "categorical"},
    ],
    "measures": [
        {"name": "amount", "agg": "sum"},
        {"name": "order_count", "agg": "count", "expr": "1"},
        {"name": "buyers", "agg": "count_distinct", "expr": "customer_id"},
    ],
}


def dbt_project(root: Path, *, semantic_models: list[Any], metrics: list[Any] = (), **extra: Any) -> Path:  # type: ignore[assignment]
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (root / "models").mkdir(exist_ok=True)
    body = {"semantic_models": semantic_models, "metrics": list(metrics), **extra}
    (root / "models" / "semantic.yml").write_text(yaml.safe_dump(body, sort_keys=False))
    return root


def imported(tmp_path: Path, **definitions: Any) -> tuple[dict[str, Any], list[str]]:
    """(the written files' models, metrics and dashboards by name, the report lines)."""
    root = dbt_project(tmp_path / "dbt", **definitions)
    result = import_and_write(root, tmp_path / "out")
    found: dict[str, Any] = {}
    for data in result.files.values():
        for key in ("models", "metrics", "dashboards"):
            found.update({item["name"]: item for item in data.get(key, [])})
    return found, [str(item) for item in result.report.items]


def test_the_crm_fixture_imports_into_a_valid_project(tmp_path: Path) -> None:
    result = import_and_write(CRM, tmp_path / "out")
    project = sl.load(tmp_path / "out")
    assert set(project.models) == {"customers", "orders", "orders_by_delivered_at", "account_balances"}
    assert "revenue_mtd" in project.metrics and "revenue_running_first" not in project.metrics
    assert sorted(result.files) == ["account_balances.yml", "customers.yml", "orders.yml", "semantic_layer.yml"]
    assert (tmp_path / "out" / REPORT_FILE).read_text().count("| models/") == len(result.report.items)


def test_settings_keep_metricflow_clock_and_the_profile_connection(tmp_path: Path) -> None:
    result = import_metricflow(CRM, tmp_path / "out")
    settings = result.files["semantic_layer.yml"]
    assert settings["timezone"] == "UTC" and settings["week_start"] == "monday"
    assert settings["dialect"] == "duckdb"
    connection = settings["connection"]
    assert (
        connection.startswith("duckdb:///")
        and (tmp_path / "out" / connection[10:]).resolve() == (CRM / "crm.duckdb").resolve()
    )


def test_ref_without_manifest_is_the_relation_of_that_name(tmp_path: Path) -> None:
    found, _ = imported(tmp_path, semantic_models=[CUSTOMERS])
    assert found["customers"]["table"] == "customers"


def test_ref_resolves_through_the_manifest(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "dbt", semantic_models=[CUSTOMERS, ORDERS])
    (root / "target").mkdir()
    nodes = {
        "model.shop.customers": {
            "resource_type": "model",
            "name": "customers",
            "database": "wh",
            "schema": "crm",
            "alias": "dim_customers",
        },
        "model.shop.orders": {
            "resource_type": "model",
            "name": "orders",
            "database": "other",
            "schema": "crm",
            "alias": "orders",
        },
        "model.shop.x": {"resource_type": "model", "name": "x", "database": "wh", "schema": "crm", "alias": "x"},
    }
    (root / "target" / "manifest.json").write_text(json.dumps({"nodes": nodes}))
    result = import_metricflow(root, tmp_path / "out")
    models = {m["name"]: m for m in result.files["semantic.yml"]["models"]}
    assert models["customers"]["table"] == "crm.dim_customers"  # the default database is left out
    assert models["orders"]["table"] == "other.crm.orders"


def test_entities_become_joins_in_the_directions_their_types_allow(tmp_path: Path) -> None:
    found, _ = imported(tmp_path, semantic_models=[CUSTOMERS, ORDERS])
    assert found["orders"]["joins"] == [
        {"model": "customers", "on": "orders.customer_id = customers.customer_id", "relationship": "many_to_one"}
    ]
    assert found["customers"]["joins"] == [
        {"model": "orders", "on": "customers.customer_id = orders.customer_id", "relationship": "one_to_many"}
    ]
    assert found["orders"]["primary_key"] == "order_id"
    assert {"name": "customer", "expr": "customer_id"} in found["orders"]["dimensions"]


def test_two_primary_entities_join_one_to_one(tmp_path: Path) -> None:
    profile = {
        "name": "customer_profiles",
        "model": "ref('profiles')",
        "entities": [{"name": "customer", "type": "primary", "expr": "id"}],
        "dimensions": [{"name": "tier", "type": "categorical"}],
    }
    found, _ = imported(tmp_path, semantic_models=[CUSTOMERS, profile])
    join = found["customers"]["joins"][0]
    assert join == {
        "model": "customer_profiles",
        "on": "customers.customer_id = customer_profiles.id",
        "relationship": "one_to_one",
    }


def test_measures_keep_their_aggregation(tmp_path: Path) -> None:
    measures = [
        {"name": "p90", "agg": "percentile", "expr": "amount", "agg_params": {"percentile": 0.9}},
        {"name": "large", "agg": "sum_boolean", "expr": "amount > 100"},
        {"name": "mean", "agg": "average", "expr": "amount"},
        {"name": "orders_counted", "agg": "count_distinct", "expr": "order_id"},
    ]
    found, report = imported(tmp_path, semantic_models=[{**ORDERS, "measures": measures}])
    by_name = {m["name"]: m for m in found["orders"]["measures"]}
    assert by_name["p90"] == {"name": "p90", "agg": "percentile", "expr": "amount", "percentile": 0.9}
    assert by_name["large"]["expr"] == "CAST(amount > 100 AS INTEGER)" and by_name["large"]["agg"] == "sum"
    assert by_name["mean"]["agg"] == "avg"
    assert by_name["orders_counted"]["agg"] == "count"  # distinct keys are rows: a conversion base
    assert report == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"percentile": 0.9, "use_discrete_percentile": True}, "discrete percentile"),
        ({"percentile": 0.9, "use_approximate_percentile": True}, "approximate percentile"),
    ],
)
def test_percentiles_computed_otherwise_are_reported(tmp_path: Path, params: dict[str, Any], reason: str) -> None:
    measures = [{"name": "p90", "agg": "percentile", "expr": "amount", "agg_params": params}]
    metrics = [{"name": "p90_amount", "type": "simple", "type_params": {"measure": "p90"}}]
    found, report = imported(tmp_path, semantic_models=[{**ORDERS, "measures": measures}], metrics=metrics)
    assert "p90_amount" not in found
    assert reason in report[0] and report[0].startswith("models/semantic.yml:")
    assert "metric 'p90_amount' not imported — its measure 'p90' is not imported" in report[1]


def test_semi_additive_measures_take_the_last_or_first_snapshot(tmp_path: Path) -> None:
    measures = [
        {"name": "balance", "agg": "sum", "non_additive_dimension": {"name": "ordered_at", "window_choice": "max"}},
        {"name": "opening", "agg": "sum", "non_additive_dimension": {"name": "ordered_at", "window_choice": "min"}},
        {
            "name": "per_customer",
            "agg": "sum",
            "non_additive_dimension": {"name": "ordered_at", "window_choice": "max", "window_groupings": ["customer"]},
        },
    ]
    found, report = imported(tmp_path, semantic_models=[{**ORDERS, "measures": measures}])
    by_name = {m["name"]: m for m in found["orders"]["measures"]}
    assert by_name["balance"]["non_additive"] == {"dimension": "ordered_at", "window": "last"}
    assert by_name["opening"]["non_additive"] == {"dimension": "ordered_at", "window": "first"}
    assert "per_customer" not in by_name and "window_groupings" in report[0]


def test_a_measure_on_another_time_gets_a_model_of_its_own(tmp_path: Path) -> None:
    dims = [*ORDERS["dimensions"], {"name": "shipped_at", "type": "time"}]
    measures = [
        *ORDERS["measures"],
        {"name": "shipped", "agg": "count", "expr": "1", "agg_time_dimension": "shipped_at"},
    ]
    found, _ = imported(tmp_path, semantic_models=[{**ORDERS, "dimensions": dims, "measures": measures}])
    companion = found["orders_by_shipped_at"]
    assert companion["time"] == "shipped_at" and [m["name"] for m in companion["measures"]] == ["shipped"]
    assert companion["joins"][0]["relationship"] == "one_to_one"
    assert found["orders"]["time"] == "ordered_at"


def test_a_semantic_model_without_primary_entity_is_reported_with_its_metrics(tmp_path: Path) -> None:
    events = {**ORDERS, "name": "events", "entities": [{"name": "customer", "type": "foreign"}]}
    metrics = [{"name": "event_amount", "type": "simple", "type_params": {"measure": "amount"}}]
    found, report = imported(tmp_path, semantic_models=[CUSTOMERS, events], metrics=metrics)
    assert "events" not in found
    assert "semantic model 'events' not imported — it has no primary entity" in report[0]
    assert "metric 'event_amount' not imported" in report[1]


def test_joins_to_a_slowly_changing_dimension_are_reported(tmp_path: Path) -> None:
    history = {
        "name": "customer_history",
        "model": "ref('history')",
        "entities": [{"name": "version", "type": "primary"}, {"name": "customer", "type": "natural"}],
        "dimensions": [
            {"name": "valid_from", "type": "time", "type_params": {"validity_params": {"is_start": True}}},
            {"name": "valid_to", "type": "time", "type_params": {"validity_params": {"is_end": True}}},
        ],
    }
    found, report = imported(tmp_path, semantic_models=[ORDERS, history])
    assert "joins" not in found["orders"] and "customer_history" in found
    assert any("slowly changing" in line for line in report)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ Dimension('customer__region') }} = 'east'", "customers.region = 'east'"),
        ("{{ Dimension('order__status') }} <> 'x'", "orders.status <> 'x'"),
        (
            "{{ TimeDimension('metric_time', 'month') }} >= '2024-01-01'",
            "date_trunc('month', metric_time) >= '2024-01-01'",
        ),
        (
            "{{ Dimension('order__ordered_at').grain('day') }} = '2024-01-01'",
            "date_trunc('day', orders.ordered_at) = '2024-01-01'",
        ),
        ("{{ Entity('customer') }} = 7", "customers.customer = 7"),
        (
            ["{{ Dimension('customer__region') }} = 'a'", "{{ Dimension('order__status') }} = 'b'"],
            "(customers.region = 'a') AND (orders.status = 'b')",
        ),
    ],
)
def test_filter_members_become_dimension_refs(tmp_path: Path, text: Any, expected: str) -> None:
    from semantic_layer.interop.dbt_project import read_dbt_project
    from semantic_layer.interop.metricflow_models import map_semantic_models
    from semantic_layer.interop.report import Report

    project = read_dbt_project(dbt_project(tmp_path, semantic_models=[CUSTOMERS, ORDERS]))
    models = map_semantic_models(project, "duckdb", Report())
    assert translate_filter(text, models) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{ Metric('amount', group_by=['customer']) }} > 10", "a metric's value"),
        ("{{ Dimension('region') }} = 'a'", "names no entity"),
        ("{{ Dimension('customer__nothing') }} = 'a'", "no imported semantic model holds"),
        ("{% if x %}1{% endif %}", "Jinja statements"),
    ],
)
def test_filters_without_counterpart_are_unmappable(tmp_path: Path, text: str, reason: str) -> None:
    from semantic_layer.interop.dbt_project import read_dbt_project
    from semantic_layer.interop.metricflow_models import map_semantic_models
    from semantic_layer.interop.report import Report

    project = read_dbt_project(dbt_project(tmp_path, semantic_models=[CUSTOMERS, ORDERS]))
    models = map_semantic_models(project, "duckdb", Report())
    with pytest.raises(Unmappable, match=reason):
        translate_filter(text, models)


def test_metric_types_map_with_their_options(tmp_path: Path) -> None:
    metrics = [
        {
            "name": "revenue",
            "type": "simple",
            "type_params": {"measure": "amount"},
            "filter": "{{ Dimension('order__status') }} = 'done'",
        },
        {"name": "orders", "type": "simple", "type_params": {"measure": {"name": "order_count", "fill_nulls_with": 0}}},
        {"name": "aov", "type": "ratio", "type_params": {"numerator": "revenue", "denominator": "orders"}},
        {
            "name": "growth",
            "type": "derived",
            "type_params": {
                "expr": "revenue / last - 1",
                "metrics": [{"name": "revenue"}, {"name": "revenue", "alias": "last", "offset_window": "1 month"}],
            },
        },
        {
            "name": "revenue_7d",
            "type": "cumulative",
            "type_params": {"measure": "amount", "cumulative_type_params": {"window": "7 day", "period_agg": "last"}},
        },
        {
            "name": "revenue_qtd",
            "type": "cumulative",
            "type_params": {
                "measure": "amount",
                "grain_to_date": "quarter",
                "cumulative_type_params": {"period_agg": "last"},
            },
        },
    ]
    found, report = imported(tmp_path, semantic_models=[CUSTOMERS, ORDERS], metrics=metrics)
    assert report == []
    assert found["revenue"]["filter"] == "orders.status = 'done'"
    assert found["orders"]["fill_nulls_with"] == 0
    assert found["aov"]["numerator"] == "revenue"
    assert found["growth"]["inputs"][1] == {"metric": "revenue", "alias": "last", "offset": "1 month"}
    assert found["revenue_7d"] == {"name": "revenue_7d", "type": "cumulative", "metric": "amount", "window": "7 days"}
    assert found["amount"]["measure"] == "orders.amount"  # the simple metric both accumulate, added once
    assert found["revenue_qtd"]["grain_to_date"] == "quarter" and found["revenue_qtd"]["metric"] == "amount"


@pytest.mark.parametrize(
    ("metric", "reason"),
    [
        ({"type": "cumulative", "type_params": {"measure": "amount"}}, "period_agg 'first'"),
        (
            {
                "type": "derived",
                "type_params": {"expr": "x", "metrics": [{"name": "base", "alias": "x", "offset_to_grain": "month"}]},
            },
            "offset_to_grain",
        ),
        (
            {"type": "simple", "type_params": {"measure": {"name": "amount", "join_to_timespine": True}}},
            "join_to_timespine",
        ),
        (
            {"type": "derived", "type_params": {"expr": "missing * 2", "metrics": [{"name": "missing"}]}},
            "'missing', which is not defined",
        ),
        (
            {
                "type": "conversion",
                "type_params": {
                    "conversion_type_params": {
                        "entity": "customer",
                        "base_measure": "order_count",
                        "conversion_measure": "buyers",
                    }
                },
            },
            "not one per entity",
        ),
        (
            {
                "type": "conversion",
                "type_params": {
                    "conversion_type_params": {
                        "entity": "customer",
                        "base_measure": "signups",
                        "conversion_measure": "order_count",
                    }
                },
            },
            "does not count entities",
        ),
    ],
)
def test_metrics_that_would_give_other_numbers_are_reported(
    tmp_path: Path, metric: dict[str, Any], reason: str
) -> None:
    metrics = [{"name": "base", "type": "simple", "type_params": {"measure": "amount"}}, {"name": "m", **metric}]
    found, report = imported(tmp_path, semantic_models=[CUSTOMERS, ORDERS], metrics=metrics)
    assert "m" not in found
    assert len(report) == 1 and "metric 'm' not imported" in report[0] and reason in report[0]


def test_a_conversion_of_one_base_event_per_entity_counting_entities_is_imported(tmp_path: Path) -> None:
    conversion = {
        "entity": "customer",
        "base_measure": "signups",
        "conversion_measure": "buyers",
        "window": "30 days",
        "calculation": "conversions",
    }
    metrics = [{"name": "converted", "type": "conversion", "type_params": {"conversion_type_params": conversion}}]
    found, _ = imported(tmp_path, semantic_models=[CUSTOMERS, ORDERS], metrics=metrics)
    assert found["converted"] == {
        "name": "converted",
        "type": "conversion",
        "base": "customers.signups",
        "conversion": "orders.buyers",
        "entity": "customer_id",
        "calculation": "count",
        "window": "30 days",
    }


def test_saved_queries_become_dashboards(tmp_path: Path) -> None:
    metrics = [{"name": "revenue", "type": "simple", "type_params": {"measure": "amount"}}]
    saved = [
        {
            "name": "monthly",
            "label": "Monthly revenue",
            "query_params": {
                "metrics": ["revenue"],
                "group_by": ["TimeDimension('metric_time', 'month')", "Dimension('customer__region')"],
            },
        },
        {
            "name": "filtered",
            "query_params": {"metrics": ["revenue"], "where": ["{{ Dimension('order__status') }} = 'x'"]},
        },
    ]
    found, report = imported(tmp_path, semantic_models=[CUSTOMERS, ORDERS], metrics=metrics, saved_queries=saved)
    assert found["monthly"] == {
        "name": "monthly",
        "title": "Monthly revenue",
        "tiles": [
            {
                "metrics": ["revenue"],
                "dimensions": ["metric_time", "customers.region"],
                "kind": "table",
                "grain": "month",
            }
        ],
    }
    assert "filtered" not in found and "saved query 'filtered' not imported" in report[0]


def test_the_command_writes_the_project_and_prints_the_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", "metricflow", str(CRM), "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "4 models, 21 metrics, 1 dashboards; 8 definitions not imported" in result.stdout
    assert "models/orders.yml:156: metric 'revenue_running_first' not imported" in result.stderr
    assert (tmp_path / "out" / REPORT_FILE).is_file()


def test_the_command_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "old.yml").write_text("models: []\n")
    result = CliRunner().invoke(app, ["import", "metricflow", str(CRM), "--output", str(tmp_path)])
    assert result.exit_code == 1 and "is not empty" in result.stderr


def test_the_command_needs_a_dbt_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", "metricflow", str(tmp_path), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1 and "no dbt_project.yml" in result.stderr


def test_what_the_loader_refuses_is_dropped_and_reported_so_the_project_loads(tmp_path: Path) -> None:
    measures = [*ORDERS["measures"], {"name": "broken", "agg": "sum", "expr": "amount +"}]
    dims = [*ORDERS["dimensions"], {"name": "Channel", "type": "categorical"}]
    metrics = [
        {"name": "broken_total", "type": "simple", "type_params": {"measure": "broken"}},
        {"name": "revenue", "type": "simple", "type_params": {"measure": "amount"}},
    ]
    orders = {**ORDERS, "measures": measures, "dimensions": dims}
    found, report = imported(tmp_path, semantic_models=[CUSTOMERS, orders], metrics=metrics)
    sl.load(tmp_path / "out")
    assert "revenue" in found and "broken_total" not in found
    assert "broken" not in {m["name"] for m in found["orders"]["measures"]}
    assert "Channel" not in {d["name"] for d in found["orders"]["dimensions"]}
    refused = [line for line in report if "this layer refuses it" in line]
    assert len(refused) == 3, report
    assert all(line.startswith("models/semantic.yml:") for line in refused)


def test_a_postgres_profile_gives_the_connection_without_its_password(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "dbt", semantic_models=[CUSTOMERS])
    target = {
        "type": "postgres",
        "host": "db.internal",
        "port": 5433,
        "user": "analyst",
        "password": "s3cret",
        "dbname": "warehouse",
        "schema": "crm",
    }
    (root / "profiles.yml").write_text(yaml.safe_dump({"shop": {"target": "prod", "outputs": {"prod": target}}}))
    settings = import_metricflow(root, tmp_path / "out").files["semantic_layer.yml"]
    assert settings["connection"] == "postgresql://analyst@db.internal:5433/warehouse"
    assert settings["dialect"] == "postgres"


def test_the_command_takes_a_connection(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "dbt", semantic_models=[CUSTOMERS])
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["import", "metricflow", str(root), "-o", str(out), "--connection", "duckdb:///x.duckdb"]
    )
    assert result.exit_code == 0, result.output
    assert sl.load(out).settings.connection == "duckdb:///x.duckdb"
    assert "no DuckDB or PostgreSQL target" not in result.stderr


def test_the_command_says_when_it_found_no_connection(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "dbt", semantic_models=[CUSTOMERS])
    result = CliRunner().invoke(app, ["import", "metricflow", str(root), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0 and "no DuckDB or PostgreSQL target in the dbt profile" in result.stderr


def test_malformed_definitions_are_reported_not_raised(tmp_path: Path) -> None:
    broken_model = {"name": "broken", "model": "ref('b')", "entities": [{"type": "primary"}]}
    metrics = [{"name": "no_inputs", "type": "ratio", "type_params": {"numerator": {"filter": "x"}}}]
    found, report = imported(tmp_path, semantic_models=[CUSTOMERS, broken_model], metrics=metrics)
    assert "broken" not in found and "no_inputs" not in found
    assert any("not a valid MetricFlow semantic model" in line for line in report)
    assert any("metric 'no_inputs' not imported" in line for line in report)
