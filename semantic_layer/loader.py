"""Reading a project folder into definitions, collecting every shape error with its position.

Each model, metric and policy is validated on its own so that one broken definition does not hide
the errors of the others; what did load is kept for the semantic checks that follow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticError

from . import definitions as d
from .errors import Issue, did_you_mean
from .yaml_source import YamlDocument, YamlPath, YamlSyntaxError, load_yaml

SETTINGS_FILE = "semantic_layer.yml"
TOP_LEVEL_KEYS = ("models", "metrics", "policies", "dashboards", "rollups", "default_role")
_METRIC_ADAPTER: TypeAdapter[Any] = TypeAdapter(d.Metric)
_ALL_FIELDS = sorted(
    {
        name
        for cls in (
            d.Model,
            d.Join,
            d.Dimension,
            d.Measure,
            d.Segment,
            d.SimpleMetric,
            d.RatioMetric,
            d.DerivedMetric,
            d.CumulativeMetric,
            d.ConversionMetric,
            d.RetentionMetric,
            d.Thresholds,
            d.Threshold,
            d.Policy,
            d.RowPolicy,
            d.Settings,
            d.LimitSettings,
            d.CacheSettings,
            d.DerivedInput,
            d.MetricRef,
            d.NonAdditive,
            d.EngineSettings,
            d.AlertSettings,
            d.Webhook,
            d.Dashboard,
            d.DashboardRange,
            d.Tile,
            d.Check,
            d.Freshness,
            d.AcceptedValues,
            d.RowCount,
            d.LintSettings,
            d.AuditSettings,
            d.Rollup,
            d.RollupRefresh,
        )
        for name in cls.model_fields
    }
)
_METRIC_TYPES = tuple(get_args(cls.model_fields["type"].annotation)[0] for cls in d.METRIC_TYPES)


@dataclass(frozen=True)
class Origin:
    """Where a definition sits: the document and the YAML path of its node."""

    doc: YamlDocument
    path: YamlPath

    def issue(self, message: str, *sub: str | int) -> Issue:
        line, col = self.doc.locate((*self.path, *sub))
        return Issue(self.doc.file, line, col, message)


@dataclass
class ProjectSource:
    """Everything that parsed, plus the errors of everything that did not."""

    root: Path
    settings: d.Settings
    models: list[tuple[d.Model, Origin]] = field(default_factory=list)
    metrics: list[tuple[d.SimpleMetric | d.RatioMetric | d.DerivedMetric | d.CumulativeMetric, Origin]] = field(
        default_factory=list
    )
    policies: list[tuple[d.Policy, Origin]] = field(default_factory=list)
    dashboards: list[tuple[d.Dashboard, Origin]] = field(default_factory=list)
    rollups: list[tuple[d.Rollup, Origin]] = field(default_factory=list)
    settings_origin: Origin | None = None
    errors: list[Issue] = field(default_factory=list)


def resolve_root(path: str | os.PathLike[str] | None) -> Path:
    """The project folder: the argument, else SEMANTIC_LAYER_PROJECT, else the working directory."""
    chosen = path if path is not None else os.environ.get("SEMANTIC_LAYER_PROJECT", ".")
    return Path(chosen).expanduser().resolve()


def read_project(root: Path) -> ProjectSource:
    """Parse every *.yml / *.yaml under `root` (hidden folders skipped)."""
    if not root.is_dir():
        settings = d.Settings()
        src = ProjectSource(root, settings)
        src.errors.append(
            Issue(str(root), 1, 1, "project folder not found — pass --project DIR or set SEMANTIC_LAYER_PROJECT")
        )
        return src
    if not (root / SETTINGS_FILE).is_file():
        return ProjectSource(root, d.Settings(), errors=[_no_settings(root)])
    files = sorted(
        p
        for p in root.rglob("*")
        if p.suffix in (".yml", ".yaml")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    docs: list[YamlDocument] = []
    settings_doc: YamlDocument | None = None
    read_errors: list[Issue] = []
    for file in files:
        try:
            doc = load_yaml(file, _display(file))
        except YamlSyntaxError as exc:
            read_errors.append(Issue(exc.file, exc.line, exc.column, str(exc)))
            continue
        docs.append(doc)
        read_errors += doc.issues
        if file == root / SETTINGS_FILE:
            settings_doc = doc
    src = ProjectSource(root, d.Settings(), errors=read_errors)
    if settings_doc is not None:
        _read_settings(settings_doc, src)
    for doc in docs:
        _read_document(doc, src, is_settings=doc is settings_doc)
    src.errors += _no_models(root, src)
    env_connection = os.environ.get("SEMANTIC_LAYER_CONNECTION")
    if env_connection:
        src.settings = src.settings.model_copy(update={"connection": env_connection})
    return src


def _no_settings(root: Path) -> Issue:
    """A folder without settings is almost always the wrong folder: its YAML (if any) is not read."""
    return Issue(
        str(root),
        1,
        1,
        f"no {SETTINGS_FILE} in {root} — is this the project folder? Pass --project DIR "
        f"(or set SEMANTIC_LAYER_PROJECT), or start a project here with a {SETTINGS_FILE} "
        "holding at least 'name:' and 'connection:'",
    )


def _no_models(root: Path, src: ProjectSource) -> list[Issue]:
    """A project of 0 models validates nothing and answers nothing: an error, not a valid project.
    Not reported when models failed to read: their own errors say why."""
    if src.models or src.errors:
        return []
    return [
        Issue(
            _display(root / SETTINGS_FILE),
            1,
            1,
            f"the project in {root} defines no models — add a YAML file there with a 'models:' list",
        )
    ]


def _display(file: Path) -> str:
    """Paths relative to the working directory when possible: clickable in terminals and editors."""
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def _read_settings(doc: YamlDocument, src: ProjectSource) -> None:
    data = doc.data if isinstance(doc.data, dict) else {}
    values = {k: v for k, v in data.items() if k not in TOP_LEVEL_KEYS or k == "default_role"}
    origin = Origin(doc, ())
    src.settings_origin = origin
    settings = _validate(d.Settings, values, origin, src.errors)
    if settings is not None:
        src.settings = settings


def _read_document(doc: YamlDocument, src: ProjectSource, *, is_settings: bool) -> None:
    if doc.data is None:
        return
    if not isinstance(doc.data, dict):
        src.errors.append(
            Issue(
                doc.file,
                1,
                1,
                "a project file must be a mapping with keys models:, metrics:, policies:, dashboards: or rollups:",
            )
        )
        return
    allowed = set(TOP_LEVEL_KEYS) | (set(d.Settings.model_fields) if is_settings else set())
    for key in doc.data:
        if key not in allowed:
            hint = did_you_mean(str(key), sorted(allowed))
            src.errors.append(Origin(doc, (str(key),)).issue(f"unknown top-level key '{key}'{hint}"))
    if "default_role" in doc.data and not is_settings:
        _read_default_role(doc, src)
    sections: list[tuple[str, Any, list[Any]]] = [
        ("models", d.Model, src.models),
        ("metrics", _METRIC_ADAPTER, src.metrics),
        ("policies", d.Policy, src.policies),
        ("dashboards", d.Dashboard, src.dashboards),
        ("rollups", d.Rollup, src.rollups),
    ]
    for key, schema, sink in sections:
        _read_section(doc, key, schema, sink, src.errors)


def _read_default_role(doc: YamlDocument, src: ProjectSource) -> None:
    """`default_role:` may sit beside the policies it names rather than in semantic_layer.yml."""
    role = doc.data["default_role"]
    if role is not None and not isinstance(role, str):
        src.errors.append(Origin(doc, ("default_role",)).issue("default_role must be a role name or null"))
    elif role is not None:
        src.settings = src.settings.model_copy(update={"default_role": role})


def _read_section(doc: YamlDocument, key: str, schema: Any, sink: list[Any], errors: list[Issue]) -> None:
    """Each item of a list section validated on its own, so one bad item does not hide the others."""
    items = doc.data.get(key)
    if items is None:
        return
    if not isinstance(items, list):
        errors.append(Origin(doc, (key,)).issue(f"'{key}:' must be a list"))
        return
    for index, item in enumerate(items):
        origin = Origin(doc, (key, index))
        value = _validate(schema, item, origin, errors)
        if value is not None:
            sink.append((value, origin))


def _validate(schema: Any, value: Any, origin: Origin, errors: list[Issue]) -> Any:
    try:
        if isinstance(schema, TypeAdapter):
            return schema.validate_python(value)
        assert issubclass(schema, BaseModel)
        return schema.model_validate(value)
    except PydanticError as exc:
        for err in exc.errors():
            errors.append(_pydantic_issue(err, value, origin))
        return None


def _pydantic_issue(err: Any, value: Any, origin: Origin) -> Issue:
    loc = list(err["loc"])
    if loc and loc[0] in _METRIC_TYPES:  # the discriminator tag pydantic puts first
        loc = loc[1:]
    loc = [part for part in loc if not (isinstance(part, str) and part.startswith(("function-", "tag:")))]
    name = value.get("name") if isinstance(value, dict) else None
    prefix = f"'{name}': " if isinstance(name, str) else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        message = f"unknown key '{key}'{did_you_mean(key, _ALL_FIELDS)}"
    elif kind == "missing":
        message = f"missing required key '{loc[-1]}'"
    elif kind == "union_tag_invalid":
        tag = value.get("type") if isinstance(value, dict) else None
        message = (
            f"unknown metric type '{tag}' — use one of: {', '.join(_METRIC_TYPES)}"
            f"{did_you_mean(str(tag), _METRIC_TYPES)}"
        )
        loc = ["type"]
    elif kind == "union_tag_not_found":
        message = f"missing required key 'type' (one of: {', '.join(_METRIC_TYPES)})"
    elif kind == "string_type" and _read_as(err["input"]):
        named = next((part for part in reversed(loc) if isinstance(part, str)), "value")
        message = f"{named}: YAML reads this value as {_read_as(err['input'])}, not text — put it in quotes"
    else:
        message = str(err["msg"]).removeprefix("Value error, ")
        last_key = next((part for part in reversed(loc) if isinstance(part, str)), None)
        if last_key is not None:  # a key, not a list index: the position already says which item
            message = f"{last_key}: {message}"
    return origin.issue(prefix + message, *[p for p in loc if isinstance(p, str | int)])


def _read_as(value: Any) -> str:
    """What YAML made of a plain value written where text belongs ('' for text or nothing): a label
    of 2024 or true is refused, and quoting it is the whole fix."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    return ""
