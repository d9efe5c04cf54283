"""`semantic-layer`: validate, list, compile and query from the shell (docs/cli.md).

Machine-readable output (JSON, CSV) goes to stdout alone; errors go to stderr with exit code 1,
so the commands compose in scripts and CI.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .alerts import Alert
from .catalog import thresholds_text
from .display import display, period_label
from .errors import QueryError, SemanticLayerError, ValidationError
from .jsonvalues import json_value
from .project import Project, load
from .query import build_query

if TYPE_CHECKING:  # Arrow and the engines are imported by the commands that run queries: a quicker start
    from .layer import Layer

if TYPE_CHECKING:  # the server is imported by `serve` alone: every other command starts quicker
    from server import ServerSettings

app = typer.Typer(
    help="A semantic metrics layer: YAML metric definitions compiled to correct SQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output is not squeezed to 80 columns: tables keep one line per row.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)

ProjectOpt = Annotated[
    Path | None,
    typer.Option("--project", "-p", help="Project folder (default: $SEMANTIC_LAYER_PROJECT, then the current folder)."),
]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class Listable(StrEnum):
    metrics = "metrics"
    dimensions = "dimensions"
    models = "models"


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(1)


def _load(project: Path | None) -> Project:
    try:
        return load(project)
    except ValidationError as exc:
        for issue in exc.errors:
            err.print(str(issue), markup=False, highlight=False)
        count = len(exc.errors)
        raise _fail(f"{count} error{'s' if count != 1 else ''} — the project is not valid") from None


def open_layer(proj: Project, connection: str | None = None, **options: Any) -> Layer:
    """A layer over the project, its module imported only by the commands that need one."""
    from .layer import Layer

    return Layer(proj, connection, **options)


@app.command()
def validate(
    project: ProjectOpt = None,
    warehouse: Annotated[bool, typer.Option(help="Also check tables and columns in the database.")] = False,
) -> None:
    """Check every YAML file; print file:line:column errors and exit 1, or a summary."""
    proj = _load(project)
    if warehouse:
        with open_layer(proj) as layer:
            try:
                issues = layer.validate_warehouse()
            except SemanticLayerError as exc:
                raise _fail(str(exc)) from None
        for issue in issues:
            err.print(str(issue), markup=False, highlight=False)
        if issues:
            raise _fail(f"{len(issues)} warehouse problem{'s' if len(issues) != 1 else ''}")
    dims = sum(len(m.dimensions) for m in proj.models.values())
    measures = sum(len(m.measures) for m in proj.models.values())
    out.print(
        f"[green]✓[/] project '{proj.settings.name}' is valid: {len(proj.models)} models, {dims} dimensions, "
        f"{measures} measures, {len(proj.metrics)} metrics, {len(proj.dashboards)} dashboards"
        + (" (warehouse checked)" if warehouse else ""),
        highlight=False,
    )


@app.command("list")
def list_(
    what: Listable,
    project: ProjectOpt = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric", "-m", help="dimensions: only those every one of these metrics can be grouped by (repeat)."
        ),
    ] = None,
) -> None:
    """List metrics, dimensions or models."""
    proj = _load(project)
    if metric and what is not Listable.dimensions:
        raise _fail("--metric applies to 'list dimensions' only")
    try:
        rows = _reachable(proj, metric) if metric else _catalog(proj, what)
    except QueryError as exc:
        raise _fail(f"[{exc.code}] {exc.message}") from None
    _emit(rows, list(rows[0]) if rows else [], format, title=what.value)


def _reachable(proj: Project, metrics: list[str]) -> list[dict[str, Any]]:
    """The dimension refs queryable with every one of `metrics`, as the compiler resolves them."""
    from .catalog import dimension_details

    for name in metrics:
        proj.graph.metric(name)  # an unknown metric is an error, not an empty list
    return [
        {"name": ref, "type": dim.type, "label": dim.label or "", "description": dim.description or ""}
        for ref, dim in dimension_details(proj.graph, metrics)
    ]


def _catalog(proj: Project, what: Listable) -> list[dict[str, Any]]:
    if what is Listable.metrics:
        return [
            {
                "name": m.name,
                "type": m.type,
                "tier": m.tier or "",
                "status": m.status,
                "owner": m.owner or "",
                "replaced_by": m.replaced_by or "",
                "label": m.label or "",
                "description": m.description or "",
                "thresholds": thresholds_text(m),
            }
            for m in proj.metrics.values()
        ]
    if what is Listable.dimensions:
        rows = [{"name": "metric_time", "type": "time", "description": "each metric's own time (model 'time:')"}]
        rows += [
            {"name": f"{m.name}.{dim.name}", "type": dim.type, "description": dim.description or ""}
            for m in proj.models.values()
            for dim in m.dimensions
        ]
        return rows
    return [
        {
            "name": m.name,
            "source": m.table or "(sql)",
            "primary_key": ",".join(m.primary_keys),
            "time": m.time or "",
            "joins": ", ".join(f"{j.alias} ({j.relationship})" for j in m.joins),
        }
        for m in proj.models.values()
    ]


def _query_options(
    metric: list[str] | None,
    dimension: list[str] | None,
    where: list[str] | None,
    having: list[str] | None,
    segment: list[str] | None,
    order_by: list[str] | None,
    limit: int | None,
    offset: int | None,
    start: str | None,
    end: str | None,
    timezone: str | None,
) -> dict[str, Any]:
    query: dict[str, Any] = {
        "metrics": metric or [],
        "dimensions": dimension or [],
        "where": where or [],
        "having": having or [],
        "segments": segment or [],
        "order_by": order_by or [],
        "limit": limit,
        "offset": offset,
        "timezone": timezone,
    }
    if start or end:
        query["time_range"] = {"start": start, "end": end}
    return query


Metric = Annotated[list[str] | None, typer.Option("--metric", "-m", help="A metric name (repeat for more).")]
Dimension = Annotated[
    list[str] | None, typer.Option("--dimension", "-d", help="model.dim, join.dim or metric_time:<grain> (repeat).")
]
Where = Annotated[list[str] | None, typer.Option("--where", "-w", help="A SQL condition over dimension refs.")]
Having = Annotated[list[str] | None, typer.Option("--having", help="A SQL condition over metric names.")]
SegmentOpt = Annotated[list[str] | None, typer.Option("--segment", "-s", help="model.segment")]
OrderBy = Annotated[list[str] | None, typer.Option("--order-by", "-o", help="A member; a leading - sorts descending.")]
Limit = Annotated[int | None, typer.Option("--limit", "-l")]
Offset = Annotated[int | None, typer.Option("--offset")]
Start = Annotated[str | None, typer.Option("--start", help="time_range start (inclusive, query time zone).")]
End = Annotated[str | None, typer.Option("--end", help="time_range end (exclusive).")]
Timezone = Annotated[str | None, typer.Option("--timezone", "--tz")]


@app.command()
def compile(
    metric: Metric = None,
    dimension: Dimension = None,
    where: Where = None,
    having: Having = None,
    segment: SegmentOpt = None,
    order_by: OrderBy = None,
    limit: Limit = None,
    offset: Offset = None,
    start: Start = None,
    end: End = None,
    timezone: Timezone = None,
    project: ProjectOpt = None,
    dialect: Annotated[
        str | None,
        typer.Option(help="duckdb, postgres, mysql, mariadb, snowflake, bigquery, trino, clickhouse, spark, …"),
    ] = None,
) -> None:
    """Print the SQL a query compiles to."""
    proj = _load(project)
    layer = open_layer(proj)
    try:
        sql = layer.compile(
            dialect=dialect,
            pretty=True,
            **_query_options(metric, dimension, where, having, segment, order_by, limit, offset, start, end, timezone),
        )
    except QueryError as exc:
        raise _fail(f"[{exc.code}] {exc.message}") from None
    print(sql)


@app.command()
def query(
    metric: Metric = None,
    dimension: Dimension = None,
    where: Where = None,
    having: Having = None,
    segment: SegmentOpt = None,
    order_by: OrderBy = None,
    limit: Limit = None,
    offset: Offset = None,
    start: Start = None,
    end: End = None,
    timezone: Timezone = None,
    project: ProjectOpt = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    connection: Annotated[str | None, typer.Option(help="Override the project's connection URL.")] = None,
    show_sql: Annotated[bool, typer.Option("--sql", help="Also print the SQL (table format only).")] = False,
) -> None:
    """Run a query and print the answer as a table, CSV or JSON."""
    proj = _load(project)
    try:
        with open_layer(proj, connection) as layer:  # run, not query: the warnings are printed below, once
            result = layer.run(
                build_query(
                    **_query_options(
                        metric, dimension, where, having, segment, order_by, limit, offset, start, end, timezone
                    )
                )
            )
    except QueryError as exc:
        raise _fail(f"[{exc.code}] {exc.message}") from None
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if format is Format.json:
        payload = {
            "columns": [c.__dict__ for c in result.columns],
            "rows": result.json_rows(),
            "sql": result.sql,
            "cached": result.cached,
            "duration_ms": round(result.duration_ms, 3),
            "warnings": result.warnings,
            "truncated": result.truncated,
            "rollup": result.rollup,
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    rows = result.json_rows()
    if format is Format.table:  # people read tables: format numbers by each metric's declared format
        formats = {c.name: c.format for c in result.columns if c.kind == "metric"}
        rows = [{k: display(v, formats.get(k)) for k, v in row.items()} for row in rows]
    _emit(
        rows,
        [c.name for c in result.columns],
        format,
        title=f"{len(result)} row{'s' if len(result) != 1 else ''} in {result.duration_ms:.1f} ms",
    )
    if show_sql and format is Format.table:
        err.print(result.sql, markup=False, highlight=False)


class AlertFormat(StrEnum):
    table = "table"
    json = "json"


# How long `alerts --notify` waits for a server's scheduler (or another cron run) to finish its cycle.
NOTIFY_LOCK_WAIT = 60.0
LEVEL_STYLE = {"ok": "green", "warn": "yellow", "critical": "bold red"}


@app.command()
def alerts(
    project: ProjectOpt = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="A metric with thresholds (repeat; default: all).")
    ] = None,
    grain: Annotated[
        str | None, typer.Option(help="Evaluate at this grain instead of each metric's thresholds grain.")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Only periods from this time on (project time zone).")] = None,
    end: Annotated[str | None, typer.Option(help="Only periods that end by this time (exclusive).")] = None,
    format: Annotated[AlertFormat, typer.Option("--format", "-f")] = AlertFormat.table,
    notify: Annotated[
        bool,
        typer.Option(
            help="Also send each level change to the project's webhooks (alerts.webhooks), once: for cron. "
            "Evaluates every metric with thresholds, as the server's scheduler does."
        ),
    ] = False,
    connection: Annotated[str | None, typer.Option(help="Override the project's connection URL.")] = None,
) -> None:
    """Evaluate thresholds on each metric's last complete period. Exit code 2 when a metric is critical,
    1 on an error, 0 otherwise."""
    proj = _load(project)
    if notify and (metric or grain or start or end):
        raise _fail(
            "--notify evaluates every metric with thresholds as the server does: "
            "leave out --metric, --grain, --start and --end"
        )
    time_range = {"start": start, "end": end} if start or end else None
    problems: list[str] = []
    try:
        with open_layer(proj, connection) as layer:
            if notify:
                found, problems = _notify(layer)
            else:
                found = layer.alerts(metric, time_range, grain)
    except SemanticLayerError as exc:
        code = getattr(exc, "code", "")
        raise _fail(f"[{code}] {getattr(exc, 'message', exc)}" if code else str(exc)) from None
    _print_alerts(proj, found, format)
    for problem in problems:
        err.print(f"[bold red]error:[/] {problem}", highlight=False)
    if problems:
        raise typer.Exit(1)
    if any(a.level == "critical" for a in found):
        raise typer.Exit(2)


def _notify(layer: Layer) -> tuple[list[Alert], list[str]]:
    """One evaluation and the messages for the levels that changed, under the schedulers' lock."""
    from .notify import Notifier, alert_storage

    if not layer.project.settings.alerts.webhooks:
        raise _fail("--notify needs webhooks: add 'alerts: {webhooks: [{url: …, format: …}]}' to semantic_layer.yml")
    store, lock = alert_storage(layer.project, os.environ.get("SEMANTIC_LAYER_CACHE_URL"))
    notifier = Notifier(lambda: layer, store, lock, lock_wait=NOTIFY_LOCK_WAIT)
    try:
        report = notifier.cycle()
    finally:
        notifier.close()
    if not report.ran:
        raise _fail(f"nothing evaluated: {report.reason}")
    for sent in report.sent:
        err.print(f"sent: {sent}", highlight=False)
    return report.alerts, report.problems


def _print_alerts(proj: Project, found: list[Alert], format: AlertFormat) -> None:
    if format is AlertFormat.json:
        sys.stdout.write(json.dumps([a.to_json() for a in found], ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{len(found)} alert{'s' if len(found) != 1 else ''}", title_justify="left")
    for name in ("metric", "level", "value", "bound", "period", "note"):
        table.add_column(name, overflow="fold")
    for alert in found:
        fmt = proj.metrics[alert.metric].format
        bound = "" if alert.bound is None else f"{alert.bound_kind} {display(alert.bound, fmt)} ({alert.bound_level})"
        table.add_row(
            alert.metric,
            f"[{LEVEL_STYLE[alert.level]}]{alert.level}[/]",
            "∅" if alert.value is None else str(display(alert.value, fmt)),
            bound,
            period_label(alert.period, alert.grain),
            alert.note or "",
        )
    out.print(table)


@app.command()
def serve(
    project: ProjectOpt = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4000,
    reload: Annotated[bool, typer.Option(help="Watch the project folder and swap in valid changes.")] = False,
    connection: Annotated[str | None, typer.Option(help="Override the project's connection URL.")] = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes (share a cache through SEMANTIC_LAYER_CACHE_URL=redis://…).")
    ] = 1,
    allow_widening: Annotated[
        bool,
        typer.Option(
            help="With --reload: also apply changes that widen access "
            "(a policy, row rule or hide removed, a new role or "
            "default_role). Off: such a change is held back and "
            "reported on /ready until a restart."
        ),
    ] = False,
    alerts_every: Annotated[
        str | None,
        typer.Option(
            help="Evaluate thresholds this often ('15 minutes', '1 hour') and send level changes to the "
            "project's webhooks; replaces alerts.every of semantic_layer.yml."
        ),
    ] = None,
    refresh_rollups: Annotated[
        bool,
        typer.Option(help="Refresh the project's rollups in the background, each once its refresh.every has passed."),
    ] = False,
) -> None:
    """Serve the project over GraphQL (GraphiQL on GET /graphql, /health, /ready, /metrics)."""
    import uvicorn

    from server import ServerSettings, create_app
    from server.cache import check_cache_url

    from .definitions import parse_duration

    loaded = _load(project)  # refuse to start on a broken project, with its errors listed
    root = project or Path(os.environ.get("SEMANTIC_LAYER_PROJECT", "."))
    settings = ServerSettings(project=root, connection=connection, reload=reload, allow_widening=allow_widening)
    if alerts_every is not None:
        settings = replace(settings, alerts_every=alerts_every)
    settings = replace(settings, refresh_rollups=settings.refresh_rollups or refresh_rollups)
    if settings.alerts_every:
        try:
            parse_duration(settings.alerts_every)
        except ValueError as exc:
            raise _fail(f"--alerts-every (or SEMANTIC_LAYER_ALERTS_EVERY): {exc}") from None
    if settings.cache_url:
        try:
            check_cache_url(settings.cache_url)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    err.print(
        f"serving '{root}' on http://{host}:{port}/graphql" + (" (reloading on change)" if reload else ""),
        highlight=False,
    )
    if not loaded.policies:
        err.print(
            "[yellow]warning:[/] this project has no access policies: every caller sees every row "
            "(add policies: to require tokens)"
        )
    if workers > 1:  # each worker builds its app from the environment
        _export(settings, root)
        uvicorn.run(
            "server.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    else:
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="warning", timeout_keep_alive=KEEP_ALIVE_SECONDS
        )


def _export(settings: ServerSettings, root: Path) -> None:
    """The server's settings as the environment a worker process builds its app from."""
    os.environ["SEMANTIC_LAYER_PROJECT"] = str(Path(root).resolve())
    os.environ["SEMANTIC_LAYER_RELOAD"] = "1" if settings.reload else "0"
    os.environ["SEMANTIC_LAYER_ALLOW_WIDENING"] = "1" if settings.allow_widening else "0"
    os.environ["SEMANTIC_LAYER_REFRESH_ROLLUPS"] = "1" if settings.refresh_rollups else "0"
    if settings.connection:
        os.environ["SEMANTIC_LAYER_CONNECTION"] = settings.connection
    if settings.alerts_every:
        os.environ["SEMANTIC_LAYER_ALERTS_EVERY"] = settings.alerts_every


# Seconds an idle keep-alive connection stays open. uvicorn's 5 s races clients and load balancers
# that reuse a pooled connection just as the server closes it (the request fails with a read
# error: 2 in 213 000 in the soak); proxies keep idle connections 60 s, so the server outlasts them.
KEEP_ALIVE_SECONDS = 75


@app.command()
def token(
    role: Annotated[list[str], typer.Option("--role", "-r", help="A role (repeat for several).")],
    claim: Annotated[list[str] | None, typer.Option("--claim", "-c", help="key=value (repeat).")] = None,
    expires: Annotated[str, typer.Option(help="Lifetime: 30m, 1h, 7d.")] = "1h",
) -> None:
    """Mint a development token signed with SEMANTIC_LAYER_JWT_SECRET (HS256), for the audience and
    issuer the server requires (SEMANTIC_LAYER_JWT_AUDIENCE, SEMANTIC_LAYER_JWT_ISSUER) when set."""
    from server.auth import mint_token

    secret = os.environ.get("SEMANTIC_LAYER_JWT_SECRET")
    if not secret:
        raise _fail("set SEMANTIC_LAYER_JWT_SECRET to the secret the server verifies tokens with")
    claims: dict[str, Any] = {}
    for item in claim or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _fail(f"--claim '{item}' is not key=value")
        claims[key] = value
    for name, variable in (("aud", "SEMANTIC_LAYER_JWT_AUDIENCE"), ("iss", "SEMANTIC_LAYER_JWT_ISSUER")):
        value = os.environ.get(variable, "").split(",")[0].strip()
        if value:
            claims.setdefault(name, value)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(expires) < 2 or expires[-1] not in units or not expires[:-1].isdigit():
        raise _fail(f"--expires '{expires}' is not like 30m, 1h or 7d")
    sys.stdout.write(mint_token(secret, role, claims, int(expires[:-1]) * units[expires[-1]]) + "\n")


@app.command()
def schema(
    settings: Annotated[
        bool,
        typer.Option(
            "--settings",
            help="The schema of semantic_layer.yml (the "
            "project settings and the keys every file may hold) instead of "
            "the schema of the other project files.",
        ),
    ] = False,
) -> None:
    """Print the JSON Schema of the project YAML, for editors (YAML language server) to complete and check."""
    from .project_schema import project_schema

    sys.stdout.write(json.dumps(project_schema(settings=settings), indent=2, ensure_ascii=False) + "\n")


CATALOG_START, CATALOG_END = "<!-- catalog:start -->", "<!-- catalog:end -->"


@app.command()
def docs(
    project: ProjectOpt = None,
    output: Annotated[Path | None, typer.Option(help="Write the catalogue to DIR/metrics.md.")] = None,
    readme: Annotated[
        Path | None, typer.Option(help=f"Rewrite the catalogue between the {CATALOG_START} markers of this file.")
    ] = None,
    site: Annotated[
        Path | None,
        typer.Option(help="Write the catalogue as a static site into DIR (HTML, one script for search, no server)."),
    ] = None,
    examples: Annotated[
        bool, typer.Option("--examples", help="With --site: show each metric's recent values, from the warehouse.")
    ] = False,
    connection: Annotated[str | None, typer.Option(help="Override the project's connection URL.")] = None,
) -> None:
    """The metric catalogue: a Markdown table (stdout, a folder, or a README section) or a static site."""
    from .catalog import markdown_table

    proj = _load(project)
    if site is not None:
        from .cli_governance import write_catalogue_site

        write_catalogue_site(proj, site, examples, connection)
        return
    table = markdown_table(proj.graph)
    if readme is not None:
        text = readme.read_text(encoding="utf-8")
        head, sep, rest = text.partition(CATALOG_START)
        _, sep2, tail = rest.partition(CATALOG_END)
        if not sep or not sep2:
            raise _fail(f"{readme} has no {CATALOG_START} … {CATALOG_END} section to rewrite")
        readme.write_text(f"{head}{CATALOG_START}\n{table}{CATALOG_END}{tail}", encoding="utf-8")
        out.print(f"[green]✓[/] {readme}: catalogue of {len(proj.metrics)} metrics rewritten", highlight=False)
    elif output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "metrics.md").write_text(f"# {proj.settings.name} — metric catalogue\n\n{table}", encoding="utf-8")
        out.print(f"[green]✓[/] wrote {output / 'metrics.md'}", highlight=False)
    else:
        sys.stdout.write(table)


@app.command()
def demo(
    scale: Annotated[float, typer.Option(help="1 ≈ 10 000 customers and 100 000 orders.")] = 1.0,
    output: Annotated[Path, typer.Option(help="DuckDB file to write.")] = Path("data/crm.duckdb"),
    seed: Annotated[int, typer.Option(help="The same seed gives identical data.")] = 42,
) -> None:
    """Write the CRM demo data set (deterministic, timestamps in UTC) into DuckDB."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from .demo import write_demo

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task(f"customer batches → {output}", total=None)
        try:
            counts = write_demo(
                output,
                scale=scale,
                seed=seed,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except ValueError as exc:
            raise _fail(str(exc)) from None
    summary = ", ".join(f"{n} {t}" for t, n in counts.items() if t in ("customers", "orders", "tickets", "leads"))
    out.print(f"[green]✓[/] wrote {output} ({summary}, {sum(counts.values())} rows in all)", highlight=False)


def _emit(rows: list[dict[str, Any]], columns: list[str], format: Format, *, title: str) -> None:
    if format is Format.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, default=json_value) + "\n")
    elif format is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(title=title, title_justify="left")
        for name in columns:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*("∅" if row.get(c) is None else str(row.get(c)) for c in columns))
        out.print(table)


# The governance commands (check, lint, diff, usage, show), `export`, `import` and `rollups` register
# themselves on `app`.
from . import cli_export, cli_governance, cli_import, cli_rollups  # noqa: E402, F401
