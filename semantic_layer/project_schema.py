"""The JSON Schema of a project's YAML files, built from the pydantic definitions, for editors.

A YAML language server (VS Code's YAML extension, and others) uses it to complete keys and flag
mistakes while a file is being written. Two schemas, because the files differ: `semantic_layer.yml`
holds the project settings as well as the keys every file may hold (models, metrics, policies,
dashboards, rollups, default_role); any other file may hold only those. The loader stays the judge — it also checks
references, SQL and join paths, which no schema can — but what the schema accepts, the loader's
shape checks accept too.
"""

from __future__ import annotations

import re
from typing import Any

from . import definitions as d

# Draft 7: what YAML language servers read. The keywords used here mean the same in later drafts.
SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"


class ProjectFile(d.Strict):
    """A project file other than semantic_layer.yml."""

    models: list[d.Model] | None = None
    metrics: list[d.Metric] | None = None
    policies: list[d.Policy] | None = None
    dashboards: list[d.Dashboard] | None = None
    rollups: list[d.Rollup] | None = None
    default_role: str | None = None


class SettingsFile(d.Settings):
    """semantic_layer.yml: the project settings, and the keys every project file may hold."""

    models: list[d.Model] | None = None
    metrics: list[d.Metric] | None = None
    policies: list[d.Policy] | None = None
    dashboards: list[d.Dashboard] | None = None
    rollups: list[d.Rollup] | None = None


def project_schema(*, settings: bool = False) -> dict[str, Any]:
    """The JSON Schema of a project file (`settings`: of semantic_layer.yml)."""
    model = SettingsFile if settings else ProjectFile
    schema = model.model_json_schema(mode="validation")
    defs: dict[str, Any] = schema.get("$defs", {})
    _rules_pydantic_does_not_export(defs)
    _metric_by_type(schema)
    _portable_patterns(schema)
    schema["title"] = "semantic_layer.yml" if settings else "Semantic layer project file"
    schema["description"] = (model.__doc__ or "").strip()
    return {"$schema": SCHEMA_DIALECT, **schema}


def _rules_pydantic_does_not_export(defs: dict[str, Any]) -> None:
    """What the definitions check in validators, written as JSON Schema so editors check it too."""
    name = {"type": "string", "pattern": d.NAME_RE.pattern}
    interval = {"type": "string", "pattern": d.INTERVAL_RE.pattern, "flags": "i"}
    for key in (
        "Model",
        "Dimension",
        "Measure",
        "Segment",
        "SimpleMetric",
        "RatioMetric",
        "DerivedMetric",
        "CumulativeMetric",
        "ConversionMetric",
        "Dashboard",
        "Rollup",
    ):
        defs[key]["properties"]["name"] = {**name, "title": "Name"}
    join = defs["Join"]["properties"]
    join["model"] = {**name, "title": "Model"}
    join["name"]["anyOf"][0] = dict(name)
    defs["Model"]["oneOf"] = [{"required": ["table"]}, {"required": ["sql"]}]  # exactly one source
    defs["Measure"]["if"] = {"properties": {"agg": {"const": "percentile"}}, "required": ["agg"]}
    defs["Measure"]["then"] = {
        "required": ["percentile"],
        "properties": {"percentile": {"exclusiveMinimum": 0, "exclusiveMaximum": 1}},
    }
    defs["Measure"]["else"] = {"not": {"required": ["percentile"]}}
    defs["CumulativeMetric"]["not"] = {"required": ["window", "grain_to_date"]}
    defs["Threshold"]["anyOf"] = [{"required": ["above"]}, {"required": ["below"]}]  # a level needs a bound
    if "AlertSettings" in defs:  # the settings file's schema
        defs["Webhook"]["properties"]["url"]["pattern"] = d.WEBHOOK_URL_RE.pattern
        every = defs["AlertSettings"]["properties"]["every"]
        every["anyOf"][0] = {"type": "string", "pattern": d.DURATION_RE.pattern, "flags": "i"}
    defs["CumulativeMetric"]["properties"]["window"]["anyOf"][0] = dict(interval)
    defs["ConversionMetric"]["properties"]["window"]["anyOf"][0] = dict(interval)
    defs["DerivedInput"]["properties"]["offset"]["anyOf"][0] = dict(interval)
    _dashboard_rules(defs, interval)
    _rollup_rules(defs, name, interval)
    for side in ("numerator", "denominator"):  # a metric name, or {metric, filter}
        defs["RatioMetric"]["properties"][side] = {
            "anyOf": [{"type": "string"}, {"$ref": "#/$defs/MetricRef"}],
            "title": side.title(),
        }
    scalar = {"type": ["string", "number", "boolean"]}  # tags and synonyms are read as text
    for key in ("SimpleMetric", "RatioMetric", "DerivedMetric", "CumulativeMetric", "ConversionMetric"):
        for field in ("tags", "synonyms"):
            defs[key]["properties"][field]["items"] = dict(scalar)


def _rollup_rules(defs: dict[str, Any], name: dict[str, Any], interval: dict[str, Any]) -> None:
    """A rollup's model is a name, its durations and lookback are written as the loader reads them."""
    duration = {"type": "string", "pattern": d.DURATION_RE.pattern, "flags": "i"}
    defs["Rollup"]["properties"]["model"] = {**name, "title": "Model"}
    defs["Rollup"]["properties"]["max_staleness"]["anyOf"][0] = dict(duration)
    refresh = defs["RollupRefresh"]["properties"]
    refresh["every"] = {**duration, "title": "Every", "default": refresh["every"]["default"]}
    refresh["lookback"] = {**interval, "title": "Lookback", "default": refresh["lookback"]["default"]}
    for key in ("measures", "dimensions"):
        defs["Rollup"]["properties"][key]["uniqueItems"] = True


def _items(metrics: tuple[int, int | None], dimensions: tuple[int, int | None]) -> dict[str, Any]:
    """A tile whose metrics and dimensions lists have these (least, most) lengths; an absent
    `dimensions` is an empty list."""

    def bounds(low: int, high: int | None) -> dict[str, Any]:
        return {"minItems": low, **({"maxItems": high} if high is not None else {})}

    need = ["metrics", *(["dimensions"] if dimensions[0] else [])]
    return {
        "required": need,
        "properties": {"metrics": bounds(*metrics), "dimensions": bounds(*dimensions)},
    }


# Each tile kind's shapes (definitions.TILE_SHAPES): (metrics, dimensions) length bounds, any of.
TILE_ITEMS: dict[str, list[tuple[tuple[int, int | None], tuple[int, int | None]]]] = {
    "kpi": [((1, 1), (0, 0))],
    "line": [((1, None), (1, 1)), ((1, 1), (2, 2))],
    "bar": [((1, None), (1, 1)), ((1, 1), (2, 2))],
    "stacked_bar": [((2, None), (1, 1)), ((1, 1), (2, 2))],
    "funnel": [((2, None), (0, 0))],
    "table": [((1, None), (0, None))],
    "heatmap": [((1, 1), (2, 2)), ((2, None), (1, 1))],
}


def _dashboard_rules(defs: dict[str, Any], interval: dict[str, Any]) -> None:
    """A tile's shape for its kind, `compare` on kpi tiles and `limit` on bars and tables only, and
    a time range given as `last` (and `end`) or as `start` and `end`."""
    tile = defs["Tile"]
    tile["properties"]["compare"]["anyOf"][0] = dict(interval)
    rules: list[dict[str, Any]] = [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {"anyOf": [_items(*shape) for shape in shapes]},
        }
        for kind, shapes in TILE_ITEMS.items()
    ]
    rules.append({"if": {"required": ["compare"]}, "then": {"properties": {"kind": {"const": "kpi"}}}})
    rules.append(
        {"if": {"required": ["limit"]}, "then": {"properties": {"kind": {"enum": ["bar", "stacked_bar", "table"]}}}}
    )
    tile["allOf"] = rules
    time_range = defs["DashboardRange"]
    time_range["properties"]["last"]["anyOf"][0] = dict(interval)
    time_range["anyOf"] = [{"required": ["last"]}, {"required": ["start"]}, {"required": ["end"]}]
    time_range["not"] = {"required": ["last", "start"]}


def _metric_by_type(node: Any) -> None:
    """A metric checked against the definition its `type` names, not against all four at once: an
    editor then reports the one mistake made, rather than 'matches none of four schemas'."""
    if isinstance(node, dict):
        mapping = node.get("discriminator", {}).get("mapping") if isinstance(node.get("discriminator"), dict) else None
        if mapping:
            order = [option["$ref"] for option in node.get("oneOf", [])]
            mapping = dict(sorted(mapping.items(), key=lambda item: order.index(item[1]) if item[1] in order else 0))
            node.clear()
            node.update(
                {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"enum": list(mapping), "title": "Type"}},
                    "allOf": [
                        {"if": {"properties": {"type": {"const": kind}}, "required": ["type"]}, "then": {"$ref": ref}}
                        for kind, ref in mapping.items()
                    ],
                }
            )
            return
        for value in node.values():
            _metric_by_type(value)
    elif isinstance(node, list):
        for value in node:
            _metric_by_type(value)


def _portable_patterns(node: Any) -> None:
    """Patterns as every JSON Schema validator reads them (ECMA-262 regular expressions): Python's
    inline `(?i)` and our `flags` marker become letters matched in either case."""
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            insensitive = node.pop("flags", None) == "i" or pattern.startswith("(?i)")
            node["pattern"] = _either_case(pattern.removeprefix("(?i)")) if insensitive else pattern
        for value in node.values():
            _portable_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _portable_patterns(value)


def _either_case(pattern: str) -> str:
    """`day` → `[dD][aA][yY]`; escapes (`\\d`, `\\s`) are left alone."""
    return re.sub(
        r"\\.|[A-Za-z]",
        lambda m: m.group(0) if len(m.group(0)) == 2 else f"[{m.group(0).lower()}{m.group(0).upper()}]",
        pattern,
    )
