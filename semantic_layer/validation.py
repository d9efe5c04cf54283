"""Project-wide rules: names, references, SQL snippets, join paths, metric graphs (one pass, all errors).

Each rule reports at the YAML node that breaks it. Checks reuse the compiler's own resolution
(`graph.py`, `JoinScope`, `MetricExpander`), so what validates is exactly what compiles.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial, singledispatch
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from . import definitions as d
from .access import CLAIM_RE
from .alerts import AlertPlan
from .catalog import metric_models
from .checks import definition_problems
from .columns import known_columns, rule_columns
from .compiler import Compiler
from .compiler.conversion import conversion_reads
from .compiler.lineage import filtered_table_read
from .compiler.members import resolve_member, resolve_tree
from .compiler.metrics import MetricExpander
from .compiler.plan import ConversionSpec
from .compiler.scope import JoinScope, parse_snippet_query
from .compiler.security import to_one_paths
from .dashboard_checks import check_dashboards
from .errors import Issue, QueryError, SemanticLayerError, did_you_mean
from .graph import SemanticGraph, path_fans_out
from .loader import Origin, ProjectSource
from .rollups.checks import check_rollups
from .snippets import SnippetError, column_parts, parse_snippet


class Checker:
    def __init__(self, src: ProjectSource):
        self.src = src
        self.errors: list[Issue] = []
        self.dialect = src.settings.dialect

    def report(self, origin: Origin, message: str, *sub: str | int) -> None:
        self.errors.append(origin.issue(message, *sub))

    def attempt(self, origin: Origin, sub: tuple[str | int, ...], fn: Callable[[], Any], context: str = "") -> Any:
        """Run a check that raises our own errors, turning them into an issue at `sub`."""
        try:
            return fn()
        except (QueryError, SnippetError, SemanticLayerError) as exc:
            self.report(origin, f"{context}{getattr(exc, 'message', str(exc))}", *sub)
        except (ValueError, SqlglotError) as exc:  # pydantic's and sqlglot's (a model's sql: that does not parse)
            self.report(origin, f"{context}{exc}", *sub)
        return None


def validate(src: ProjectSource) -> tuple[SemanticGraph, list[Issue]]:
    chk = Checker(src)
    models = _unique(chk, src.models, "model")
    metrics = _unique(chk, src.metrics, "metric")
    graph = SemanticGraph(src.settings, {n: m for n, (m, _) in models.items()}, {n: m for n, (m, _) in metrics.items()})
    for model, origin in models.values():
        _check_model(chk, graph, model, origin)
    for metric, origin in metrics.values():
        _check_metric(chk, graph, metric, origin)
    if not chk.errors:  # an alert's question compiles only once every definition it reads does
        _check_alert_questions(chk, graph, metrics)
    _check_policies(chk, graph, src)
    _check_policy_lineage(chk, graph, src, {n: o for n, (_, o) in models.items()})
    check_dashboards(chk, graph, _unique(chk, src.dashboards, "dashboard"))
    check_rollups(chk, graph, _unique(chk, src.rollups, "rollup"))
    return graph, src.errors + chk.errors


def _unique(chk: Checker, items: list[tuple[Any, Origin]], kind: str) -> dict[str, tuple[Any, Origin]]:
    """The first definition of each name. A name defined twice is reported at every definition, each
    naming the others: the one just added may sort before or after the one it collides with."""
    seen: dict[str, list[tuple[Any, Origin]]] = {}
    for item, origin in items:
        seen.setdefault(item.name, []).append((item, origin))
    for name, defined in seen.items():
        if len(defined) > 1:
            for _, origin in defined:
                others = ", ".join(_where(o, "name") for _, o in defined if o is not origin)
                chk.report(origin, f"duplicate {kind} name '{name}' (also defined at {others})", "name")
    return {name: defined[0] for name, defined in seen.items()}


def _where(origin: Origin, *sub: str | int) -> str:
    """'file:line:column' of a definition, for messages that point at another place."""
    line, column = origin.doc.locate((*origin.path, *sub))
    return f"{origin.doc.file}:{line}:{column}"


def _check_model(chk: Checker, graph: SemanticGraph, model: d.Model, origin: Origin) -> None:
    _check_member_names(chk, model, origin)
    if model.sql is not None:
        chk.attempt(origin, ("sql",), lambda: parse_snippet_query(model.sql or "", chk.dialect))
    aliases: set[str] = set()
    for i, join in enumerate(model.joins):
        _check_join(chk, graph, model, join, origin, ("joins", i), aliases)
    _check_member_sql(chk, graph, model, origin)
    scope = JoinScope(graph, model.name)
    for i, segment in enumerate(model.segments):
        chk.attempt(
            origin, ("segments", i, "where"), partial(scope.snippet, segment.where, ()), f"segment '{segment.name}': "
        )
    if model.time is not None:
        time_dim = graph.dimensions_by_model[model.name].get(model.time)
        if time_dim is not None and time_dim.type != "time":
            chk.report(
                origin, f"time '{model.time}' names dimension of type '{time_dim.type}' — give it 'type: time'", "time"
            )
        elif time_dim is None:
            chk.attempt(origin, ("time",), lambda: scope.snippet(model.time or "", ()))
    for sub, message in definition_problems(model, chk.dialect):  # data checks (`checks:`)
        chk.report(origin, message, *sub)


def _check_member_names(chk: Checker, model: d.Model, origin: Origin) -> None:
    """Dimensions, measures and segments of one model share one namespace."""
    members: dict[str, str] = {}
    for kind, items in (("dimensions", model.dimensions), ("measures", model.measures), ("segments", model.segments)):
        for i, item in enumerate(items):
            if item.name in members:
                chk.report(
                    origin,
                    f"'{item.name}' is defined twice in model '{model.name}' (as {members[item.name]} and {kind[:-1]})",
                    kind,
                    i,
                    "name",
                )
            members[item.name] = kind[:-1]


def _check_member_sql(chk: Checker, graph: SemanticGraph, model: d.Model, origin: Origin) -> None:
    """A dimension's value is one per row of its model, like a measure's input: the compiler dedupes
    rows for joins it plans, not for one hidden in an expression."""
    for i, dim in enumerate(model.dimensions):
        fix = "declare the dimension on that model and ask for it through the join"
        chk.attempt(
            origin,
            ("dimensions", i, "expr" if dim.expr else "name"),
            partial(_own_rows_only, graph, model.name, dim.sql, fix),
            f"dimension '{dim.name}': ",
        )
    own_dimensions = graph.dimensions_by_model[model.name]
    for i, measure in enumerate(model.measures):
        for field in ("expr", "filter"):
            text = getattr(measure, field)
            if text is not None:
                chk.attempt(
                    origin,
                    ("measures", i, field),
                    partial(_own_rows_only, graph, model.name, text, "use a measure on that model instead"),
                    f"measure '{measure.name}' {field}: ",
                )
        if measure.non_additive and measure.non_additive.dimension not in own_dimensions:
            chk.report(
                origin,
                f"measure '{measure.name}': non_additive dimension "
                f"'{measure.non_additive.dimension}' is not a dimension of '{model.name}'"
                f"{did_you_mean(measure.non_additive.dimension, own_dimensions)}",
                "measures",
                i,
                "non_additive",
            )


def _check_join(
    chk: Checker,
    graph: SemanticGraph,
    model: d.Model,
    join: d.Join,
    origin: Origin,
    at: tuple[str | int, ...],
    aliases: set[str],
) -> None:
    if join.model not in graph.models:
        chk.report(
            origin, f"join to unknown model '{join.model}'{did_you_mean(join.model, graph.models)}", *at, "model"
        )
        return
    alias = join.alias
    if alias in aliases:
        chk.report(
            origin,
            f"model '{model.name}' joins twice under the name '{alias}' — give each join a distinct 'name:'",
            *at,
        )
    aliases.add(alias)
    if join.name is not None and join.name in graph.models and join.name != join.model:
        chk.report(
            origin,
            f"join name '{join.name}' is already a model name (models and joins share one "
            "namespace) — choose another name",
            *at,
            "name",
        )
    if join.model == model.name and join.name is None:
        chk.report(origin, f"a self-join of '{model.name}' needs a 'name:' to tell its two sides apart", *at)
    tree = chk.attempt(origin, (*at, "on"), lambda: parse_snippet(join.on, chk.dialect))
    if tree is None:
        return
    allowed = {model.name, alias, join.model}
    for column in tree.find_all(exp.Column):
        if column.table not in allowed:
            chk.report(
                origin,
                f"join '{alias}': column '{column.sql()}' in 'on' must be qualified by '{model.name}' or '{alias}'",
                *at,
                "on",
            )


def _own_rows_only(graph: SemanticGraph, model: str, text: str, fix: str) -> None:
    """A dimension's or measure's SQL is evaluated per row of its model: it may not reach a one_to_many join."""
    tree = parse_snippet(text, graph.settings.dialect)
    for column in tree.find_all(exp.Column):
        parts = column_parts(column)
        if len(parts) > 1 and parts[0] != model:
            path = graph.resolve_path(model, parts[:-1], what=f"column '{column.sql()}'")
            if path_fans_out(path):
                raise SnippetError(
                    column.sql(),
                    f"is reached through a one_to_many join, which would count rows more than once — {fix}",
                )
    JoinScope(graph, model).qualify(tree, ())


def _check_metric(chk: Checker, graph: SemanticGraph, metric: d.Metric, origin: Origin) -> None:
    before = len(chk.errors)
    _check_references(metric, chk, graph, origin)
    if metric.status == "deprecated" and metric.replaced_by and metric.replaced_by not in graph.metrics:
        chk.report(
            origin,
            f"replaced_by '{metric.replaced_by}' is not a metric{did_you_mean(metric.replaced_by, graph.metrics)}",
            "replaced_by",
        )
    if metric.replaced_by and metric.status != "deprecated":
        chk.report(origin, "replaced_by is only for 'status: deprecated' metrics", "replaced_by")
    if len(chk.errors) == before:  # references resolve: now cycles, filters and time needs
        chk.attempt(origin, ("name",), lambda: _check_expansion(graph, metric.name), f"metric '{metric.name}': ")


def _check_alert_questions(chk: Checker, graph: SemanticGraph, metrics: dict[str, tuple[d.Metric, Origin]]) -> None:
    """A metric with thresholds is judged by period at their grain: that question must compile, or
    every evaluation of the project's alerts would fail on it (a retention metric by quarter judged
    by month, a metric without time)."""
    compiler = Compiler(graph)
    for metric, origin in metrics.values():
        if metric.thresholds is not None:
            plan = AlertPlan(metric, metric.thresholds, metric.thresholds.grain, last=datetime(2000, 1, 1), first=None)
            question = partial(compiler.compile, plan.latest())
            context = f"metric '{metric.name}': thresholds judged by {plan.column}: "
            chk.attempt(origin, ("thresholds", "grain"), question, context)


@singledispatch
def _check_references(metric: d.MetricBase, chk: Checker, graph: SemanticGraph, origin: Origin) -> None:
    """What a metric refers to resolves: checked before its expansion, which needs them to."""


@_check_references.register
def _(metric: d.SimpleMetric, chk: Checker, graph: SemanticGraph, origin: Origin) -> None:
    chk.attempt(origin, ("measure",), lambda: graph.measure(metric.measure))


@_check_references.register
def _(metric: d.RatioMetric, chk: Checker, graph: SemanticGraph, origin: Origin) -> None:
    for side in ("numerator", "denominator"):
        chk.attempt(origin, (side,), partial(graph.metric, getattr(metric, side).metric))
    if metric.denominator.reduce_by and metric.denominator.metric in graph.metrics:
        for i, ref in enumerate(metric.denominator.reduce_by):
            at = ("denominator", "reduce_by", i)
            chk.attempt(origin, at, partial(_reducible, graph, metric.denominator.metric, ref), "reduce_by: ")


def _reducible(graph: SemanticGraph, metric: str, ref: str) -> None:
    """A share's total is grouped without `ref`: it must be a dimension every model of the total reaches."""
    for model in sorted(metric_models(graph, metric)):
        resolve_member(graph, model, ref)


@_check_references.register
def _(metric: d.DerivedMetric, chk: Checker, graph: SemanticGraph, origin: Origin) -> None:
    names = {i.name for i in metric.inputs}
    for i, item in enumerate(metric.inputs):
        chk.attempt(origin, ("inputs", i, "metric"), partial(graph.metric, item.metric))
    tree = chk.attempt(origin, ("expr",), lambda: parse_snippet(metric.expr, chk.dialect))
    for column in tree.find_all(exp.Column) if tree is not None else ():
        if column.table or (column.name not in names and column.name not in graph.metrics):
            chk.report(
                origin,
                f"derived expr refers to '{column.sql()}', which is neither an input alias nor "
                f"a metric{did_you_mean(column.sql(), [*names, *graph.metrics])}",
                "expr",
            )


@_check_references.register
def _(metric: d.CumulativeMetric, chk: Checker, graph: SemanticGraph, origin: Origin) -> None:
    inner = chk.attempt(origin, ("metric",), lambda: graph.metric(metric.metric))
    if inner is not None and not isinstance(inner, d.SimpleMetric):
        chk.report(
            origin,
            f"cumulative metric '{metric.name}' must accumulate a simple metric; '{metric.metric}' is {inner.type}",
            "metric",
        )


@_check_references.register
def _(metric: d.ConversionMetric, chk: Checker, graph: SemanticGraph, origin: Origin) -> None:
    models: list[str] = []
    for side in ("base", "conversion"):
        found = chk.attempt(origin, (side,), partial(graph.measure, getattr(metric, side)))
        if found is not None:
            models.append(found[0])
            _check_conversion_side(chk, graph, metric, side, found, origin)
    for model in dict.fromkeys(models):
        _check_entity(chk, graph, metric, model, origin)


def _check_conversion_side(
    chk: Checker,
    graph: SemanticGraph,
    metric: d.ConversionMetric,
    side: str,
    found: tuple[str, d.Measure],
    origin: Origin,
) -> None:
    """Events are timed rows, and base events are counted."""
    model, measure = found
    if graph.models[model].time is None:
        chk.report(
            origin,
            f"conversion metric '{metric.name}': {side} model '{model}' has no 'time:', so its events have no "
            f"time to compare — add 'time: <column>' to model '{model}'",
            side,
        )
    if side == "base" and measure.agg != "count":
        chk.report(
            origin,
            f"conversion metric '{metric.name}': base measure '{metric.base}' is agg '{measure.agg}', but a "
            "conversion metric counts base events — use a count measure (agg: count), with a filter for "
            "the rows that are events",
            side,
        )


def _check_entity(
    chk: Checker, graph: SemanticGraph, metric: d.ConversionMetric | d.RetentionMetric, model: str, origin: Origin
) -> None:
    """The entity reads each model's own rows, and columns the model has: a misspelling would fail
    every query of the metric."""
    fix = f"use a column of '{model}', or of a model it joins many_to_one"
    before = len(chk.errors)
    chk.attempt(
        origin, ("entity",), partial(_own_rows_only, graph, model, metric.entity, fix), f"entity on model '{model}': "
    )
    if len(chk.errors) > before:
        return
    for owner, column in rule_columns(graph, model, metric.entity):
        try:
            known = known_columns(graph.models[owner], chk.dialect)
        except (QueryError, SnippetError, SqlglotError):  # reported where the definition is written
            continue
        if column not in known:
            chk.report(
                origin,
                f"{metric.type} metric '{metric.name}': entity '{metric.entity}' reads '{column}', which is not "
                f"a known column of model '{owner}'{did_you_mean(column, sorted(known.names))} (an entity may "
                f"use {known.source}; {known.fix})",
                "entity",
            )


@_check_references.register
def _(metric: d.RetentionMetric, chk: Checker, graph: SemanticGraph, origin: Origin) -> None:
    model = chk.attempt(origin, ("activity",), lambda: graph.model(metric.activity))
    if model is None:
        return
    if model.time is None:
        chk.report(
            origin,
            f"retention metric '{metric.name}': activity model '{model.name}' has no 'time:', so its rows "
            f"fall in no period — add 'time: <column>' to model '{model.name}', or use a model whose rows "
            "are dated events",
            "activity",
        )
    _check_entity(chk, graph, metric, model.name, origin)


def _check_expansion(graph: SemanticGraph, name: str) -> None:
    expander = MetricExpander(graph)
    expander.expand(name)
    for key in expander.units:
        metric_filters = [(text, parse_snippet(text, graph.settings.dialect)) for text in key.filters]
        if isinstance(key.spec, ConversionSpec):  # read on the base model, or else the conversion model
            conversion_reads(graph, key, (), (), [], [], None, time_range=False, metric_filters=metric_filters)
        else:
            for _, tree in metric_filters:
                resolve_tree(graph, key.model, tree)
        if key.offset or key.spec is not None:
            graph.time_dimension(key.model)


def _check_policies(chk: Checker, graph: SemanticGraph, src: ProjectSource) -> None:
    roles: dict[str, Origin] = {}
    for policy, origin in src.policies:
        if policy.role in roles:
            chk.report(origin, f"duplicate policy for role '{policy.role}'", "role")
        roles[policy.role] = origin
        for i, row in enumerate(policy.rows):
            if row.model not in graph.models:
                chk.report(
                    origin,
                    f"row policy on unknown model '{row.model}'{did_you_mean(row.model, graph.models)}",
                    "rows",
                    i,
                    "model",
                )
                continue
            where = CLAIM_RE.sub("NULL", row.where)
            checked = chk.attempt(origin, ("rows", i, "where"), partial(JoinScope(graph, row.model).snippet, where, ()))
            if checked is not None:
                _check_rule_columns(chk, graph, row, origin, ("rows", i, "where"))
        for i, member in enumerate(policy.hide):
            if not graph.has_member(member):
                chk.report(origin, f"hide names unknown member '{member}'", "hide", i)
    default = src.settings.default_role
    if default is not None and default not in roles and src.settings_origin is not None:
        chk.report(
            src.settings_origin, f"default_role '{default}' has no policy{did_you_mean(default, roles)}", "default_role"
        )


def _check_rule_columns(
    chk: Checker, graph: SemanticGraph, row: d.RowPolicy, origin: Origin, at: tuple[str | int, ...]
) -> None:
    """A row filter names columns the models have: a misspelling would fail every query of the role."""
    for model, column in rule_columns(graph, row.model, row.where):
        try:
            known = known_columns(graph.models[model], chk.dialect)
        except (QueryError, SnippetError, SqlglotError):  # reported where the definition is written
            continue
        if column not in known:
            chk.report(
                origin,
                f"row policy on '{row.model}': '{column}' is not a known column of model '{model}'"
                f"{did_you_mean(column, sorted(known.names))} (a policy may use {known.source}; "
                f"{known.fix})",
                *at,
            )


def _check_policy_lineage(chk: Checker, graph: SemanticGraph, src: ProjectSource, origins: dict[str, Origin]) -> None:
    """A model whose rows come from a filtered table must be reachable by the policy, or it leaks them.

    The compiler applies a row policy along to-one joins to the filtered model; a model over the
    same table (another name, or a `sql:` reading it) without such a path would show every row.
    """
    roles: dict[tuple[str, str, str], list[str]] = {}  # (model, table it reads, filtered model) → roles
    for policy, _ in src.policies:
        for filtered in dict.fromkeys(row.model for row in policy.rows if row.model in graph.models):
            for model, table in _stranded_carriers(graph, filtered):
                roles.setdefault((model, table, filtered), []).append(policy.role)
    for (model, table, filtered), names in roles.items():
        many = len(names) > 1
        who = f"role{'s' if many else ''} {', '.join(repr(n) for n in names)}"
        chk.report(
            origins[model],
            f"model '{model}' reads table '{table}', whose rows {who} may see only through the row policy "
            f"on model '{filtered}', but '{model}' has no to-one join path to '{filtered}' for the policy "
            f"to follow, so {'those roles' if many else 'that role'} would see every row of it — declare a "
            f"many_to_one join from '{model}' to '{filtered}', or remove the model",
            "sql" if graph.models[model].sql is not None else "table",
        )


def _stranded_carriers(graph: SemanticGraph, filtered: str) -> list[tuple[str, str]]:
    """(model, table) for each model reading `filtered`'s table that no to-one path links to it."""
    out = []
    for name in graph.models:
        try:
            table = filtered_table_read(graph, name, filtered)
        except (QueryError, SqlglotError):  # a sql: that does not parse is reported on its model
            continue
        if table is not None and name != filtered and not to_one_paths(graph, name, filtered):
            out.append((name, table))
    return out
