"""One Result: the CRM demo answered by a local layer and by a server through sl.Client are the same
object — rows and their Python types, the Arrow schema, pandas and polars frames — for every metric
of the catalogue, and for empty answers, all-NULL columns, filters on dates and decimals, pages."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from conftest import CRM_PROJECT
from liveserver import LiveServer
from served import SECRET, token

import semantic_layer as sl
from server import ServerSettings, create_app

ADMIN = token(["admin"])


@pytest.fixture(scope="module")
def remote(crm: sl.Layer, crm_db: Path) -> Iterator[sl.Client]:
    settings = ServerSettings(project=CRM_PROJECT, connection=f"duckdb:///{crm_db}", jwt_secret=SECRET, cache_url=None)
    with LiveServer(create_app(settings)) as live, sl.Client(live.url, token=ADMIN) as client:
        yield client


def answer(source: sl.Layer | sl.Client, **query: Any) -> sl.Result | str:
    """The answer, or the error's code and message (the same on both paths)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sl.SemanticLayerWarning)
            return source.query(**query)
    except sl.QueryError as exc:
        return f"{exc.code}: {exc.message}"


def assert_same(local: sl.Result | str, remote: sl.Result | str, *, same_sql: bool = True) -> None:
    if isinstance(local, str) or isinstance(remote, str):
        assert local == remote
        return
    assert remote.table.schema == local.table.schema
    assert remote.table.equals(local.table)
    assert remote.rows == local.rows
    assert [type(v) for row in remote.rows for v in row.values()] == [
        type(v) for row in local.rows for v in row.values()
    ]
    assert (remote.columns, remote.warnings, remote.truncated) == (local.columns, local.warnings, local.truncated)
    assert remote.sql == local.sql or not same_sql
    assert remote == local
    pd.testing.assert_frame_equal(remote.to_pandas(), local.to_pandas())
    assert remote.to_polars().equals(local.to_polars())


def test_every_catalogue_metric_answers_the_same_both_ways(crm: sl.Layer, remote: sl.Client) -> None:
    metrics = [m.name for m in crm.metrics(include_deprecated=True)]
    assert len(metrics) > 40
    answered = 0
    for name in metrics:
        by = next(d.name for d in crm.dimensions([name]) if d.name != "metric_time")
        for dimensions in (["metric_time:month"], [by]):
            local = answer(crm, metrics=[name], dimensions=dimensions, time_range=("2024-01-01", "2025-01-01"))
            assert_same(
                local, answer(remote, metrics=[name], dimensions=dimensions, time_range=("2024-01-01", "2025-01-01"))
            )
            answered += isinstance(local, sl.Result) and len(local) > 0
    assert answered > 1.5 * len(metrics)  # nearly every metric answers with rows both ways


def test_python_types_follow_the_columns(crm: sl.Layer, remote: sl.Client) -> None:
    query: dict[str, Any] = dict(
        metrics=["revenue", "order_count", "average_order_value"],
        dimensions=["metric_time:month", "customers.tier"],
        time_range=("2024-01-01", "2024-04-01"),
    )
    result = remote.query(**query)
    first = result.rows[0]
    assert isinstance(first["revenue"], Decimal) and isinstance(first["metric_time:month"], date)
    assert isinstance(first["order_count"], int) and isinstance(first["average_order_value"], float)
    assert result.table.schema.field("revenue").type == pa.decimal128(38, 2)
    frame = result.to_pandas()
    assert frame["metric_time:month"].dtype.kind == "M"  # datetime64, not object
    assert frame["revenue"].dtype == "float64" and str(frame["order_count"].dtype) == "Int64"
    assert result.to_polars().schema["metric_time:month"] == pl.Date
    assert_same(crm.query(**query), result)


def test_an_empty_answer_keeps_its_column_types(crm: sl.Layer, remote: sl.Client) -> None:
    query: dict[str, Any] = dict(
        metrics=["revenue", "order_count"], dimensions=["metric_time:month"], time_range=("2030-01-01", "2030-02-01")
    )
    local, far = crm.query(**query), remote.query(**query)
    assert len(far) == 0 and far.table.schema.field("revenue").type == pa.decimal128(38, 2)
    assert far.table.schema.field("metric_time:month").type == pa.date32()
    assert_same(local, far)
    assert dict(far.to_pandas().dtypes.astype(str)) == {
        "metric_time:month": "datetime64[ms]",
        "revenue": "float64",
        "order_count": "Int64",
    }


def test_nulls_are_none_and_an_all_null_column_keeps_its_type(crm: sl.Layer, remote: sl.Client) -> None:
    query: dict[str, Any] = dict(
        metrics=["revenue", "csat", "first_response_time"],
        dimensions=["metric_time:month"],
        time_range=("2023-01-01", "2023-02-01"),
    )
    local, far = crm.query(**query), remote.query(**query)
    assert [row["csat"] for row in far.rows] == [None]  # the first month has orders and no rated ticket
    assert far.table.schema.field("csat").type == pa.float64()
    assert_same(local, far)
    assert far.to_pandas()["csat"].isna().all()


def test_zoned_timestamps_are_aware_datetimes_both_ways(crm: sl.Layer, remote: sl.Client) -> None:
    """A time dimension grouped by hour is a wall-clock time in the query's zone; the engine's own
    zoned timestamps arrive aware (the Arrow type carries the zone)."""
    query: dict[str, Any] = dict(
        metrics=["order_count"], dimensions=["metric_time:hour"], time_range=("2024-03-01", "2024-03-02"), limit=5
    )
    local, far = crm.query(**query), remote.query(**query)
    assert isinstance(far.rows[0]["metric_time:hour"], datetime)
    assert_same(local, far)
    zoned = pa.table({"t": pa.array([datetime(2024, 3, 1, 8)], pa.timestamp("us", tz="Asia/Shanghai"))})
    stream = sl.Result(zoned, [sl.Column("t", "dimension", "timestamp")], "SELECT 1")
    from semantic_layer.ipc import encode, reader

    back = sl.Result.from_stream(reader(encode(stream.table, stream.info())).read_all())
    assert back == stream and back.rows[0]["t"].tzinfo is not None


def test_filter_values_of_every_python_type_serialize(crm: sl.Layer, remote: sl.Client) -> None:
    filters = [
        sl.Filter(member="customers.created_at", op="gte", values=[date(2024, 1, 1)]),
        sl.Filter(member="orders.signed_at", op="lt", values=[datetime(2025, 6, 1, 12, 30)]),
        sl.Filter(member="orders.amount", op="between", values=[Decimal("1000.50"), 50000]),
    ]
    query: dict[str, Any] = dict(metrics=["revenue"], dimensions=["customers.tier"], where=filters)
    local = crm.query(**query)
    assert len(local) > 0
    # the date reaches the server as ISO text: the SQL shows '2024-01-01' for DATE '2024-01-01'
    assert_same(local, remote.query(**query), same_sql=False)


def test_pages_join_up_to_the_whole_answer(crm: sl.Layer, remote: sl.Client) -> None:
    query: dict[str, Any] = dict(metrics=["revenue"], dimensions=["orders.order_id"], order_by=["-revenue"], limit=9000)
    whole = crm.query(**{**query, "order_by": ["-revenue", "orders.order_id"]})
    assert len(whole) == 9000
    for source in (crm, remote):
        paged = source.query(page_size=2500, **query)
        assert paged.rows == whole.rows  # `-revenue` has ties: the order_id tiebreak keeps pages apart
        batches = list(source.iter_batches(page_size=2500, **query))
        assert sum(b.num_rows for b in batches) == 9000
        assert pa.Table.from_batches(batches).equals(whole.table)


def test_iter_batches_streams_an_answer_bigger_than_a_batch(crm: sl.Layer, remote: sl.Client) -> None:
    query: dict[str, Any] = dict(metrics=["revenue"], dimensions=["orders.order_id", "metric_time:day"], limit=200_000)
    local = pa.Table.from_batches(list(crm.iter_batches(**query)))
    batches = list(remote.iter_batches(**query))
    assert len(batches) >= 1 and all(b.num_rows <= 65_536 for b in batches)
    assert pa.Table.from_batches(batches).equals(local)


# More rows than the demo's limits.default_rows (10 000) at scale 0.1: ~11 900 installments by day.
BIG: dict[str, Any] = dict(metrics=["amount_due"], dimensions=["customers.customer_id", "metric_time:day"])


def test_warnings_are_python_warnings_once_per_query(crm: sl.Layer, remote: sl.Client) -> None:
    for source in (crm, remote):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            source.query(**BIG)  # cut at default_rows
            list(source.iter_batches(**BIG))
        ours = [w for w in caught if issubclass(w.category, sl.SemanticLayerWarning)]
        assert [w.category for w in ours] == [sl.TruncatedResultWarning] * 2
        assert all(w.filename == __file__ for w in ours)  # raised where the query was asked


def test_the_catalogue_is_the_same_objects_both_ways(crm: sl.Layer, remote: sl.Client) -> None:
    assert remote.metrics() == crm.metrics() and len(crm.metrics()) > 40
    assert remote.metrics(tier="strategic") == crm.metrics(tier="strategic")
    chinese = crm.metrics(search="成交")
    assert "revenue" in {m.name for m in chinese} and remote.metrics(search="成交") == chinese
    by_synonym = crm.metrics(search="回款达成率")  # a synonym of collection_rate, not its label
    assert [m.name for m in by_synonym] == ["collection_rate"] and remote.metrics(search="回款达成率") == by_synonym
    churn = remote.metric("churn_rate")
    assert churn == crm.metric("churn_rate") and churn.thresholds is not None
    assert repr(churn).startswith("<Metric churn_rate 客户流失率 (") and len(repr(churn)) < 100
    assert remote.dimensions(["revenue", "order_count"]) == crm.dimensions(["revenue", "order_count"])
    assert remote.dimensions() == crm.dimensions()
    for source in (crm, remote):
        with pytest.raises(sl.UnknownMemberError, match="did you mean 'revenue'"):
            source.metric("revnue")
        with pytest.raises(sl.UnknownMemberError):
            source.dimensions(["revnue"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        churn.name = "x"  # type: ignore[misc]
    alerts = crm.alerts(time_range={"end": "2025-10-01"})
    assert remote.alerts(time_range={"end": "2025-10-01"}) == alerts and len(alerts) >= 3
    assert all(repr(a) == f"<Alert {a.level}: {a.message}>" for a in alerts)
