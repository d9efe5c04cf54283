"""The resolved semantic graph: models as nodes, declared joins as directed edges.

Resolution of member references (`customers.region`, `owner_rep.region`,
`customer_nation.region.name`) lives here because it is the one place that knows every path.
Ambiguity is an error, never a guess (docs/semantics.md): a name reached by two paths is refused with the
unambiguous spellings listed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from . import definitions as d
from .errors import QueryValidationError, UnknownMemberError, did_you_mean

MAX_PATH_HOPS = 6
T = TypeVar("T")


@dataclass(frozen=True)
class JoinStep:
    """One hop: `join` declared on `source`, reaching `target` under `alias`."""

    alias: str
    source: str
    target: str
    join: d.Join

    @property
    def fans_out(self) -> bool:
        return self.join.relationship == "one_to_many"


Path = tuple[JoinStep, ...]


def path_alias(base: str, path: Path) -> str:
    """The SQL alias of the model at the end of `path` (the base model's own name when empty)."""
    return "__".join(step.alias for step in path) if path else base


def path_ref(path: Path) -> str:
    return ".".join(step.alias for step in path)


def path_fans_out(path: Path) -> bool:
    return any(step.fans_out for step in path)


@dataclass(frozen=True)
class ResolvedDimension:
    """A dimension reached from a base model along `path`."""

    path: Path
    model: str
    dimension: d.Dimension


class SemanticGraph:
    """Validated models and metrics with their join edges indexed for resolution."""

    def __init__(self, settings: d.Settings, models: dict[str, d.Model], metrics: dict[str, d.Metric]):
        self.settings = settings
        self.models = models
        self.metrics = metrics
        self._joins: dict[str, dict[str, JoinStep]] = {
            name: {j.alias: JoinStep(j.alias, name, j.model, j) for j in model.joins if j.model in models}
            for name, model in models.items()
        }
        self._paths_cache: dict[tuple[str, str], list[Path]] = {}
        self._memo: dict[Hashable, Any] = {}

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`, computed once per key for this graph. A graph does not change once built, so
        what the compiler derives from its definitions alone (resolved members, qualified
        snippets) is kept here; failures are not kept, and are raised again on the next call."""
        try:
            return self._memo[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._memo[key] = build()
            return value

    # -- models and members -------------------------------------------------------------
    def model(self, name: str) -> d.Model:
        try:
            return self.models[name]
        except KeyError:
            raise UnknownMemberError(f"unknown model '{name}'{did_you_mean(name, self.models)}") from None

    @cached_property
    def dimensions_by_model(self) -> dict[str, dict[str, d.Dimension]]:
        return {m: {dim.name: dim for dim in model.dimensions} for m, model in self.models.items()}

    @cached_property
    def measures_by_model(self) -> dict[str, dict[str, d.Measure]]:
        return {m: {ms.name: ms for ms in model.measures} for m, model in self.models.items()}

    @cached_property
    def segments_by_model(self) -> dict[str, dict[str, d.Segment]]:
        return {m: {s.name: s for s in model.segments} for m, model in self.models.items()}

    def measure(self, ref: str) -> tuple[str, d.Measure]:
        """'orders.revenue' → ('orders', Measure)."""
        model, _, name = ref.partition(".")
        measures = self.measures_by_model.get(model)
        if measures is None or name not in measures:
            known = [f"{m}.{n}" for m, ms in self.measures_by_model.items() for n in ms]
            raise UnknownMemberError(f"unknown measure '{ref}'{did_you_mean(ref, known)}")
        return model, measures[name]

    def has_member(self, ref: str) -> bool:
        """Whether `ref` names a metric, or a dimension or measure as `model.name`."""
        if ref in self.metrics:
            return True
        model, _, name = ref.partition(".")
        return name in self.dimensions_by_model.get(model, {}) or name in self.measures_by_model.get(model, {})

    def metric(self, name: str) -> d.Metric:
        try:
            return self.metrics[name]
        except KeyError:
            raise UnknownMemberError(f"unknown metric '{name}'{did_you_mean(name, self.metrics)}") from None

    def time_dimension(self, model: str) -> d.Dimension:
        """The model's `time` as a dimension (a bare column when no dimension has that name)."""
        m = self.model(model)
        if m.time is None:
            raise QueryValidationError(
                f"model '{model}' has no 'time:' so its measures cannot be grouped or filtered by "
                f"metric_time — add 'time: <column>' to model '{model}'"
            )
        found = self.dimensions_by_model[model].get(m.time)
        return found if found is not None else d.Dimension(name=m.time, type="time")

    # -- paths ----------------------------------------------------------------------------
    def walk(self, base: str) -> Iterator[Path]:
        """Every simple path from `base` (no model visited twice), shortest first."""
        frontier: list[tuple[Path, frozenset[str]]] = [((), frozenset({base}))]
        for _ in range(MAX_PATH_HOPS):
            nxt: list[tuple[Path, frozenset[str]]] = []
            for path, seen in frontier:
                here = path[-1].target if path else base
                for step in self._joins.get(here, {}).values():
                    if step.target in seen:
                        continue
                    new = (*path, step)
                    yield new
                    nxt.append((new, seen | {step.target}))
            frontier = nxt

    def paths_named(self, base: str, name: str) -> list[Path]:
        """Paths from `base` whose last hop is called `name` (or, failing that, reaches model `name`)."""
        key = (base, name)
        cached = self._paths_cache.get(key)
        if cached is None:
            paths = list(self.walk(base))
            cached = [p for p in paths if p[-1].alias == name] or [p for p in paths if p[-1].target == name]
            self._paths_cache[key] = cached
        return cached

    def resolve_path(self, base: str, parts: list[str], *, what: str) -> Path:
        """The join path that `parts` (everything before the member name) designates from `base`."""
        first, rest = parts[0], parts[1:]
        direct = self._joins.get(base, {}).get(first)
        if first == base:
            path: Path = ()
        elif direct is not None:
            # A join declared on the base model is named exactly: no deeper path can compete with it.
            path = (direct,)
        else:
            candidates = self.paths_named(base, first)
            if not candidates:
                reachable = sorted({p[-1].alias for p in self.walk(base)} | {base})
                raise UnknownMemberError(
                    f"unknown {what}: '{first}' is neither model '{base}' nor a join reachable from it"
                    f"{did_you_mean(first, reachable)}"
                )
            if len(candidates) > 1:
                spelled = ", ".join(f"'{path_ref(p)}'" for p in candidates)
                raise QueryValidationError(
                    f"ambiguous {what}: '{first}' is reachable from '{base}' along several join paths — "
                    f"name the path instead: {spelled}"
                )
            path = candidates[0]
        for part in rest:
            here = path[-1].target if path else base
            step = self._joins.get(here, {}).get(part)
            if step is None:
                raise UnknownMemberError(
                    f"unknown {what}: model '{here}' declares no join '{part}'"
                    f"{did_you_mean(part, self._joins.get(here, {}))}"
                )
            path = (*path, step)
        return path

    def resolve_dimension(self, base: str, ref: str) -> ResolvedDimension:
        """A `model.dimension` / `join.dimension` / `a.b.dimension` ref, resolved from `base`."""
        parts = ref.split(".")
        if len(parts) < 2 or not all(parts):
            raise UnknownMemberError(
                f"unknown dimension '{ref}' — dimensions are named 'model.dimension' or 'join.dimension'"
            )
        path = self.resolve_path(base, parts[:-1], what=f"dimension '{ref}'")
        model = path[-1].target if path else base
        dims = self.dimensions_by_model[model]
        dim = dims.get(parts[-1])
        if dim is None:
            prefix = ".".join(parts[:-1])
            raise UnknownMemberError(
                f"unknown dimension '{ref}': model '{model}' has no dimension '{parts[-1]}'"
                f"{did_you_mean(ref, [f'{prefix}.{n}' for n in dims])}"
            )
        return ResolvedDimension(path, model, dim)
