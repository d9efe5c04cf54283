"""The compiler pipeline — the one place that lists the passes, in order:

    extract values → resolve (plan) → route to rollups → shares from groups → fuse units → build units
    → combine + finalize → render per dialect

A plan answered from rollups (routing.py) is rendered for DuckDB, where rollups are stored, and
says so (`CompiledQuery.rollup`), whatever engine the source data lives on.

Compiled statements are cached per query *shape* (the query with every value taken out), so a
dashboard re-asking the same question with other filter values skips straight to binding. The
cache holds a bounded number of statements (a few KiB each), least recently used dropped first;
a layer's views share one, so that many roles cannot multiply it.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from ..access import RowRule
from ..errors import LimitExceededError, QueryValidationError
from ..graph import SemanticGraph
from ..query import Query
from ..sqlglot_local import generator
from ..timegrain import Calendar, zone
from .builders import build_unit
from .combine import combine, finalize
from .context import UnitContext
from .dialects import PROFILES, adapt, check_renderable, normalize_dialect
from .fuse import fuse_units
from .plan import ColumnInfo, RowSecurity
from .resolve import plan_query
from .routing import RollupCatalog, Routed, aligned, route
from .shares import window_shares
from .units import dimension_values
from .values import Extracted, Params, extract

CACHE_SIZE = 4096
ROLLUP_DIALECT = "duckdb"  # rollups are stored in DuckDB (rollups/store.py)
MARKER = "__slp{}__"


@dataclass
class CompiledQuery:
    """A rendered statement with placeholders, and how to compute their values from a query's."""

    template: str
    dialect: str
    params: Params
    columns: list[ColumnInfo]
    warnings: list[str]
    _pattern: re.Pattern[str] = field(repr=False, default=re.compile(""))
    cap: int | None = None  # the default row limit the statement asks one row past (see `cut`)
    timezone: str = "UTC"  # the query's: its periods are local, and so is "now" when they are judged final
    rollup: str | None = None  # the rollups it reads (comma-separated), or None: it reads the source
    # A statement reading rollups answers exactly only when time_range starts and ends on periods
    # of these grains (the rollups' own); `bounds` tells a query's local bounds from its values.
    rollup_grains: tuple[str, ...] = ()
    bounds: Any = None

    def reads_whole_periods(self, values: list[Any], calendar: Calendar) -> bool:
        return self.bounds is None or aligned(self.bounds(values), self.rollup_grains, calendar)

    def cut(self, count: int) -> tuple[int, list[str]]:
        """How many of `count` fetched rows to answer with, and the answer's warnings: an answer
        longer than the default limit is cut there and says so, as a silent cut would be a wrong
        answer."""
        if self.cap is None or count <= self.cap:
            return count, list(self.warnings)
        return self.cap, [
            *self.warnings,
            f"the answer was cut at {self.cap} rows (limits.default_rows): narrow the "
            "query, or set limit (up to limits.max_rows) and page with offset",
        ]

    def bind(self, values: list[Any]) -> dict[str, Any]:
        return {MARKER.format(i): f(values) for i, f in enumerate(self.params.factories)}

    def inline(self, values: list[Any]) -> str:
        """The statement with every value rendered as a typed literal (for display and `compile`)."""
        bound = [f(values) for f in self.params.factories]
        render = generator(self.dialect).generate
        return self._pattern.sub(lambda m: render(literal(bound[int(m.group(1))])), self.template)


def literal(value: Any) -> exp.Expr:
    """A Python value as a typed SQL literal; strings are escaped by sqlglot, never spliced."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    return exp.Literal.string(str(value))


@cache  # one per dialect
def _marker_pattern(dialect: str) -> re.Pattern[str]:
    rendered = exp.Placeholder(this=MARKER.format("X")).sql(dialect)
    before, after = rendered.split(MARKER.format("X"))
    return re.compile(re.escape(before) + MARKER.format(r"(\d+)") + re.escape(after))


class StatementCache:
    """Compiled statements by view, shape and dialect, at most `size` of them (least recently used
    dropped first); safe to share between threads and between the compilers of one layer."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], CompiledQuery] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...]) -> CompiledQuery | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key: tuple[Any, ...], compiled: CompiledQuery) -> None:
        with self._lock:
            self._entries[key] = compiled
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@dataclass(frozen=True)
class _Shape:
    """A query taken apart: its cache key, its values and what its compile needs."""

    key: tuple[Any, ...]
    extracted: Extracted
    values: list[Any]
    dialect: str
    timezone: str
    rollups: RollupCatalog | None


class Compiler:
    """Compiles queries against one view of the semantic graph; safe to share between threads.

    A view is the whole graph (no policies) or what one set of roles may see: its hidden members
    removed from `graph` and its `row_rules` applied to every unit. Claim values arrive per call.
    `statements` may be shared by several views, each naming itself by `view` (its roles).
    """

    def __init__(
        self,
        graph: SemanticGraph,
        row_rules: tuple[tuple[RowRule, ...], ...] | None = None,
        statements: StatementCache | None = None,
        view: tuple[str, ...] = (),
    ):
        self.graph = graph
        self.row_rules = row_rules
        self.claim_names = tuple(sorted({c for rules in row_rules or () for rule in rules for c in rule.claims}))
        self.statements = statements if statements is not None else StatementCache()
        self.view = view
        self._rollup_graphs: dict[tuple[Any, ...], SemanticGraph] = {}

    def compile(
        self,
        query: Query,
        dialect: str | None = None,
        claims: Mapping[str, Any] | None = None,
        *,
        pretty: bool = False,
        rollups: RollupCatalog | None = None,
    ) -> tuple[CompiledQuery, list[Any]]:
        """The statement for the query's shape (cached) and this query's values. `pretty` lays the
        statement out for reading instead: a display path, compiled afresh, never cached. With
        `rollups`, the statement reads them where they answer the query exactly."""
        shape = self._shape(query, dialect, claims, rollups)
        hit = None if pretty else self.statements.get(shape.key)
        if hit is None:
            hit = self._compile(query, shape, pretty=pretty)
            if not pretty:
                self.statements.put(shape.key, hit)
        compiled, values = self._checked(hit, shape)
        if not self._whole_periods(compiled, values, shape):
            # A rollup holds whole periods; this time_range cuts one: the source answers.
            return self.compile(query, dialect, claims, pretty=pretty)
        return compiled, values

    def cached(
        self,
        query: Query,
        dialect: str | None = None,
        claims: Mapping[str, Any] | None = None,
        *,
        rollups: RollupCatalog | None = None,
    ) -> tuple[CompiledQuery, list[Any]] | None:
        """The statement and values when the query's shape is compiled already, else None: cheap
        enough for an event loop, where a new shape's compile (milliseconds) is not."""
        shape = self._shape(query, dialect, claims, rollups)
        hit = self.statements.get(shape.key)
        if hit is None:
            return None
        compiled, values = self._checked(hit, shape)
        return (compiled, values) if self._whole_periods(compiled, values, shape) else None

    def _whole_periods(self, compiled: CompiledQuery, values: list[Any], shape: _Shape) -> bool:
        settings = self.graph.settings
        calendar = Calendar(shape.timezone, settings.week_start, settings.fiscal_year_start_month)
        return compiled.reads_whole_periods(values, calendar)

    @staticmethod
    def _checked(compiled: CompiledQuery, shape: _Shape) -> tuple[CompiledQuery, list[Any]]:
        """The statement and the query's values, once they are checked against what the statement
        compares them with: on every call, since a cached statement is re-bound to new values."""
        lifted = len(shape.extracted.values)
        return compiled, compiled.params.typed(shape.values[:lifted]) + shape.values[lifted:]

    def _shape(
        self, query: Query, dialect: str | None, claims: Mapping[str, Any] | None, rollups: RollupCatalog | None
    ) -> _Shape:
        target = normalize_dialect(dialect or self.graph.settings.dialect)
        timezone = query.timezone or self.graph.settings.timezone
        ex = extract(query, self.graph.settings.dialect, timezone)
        values = ex.values + [(claims or {})[name] for name in self.claim_names]
        routing = None if rollups is None else rollups.key
        return _Shape((self.view, ex.key, target, routing), ex, values, target, timezone, rollups)

    def _compile(self, query: Query, shape: _Shape, *, pretty: bool = False) -> CompiledQuery:
        try:
            return self._build(query, shape, pretty)
        except RecursionError:
            # sqlglot parses and renders expressions recursively, so a filter nesting hundreds of
            # parentheses, NOTs or function calls exhausts Python's stack; nothing else in a compile
            # recurses anywhere near as deep.
            raise LimitExceededError(
                "a filter of the query is nested too deeply (hundreds of parentheses, NOTs or "
                "function calls inside one another) — write it with less nesting"
            ) from None

    def _build(self, query: Query, shape: _Shape, pretty: bool) -> CompiledQuery:
        ex, dialect, timezone = shape.extracted, shape.dialect, shape.timezone
        zone(timezone)
        settings = self.graph.settings
        calendar = Calendar(timezone, settings.week_start, settings.fiscal_year_start_month)
        params = Params()
        security = None
        if self.row_rules is not None:
            slots = {name: len(ex.values) + i for i, name in enumerate(self.claim_names)}
            security = RowSecurity(self.row_rules, MappingProxyType(slots))
        planned = plan_query(self.graph, query, ex, params, calendar, security)
        routed = None if shape.rollups is None else route(planned, shape.rollups.shapes)
        graph = self.graph
        if routed is not None:
            planned, graph, dialect = routed.plan, self._with_rollups(shape.rollups), ROLLUP_DIALECT
        profile = PROFILES[dialect]
        plan = fuse_units(window_shares(planned, graph), graph, profile)
        ctx = UnitContext(graph, plan, params, profile)
        if not plan.units:
            select = finalize(plan, dimension_values(ctx))
        else:
            select = combine(ctx, {u.alias: build_unit(ctx, u) for u in plan.units})
        check_renderable(select, profile)
        tree = adapt(select, dialect)
        for node in tree.find_all(exp.Placeholder):
            node.set("this", MARKER.format(str(node.name)[1:]))
        try:
            # Laid out from the tree itself when asked: re-parsing the text to format it can change
            # its meaning (sqlglot reads MariaDB's MEDIAN() window back as an aggregate). Rendered
            # once and thrown away, so the generator may change it instead of copying it first.
            template = tree.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE, pretty=pretty, copy=False)
        except UnsupportedError as exc:
            raise QueryValidationError(
                f"this query needs something dialect '{dialect}' cannot express: {str(exc).strip()}"
            ) from None
        return CompiledQuery(
            template,
            dialect,
            params,
            list(plan.columns),
            list(plan.warnings),
            _marker_pattern(dialect),
            cap=plan.cap,
            timezone=timezone,
            **_rollup_fields(routed),
        )

    def _with_rollups(self, rollups: RollupCatalog | None) -> SemanticGraph:
        """This view's graph with each rollup's stored model beside the project's models."""
        assert rollups is not None
        key = ("rollups", rollups.key)
        found = self._rollup_graphs.get(key)
        if found is None:
            models = dict(self.graph.models)
            models.update({s.model_name: s.stored_model() for s in rollups.shapes})
            found = SemanticGraph(self.graph.settings, models, self.graph.metrics)
            self._rollup_graphs.clear()  # one catalogue at a time: the previous one is gone for good
            self._rollup_graphs[key] = found
        return found


def _rollup_fields(routed: Routed | None) -> dict[str, Any]:
    if routed is None:
        return {}
    start, end = routed.plan.time_bounds.start, routed.plan.time_bounds.end

    def bounds(values: list[Any]) -> tuple[Any, Any]:
        return (None if start is None else start(values)), (None if end is None else end(values))

    return {"rollup": ", ".join(routed.rollups), "rollup_grains": routed.grains, "bounds": bounds}
