"""Property tests: any mix of dimensions and filters gives hand-written SQL's answer for additive measures."""

from __future__ import annotations

from typing import Any

from helpers import assert_rows, local
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semantic_layer as sl

DIMENSIONS = {
    "customers.segment": "c.segment",
    "orders.status": "o.status",
    "owner_rep.team": "r.team",
    "customers.regions.name": "rg.name",
    "orders.size_band": "CASE WHEN o.amount >= 500 THEN 'large' ELSE 'small' END",
    "metric_time:month": f"CAST(date_trunc('month', {local('o.created_at')}) AS DATE)",
    "metric_time:quarter": f"CAST(date_trunc('quarter', {local('o.created_at')}) AS DATE)",
}
FROM = """FROM orders o LEFT JOIN customers c ON c.customer_id = o.customer_id
          LEFT JOIN sales_reps r ON r.rep_id = o.owner_rep_id LEFT JOIN regions rg ON rg.region_id = c.region_id"""

segments = st.sampled_from(["smb", "enterprise", "consumer"])
FILTERS = st.one_of(
    st.lists(segments, min_size=1, max_size=3, unique=True).map(
        lambda v: (
            sl.Filter(member="customers.segment", op="in", values=v),
            "c.segment IN (" + ", ".join(f"'{x}'" for x in v) + ")",
        )
    ),
    st.sampled_from(["complete", "cancelled", "pending"]).map(
        lambda s: (f"orders.status <> '{s}'", f"o.status <> '{s}'")
    ),
    st.integers(min_value=0, max_value=1200).map(
        lambda n: (sl.Filter(member="orders.amount", op="gte", values=[n]), f"o.amount >= {n}")
    ),
    st.sampled_from(["north", "south", "east"]).map(
        lambda n: (
            f"customers.regions.name = '{n}' or customers.regions.name is null",
            f"(rg.name = '{n}' OR rg.name IS NULL)",
        )
    ),
    st.just(("owner_rep.team = 'alpha'", "r.team = 'alpha'")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dims=st.lists(st.sampled_from(sorted(DIMENSIONS)), max_size=3, unique=True), filters=st.lists(FILTERS, max_size=3)
)
def test_additive_measures_match_hand_written_sql(
    layer: sl.Layer, hand: Any, dims: list[str], filters: list[tuple[Any, str]]
) -> None:
    where = [f for f, _ in filters]
    res = layer.query(metrics=["revenue", "order_count"], dimensions=dims, where=where)
    cols = [DIMENSIONS[d] for d in dims]
    conds = " AND ".join(sql for _, sql in filters) or "TRUE"
    group = f"GROUP BY {', '.join(cols)}" if cols else ""
    order = f"ORDER BY {', '.join(f'{c} NULLS LAST' for c in cols)}" if cols else ""
    expected = hand(f"""SELECT {"".join(c + ", " for c in cols)}
                               SUM(CASE WHEN o.status <> 'cancelled' THEN o.amount END), COUNT(*)
                        {FROM} WHERE {conds} {group} {order}""")
    assert_rows(res, expected)
    total = layer.query(metrics=["order_count"], where=where).rows[0]["order_count"]
    assert sum(r["order_count"] for r in res.rows) == total
