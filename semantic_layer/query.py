"""The query shape (docs/queries.md) shared by Python, the CLI and GraphQL."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticError

from .errors import LimitExceededError, QueryValidationError

FilterOp = Literal[
    "equals",
    "not_equals",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "contains",
    "starts_with",
    "is_null",
    "is_not_null",
]
VALUE_COUNT: dict[str, tuple[int, int | None]] = {
    "equals": (1, 1),
    "not_equals": (1, 1),
    "gt": (1, 1),
    "gte": (1, 1),
    "lt": (1, 1),
    "lte": (1, 1),
    "contains": (1, 1),
    "starts_with": (1, 1),
    "between": (2, 2),
    "in": (1, None),
    "not_in": (1, None),
    "is_null": (0, 0),
    "is_not_null": (0, 0),
}


class Filter(BaseModel):
    """A structured filter: values are bound as parameters, never parsed as SQL."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    member: str
    op: FilterOp
    values: tuple[Any, ...] = ()

    def __init__(self, **data: Any):
        """As pydantic's, but a mistake is a QueryValidationError naming the field and what it takes."""
        try:
            super().__init__(**data)
        except PydanticError as exc:
            raise _query_error(exc, "filter") from None

    @field_validator("op", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    def check_arity(self) -> None:
        low, high = VALUE_COUNT[self.op]
        n = len(self.values)
        if n < low or (high is not None and n > high):
            want = f"{low}" if low == high else f"at least {low}"
            raise QueryValidationError(
                f"filter on '{self.member}' with op '{self.op}' takes {want} value{'s' if want != '1' else ''}, got {n}"
            )
        for value in self.values:
            if isinstance(value, dict | list | tuple):
                kind = "an object" if isinstance(value, dict) else "a list"  # not echoed: it may be huge
                raise QueryValidationError(
                    f"filter on '{self.member}': values must be scalars, got {kind} — "
                    "to match any of several values use op 'in'"
                )


# How big one question may be. Far above what a person or a dashboard asks, and small enough that
# reading and compiling a query stays in the milliseconds: a 250 KB filter string took 10 s.
MAX_TEXT = 10_000  # characters in one filter string, member ref or value
MAX_ITEMS = 200  # entries in one list (metrics, dimensions, filters, order_by, …)
MAX_VALUES = 1_000  # values in one structured filter


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: Any = None
    end: Any = None


class Query(BaseModel):
    """One question: metrics by dimensions, filtered, ordered and limited."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    metrics: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    having: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    time_range: TimeRange | None = None
    order_by: tuple[str, ...] = ()
    limit: int | None = Field(None, ge=0)
    offset: int | None = Field(None, ge=0)
    timezone: str | None = None

    @field_validator("metrics", "dimensions", "where", "having", "segments", "order_by", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _within_limits(self) -> Query:
        for field in ("metrics", "dimensions", "where", "filters", "having", "segments", "order_by"):
            items = getattr(self, field)
            if len(items) > MAX_ITEMS:
                raise LimitExceededError(f"'{field}' has {len(items)} entries, more than the limit of {MAX_ITEMS}")
            for item in items:
                if isinstance(item, str) and len(item) > MAX_TEXT:
                    raise LimitExceededError(
                        f"an entry of '{field}' is {len(item)} characters long, more than the "
                        f"limit of {MAX_TEXT}: split it, or filter on fewer values"
                    )
        for f in self.filters:
            if len(f.values) > MAX_VALUES:
                raise LimitExceededError(
                    f"filter on '{f.member}' has {len(f.values)} values, more than the limit of {MAX_VALUES}"
                )
            if any(isinstance(v, str) and len(v) > MAX_TEXT for v in f.values):
                raise LimitExceededError(f"a value of the filter on '{f.member}' is longer than {MAX_TEXT} characters")
        return self

    @field_validator("time_range", mode="before")
    @classmethod
    def _range(cls, v: Any) -> Any:
        if isinstance(v, list | tuple) and len(v) == 2:
            return {"start": v[0], "end": v[1]}
        return v


def build_query(**kwargs: Any) -> Query:
    """A Query from keyword arguments, with pydantic's errors turned into a QueryValidationError."""
    where = kwargs.pop("where", None) or ()
    if isinstance(where, str):
        where = (where,)
    strings = [w for w in where if isinstance(w, str)]
    structured = [w for w in where if not isinstance(w, str)]
    kwargs["where"] = strings
    kwargs["filters"] = [*structured, *(kwargs.get("filters") or ())]
    try:
        return Query.model_validate(kwargs)
    except PydanticError as exc:
        raise _query_error(exc, "query") from None


def _query_error(exc: PydanticError, what: str) -> QueryValidationError:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return QueryValidationError(f"invalid {what} field '{where}': {err['msg']}")
