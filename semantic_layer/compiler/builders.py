"""The one place a unit's kind picks its builder.

A kind of unit (plain, cumulative, snapshot, conversion, retention) has a builder module of its
own and one entry here; the plan marks each unit with its kind (`UnitKey.kind`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from .context import UnitContext
from .conversion import build_conversion_unit
from .cumulative import build_cumulative_unit
from .plan import Unit
from .retention import build_retention_unit
from .snapshot import build_snapshot_unit
from .units import build_plain_unit

UnitBuilder = Callable[[UnitContext, Unit], exp.Select]

BUILDERS: dict[str, UnitBuilder] = {
    "plain": build_plain_unit,
    "cumulative": build_cumulative_unit,
    "snapshot": build_snapshot_unit,
    "conversion": build_conversion_unit,
    "retention": build_retention_unit,
}


def build_unit(ctx: UnitContext, unit: Unit) -> exp.Select:
    return BUILDERS[unit.key.kind](ctx, unit)
