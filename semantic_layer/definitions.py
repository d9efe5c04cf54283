"""The YAML format as pydantic models (documented key by key in docs/yaml-reference.md).

These models check shape and local rules only (types, required keys, snake_case names). Rules that
need the whole project (references, join paths, cycles) live in `validation.py`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from .errors import did_you_mean

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
INTERVAL_RE = re.compile(r"^\s*(\d+)\s+(hour|day|week|month|quarter|year)s?\s*$", re.IGNORECASE)
# A length of wall-clock time (how often alerts are evaluated): '15 minutes', '1 hour', '30 seconds', '15m'.
DURATION_RE = re.compile(r"^\s*(\d+)\s*(seconds?|s|minutes?|m|hours?|h|days?|d)\s*$", re.IGNORECASE)
DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
WEBHOOK_URL_RE = re.compile(r"^https?://\S+$")

Aggregation = Literal["count", "count_distinct", "sum", "avg", "min", "max", "median", "percentile"]
Relationship = Literal["many_to_one", "one_to_one", "one_to_many"]
DimensionType = Literal["string", "number", "boolean", "time"]
Grain = Literal["hour", "day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year"]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently drop a definition's meaning."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"'{value}' is not snake_case (lower-case letters, digits and _; a letter first)")
    return value


def parse_interval(text: str) -> tuple[int, str]:
    """'30 days' → (30, 'day'). Raises ValueError naming the accepted form."""
    match = INTERVAL_RE.match(str(text))
    if not match:
        raise ValueError(
            f"'{text}' is not an interval like '30 days' or '1 month' (units: hour, day, week, month, quarter, year)"
        )
    return int(match.group(1)), match.group(2).lower()


def parse_duration(text: str) -> float:
    """'15 minutes' → 900.0 seconds. Raises ValueError naming the accepted forms."""
    match = DURATION_RE.match(str(text))
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"'{text}' is not a duration like '15 minutes', '1 hour' or '30 seconds' "
            "(units: seconds, minutes, hours, days; a whole number above 0)"
        )
    return float(int(match.group(1)) * DURATION_SECONDS[match.group(2)[0].lower()])


class Described(Strict):
    label: str | None = None
    description: str | None = None


class Named(Described):
    name: str

    @field_validator("name")
    @classmethod
    def _snake_case(cls, v: str) -> str:
        return _check_name(v)


class Dimension(Named):
    expr: str | None = None
    type: DimensionType = "string"
    # A `time` dimension holding calendar dates (not UTC instants): no time-zone conversion.
    granularity: Literal["day"] | None = None
    format: str | None = None

    @property
    def sql(self) -> str:
        return self.expr or self.name


class NonAdditive(Strict):
    dimension: str
    window: Literal["last", "first", "min", "max"] = "last"


class Measure(Named):
    agg: Aggregation
    expr: str | None = None
    filter: str | None = None
    percentile: float | None = None
    non_additive: NonAdditive | None = None

    @model_validator(mode="after")
    def _agg_rules(self) -> Measure:
        if self.agg == "percentile":
            if self.percentile is None or not 0 < self.percentile < 1:
                raise ValueError("agg 'percentile' needs 'percentile:' between 0 and 1 (e.g. 0.9)")
        elif self.percentile is not None:
            raise ValueError(f"'percentile:' only applies to agg 'percentile', not '{self.agg}'")
        if self.agg != "count" and self.expr is None:
            # sum/avg/... of the measure's own name is the common case: expr defaults to the name.
            object.__setattr__(self, "expr", self.name)
        return self


class Segment(Named):
    where: str


class Join(Strict):
    model: str
    name: str | None = None
    on: str
    relationship: Relationship
    description: str | None = None

    @field_validator("model", "name")
    @classmethod
    def _snake_case(cls, v: str | None) -> str | None:
        return None if v is None else _check_name(v)

    @property
    def alias(self) -> str:
        """The name the joined model is addressed by from the declaring model."""
        return self.name or self.model


# -- data checks on a model's rows (`checks:`; run by `semantic-layer check`, semantic_layer/checks.py) --
class Freshness(Strict):
    """The newest value of `column` is at most `max_age` old: a table that stopped loading fails."""

    column: str
    max_age: str = Field(examples=["1 day", "36 hours"])

    @field_validator("max_age")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class AcceptedValues(Strict):
    """Every non-NULL value of `column` is one of `values`."""

    column: str
    values: list[str | int | float | bool] = Field(min_length=1)


class RowCount(Strict):
    """The model has between `min` and `max` rows (either bound may be left out)."""

    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _a_bound(self) -> RowCount:
        if self.min is None and self.max is None:
            raise ValueError("row_count needs 'min:', 'max:' or both (e.g. {min: 1})")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"row_count max ({self.max}) is below min ({self.min}): no row count could pass")
        return self


CHECK_KINDS = ("freshness", "not_null", "unique", "accepted_values", "row_count", "sql")


class Check(Named):
    """One assertion about a model's rows, of exactly one kind. `sql` is a query, in the project
    dialect over the warehouse's tables, returning the rows that fail."""

    freshness: Freshness | None = None
    not_null: str | None = None
    unique: str | None = None
    accepted_values: AcceptedValues | None = None
    row_count: RowCount | None = None
    sql: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Check:
        given = [kind for kind in CHECK_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(
                f"check '{self.name}' needs exactly one of {', '.join(CHECK_KINDS)}"
                + (f", not {len(given)} ({', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in CHECK_KINDS if getattr(self, kind) is not None)


class Model(Named):
    table: str | None = None
    sql: str | None = None
    primary_key: str | list[str]
    time: str | None = None
    joins: list[Join] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)

    @model_validator(mode="after")
    def _source(self) -> Model:
        if (self.table is None) == (self.sql is None):
            raise ValueError("a model needs exactly one of 'table:' or 'sql:'")
        return self

    @property
    def primary_keys(self) -> list[str]:
        return [self.primary_key] if isinstance(self.primary_key, str) else list(self.primary_key)


class Threshold(Strict):
    """One alert level: it fires when the value is above `above` or below `below` (with both, the
    level fires outside the band between them)."""

    below: float | None = None
    above: float | None = None

    @model_validator(mode="after")
    def _a_bound(self) -> Threshold:
        if self.below is None and self.above is None:
            raise ValueError("a threshold level needs 'above:', 'below:' or both (e.g. {above: 0.12})")
        if self.below is not None and self.above is not None and self.above <= self.below:
            raise ValueError(
                f"above ({self.above:g}) must be greater than below ({self.below:g}): the level fires "
                "outside the band between them, and this band is empty, so it would fire for every value"
            )
        return self


class Thresholds(Strict):
    """Alert levels of a metric, evaluated on the last complete period at `grain`."""

    grain: Grain = "month"
    warn: Threshold | None = None
    critical: Threshold | None = None

    @model_validator(mode="after")
    def _critical_beyond_warn(self) -> Thresholds:
        if self.warn is None or self.critical is None:
            return self
        warn, critical = self.warn, self.critical
        if warn.above is not None and critical.above is not None and critical.above <= warn.above:
            raise ValueError(
                f"critical above ({critical.above:g}) is not beyond warn above ({warn.above:g}): a critical "
                "level must be the further one, so that a value crosses warn first — "
                + ("swap them" if critical.above < warn.above else "raise critical above")
            )
        if warn.below is not None and critical.below is not None and critical.below >= warn.below:
            raise ValueError(
                f"critical below ({critical.below:g}) is not beyond warn below ({warn.below:g}): a critical "
                "level must be the further one, so that a value crosses warn first — "
                + ("swap them" if critical.below > warn.below else "lower critical below")
            )
        return self

    def levels(self) -> list[tuple[str, Threshold]]:
        """The levels set, the most severe first."""
        return [(name, level) for name, level in (("critical", self.critical), ("warn", self.warn)) if level]


class MetricRef(Strict):
    """A metric used as a ratio side, optionally narrowed by a filter over dimension refs.

    `reduce_by` (denominators only): dimension refs the side is aggregated without — the row's
    other dimensions still group it, so `revenue` reduced by the channel is its month's total."""

    metric: str
    filter: str | None = None
    reduce_by: list[str] = Field(default_factory=list)


class DerivedInput(Strict):
    metric: str
    alias: str | None = None
    offset: str | None = None
    filter: str | None = None

    @field_validator("offset")
    @classmethod
    def _offset(cls, v: str | None) -> str | None:
        if v is not None:
            parse_interval(v)
        return v

    @property
    def name(self) -> str:
        return self.alias or self.metric


class MetricBase(Named):
    owner: str | None = None
    tier: Literal["strategic", "tactical", "operational"] | None = None
    status: Literal["active", "experimental", "deprecated"] = "active"
    replaced_by: str | None = None
    format: Literal["number", "integer", "percent", "currency", "duration_seconds"] | None = None
    direction: Literal["up", "down"] | None = None
    tags: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    fill_nulls_with: float | None = None
    thresholds: Thresholds | None = None
    filter: str | None = None

    @field_validator("synonyms", "tags", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v


class SimpleMetric(MetricBase):
    type: Literal["simple"]
    measure: str


class RatioMetric(MetricBase):
    type: Literal["ratio"]
    numerator: MetricRef
    denominator: MetricRef

    @field_validator("numerator", "denominator", mode="before")
    @classmethod
    def _ref(cls, v: Any) -> Any:
        return {"metric": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _reduce_denominator_only(self) -> RatioMetric:
        if self.numerator.reduce_by:
            raise ValueError("reduce_by belongs on the denominator (the total a share is taken of)")
        return self


class DerivedMetric(MetricBase):
    type: Literal["derived"]
    expr: str
    inputs: list[DerivedInput] = Field(default_factory=list)


class CumulativeMetric(MetricBase):
    type: Literal["cumulative"]
    metric: str
    window: str | None = None
    grain_to_date: Literal["week", "month", "quarter", "year"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CumulativeMetric:
        if self.window is not None and self.grain_to_date is not None:
            raise ValueError("a cumulative metric takes 'window:' or 'grain_to_date:', not both")
        if self.window is not None:
            parse_interval(self.window)
        return self


class ConversionMetric(MetricBase):
    """Base events (a measure's rows) that a conversion event of the same entity follows within
    `window`: counted, or as a share of the base events."""

    type: Literal["conversion"]
    base: str  # model.measure
    conversion: str  # model.measure
    entity: str  # an expression over the columns of both models
    window: str | None = None  # unbounded when absent
    calculation: Literal["rate", "count"] = "rate"

    @field_validator("window")
    @classmethod
    def _window(cls, v: str | None) -> str | None:
        if v is not None:
            parse_interval(v)
        return v


class RetentionMetric(MetricBase):
    """Of the entities active in a period, the share active again `offset` periods later."""

    type: Literal["retention"]
    activity: str  # a model with a time
    entity: str  # an expression over the activity model's columns
    period: Literal["day", "week", "month", "quarter", "year"] = "month"
    offset: int = Field(1, ge=1)


METRIC_TYPES = (SimpleMetric, RatioMetric, DerivedMetric, CumulativeMetric, ConversionMetric, RetentionMetric)
Metric = Annotated[
    SimpleMetric | RatioMetric | DerivedMetric | CumulativeMetric | ConversionMetric | RetentionMetric,
    Field(discriminator="type"),
]


class RowPolicy(Strict):
    model: str
    where: str


class Policy(Strict):
    role: str
    rows: list[RowPolicy] = Field(default_factory=list)
    hide: list[str] = Field(default_factory=list)


TileKind = Literal["kpi", "line", "bar", "stacked_bar", "funnel", "table", "heatmap"]
# What each kind draws, for messages: the shapes `Tile._shape` accepts.
TILE_SHAPES: dict[str, str] = {
    "kpi": "one metric and no dimensions",
    "line": "a time dimension first (metric_time), then at most one more dimension with a single metric",
    "bar": "one dimension with one or more metrics, or two dimensions with one metric",
    "stacked_bar": "one dimension with two or more metrics, or two dimensions with one metric",
    "funnel": "two or more metrics (the steps, in order) and no dimensions",
    "table": "one or more metrics by any dimensions",
    "heatmap": "one metric by two dimensions, or two or more metrics by one dimension",
}


class DashboardRange(Strict):
    """A dashboard's default time range: the last `last` (whole periods at the dashboard's grain,
    up to `end` or to the start of the current period), or fixed `start` and `end` dates."""

    last: str | None = None
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DashboardRange:
        if self.last is not None:
            parse_interval(self.last)
            if self.start is not None:
                raise ValueError(
                    "give 'last:' (with an optional 'end:') or 'start:' and 'end:', not 'last:' and 'start:'"
                )
        elif self.start is None and self.end is None:
            raise ValueError("a time range needs 'last:' (e.g. {last: 12 months}) or 'start:' and/or 'end:'")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must come after start ({self.start})")
        return self


# A tile's time range: a word, or a range of its own. Told apart by the value's shape, so that a
# mistake in a range is reported as that, not beside "should be 'dashboard' or 'all'" (the loader
# leaves "tag:" parts out of an error's location).
TileRange = Annotated[
    Annotated[Literal["dashboard", "all"], Tag("tag:word")] | Annotated[DashboardRange, Tag("tag:range")],
    Discriminator(lambda v: "tag:range" if isinstance(v, dict | DashboardRange) else "tag:word"),
]


class Tile(Strict):
    """One chart or number on a dashboard: metrics by dimensions, drawn as `kind`."""

    metrics: list[str] = Field(min_length=1)
    dimensions: list[str] = Field(default_factory=list)
    kind: TileKind
    title: str | None = None
    compare: str | None = None  # kpi: the change against the value this long before ('1 year')
    limit: int | None = Field(None, ge=1, le=1000)  # bar, stacked_bar, table: the top rows by the first metric
    grain: Grain | None = None  # metric_time's grain on this tile (default: the dashboard's)
    # all: the tile ignores the dashboard's time range (a lifetime value, cohorts by acquisition date);
    # a range of its own: a view that needs other periods than the page's (a cohort table whose later
    # offsets must have happened)
    time_range: TileRange = "dashboard"

    @field_validator("compare")
    @classmethod
    def _compare(cls, v: str | None) -> str | None:
        if v is not None:
            parse_interval(v)
        return v

    @model_validator(mode="after")
    def _shape(self) -> Tile:
        metrics, dims = len(self.metrics), len(self.dimensions)
        fits = {
            "kpi": metrics == 1 and dims == 0,
            "line": dims in (1, 2) and (dims == 1 or metrics == 1),
            "bar": (dims == 1) or (dims == 2 and metrics == 1),
            "stacked_bar": (dims == 1 and metrics >= 2) or (dims == 2 and metrics == 1),
            "funnel": metrics >= 2 and dims == 0,
            "table": True,
            "heatmap": (metrics == 1 and dims == 2) or (metrics >= 2 and dims == 1),
        }[self.kind]
        if not fits:
            raise ValueError(
                f"a {self.kind} tile takes {TILE_SHAPES[self.kind]}; this one has {metrics} "
                f"metric{'s' if metrics != 1 else ''} and {dims} dimension{'s' if dims != 1 else ''}"
            )
        if self.compare is not None and self.kind != "kpi":
            raise ValueError(f"compare: applies to kpi tiles only, not {self.kind}")
        if self.limit is not None and self.kind not in ("bar", "stacked_bar", "table"):
            raise ValueError(f"limit: applies to bar, stacked_bar and table tiles only, not {self.kind}")
        return self


class Dashboard(Strict):
    """A page of tiles over shared filters, time range and grain (docs/dashboards.md)."""

    name: str
    title: str | None = None
    description: str | None = None
    owner: str | None = None
    filters: list[str] = Field(default_factory=list)  # dimension refs offered as controls
    time_range: DashboardRange | None = None  # none: all time
    grain: Grain = "month"
    screen_refresh: int = Field(60, ge=5, le=86_400)  # seconds between refreshes on a wall screen
    tiles: list[Tile] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _snake_case(cls, v: str) -> str:
        return _check_name(v)


class RollupRefresh(Strict):
    """How a rollup is kept up to date: rebuilt every `every`, each time from `lookback` before its
    newest stored period on (rows that arrive late for periods already stored)."""

    every: str = Field("1 hour", examples=["1 hour", "15 minutes"])
    lookback: str = Field("3 days", examples=["3 days", "1 month"])

    @field_validator("every")
    @classmethod
    def _every(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("lookback")
    @classmethod
    def _lookback(cls, v: str) -> str:
        parse_interval(v)
        return v


class Rollup(Strict):
    """A pre-aggregation: `measures` of `model` stored by `dimensions` (refs as in queries) and by
    metric_time at `time_grain`, kept in the rollup store and used for every query it can answer
    exactly (docs/rollups.md)."""

    name: str
    description: str | None = None
    model: str
    measures: list[str] = Field(min_length=1)
    dimensions: list[str] = Field(default_factory=list)
    time_grain: Literal["day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year"] = "day"
    refresh: RollupRefresh = Field(default_factory=RollupRefresh)
    # Past this age since its last successful refresh a rollup is not used: queries read the source.
    max_staleness: str | None = Field(None, examples=["2 hours"])

    @field_validator("name", "model")
    @classmethod
    def _snake_case(cls, v: str) -> str:
        return _check_name(v)

    @field_validator("max_staleness")
    @classmethod
    def _staleness(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @model_validator(mode="after")
    def _distinct(self) -> Rollup:
        for key, items in (("measures", self.measures), ("dimensions", self.dimensions)):
            twice = sorted({item for item in items if items.count(item) > 1})
            if twice:
                raise ValueError(f"{key}: '{twice[0]}' is listed twice")
        return self


class CacheSettings(Strict):
    ttl_seconds: int = Field(60, ge=0)
    # Seconds past the TTL during which the old answer is served at once while one refresh runs
    # (0: off, an expired answer is recomputed before it is served).
    stale_while_revalidate: int = Field(0, ge=0)


class LimitSettings(Strict):
    default_rows: int = Field(10_000, ge=1)
    max_rows: int = Field(1_000_000, ge=1)
    timeout_seconds: float = Field(30, gt=0)


class EngineSettings(Strict):
    """How the embedded engine (DuckDB) may use this machine. Unset values take a server-friendly
    default: a quarter of the machine's memory (at least 1 GB) and one thread per core."""

    memory_limit: str | None = Field(None, pattern=r"(?i)^\s*\d+(\.\d+)?\s*(k|m|g|t)i?b\s*$", examples=["4GB", "512MB"])
    threads: int | None = Field(None, ge=1, le=1024)


class Webhook(Strict):
    """Where pushed alerts go, and in which message format."""

    url: str = Field(examples=["https://hooks.slack.com/services/T000/B000/XXXX"])
    format: Literal["generic", "slack", "wecom", "dingtalk"] = "generic"

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not WEBHOOK_URL_RE.match(v):
            raise ValueError("a webhook is an http:// or https:// URL (without spaces)")
        return v


class AlertSettings(Strict):
    """Pushed alerts: the server (`serve`) or `semantic-layer alerts --notify` sends a message to each
    webhook when a metric's alert level changes (docs/deployment.md)."""

    webhooks: list[Webhook] = Field(default_factory=list)
    every: str | None = None  # how often the server evaluates thresholds: '15 minutes'
    # Where the levels last sent are remembered when no Redis is configured (relative to the project folder).
    state_file: str = ".semantic-layer-alerts.json"

    @field_validator("every")
    @classmethod
    def _every(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


# -- governance: `semantic-layer lint` rules and the audit log of queries (semantic_layer/governance/) --
LintRule = Literal[
    "missing-owner",
    "missing-tier",
    "missing-description",
    "deprecated-without-replacement",
    "duplicate-definition",
    "name-collision",
    "synonym-is-metric-name",
    "strategic-on-experimental",
    "thresholds-without-direction",
    "unused-metric",
]


class LintSettings(Strict):
    """Which lint rules run, and how severe each one is (docs/cli.md lists the rules)."""

    disable: list[LintRule] = Field(default_factory=list)
    severity: dict[LintRule, Literal["error", "warning"]] = Field(default_factory=dict)
    # How far back the audit log is read for `unused-metric` ('90 days').
    usage_window: str = "90 days"

    @field_validator("disable", "severity", mode="before")
    @classmethod
    def _known_rules(cls, v: Any) -> Any:
        """An unknown rule id is named with the nearest known one (pydantic would list them all)."""
        rules = get_args(LintRule)
        for rule in v if isinstance(v, list | dict) else ():
            if isinstance(rule, str) and rule not in rules:
                raise ValueError(f"unknown lint rule '{rule}'{did_you_mean(rule, rules)}")
        return v

    @field_validator("usage_window")
    @classmethod
    def _window(cls, v: str) -> str:
        parse_duration(v)
        return v


class AuditSettings(Strict):
    """The audit log of queries, kept in the state folder (docs/deployment.md)."""

    enabled: bool = True
    # A log file is closed and a new one started past this size; the oldest beyond `keep_files` go.
    max_megabytes: float = Field(64, gt=0)
    keep_files: int = Field(4, ge=2)
    # A PostgreSQL table instead of the state folder's files, shared by servers on several machines
    # (SEMANTIC_LAYER_AUDIT_URL overrides `url`, so that a password stays out of the project).
    url: str | None = Field(None, pattern=r"^postgres(ql)?://")
    table: str = Field("semantic_layer_queries", pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class Settings(Strict):
    name: str = "semantic_project"
    connection: str = "duckdb:///:memory:"
    dialect: str = "duckdb"
    timezone: str = "UTC"
    week_start: Literal["monday", "sunday"] = "monday"
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    lint: LintSettings = Field(default_factory=LintSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    default_role: str | None = None
    # Where rollups are stored: a DuckDB file (default: rollups.duckdb in the state folder).
    rollup_store: str | None = Field(
        None, pattern=r"^duckdb:///.+", examples=["duckdb:///var/lib/semantic-layer/rollups.duckdb"]
    )
