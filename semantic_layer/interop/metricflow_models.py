"""MetricFlow semantic models as models here: entities become primary keys and joins, measures keep
their aggregation, and each measure is counted on its own `agg_time_dimension`.

A semantic model whose measures use several aggregation times becomes one model per time: this
layer gives a model one `time`, and counting a measure on another time would move its numbers
between periods. The extra models read the same table and join the first one-to-one, so every
dimension stays reachable.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp, parse_one
from sqlglot.errors import ParseError

from .dbt_project import DbtProject, Node
from .report import Report, Unmappable

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
TO_ONE = ("primary", "unique")
# (this side's entity type, the other side's) → the join's relationship; other pairs do not join.
RELATIONSHIPS = {
    ("foreign", "primary"): "many_to_one",
    ("foreign", "unique"): "many_to_one",
    ("natural", "primary"): "many_to_one",
    ("natural", "unique"): "many_to_one",
    ("primary", "primary"): "one_to_one",
    ("primary", "unique"): "one_to_one",
    ("unique", "primary"): "one_to_one",
    ("unique", "unique"): "one_to_one",
    ("primary", "foreign"): "one_to_many",
    ("unique", "foreign"): "one_to_many",
    ("primary", "natural"): "one_to_many",
    ("unique", "natural"): "one_to_many",
}
AGGREGATIONS = {
    "sum": "sum",
    "max": "max",
    "min": "min",
    "average": "avg",
    "count": "count",
    "count_distinct": "count_distinct",
    "median": "median",
    "percentile": "percentile",
    "sum_boolean": "sum",
}
# MetricFlow's grains of a column, coarser than an instant: such a column holds calendar dates.
DATE_GRAINS = ("day", "week", "month", "quarter", "year")
WINDOW_CHOICES = {"max": "last", "min": "first"}


@dataclass(frozen=True)
class Entity:
    name: str
    type: str
    expr: str


@dataclass
class SemanticModel:
    """One `semantic_models:` item, read and checked."""

    node: Node
    name: str
    table: str
    entities: dict[str, Entity]
    dimensions: dict[str, dict[str, Any]]
    scd: bool  # a slowly changing dimension table (validity_params): joins to it need a time condition
    entity_dimensions: set[str] = field(default_factory=set)  # entities also offered as dimensions

    @property
    def primary(self) -> Entity:
        return next(e for e in self.entities.values() if e.type == "primary")

    def has_dimension(self, name: str) -> bool:
        return name in self.dimensions or name in self.entity_dimensions


@dataclass(frozen=True)
class MeasureRef:
    """Where a MetricFlow measure landed: `model.measure` here, and what it aggregates."""

    ref: str
    agg: str
    expr: str | None
    semantic_model: SemanticModel


@dataclass
class ModelSet:
    """The models the import writes, keyed by name, with the file each goes to."""

    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    origins: dict[str, tuple[str, int]] = field(default_factory=dict)  # model → its semantic model's file, line
    semantic_models: dict[str, SemanticModel] = field(default_factory=dict)
    measures: dict[str, MeasureRef] = field(default_factory=dict)

    def owners(self, entity: str, dimension: str | None) -> list[SemanticModel]:
        """The semantic models an entity leads to (as their primary or unique key) holding `dimension`."""
        found = [
            sm
            for sm in self.semantic_models.values()
            if entity in sm.entities and (dimension is None or sm.has_dimension(dimension))
        ]
        keyed = [sm for sm in found if sm.entities[entity].type in (*TO_ONE, "natural")]
        return keyed or found


def map_semantic_models(project: DbtProject, dialect: str, report: Report) -> ModelSet:
    out = ModelSet()
    for node in project.semantic_models:
        try:
            sm = _semantic_model(node, project)
        except Unmappable as exc:
            report.add(node, "semantic model", exc)
            continue
        except (KeyError, TypeError, AttributeError) as exc:  # dbt would refuse it too
            why = Unmappable(f"not a valid MetricFlow semantic model ({type(exc).__name__}: {exc})")
            report.add(node, "semantic model", why)
            continue
        if sm.name in out.semantic_models:
            report.add(node, "semantic model", Unmappable("a semantic model of this name is defined twice"))
            continue
        out.semantic_models[sm.name] = sm
    for sm in out.semantic_models.values():
        _add_models(sm, out, report)
    for sm in out.semantic_models.values():
        _add_joins(sm, out, dialect, report)
    return out


def _semantic_model(node: Node, project: DbtProject) -> SemanticModel:
    name = node.name
    if not NAME.match(name):
        raise Unmappable("names here are snake_case: lower-case letters, digits and _")
    model = node.data.get("model")
    table = project.relation(model) if isinstance(model, str) else None
    if table is None:
        raise Unmappable("`model:` must be ref('a_dbt_model')", "model")
    entities: dict[str, Entity] = {}
    for i, raw in enumerate(node.data.get("entities") or []):
        kind = raw.get("type")
        if kind not in ("primary", "unique", "foreign", "natural"):
            raise Unmappable(f"entity type {kind!r} is not primary, unique, foreign or natural", "entities", i)
        entities[raw["name"]] = Entity(raw["name"], kind, str(raw.get("expr", raw["name"])))
    primaries = [e for e in entities.values() if e.type == "primary"]
    if not primaries:
        raise Unmappable(
            "it has no primary entity: a model here needs a primary key that is unique and never NULL, "
            "to count each row once — add an entity of type primary",
            "entities",
        )
    if not _is_column(primaries[0].expr):
        raise Unmappable(f"its primary entity's expr {primaries[0].expr!r} is not a column: a primary key is one")
    dimensions = {str(d["name"]): d for d in node.data.get("dimensions") or []}
    scd = any((d.get("type_params") or {}).get("validity_params") for d in dimensions.values())
    return SemanticModel(node, name, table, entities, dimensions, scd)


def _add_models(sm: SemanticModel, out: ModelSet, report: Report) -> None:
    """The semantic model's model, and one more per extra aggregation time of its measures."""
    dimensions = [_dimension(raw) for raw in sm.dimensions.values()]
    taken = {d["name"] for d in dimensions} | {str(m.get("name")) for m in sm.node.data.get("measures") or []}
    for entity in sm.entities.values():
        if entity.name not in taken and NAME.match(entity.name):
            dimensions.append(_named(entity.name, entity.expr))
            sm.entity_dimensions.add(entity.name)
    by_time: dict[str, list[dict[str, Any]]] = {}
    default_time = (sm.node.data.get("defaults") or {}).get("agg_time_dimension")
    for i, raw in enumerate(sm.node.data.get("measures") or []):
        try:
            time = _measure_time(raw, sm, default_time)
            measure = _measure(raw, sm, time)
        except Unmappable as exc:
            report.add(sm.node, "measure", exc.at("measures", i), name=str(raw.get("name")))
            continue
        by_time.setdefault(time, []).append(measure)
    times = Counter({t: len(ms) for t, ms in by_time.items()})
    main_time = default_time if default_time in by_time or not times else times.most_common(1)[0][0]
    model: dict[str, Any] = {"name": sm.name, **_described(sm.node.data), "table": sm.table}
    model["primary_key"] = sm.primary.expr
    if main_time:
        model["time"] = main_time
    model["joins"] = []
    model["dimensions"] = dimensions
    model["measures"] = by_time.pop(main_time, []) if main_time else []
    _place(model, sm, out)
    for time, measures in by_time.items():
        _place(_time_companion(sm, time, measures), sm, out)


def _place(model: dict[str, Any], sm: SemanticModel, out: ModelSet) -> None:
    out.models[model["name"]] = model
    out.files[model["name"]] = sm.node.output_file
    out.origins[model["name"]] = sm.node.where()
    for measure in model["measures"]:
        ref = f"{model['name']}.{measure['name']}"
        out.measures[measure["name"]] = MeasureRef(ref, measure["agg"], measure.get("expr"), sm)


def _time_companion(sm: SemanticModel, time: str, measures: list[dict[str, Any]]) -> dict[str, Any]:
    """The measures counted on another time of the same rows: a model of their own, joined one-to-one."""
    name = f"{sm.name}_by_{time}"
    key = sm.primary.expr
    return {
        "name": name,
        "description": f"The measures of {sm.name} counted on {time} (imported from one MetricFlow semantic model).",
        "table": sm.table,
        "primary_key": key,
        "time": time,
        "joins": [{"model": sm.name, "on": f"{name}.{key} = {sm.name}.{key}", "relationship": "one_to_one"}],
        "dimensions": [_dimension(sm.dimensions[time])],
        "measures": measures,
    }


def _measure_time(raw: dict[str, Any], sm: SemanticModel, default: str | None) -> str:
    time = raw.get("agg_time_dimension") or default
    if not time:
        raise Unmappable("it has no agg_time_dimension, and the semantic model sets no default", "name")
    dim = sm.dimensions.get(time)
    if dim is None or dim.get("type") != "time":
        raise Unmappable(f"its agg_time_dimension {time!r} is not a time dimension of {sm.name}", "name")
    return str(time)


def _measure(raw: dict[str, Any], sm: SemanticModel, time: str) -> dict[str, Any]:
    name = str(raw.get("name"))
    if not NAME.match(name):
        raise Unmappable("names here are snake_case: lower-case letters, digits and _", "name")
    if name in sm.dimensions:
        raise Unmappable(f"a dimension of {sm.name} has the same name; here they share one namespace", "name")
    mf_agg = str(raw.get("agg"))
    agg = AGGREGATIONS.get(mf_agg)
    if agg is None:
        raise Unmappable(f"agg {mf_agg!r} has no counterpart here", "agg")
    expr = str(raw.get("expr", name)).strip()
    measure: dict[str, Any] = {"name": name, **_described(raw), "agg": agg}
    if mf_agg == "sum_boolean":
        expr = f"CAST({expr} AS INTEGER)"
    if agg == "count_distinct" and expr == sm.primary.expr:
        agg = measure["agg"] = "count"  # the same number (a key is unique and never NULL), and a conversion base
    if not (agg == "count" and expr in ("1", "*")):
        measure["expr"] = expr
    if agg == "percentile":
        measure["percentile"] = _percentile(raw.get("agg_params") or {})
    if raw.get("non_additive_dimension"):
        measure["non_additive"] = _non_additive(raw["non_additive_dimension"], time)
    return measure


def _percentile(params: dict[str, Any]) -> float:
    if params.get("use_discrete_percentile"):
        raise Unmappable("a discrete percentile: percentiles here interpolate (PERCENTILE_CONT)", "agg_params")
    if params.get("use_approximate_percentile"):
        raise Unmappable("an approximate percentile: percentiles here are exact, so the numbers would differ")
    value = params.get("percentile")
    if not isinstance(value, int | float) or not 0 < value < 1:
        raise Unmappable("agg_params.percentile must be a number between 0 and 1", "agg_params")
    return float(value)


def _non_additive(raw: dict[str, Any], time: str) -> dict[str, str]:
    if raw.get("window_groupings"):
        raise Unmappable(
            "non_additive_dimension with window_groupings: a snapshot here is chosen among all of a "
            "period's rows, not per entity",
            "non_additive_dimension",
        )
    if raw.get("name") != time:
        raise Unmappable(
            f"its non_additive_dimension {raw.get('name')!r} is not its agg_time_dimension {time!r}: "
            "snapshots here are taken along the time a measure is counted on",
            "non_additive_dimension",
        )
    choice = str(raw.get("window_choice", "min"))
    if choice not in WINDOW_CHOICES:
        raise Unmappable(f"window_choice {choice!r} is not min or max", "non_additive_dimension")
    return {"dimension": time, "window": WINDOW_CHOICES[choice]}


def _dimension(raw: dict[str, Any]) -> dict[str, Any]:
    dim = _named(str(raw["name"]), str(raw.get("expr", raw["name"])))
    dim.update(_described(raw))
    if raw.get("type") == "time":
        dim["type"] = "time"
        grain = (raw.get("type_params") or {}).get("time_granularity")
        if grain in DATE_GRAINS:
            dim["granularity"] = "day"
    return dim


def _named(name: str, expr: str) -> dict[str, Any]:
    return {"name": name} if expr.strip() == name else {"name": name, "expr": expr.strip()}


def _described(raw: dict[str, Any]) -> dict[str, str]:
    """label and description, except Jinja (`{{ doc('x') }}`): the rendered text is dbt's to make."""
    return {
        key: str(raw[key]).strip() for key in ("label", "description") if raw.get(key) and "{{" not in str(raw[key])
    }


def _add_joins(sm: SemanticModel, out: ModelSet, dialect: str, report: Report) -> None:
    """A join to every other semantic model sharing an entity, in the direction MetricFlow's entity
    types allow (a foreign entity leads to the primary one); none to or from a slowly changing table."""
    joins: list[dict[str, Any]] = out.models[sm.name]["joins"]
    for entity in sm.entities.values():
        for other in out.semantic_models.values():
            match = other.entities.get(entity.name)
            if other is sm or match is None:
                continue
            if sm.scd or other.scd:
                scd = sm if sm.scd else other
                report.add(
                    scd.node,
                    "join",
                    Unmappable(
                        f"joins on entity {entity.name!r}: {scd.name} is a slowly changing dimension "
                        "(validity_params), and such a join needs metric_time between its validity bounds"
                    ),
                    name=f"{sm.name} → {other.name}",
                )
                continue
            relationship = RELATIONSHIPS.get((entity.type, match.type))
            if relationship is None or any(j["model"] == other.name for j in joins):
                continue  # one join per pair of models; a second shared entity adds no path
            left, right = _qualify(entity.expr, sm.name, dialect), _qualify(match.expr, other.name, dialect)
            joins.append({"model": other.name, "on": f"{left} = {right}", "relationship": relationship})
    if not joins:
        del out.models[sm.name]["joins"]


def _qualify(expr: str, model: str, dialect: str) -> str:
    """`customer_id` → `orders.customer_id`: a join's condition names each column's model."""
    tree = parse_one(expr, read=dialect)
    for column in tree.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier(model))
    return tree.sql(dialect=dialect)


def _is_column(expr: str) -> bool:
    try:
        return isinstance(parse_one(expr), exp.Column) and NAME.match(expr) is not None
    except ParseError:
        return False
