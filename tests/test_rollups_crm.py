"""Rollups on the CRM project (its own, metrics/rollups.yml, and a few more): every catalogue metric
and every dashboard tile answers the same with rollups as without them (the differential test), and
the cockpit's tiles do reach rollups."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from crmproject import crm_project
from helpers import retention_period
from rollupcases import same_rows

import semantic_layer as sl
from semantic_layer.catalog import dimensions_for
from semantic_layer.dashboards import tile_query
from semantic_layer.layer import Layer
from semantic_layer.project import load
from semantic_layer.rollups.build import build_rollups

# Beside the project's own rollups (metrics/rollups.yml): a monthly one for the measures that only
# an exact grouping serves, and the models the project's rollups leave out.
CRM_EXTRA = """
rollups:
  - name: orders_monthly
    model: orders
    measures: [revenue, order_count, buyers, median_order_amount]
    dimensions: [customers.tier]
    time_grain: month
  - name: payments_daily
    model: payments
    measures: [amount_due, paid_on_time]
    dimensions: [customers.tier]
"""


@pytest.fixture(scope="module")
def crm_root(tmp_path_factory: pytest.TempPathFactory, crm: sl.Layer, crm_db: Path) -> Path:
    root = crm_project(tmp_path_factory.mktemp("crm-rolled"), crm_db)
    (root / "rollups_extra.yml").write_text(CRM_EXTRA)
    return root


@pytest.fixture(scope="module")
def crm_served(tmp_path_factory: pytest.TempPathFactory, crm_root: Path) -> Iterator[Layer]:
    with Layer(load(crm_root), state_folder=tmp_path_factory.mktemp("crm-rollups")) as layer:
        build_rollups(layer)
        yield layer


@pytest.fixture(scope="module")
def crm_raw(tmp_path_factory: pytest.TempPathFactory, crm_root: Path) -> Iterator[Layer]:
    with Layer(load(crm_root), state_folder=tmp_path_factory.mktemp("crm-no-rollups")) as layer:
        yield layer


def queries_for(layer: Layer, name: str) -> list[dict[str, Any]]:
    """A metric alone, by its natural grain in 2024, and by its first dimension (as the catalogue
    test asks it)."""
    graph = layer.project.graph
    period = retention_period(graph, name)
    grain = period or "month"
    per_period = [f"metric_time:{grain}"] if period else []
    dims = [d for d in dimensions_for(graph, [name]) if d != "metric_time"]
    out: list[dict[str, Any]] = [] if period else [dict(metrics=[name])]
    out.append(
        dict(
            metrics=[name], dimensions=[f"metric_time:{grain}"], time_range={"start": "2024-01-01", "end": "2025-01-01"}
        )
    )
    out.append(dict(metrics=[name], dimensions=[dims[0], *per_period]))
    return out


NAMES = sorted(load(Path(__file__).resolve().parents[1] / "metrics").metrics)


def answers(layer: Layer, query: dict[str, Any]) -> sl.Result | str:
    try:
        return layer.query(**query)
    except sl.QueryError as exc:
        return f"{exc.code}: {exc.message}"


@pytest.mark.parametrize("name", NAMES)
def test_every_catalogue_metric_answers_the_same_with_rollups(crm_served: Layer, crm_raw: Layer, name: str) -> None:
    for query in queries_for(crm_raw, name):
        expected, got = answers(crm_raw, query), answers(crm_served, query)
        if isinstance(expected, str) or isinstance(got, str):
            assert got == expected, query
        else:
            assert same_rows(got, expected), query


def test_the_catalogue_reaches_rollups(crm_served: Layer) -> None:
    routed = [
        (name, q)
        for name in NAMES
        for q in queries_for(crm_served, name)
        if not isinstance(r := answers(crm_served, q), str) and r.rollup is not None
    ]
    assert len(routed) >= 60, len(routed)


def tiles(layer: Layer) -> list[tuple[str, dict[str, Any]]]:
    """Every dashboard tile's query, over 2024 where it is bounded in time."""
    graph = layer.project.graph
    out = []
    for dashboard in layer.project.dashboards.values():
        for i, tile in enumerate(dashboard.tiles):
            query = tile_query(graph, dashboard, tile).model_dump(exclude_defaults=True)
            if query.get("time_range"):
                query["time_range"] = {"start": date(2024, 1, 1).isoformat(), "end": date(2025, 1, 1).isoformat()}
            out.append((f"{dashboard.name}[{i}]", query))
    return out


def test_every_dashboard_tile_answers_the_same_with_rollups(crm_served: Layer, crm_raw: Layer) -> None:
    routed = {}
    for where, query in tiles(crm_raw):
        got, expected = answers(crm_served, query), answers(crm_raw, query)
        assert not isinstance(got, str) and not isinstance(expected, str), (where, got, expected)
        assert same_rows(got, expected), where
        routed[where] = got.rollup
    cockpit = {k: v for k, v in routed.items() if k.startswith("strategic_cockpit")}
    assert cockpit and sum(v is not None for v in cockpit.values()) >= len(cockpit) // 2, cockpit


def test_suggested_rollups_answer_the_dashboards(tmp_path: Path, crm_db: Path, crm_raw: Layer) -> None:
    """Without rollups, `rollups suggest` proposes ones that load, build, and answer the dashboards'
    tiles they say they serve exactly; with the project's own rollups it proposes nothing for the
    tiles they answer already."""
    import yaml

    from semantic_layer.rollups.suggest import questions, suggest

    root = crm_project(tmp_path / "bare", crm_db)
    (root / "rollups.yml").unlink()
    bare = load(root)
    found = suggest(bare, questions(bare))
    assert {s.rollup.model for s in found} >= {"orders", "customers"}
    assert all(s.serves for s in found)
    rollups = [s.rollup.model_dump(exclude_defaults=True) for s in found]
    (root / "suggested.yml").write_text(yaml.safe_dump({"rollups": rollups}))
    with Layer(load(root), state_folder=tmp_path / "state") as layer:
        build_rollups(layer)
        for where, query in tiles(layer):
            got, expected = answers(layer, query), answers(crm_raw, query)
            assert not isinstance(got, str) and not isinstance(expected, str)
            assert same_rows(got, expected), where
    shipped = load(crm_project(tmp_path / "shipped", crm_db))
    assert not {s.rollup.model for s in suggest(shipped, questions(shipped))} & {"orders", "customers"}


def test_suggest_reads_the_audit_log(tmp_path: Path, crm_db: Path) -> None:
    from semantic_layer.audit import audit_store
    from semantic_layer.rollups.suggest import questions, suggest

    root = crm_project(tmp_path / "p", crm_db)
    (root / "dashboards.yml").unlink()
    project = load(root)
    with Layer(project, state_folder=tmp_path / "state") as layer:
        layer.query(metrics=["lead_count"], dimensions=["channels.name", "metric_time:week"])
        layer.query(metrics=["opportunities_created"], dimensions=["opportunity_owner.name", "metric_time:week"])
        assert layer.audit is not None and layer.audit.flush()
    store = audit_store(tmp_path / "state", project.settings.audit)
    assert suggest(project, questions(project)) == []  # no dashboards: nothing asked
    [found] = suggest(project, questions(project, store, datetime(2000, 1, 1, tzinfo=UTC)))
    # leads by channel are answered by metrics/rollups.yml; opportunities by owner are not
    assert found.rollup.name == "opportunities_daily_2" and found.rollup.model == "opportunities"
    assert found.rollup.dimensions == ["opportunity_owner.name"] and found.rollup.time_grain == "day"
    assert found.serves == ("query opportunities_created by opportunity_owner.name, metric_time:week",)
