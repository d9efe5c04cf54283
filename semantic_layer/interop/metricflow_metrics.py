"""MetricFlow metrics as metrics here, type by type, and saved queries as dashboards.

Each type maps only where the numbers agree:

- cumulative: MetricFlow answers a period coarser than a day with its first day's value unless
  `period_agg: last`; here a period answers with its last day's value. Only `last` is imported.
- conversion: MetricFlow credits each conversion event to the latest base event before it and
  aggregates the conversion measure; here each base event converts at most once. The two agree when
  every entity has one base event (the base model's primary entity is the conversion entity) and
  the conversion measure counts distinct entities (or its model's primary entity is the entity).
- derived offsets to a grain (`offset_to_grain`), measures joined to the time spine, and filters on
  a metric's value have no counterpart here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .dbt_project import Node
from .metricflow_filters import and_filters, member_ref, translate_filter
from .metricflow_models import NAME, MeasureRef, ModelSet, _described
from .report import Report, Unmappable

_WINDOW = re.compile(r"^\s*(\d+)\s+(hour|day|week|month|quarter|year)s?\s*$")
GRAIN_TO_DATE = ("week", "month", "quarter", "year")


class MetricMapper:
    """Maps metrics in dependency order: one whose inputs were not imported is not imported either."""

    def __init__(self, models: ModelSet, report: Report):
        self.models = models
        self.report = report
        self.metrics: dict[str, dict[str, Any]] = {}
        self.files: dict[str, str] = {}
        self.origins: dict[str, tuple[str, int]] = {}  # metric → the dbt file and line it came from
        self._nodes: dict[str, Node] = {}
        self._helpers: dict[str, str] = {}  # measure → the simple metric a cumulative metric reads

    def map_all(self, nodes: list[Node]) -> None:
        self._nodes = {node.name: node for node in nodes}
        for node in nodes:
            if not NAME.match(node.name):
                self.report.add(node, "metric", Unmappable("names here are snake_case", "name"))
            elif node.name in self.metrics or self._reported(node.name):
                continue
            else:
                self._map(node, set())

    def _reported(self, name: str) -> bool:
        return name in self.report.not_imported("metric")

    def _map(self, node: Node, visiting: set[str]) -> bool:
        """Import one metric after its inputs; False when it (or an input) cannot be."""
        visiting = visiting | {node.name}
        try:
            for name in _inputs(node.data):
                self._require(name, visiting)
            metric = self._convert(node)
        except Unmappable as exc:
            self.report.add(node, "metric", exc)
            return False
        except (KeyError, TypeError, AttributeError) as exc:  # dbt would refuse it too
            self.report.add(node, "metric", Unmappable(f"not a valid MetricFlow metric ({type(exc).__name__}: {exc})"))
            return False
        self.metrics[node.name] = metric
        self.files[node.name] = node.output_file
        self.origins[node.name] = node.where()
        return True

    def _require(self, name: str, visiting: set[str]) -> None:
        if name in self.metrics:
            return
        node = self._nodes.get(name)
        if node is None:
            raise Unmappable(f"it reads the metric {name!r}, which is not defined", "type_params")
        if name in visiting:
            raise Unmappable(f"it reads itself through {name!r}", "type_params")
        if self._reported(name) or not self._map(node, visiting):
            raise Unmappable(f"it reads the metric {name!r}, which is not imported", "type_params")

    def _convert(self, node: Node) -> dict[str, Any]:
        data = node.data
        kind = str(data.get("type"))
        convert = self._converters().get(kind)
        if convert is None:
            raise Unmappable(f"metric type {kind!r} has no counterpart here", "type")
        params = data.get("type_params") or {}
        metric: dict[str, Any] = {"name": node.name, **_described(data), "type": kind}
        metric.update(convert(params, node))
        own_filter = translate_filter(data.get("filter"), self.models)
        metric["filter"] = and_filters(own_filter, metric.pop("filter", None))
        return {k: v for k, v in metric.items() if v is not None}

    def _converters(self) -> dict[str, Callable[[dict[str, Any], Node], dict[str, Any]]]:
        return {
            "simple": self._simple,
            "ratio": self._ratio,
            "derived": self._derived,
            "cumulative": self._cumulative,
            "conversion": self._conversion,
        }

    def _measure(self, raw: Any) -> tuple[MeasureRef, str | None, dict[str, Any]]:
        """A metric's measure input: the measure, its filter, and what else it sets."""
        spec = raw if isinstance(raw, dict) else {"name": raw}
        measure = self.models.measures.get(str(spec.get("name")))
        if measure is None:
            raise Unmappable(f"its measure {spec.get('name')!r} is not imported", "type_params")
        if spec.get("join_to_timespine"):
            raise Unmappable(
                "join_to_timespine: periods without data get a row in MetricFlow, and none here", "type_params"
            )
        return measure, translate_filter(spec.get("filter"), self.models), spec

    def _simple(self, params: dict[str, Any], node: Node) -> dict[str, Any]:
        measure, measure_filter, spec = self._measure(params.get("measure"))
        return {"measure": measure.ref, "filter": measure_filter, "fill_nulls_with": spec.get("fill_nulls_with")}

    def _ratio(self, params: dict[str, Any], node: Node) -> dict[str, Any]:
        return {"numerator": self._side(params.get("numerator")), "denominator": self._side(params.get("denominator"))}

    def _side(self, raw: Any) -> str | dict[str, Any]:
        spec = raw if isinstance(raw, dict) else {"name": raw}
        side_filter = translate_filter(spec.get("filter"), self.models)
        return {"metric": spec["name"], "filter": side_filter} if side_filter else str(spec["name"])

    def _derived(self, params: dict[str, Any], node: Node) -> dict[str, Any]:
        inputs = []
        for spec in params.get("metrics") or []:
            if spec.get("offset_to_grain"):
                raise Unmappable("offset_to_grain: an input read at the start of a grain has no counterpart here")
            item = {"metric": spec["name"], "alias": spec.get("alias")}
            if spec.get("offset_window"):
                item["offset"] = _duration(spec["offset_window"], "offset_window")
            item["filter"] = translate_filter(spec.get("filter"), self.models)
            inputs.append({k: v for k, v in item.items() if v is not None})
        return {"expr": str(params.get("expr", "")).strip(), "inputs": inputs or None}

    def _cumulative(self, params: dict[str, Any], node: Node) -> dict[str, Any]:
        cumulative = {**params, **(params.get("cumulative_type_params") or {})}
        if cumulative.get("period_agg", "first") != "last":
            raise Unmappable(
                f"period_agg {cumulative.get('period_agg', 'first')!r}: MetricFlow answers a week, month or "
                "year with its first day's running total, this layer with its last day's — set "
                "period_agg: last in dbt to import it",
                "type_params",
            )
        measure, measure_filter, _ = self._measure(params.get("measure"))
        if measure_filter:
            raise Unmappable("a filter on a cumulative metric's measure: put it on the metric", "type_params")
        result: dict[str, Any] = {"metric": self._simple_metric_for(measure, node)}
        if cumulative.get("window"):
            result["window"] = _duration(cumulative["window"], "window")
        if cumulative.get("grain_to_date"):
            grain = str(cumulative["grain_to_date"])
            if grain not in GRAIN_TO_DATE:
                raise Unmappable(f"grain_to_date {grain!r}: here one of {', '.join(GRAIN_TO_DATE)}", "type_params")
            result["grain_to_date"] = grain
        return result

    def _simple_metric_for(self, measure: MeasureRef, node: Node) -> str:
        """A cumulative metric here accumulates a simple metric: an imported one of that measure, or a new one."""
        plain = {"name", "type", "measure", "label", "description"}  # no filter, no fill_nulls_with
        for name, metric in self.metrics.items():
            if metric.get("measure") == measure.ref and set(metric) <= plain:
                return name
        if measure.ref not in self._helpers:
            name = measure.ref.split(".")[1]
            if name in self.metrics or name in self._nodes:
                name = f"{node.name}_input"
            self.metrics[name] = {
                "name": name,
                "type": "simple",
                "measure": measure.ref,
                "description": f"The measure {measure.ref}, accumulated by {node.name} (added by the import).",
            }
            self.files[name] = node.output_file
            self.origins[name] = node.where()
            self._helpers[measure.ref] = name
        return self._helpers[measure.ref]

    def _conversion(self, params: dict[str, Any], node: Node) -> dict[str, Any]:
        conv = params.get("conversion_type_params") or {}
        if conv.get("constant_properties"):
            raise Unmappable("constant_properties have no counterpart here", "type_params")
        base, base_filter, _ = self._measure(conv.get("base_measure"))
        conversion, conversion_filter, _ = self._measure(conv.get("conversion_measure"))
        if base_filter or conversion_filter:
            raise Unmappable("a filter on a conversion metric's measures has no counterpart here", "type_params")
        entity = str(conv.get("entity"))
        _check_conversion_agrees(base, conversion, entity)
        calculation = {"conversion_rate": "rate", "conversions": "count"}.get(str(conv.get("calculation", "")), "rate")
        result: dict[str, Any] = {
            "base": base.ref,
            "conversion": conversion.ref,
            "entity": base.semantic_model.entities[entity].expr,
            "calculation": calculation,
        }
        if conv.get("window"):
            result["window"] = _duration(conv["window"], "window")
        return result


def _check_conversion_agrees(base: MeasureRef, conversion: MeasureRef, entity: str) -> None:
    """MetricFlow aggregates conversion events (each credited to the latest base event before it);
    here base events that convert are counted. The numbers agree when each entity has one base
    event and the conversion measure counts entities."""
    base_entity = base.semantic_model.entities.get(entity)
    conversion_entity = conversion.semantic_model.entities.get(entity)
    if base_entity is None or conversion_entity is None:
        raise Unmappable(f"the entity {entity!r} is not an entity of both measures' semantic models", "type_params")
    if base_entity.type != "primary" or base.agg != "count":
        raise Unmappable(
            "its base events are not one per entity: MetricFlow credits a conversion to the latest base "
            "event before it, this layer to every base event it follows, so with several base events per "
            "entity the numbers differ — the base measure must count rows of a model whose primary entity "
            f"is {entity!r}",
            "type_params",
        )
    counts_entities = conversion.agg == "count_distinct" and conversion.expr == conversion_entity.expr
    if not counts_entities and not (conversion_entity.type == "primary" and conversion.agg == "count"):
        raise Unmappable(
            "its conversion measure does not count entities: MetricFlow adds up every conversion event after a "
            "base event, this layer counts each converted base event once — make it a count_distinct of the entity",
            "type_params",
        )


def map_saved_queries(nodes: list[Node], metrics: dict[str, Any], models: ModelSet, report: Report) -> list[Any]:
    """Saved queries as dashboards: one table of the query's metrics by its group-by."""
    dashboards = []
    for node in nodes:
        try:
            dashboards.append((node, _dashboard(node, metrics, models)))
        except Unmappable as exc:
            report.add(node, "saved query", exc)
    return dashboards


def _dashboard(node: Node, metrics: dict[str, Any], models: ModelSet) -> dict[str, Any]:
    if not NAME.match(node.name):
        raise Unmappable("names here are snake_case", "name")
    params = node.data.get("query_params") or {}
    if params.get("where"):
        raise Unmappable("a dashboard's tiles here take no filter: its where has no counterpart", "query_params")
    names = [str(m) for m in params.get("metrics") or []]
    missing = [m for m in names if m not in metrics]
    if not names or missing:
        raise Unmappable(f"its metrics {missing or names} are not imported", "query_params")
    dimensions, grains = [], set()
    for item in params.get("group_by") or []:
        ref, grain = _group_by(str(item), models)
        dimensions.append(ref)
        grains |= {grain} if grain else set()
    if len(grains) > 1:
        raise Unmappable("it groups by time at more than one grain; a tile here has one", "query_params")
    tile: dict[str, Any] = {"metrics": names, "dimensions": dimensions, "kind": "table"}
    if grains:
        tile["grain"] = grains.pop()
    label = node.data.get("label")
    dashboard = {"name": node.name, "title": str(label) if label else None, **_described(node.data)}
    dashboard.pop("label", None)
    return {**{k: v for k, v in dashboard.items() if v}, "tiles": [tile]}


_GROUP_BY = re.compile(r"^\s*(?:\{\{\s*)?(\w+)\((.*)\)\s*(?:\}\})?\s*$", re.DOTALL)


def _group_by(text: str, models: ModelSet) -> tuple[str, str | None]:
    """`TimeDimension('metric_time', 'month')` → (`metric_time`, month); `Dimension('customer__region')`
    → (`customers.region`, None)."""
    match = _GROUP_BY.match(text)
    if not match:
        raise Unmappable(f"the group_by {text!r} is not a MetricFlow member", "query_params")
    kind, args = match.group(1), [a.strip().strip("'\"") for a in match.group(2).split(",")]
    if kind not in ("Dimension", "TimeDimension", "Entity"):
        raise Unmappable(f"the group_by {text!r} has no counterpart here", "query_params")
    name = args[0] if kind != "Entity" else f"{args[0]}__{args[0].split('__')[-1]}"
    ref = member_ref(name, models)
    grain = args[1] if kind == "TimeDimension" and len(args) > 1 else None
    if grain and ref != "metric_time":
        return f"{ref}:{grain}", None
    return ref, grain


def _duration(raw: Any, key: str) -> str:
    match = _WINDOW.match(str(raw))
    if not match:
        raise Unmappable(f"{key} {raw!r}: here a window is a count of hours, days, weeks, months, quarters or years")
    count, unit = int(match.group(1)), match.group(2)
    return f"{count} {unit}{'s' if count != 1 else ''}"


def _inputs(data: dict[str, Any]) -> list[str]:
    """The metrics a ratio or derived metric reads."""
    params = data.get("type_params") or {}
    sides = [params.get("numerator"), params.get("denominator"), *(params.get("metrics") or [])]
    return [str(s["name"] if isinstance(s, dict) else s) for s in sides if s]
