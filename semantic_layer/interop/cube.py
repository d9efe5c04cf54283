"""The project as a Cube data model (`semantic-layer export cube`, docs/cube.md).

Cube keeps measures inside cubes and computes every measure of a query over one join tree. So a
model becomes a cube, a measure a Cube measure, a metric a measure named after it in its model's
cube, and a ratio or derived metric a calculated (`number`) measure when all it reads lives in one
cube. What Cube cannot state with the same meaning — offsets, cumulative windows, conversion,
retention, semi-additive measures, ratios across models, shares of a reduced total — is not
exported at all: each such definition is listed in the report with the reason, never approximated.

The SQL in the model is rendered for one dialect (the warehouse Cube reads) from the same sqlglot
trees the compiler uses. Time: Cube converts time dimensions from UTC to the query's `timezone`;
asked with the project's time zone it truncates exactly as this layer does, and calendar-date
columns (`granularity: day`) are exported as their local midnight so that the conversion keeps
their date.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from sqlglot import exp

from .. import definitions as d
from ..access import CLAIM_RE
from ..catalog import depends_on
from ..compiler.aggregation import aggregate
from ..compiler.dialects import PROFILES, adapt, normalize_dialect
from ..compiler.metrics import safe_divide
from ..project import Project
from ..snippets import column_parts, map_columns, parse_snippet

SELF = "{CUBE}"
REPORT_FILE = "cube-export-report.md"
EXPORTED_MARK = "# Exported from project"  # the first line of every file the export writes
CLAIM_PLACEHOLDER = "__claim_"
# Cube's measure formats. Cube's `percent` shows values of 0–100 with a % sign, and ours are shares
# (0.12 is 12 %): a percent metric keeps its format in `meta` only, never shown a hundred times too small.
FORMATS = {"currency": "currency"}
ROW_OPERATORS: dict[type[exp.Expr], str] = {
    exp.EQ: "equals",
    exp.NEQ: "notEquals",
    exp.GT: "gt",
    exp.GTE: "gte",
    exp.LT: "lt",
    exp.LTE: "lte",
}
NOT_IN_CUBE = {
    "cumulative": "a cumulative metric runs over a time spine in which every period appears; Cube's rolling "
    "windows neither fill empty periods nor restart per grain the same way",
    "conversion": "a conversion metric follows each base event to a later event of the same entity within a "
    "window; Cube measures aggregate one cube's rows and cannot pair events",
    "retention": "a retention metric compares each period's entities with those of a later period; Cube "
    "measures cannot look at another period",
}


class Inexpressible(Exception):
    """A definition Cube cannot state with the same meaning; the message is the reason reported."""


@dataclass(frozen=True)
class Omission:
    """A definition left out of the Cube model, and why."""

    kind: str  # metric, measure, join, dimension, segment
    name: str
    reason: str


@dataclass(frozen=True)
class PolicyNote:
    """A role's access policy as Cube's `access_policy` entries (Cube 1.2 and later), per cube."""

    role: str
    entries: dict[str, dict[str, Any]]  # cube → its entry for this role ('*': every other cube)
    caveats: tuple[str, ...]


@dataclass
class CubeDraft:
    """One cube as it is assembled: dimensions, measures and segments share one name space."""

    head: dict[str, Any]
    joins: list[dict[str, Any]] = field(default_factory=list)
    dimensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)
    segments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def taken(self, name: str) -> bool:
        return name in self.dimensions or name in self.measures or name in self.segments

    def free(self, name: str, suffix: str = "metric") -> str:
        """`name`, or `name_<suffix>` (numbered if need be) when a member already has it."""
        candidate, n = name, 1
        while self.taken(candidate):
            candidate = f"{name}_{suffix}" + (f"_{n}" if n > 1 else "")
            n += 1
        return candidate

    def as_cube(self) -> dict[str, Any]:
        cube = dict(self.head)
        for key, members in (
            ("joins", self.joins),
            ("dimensions", list(self.dimensions.values())),
            ("measures", list(self.measures.values())),
            ("segments", list(self.segments.values())),
        ):
            if members:
                cube[key] = members
        return cube


@dataclass
class CubeExport:
    """The exported model: cubes by name, where each metric went, and what was left out."""

    project: str
    dialect: str
    timezone: str
    cubes: dict[str, CubeDraft] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)  # metric → 'cube.member'
    omitted: list[Omission] = field(default_factory=list)
    policies: list[PolicyNote] = field(default_factory=list)

    def omitted_metrics(self) -> dict[str, str]:
        return {o.name: o.reason for o in self.omitted if o.kind == "metric"}

    def write(self, folder: Path) -> list[Path]:
        """One YAML file per cube, and the report, in `folder` (created if missing). Files an
        earlier export wrote for cubes that are gone are removed: Cube would still load them."""
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.yml"):
            if stale.stem not in self.cubes and stale.read_text(encoding="utf-8").startswith(EXPORTED_MARK):
                stale.unlink()
        written = []
        for name, draft in self.cubes.items():
            path = folder / f"{name}.yml"
            body = yaml.safe_dump({"cubes": [draft.as_cube()]}, sort_keys=False, allow_unicode=True, width=100)
            path.write_text(
                f"{EXPORTED_MARK} '{self.project}' by `semantic-layer export cube`.\n{body}", encoding="utf-8"
            )
            written.append(path)
        report = folder / REPORT_FILE
        report.write_text(self.report(), encoding="utf-8")
        return [*written, report]

    def report(self) -> str:
        """What went where and what did not, in Markdown."""
        lines = [
            f"# Cube export of project '{self.project}'",
            "",
            f'{len(self.cubes)} cubes, SQL for `{self.dialect}`. Query Cube with `"timezone": "{self.timezone}"` '
            "(the project's time zone) for the periods this layer reports.",
            "",
            f"## Metrics exported ({len(self.metrics)})",
            "",
            "| metric | Cube measure |",
            "|---|---|",
            *(f"| `{metric}` | `{member}` |" for metric, member in self.metrics.items()),
            "",
            f"## Not exported ({len(self.omitted)})",
            "",
            "| kind | name | why |",
            "|---|---|---|",
            *(f"| {o.kind} | `{o.name}` | {o.reason} |" for o in self.omitted),
        ]
        return "\n".join([*lines, *self._policy_lines()]) + "\n"

    def _policy_lines(self) -> Iterator[str]:
        if not self.policies:
            return
        yield from (
            "",
            "## Access policies",
            "",
            "Not exported: Cube reads `access_policy` from version 1.2 on. Each role below becomes these "
            "entries in the cubes' `access_policy` lists (a cube that has any entry denies roles it does not "
            "list; map the token's `roles` claim to Cube roles with `context_to_roles`).",
        )
        for note in self.policies:
            yield from ("", f"### {note.role}", "", "```yaml")
            for cube, entry in note.entries.items():
                where = "every other cube" if cube == "*" else f"cube {cube}"
                yield f"# {where}"
                yield yaml.safe_dump([entry], sort_keys=False, allow_unicode=True).rstrip()
            yield "```"
            yield from (f"- {caveat}" for caveat in note.caveats)


def export_cube(project: Project, dialect: str | None = None) -> CubeExport:
    """The project as Cube cubes, with SQL for `dialect` (default: the project's)."""
    return _Exporter(project, normalize_dialect(dialect or project.settings.dialect)).run()


def _member(cube: str, column: str) -> exp.Column:
    """`{cube}.column`: Cube substitutes the braces with the cube's alias in its SQL."""
    return exp.Column(this=exp.to_identifier(column), table=exp.var(cube))


def _compact(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, [], {})}


class _Exporter:
    def __init__(self, project: Project, dialect: str):
        self.project = project
        self.graph = project.graph
        self.source = project.settings.dialect
        self.dialect = dialect
        self.out = CubeExport(project.settings.name, dialect, project.settings.timezone)
        self.join_cubes: dict[tuple[str, str], str] = {}  # (model, join alias) → the cube it reaches

    def run(self) -> CubeExport:
        self._plan_join_cubes()
        for name, model in self.graph.models.items():
            self.out.cubes[name] = self._cube(name, model)
        self._role_playing_cubes()
        for name in self._metric_order():
            try:
                self._metric(self.graph.metrics[name])
            except Inexpressible as exc:
                self.out.omitted.append(Omission("metric", name, str(exc)))
        self.out.policies = [self._policy(p) for p in self.project.policies]
        return self.out

    # -- SQL ------------------------------------------------------------------------------
    def _render(self, tree: exp.Expr) -> str:
        return adapt(tree, self.dialect).sql(dialect=self.dialect)

    def _tree(self, model: str, text: str) -> exp.Expr:
        """A snippet of `model` with its columns as `{CUBE}.column`."""

        def qualified(column: exp.Column) -> exp.Expr:
            parts = column_parts(column)
            if len(parts) == 1 or (len(parts) == 2 and parts[0] == model):
                return _member(SELF, parts[-1])
            raise Inexpressible(
                f"'{text}' reads '{'.'.join(parts)}' from another model; export it as a column of this model"
            )

        return map_columns(parse_snippet(text, self.source), qualified)

    def _sql(self, model: str, text: str) -> str:
        return self._render(self._tree(model, text))

    # -- cubes ----------------------------------------------------------------------------
    def _plan_join_cubes(self) -> None:
        """A join under its own name (owner_rep → sales_reps) reaches a cube of that name, a copy
        of the target's dimensions: Cube joins cubes by name, one join per pair."""
        targets: dict[str, str] = {}
        for name, model in self.graph.models.items():
            for join in model.joins:
                cube = join.alias
                if join.alias != join.model and (
                    cube in self.graph.models or targets.get(cube, join.model) != join.model
                ):
                    self.out.omitted.append(
                        Omission(
                            "join",
                            f"{name}.{join.alias}",
                            f"'{join.alias}' names another cube already; Cube joins cubes by name, so rename the join",
                        )
                    )
                    continue
                targets[cube] = join.model
                self.join_cubes[(name, join.alias)] = cube

    def _cube(self, name: str, model: d.Model) -> CubeDraft:
        source = (
            {"sql_table": exp.to_table(model.table, dialect=self.source).sql(dialect=self.dialect)}
            if model.table
            else {"sql": sqlglot.transpile(model.sql or "", read=self.source, write=self.dialect)[0]}
        )
        draft = CubeDraft(_compact(name=name, **source, title=model.label, description=model.description))
        draft.joins = [self._join(name, j) for j in model.joins if (name, j.alias) in self.join_cubes]
        for dim in model.dimensions:
            self._guarded(name, "dimension", dim.name, lambda dim=dim: self._add_dimension(draft, name, dim))
        self._primary_key(draft, name, model)
        if model.time and not draft.taken(model.time):
            self._add_dimension(draft, name, d.Dimension(name=model.time, type="time"))
        for measure in model.measures:
            self._guarded(name, "measure", measure.name, lambda m=measure: self._add_measure(draft, name, m))
        for seg in model.segments:
            self._guarded(name, "segment", seg.name, lambda s=seg: self._add_segment(draft, name, s))
        return draft

    def _guarded(self, model: str, kind: str, name: str, add: Any) -> None:
        try:
            add()
        except Inexpressible as exc:
            self.out.omitted.append(Omission(kind, f"{model}.{name}", str(exc)))

    def _add_measure(self, draft: CubeDraft, model: str, measure: d.Measure) -> None:
        draft.measures[measure.name] = self._measure(model, measure)

    def _add_segment(self, draft: CubeDraft, model: str, seg: d.Segment) -> None:
        sql = self._sql(model, seg.where)
        draft.segments[seg.name] = _compact(name=seg.name, sql=sql, title=seg.label, description=seg.description)

    def _join(self, name: str, join: d.Join) -> dict[str, Any]:
        cube = self.join_cubes[(name, join.alias)]

        def qualified(column: exp.Column) -> exp.Expr:
            side = SELF if column.table == name and column.table != join.alias else f"{{{cube}}}"
            return _member(side, column.name)

        on = map_columns(parse_snippet(join.on, self.source), qualified)
        return {"name": cube, "relationship": join.relationship, "sql": self._render(on)}

    def _add_dimension(self, draft: CubeDraft, model: str, dim: d.Dimension) -> None:
        tree = self._tree(model, dim.sql)
        if dim.type == "time" and dim.granularity == "day":
            # A calendar date as the instant of its local midnight: Cube's conversion to the query's
            # time zone then lands on the same date.
            # Parenthesised: Cube appends `::timestamptz`, which binds tighter than AT TIME ZONE.
            zone = exp.Literal.string(self.project.settings.timezone)
            tree = exp.paren(exp.AtTimeZone(this=exp.cast(tree, exp.DataType.Type.TIMESTAMP), zone=zone), copy=False)
        draft.dimensions[dim.name] = _compact(
            name=dim.name, sql=self._render(tree), type=dim.type, title=dim.label, description=dim.description
        )

    def _primary_key(self, draft: CubeDraft, model: str, definition: d.Model) -> None:
        """Cube needs one primary-key dimension (it counts and deduplicates by it)."""
        keys = definition.primary_keys
        if len(keys) == 1:
            own = draft.dimensions.get(keys[0])
            if own is not None and own["sql"] == self._sql(model, keys[0]):
                own.update(primary_key=True, public=True)
                return
            name, sql = draft.free(keys[0], "key"), self._sql(model, keys[0])
        else:
            parts: list[exp.Expr] = []
            for key in keys:
                parts += [exp.Literal.string("|")] if parts else []
                parts.append(exp.cast(self._tree(model, key), exp.DataType.Type.TEXT))
            name, sql = draft.free("primary_key", "key"), self._render(exp.Concat(expressions=parts))
        draft.dimensions[name] = {"name": name, "sql": sql, "type": "string", "primary_key": True}

    def _role_playing_cubes(self) -> None:
        for (_, alias), cube in self.join_cubes.items():
            target = next(j.model for m in self.graph.models.values() for j in m.joins if j.alias == alias)
            if cube == target or cube in self.out.cubes:
                continue
            base = self.out.cubes[target]
            head = {**base.head, "name": cube, "description": f"{target}, joined as '{alias}'."}
            self.out.cubes[cube] = CubeDraft(
                head, copy.deepcopy(base.joins), copy.deepcopy(base.dimensions), {}, copy.deepcopy(base.segments)
            )

    # -- measures -------------------------------------------------------------------------
    def _measure(self, model: str, measure: d.Measure, extra: tuple[exp.Expr, ...] = ()) -> dict[str, Any]:
        """A measure as a Cube measure, narrowed by `extra` conditions (a metric's filters)."""
        if measure.non_additive is not None:
            na = measure.non_additive
            raise Inexpressible(
                f"semi-additive (the {na.window} value over {na.dimension}, summed over the rest): Cube has no "
                "measure that aggregates over time differently from the other dimensions"
            )
        value = None if measure.expr is None else self._tree(model, measure.expr)
        conditions = [*([self._tree(model, measure.filter)] if measure.filter else []), *extra]
        if measure.agg in ("median", "percentile"):
            return self._percentile(measure, value, conditions)
        return _compact(
            name=measure.name,
            type=measure.agg,
            sql=None if value is None else self._render(value),
            filters=[{"sql": self._render(c)} for c in conditions],
            title=measure.label,
            description=measure.description,
        )

    def _percentile(self, measure: d.Measure, value: exp.Expr | None, conditions: list[exp.Expr]) -> dict[str, Any]:
        """Cube has no percentile type: a `number` measure with the dialect's ordered-set aggregate,
        the filters inside it (Cube applies no `filters` to number measures)."""
        missing = PROFILES[self.dialect].no_percentile_aggregate
        if missing:
            raise Inexpressible(f"{measure.agg} on {self.dialect}: {missing}")
        assert value is not None  # median and percentile always have an expr
        if conditions:
            value = exp.Case(ifs=[exp.If(this=exp.and_(*conditions), true=value)])
        return _compact(
            name=measure.name,
            type="number",
            sql=self._render(aggregate(measure, value)),
            title=measure.label,
            description=measure.description,
        )

    # -- metrics --------------------------------------------------------------------------
    def _metric_order(self) -> list[str]:
        """Metrics after those they are computed from (a ratio refers to its sides' measures)."""
        ordered: dict[str, None] = {}

        def visit(name: str) -> None:
            if name in ordered or name not in self.graph.metrics:
                return
            for source in depends_on(self.graph, name):
                visit(source)
            ordered[name] = None

        for name in self.graph.metrics:
            visit(name)
        return list(ordered)

    def _metric(self, metric: d.Metric) -> None:
        if metric.type in NOT_IN_CUBE:
            raise Inexpressible(NOT_IN_CUBE[metric.type])
        if metric.fill_nulls_with is not None:
            raise Inexpressible("fill_nulls_with: Cube returns no value for a group without rows")
        if isinstance(metric, d.SimpleMetric):
            cube, definition = self._simple(metric)
        elif isinstance(metric, d.RatioMetric):
            cube, definition = self._ratio(metric)
        else:
            assert isinstance(metric, d.DerivedMetric)
            cube, definition = self._derived(metric)
        draft = self.out.cubes[cube]
        name = definition["name"]
        definition = {**definition, **_compact(title=metric.label, description=metric.description)}
        definition.update(_compact(format=FORMATS.get(metric.format or ""), meta=_meta(metric)))
        draft.measures[name] = definition
        self.out.metrics[metric.name] = f"{cube}.{name}"

    def _simple(
        self, metric: d.SimpleMetric, extra: tuple[str, ...] = (), name: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        model, measure = self.graph.measure(metric.measure)
        filters = tuple(f for f in (metric.filter, *extra) if f)
        definition = self._measure(model, measure, tuple(self._metric_filter(model, f) for f in filters))
        draft = self.out.cubes[model]
        if name is None:
            same = not filters and metric.name == measure.name
            name = metric.name if same or not draft.taken(metric.name) else draft.free(metric.name)
        return model, {**definition, "name": name}

    def _metric_filter(self, model: str, text: str) -> exp.Expr:
        """A metric filter over dimension refs, as SQL over the model's own columns."""
        dims = self.graph.dimensions_by_model[model]

        def own(column: exp.Column) -> exp.Expr:
            parts = column_parts(column)
            if len(parts) == 2 and parts[0] == model and parts[1] in dims:
                return self._tree(model, dims[parts[1]].sql)
            raise Inexpressible(
                f"the filter '{text}' reads '{'.'.join(parts)}', which is not a dimension of model '{model}': "
                "a Cube measure filter is SQL over its own cube"
            )

        return map_columns(parse_snippet(text, self.source), own)

    def _ratio(self, metric: d.RatioMetric) -> tuple[str, dict[str, Any]]:
        (num_cube, num), (den_cube, den) = (
            self._side(metric, metric.numerator, "numerator"),
            self._side(metric, metric.denominator, "denominator"),
        )
        if num_cube != den_cube:
            raise Inexpressible(
                f"its numerator and denominator are measures of different models ({num_cube}, {den_cube}); a Cube "
                "measure is computed within one cube, where this layer aggregates each model on its own and joins "
                "the results on the query's dimensions"
            )
        sql = self._render(safe_divide(exp.var(f"{{{num}}}"), exp.var(f"{{{den}}}")))
        draft = self.out.cubes[num_cube]
        return num_cube, {"name": draft.free(metric.name), "type": "number", "sql": sql}

    def _side(self, metric: d.RatioMetric, ref: d.MetricRef, role: str) -> tuple[str, str]:
        """The cube and measure a ratio side reads (a hidden measure when the side is filtered)."""
        if ref.reduce_by:
            raise Inexpressible(
                f"its denominator is reduced by {', '.join(ref.reduce_by)} (a share of a total over other groups): "
                "a Cube measure cannot ignore a dimension of the query"
            )
        filters = tuple(f for f in (ref.filter, metric.filter) if f)
        if not filters:
            return self._exported(ref.metric)
        side = self.graph.metric(ref.metric)
        if not isinstance(side, d.SimpleMetric):
            raise Inexpressible(
                f"its {role} filters '{ref.metric}', a {side.type} metric: only a measure takes a filter"
            )
        cube = self.graph.measure(side.measure)[0]
        hidden_name = self.out.cubes[cube].free(f"{metric.name}_{role}", "side")
        cube, definition = self._simple(side, filters, hidden_name)
        self.out.cubes[cube].measures[hidden_name] = {**definition, "public": False}
        return cube, hidden_name

    def _exported(self, metric: str) -> tuple[str, str]:
        member = self.out.metrics.get(metric)
        if member is None:
            reason = self.out.omitted_metrics().get(metric, "it is not exported")
            raise Inexpressible(f"it reads '{metric}', which is not exported: {reason}")
        cube, _, name = member.partition(".")
        return cube, name

    def _derived(self, metric: d.DerivedMetric) -> tuple[str, dict[str, Any]]:
        if metric.filter:
            raise Inexpressible("a filtered derived metric: a Cube calculated measure takes no filter")
        inputs = {i.name: i for i in metric.inputs}
        cubes: set[str] = set()

        def value(column: exp.Column) -> exp.Expr:
            spec = inputs.get(column.name) or d.DerivedInput(metric=column.name)
            if spec.offset:
                raise Inexpressible(
                    f"its input '{spec.name}' is offset by {spec.offset}: a Cube calculated measure reads "
                    "the same period as the query"
                )
            if spec.filter:
                raise Inexpressible(f"its input '{spec.name}' is filtered: a Cube calculated measure takes no filter")
            cube, name = self._exported(spec.metric)
            cubes.add(cube)
            return exp.paren(exp.var(f"{{{name}}}"), copy=False)

        tree = parse_snippet(metric.expr, self.source)
        tree = tree.transform(lambda n: safe_divide(n.this, n.expression) if isinstance(n, exp.Div) else n, copy=False)
        tree = map_columns(tree, value)
        if len(cubes) != 1:
            raise Inexpressible(
                f"it combines measures of several models ({', '.join(sorted(cubes))}); a Cube measure is computed "
                "within one cube"
            )
        cube = cubes.pop()
        return cube, {"name": self.out.cubes[cube].free(metric.name), "type": "number", "sql": self._render(tree)}

    # -- access policies ------------------------------------------------------------------
    def _policy(self, policy: d.Policy) -> PolicyNote:
        entries: dict[str, dict[str, Any]] = {}
        caveats: list[str] = []
        hidden: dict[str, list[str]] = {}
        for ref in policy.hide:
            model, _, member = ref.partition(".")
            if member:
                hidden.setdefault(model, []).append(member)
            else:
                caveats.append(
                    f"hides metric '{ref}': exclude its measure ({self.out.metrics.get(ref, 'not exported')})"
                )
        for model, members in hidden.items():
            entries[model] = {"role": policy.role, "member_level": {"includes": "*", "excludes": members}}
        for row in policy.rows:
            entry = entries.setdefault(row.model, {"role": policy.role, "member_level": {"includes": "*"}})
            try:
                entry["row_level"] = {"filters": self._row_filters(row.model, row.where)}
            except Inexpressible as exc:
                caveats.append(f"its row rule on {row.model} ('{row.where}') has no Cube form: {exc}")
            readers = sorted(
                m for m, model in self.graph.models.items() if any(j.model == row.model for j in model.joins)
            )
            caveats.append(
                f"this layer applies the rule on {row.model} to every model read with it; Cube filters only queries "
                f"that include cube {row.model}, so give {', '.join(readers)} the same filter on their {row.model} join"
            )
        entries["*"] = {"role": policy.role, "member_level": {"includes": "*"}}
        return PolicyNote(policy.role, entries, tuple(caveats))

    def _row_filters(self, model: str, where: str) -> list[dict[str, Any]]:
        text = CLAIM_RE.sub(lambda m: f":{CLAIM_PLACEHOLDER}{m.group(1)}", where)
        tree = parse_snippet(text, self.source)
        conjuncts = list(tree.flatten()) if isinstance(tree, exp.And) else [tree]
        return [self._row_filter(model, c) for c in conjuncts]

    def _row_filter(self, model: str, node: exp.Expr) -> dict[str, Any]:
        column = node.this if isinstance(node.this, exp.Column) else None
        if column is not None and type(node) in ROW_OPERATORS:
            operator, values = ROW_OPERATORS[type(node)], [node.expression]
        elif column is not None and isinstance(node, exp.In) and node.expressions:
            operator, values = "equals", list(node.expressions)
        else:
            raise Inexpressible(f"'{node.sql(dialect=self.source)}' is not a comparison of a column with values")
        return {
            "member": self._dimension_of(model, column),
            "operator": operator,
            "values": [_row_value(v) for v in values],
        }

    def _dimension_of(self, model: str, column: exp.Column) -> str:
        for dim in self.graph.models[model].dimensions:
            if dim.sql == column.name:
                return f"{model}.{dim.name}"
        raise Inexpressible(f"no dimension of {model} is the column '{column.name}' (Cube filters name members)")


def _row_value(node: exp.Expr) -> Any:
    if isinstance(node, exp.Placeholder) and node.name.startswith(CLAIM_PLACEHOLDER):
        return f"{{ securityContext.{node.name.removeprefix(CLAIM_PLACEHOLDER)} }}"
    if isinstance(node, exp.Literal):
        return node.name if node.is_string else float(node.name) if "." in node.name else int(node.name)
    raise Inexpressible(f"'{node.sql()}' is neither a literal nor a {{{{ user.claim }}}}")


def _meta(metric: d.Metric) -> dict[str, Any]:
    return _compact(
        metric=metric.name, owner=metric.owner, tier=metric.tier, status=metric.status, format=metric.format
    )
