"""The YAML format as pydantic models (documented key by key in docs/yaml-reference.md).

These models check shape and local rules only (types, required keys, snake_case names). Rules that
need the whole project (references, join paths, cycles) live in `validation.py`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
INTERVAL_RE = re.compile(r"^\s*(\d+)\s+(hour|day|week|month|quarter|year)s?\s*$", re.IGNORECASE)

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


class Model(Named):
    table: str | None = None
    sql: str | None = None
    primary_key: str | list[str]
    time: str | None = None
    joins: list[Join] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _source(self) -> Model:
        if (self.table is None) == (self.sql is None):
            raise ValueError("a model needs exactly one of 'table:' or 'sql:'")
        return self

    @property
    def primary_keys(self) -> list[str]:
        return [self.primary_key] if isinstance(self.primary_key, str) else list(self.primary_key)


class Threshold(Strict):
    below: float | None = None
    above: float | None = None


class MetricRef(Strict):
    """A metric used as a ratio side, optionally narrowed by a filter over dimension refs."""

    metric: str
    filter: str | None = None


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
    thresholds: dict[Literal["warn", "critical"], Threshold] = Field(default_factory=dict)
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


Metric = Annotated[
    SimpleMetric | RatioMetric | DerivedMetric | CumulativeMetric,
    Field(discriminator="type"),
]


class RowPolicy(Strict):
    model: str
    where: str


class Policy(Strict):
    role: str
    rows: list[RowPolicy] = Field(default_factory=list)
    hide: list[str] = Field(default_factory=list)


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
    default_role: str | None = None
