"""`semantic-layer docs --site DIR`: the metric catalogue as a static site.

Plain HTML files, one stylesheet and one small script (the search box): opened from disk or served
by any web server, with no build step and nothing fetched from the network. An index lists every
metric with a search across names, labels, synonyms and descriptions; each metric has a page with
its definition, governance fields, thresholds, synonyms, compiled SQL, upstream models, measures
and metrics and downstream metrics as an inline SVG graph, and — when a warehouse is reachable and
examples are asked for — a recent answer. Every text from the project is HTML-escaped.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .. import definitions as d
from ..catalog import TIER_ORDER
from ..display import display, period_label
from ..errors import QueryError
from ..layer import Layer
from ..project import Project
from ..query import build_query
from .lineage import Lineage
from .profile import MetricProfile, metric_profile
from .values import natural_grain

ASSETS = ("search.js", "style.css")
EXAMPLE_PERIODS = 6


def e(text: object) -> str:
    """Text as HTML (quotes too: it may land in an attribute)."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Example:
    """A recent answer of a metric: (period, value as shown) rows, or why there is none."""

    grain: str | None
    rows: tuple[tuple[str, str], ...] = ()
    error: str | None = None


def write_site(project: Project, folder: Path, examples: Layer | None = None) -> list[Path]:
    """Write the site into `folder`; returns the files written. `examples`: ask it for each metric's
    recent values."""
    (folder / "metrics").mkdir(parents=True, exist_ok=True)
    written = []
    for asset in ASSETS:
        with resources.as_file(resources.files(__package__).joinpath("site_assets", asset)) as source:
            shutil.copyfile(source, folder / asset)
        written.append(folder / asset)
    lineage = Lineage(project.graph)
    profiles = [metric_profile(project, name, lineage=lineage) for name in sorted(project.metrics)]
    index = folder / "index.html"
    index.write_text(index_page(project, profiles), encoding="utf-8")
    written.append(index)
    for profile in profiles:
        example = example_answer(examples, profile.name) if examples is not None else None
        path = folder / "metrics" / f"{profile.name}.html"
        path.write_text(metric_page(project, profile, lineage, example), encoding="utf-8")
        written.append(path)
    return written


def example_answer(layer: Layer, metric: str) -> Example:
    """The metric's last periods with data at its natural grain (or its total, without time)."""
    fmt = layer.project.metrics[metric].format
    graph = layer.project.graph
    try:
        lineage = Lineage(graph).reads(metric)
        timed = lineage is not None and all(graph.models[m].time is not None for m in lineage.models)
        if not timed:
            result = layer.run(build_query(metrics=[metric]))
            return Example(None, tuple(("all time", _shown(row[metric], fmt)) for row in result.rows))
        grain = natural_grain(layer, metric)
        ref = f"metric_time:{grain}"
        query = build_query(metrics=[metric], dimensions=[ref], order_by=[f"-{ref}"], limit=EXAMPLE_PERIODS)
        rows = layer.run(query).rows
        shown = tuple((period_label(row[ref], grain), _shown(row[metric], fmt)) for row in reversed(rows))
        return Example(grain, shown)
    except QueryError as exc:
        return Example(None, error=exc.message)


def _shown(value: object, fmt: str | None) -> str:
    if value is None:
        return "∅"
    number = float(value) if not isinstance(value, bool | str) and hasattr(value, "__float__") else value
    return str(display(number, fmt))


# -- pages ---------------------------------------------------------------------------------------
def page(title: str, body: str, root: str, script: bool = False) -> str:
    """A whole page; `root` leads back to the site's top folder ('' or '../')."""
    tail = f'<script src="{root}search.js"></script>\n' if script else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n"
        f'<link rel="stylesheet" href="{root}style.css">\n</head>\n<body>\n'
        f'<header><a href="{root}index.html">Metric catalogue</a></header>\n'
        f"<main>\n{body}\n</main>\n{tail}</body>\n</html>\n"
    )


def index_page(project: Project, profiles: list[MetricProfile]) -> str:
    ordered = sorted(profiles, key=lambda p: (TIER_ORDER.get(p.tier, 3), p.name))
    rows = "\n".join(_index_row(p) for p in ordered)
    body = (
        f"<h1>{e(project.settings.name)} — metric catalogue</h1>\n"
        '<p><input id="search" type="search" placeholder="Search names, labels, synonyms… (e.g. revenue, 销售额)" '
        'autocomplete="off" autofocus> <span id="count" class="muted"></span></p>\n'
        "<table>\n<thead><tr><th>tier</th><th>metric</th><th>label</th><th>type</th><th>status</th>"
        "<th>owner</th><th>description</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody>\n</table>"
    )
    return page(f"{project.settings.name} — metric catalogue", body, "", script=True)


def _index_row(p: MetricProfile) -> str:
    terms = " ".join([p.name, p.label or "", *p.synonyms, p.description or ""])
    return (
        f'<tr data-terms="{e(terms)}"><td>{e(p.tier or "")}</td>'
        f'<td><a href="metrics/{e(p.name)}.html">{e(p.name)}</a></td><td>{e(p.label or "")}</td>'
        f'<td>{e(p.type)}</td><td class="status-{e(p.status)}">{e(p.status)}</td><td>{e(p.owner or "")}</td>'
        f"<td>{e(' '.join((p.description or '').split()))}</td></tr>"
    )


def metric_page(project: Project, p: MetricProfile, lineage: Lineage, example: Example | None) -> str:
    parts = [f"<h1>{e(p.name)}</h1>"]
    if p.label:
        parts.append(f'<p class="muted">{e(p.label)}</p>')
    if p.description:
        parts.append(f"<p>{e(' '.join(p.description.split()))}</p>")
    graph = f'<div class="graph">{lineage_svg(p, lineage)}</div>'
    parts += [_facts(p), _example(example, p), "<h2>Lineage</h2>", graph]
    parts += [_links(p), _dimensions(p)]
    parts += ["<h2>Definition</h2>", f"<pre>{e(p.definition)}</pre>"]
    parts += [f"<h2>SQL ({e(p.dialect)})</h2>", f"<pre>{e(p.sql)}</pre>"]
    return page(f"{p.name} — {project.settings.name}", "\n".join(parts), "../")


def _facts(p: MetricProfile) -> str:
    replaced = f'<a href="{e(p.replaced_by)}.html">{e(p.replaced_by)}</a>' if p.replaced_by else "—"
    rows = [
        ("owner", e(p.owner or "—")),
        ("tier", e(p.tier or "—")),
        ("status", f'<span class="status-{e(p.status)}">{e(p.status)}</span>'),
        ("replaced by", replaced),
        ("type", e(p.type)),
        ("format", e(p.format or "—")),
        ("direction", e(p.direction or "—")),
        ("thresholds", e(p.thresholds or "—")),
        ("synonyms", "".join(f'<span class="tag">{e(s)}</span>' for s in p.synonyms) or "—"),
        ("tags", "".join(f'<span class="tag">{e(t)}</span>' for t in p.tags) or "—"),
        ("defined at", f"<code>{e(p.location)}</code>"),
    ]
    body = "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="facts">\n{body}\n</table>'


def _example(example: Example | None, p: MetricProfile) -> str:
    if example is None:
        return ""
    if example.error:
        return f'<h2>Example answer</h2>\n<p class="muted">No example: {e(example.error)}</p>'
    by = f"by metric_time:{example.grain}" if example.grain else "in total"
    rows = "\n".join(f'<tr><td>{e(k)}</td><td class="number">{e(v)}</td></tr>' for k, v in example.rows)
    head = f"<tr><th>{'period' if example.grain else ''}</th><th>{e(p.name)}</th></tr>"
    return f'<h2>Example answer</h2>\n<p class="muted">{e(by)}</p>\n<table>\n{head}\n{rows}\n</table>'


def _links(p: MetricProfile) -> str:
    def metrics(names: tuple[str, ...]) -> str:
        return ", ".join(f'<a href="{e(n)}.html">{e(n)}</a>' for n in names) or "—"

    def plain(names: tuple[str, ...]) -> str:
        return ", ".join(f"<code>{e(n)}</code>" for n in names) or "—"

    rows = [
        ("models it aggregates", plain(p.models)),
        ("measures", plain(p.measures)),
        ("models it joins", plain(p.joined)),
        ("built on", metrics(p.upstream)),
        ("built on it", metrics(p.downstream)),
        (
            "shown on",
            ", ".join(f"<code>{e(t.dashboard)}</code> tile {t.number} ({e(t.title)})" for t in p.tiles) or "—",
        ),
    ]
    body = "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>\n{body}\n</table>"


def _dimensions(p: MetricProfile) -> str:
    items = "".join(f"<li><code>{e(d)}</code></li>" for d in p.dimensions)
    return f"<details><summary>{len(p.dimensions)} dimensions it can be grouped by</summary><ul>{items}</ul></details>"


# -- the lineage graph ---------------------------------------------------------------------------
BOX_W, BOX_H, GAP_X, GAP_Y, MAX_CHARS = 230, 26, 50, 12, 30


@dataclass(frozen=True)
class Node:
    key: str
    label: str
    kind: str  # model | measure | metric | self | dashboard
    column: int
    href: str | None = None
    low: bool = False  # drawn below every column's other boxes, so that no long edge runs through it


def lineage_svg(p: MetricProfile, lineage: Lineage) -> str:
    """Models → measures → the metrics it is built on → it → what is built on it (and, below, the
    dashboards showing it), left to right."""
    nodes, edges = _graph(p, lineage)
    place = _layout(list(nodes.values()))
    width = max(x for x, _ in place.values()) + BOX_W
    height = max(y for _, y in place.values()) + BOX_H
    paths = [_edge(place[a], place[b], dashed) for a, b, dashed in edges]
    boxes = [_box(node, place[node.key]) for node in nodes.values()]
    return (
        f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{width + 2}" height="{height + 2}" '
        f'viewBox="-1 -1 {width + 2} {height + 2}" role="img" aria-label="lineage of {e(p.name)}">\n'
        + "\n".join([*paths, *boxes])
        + "\n</svg>"
    )


def _layout(nodes: list[Node]) -> dict[str, tuple[int, int]]:
    """Each box's top left corner: columns left to right, boxes by name within a column, low boxes
    under the tallest column."""
    columns: dict[int, list[Node]] = {}
    for node in sorted(nodes, key=lambda n: n.label):
        columns.setdefault(node.column, []).append(node)
    floor = max(sum(not n.low for n in members) for members in columns.values())
    place: dict[str, tuple[int, int]] = {}
    for column, members in columns.items():
        rows: list[Node | None] = [n for n in members if not n.low]
        rows += [None] * (floor - len(rows)) + [n for n in members if n.low]
        for row, box in enumerate(rows):
            if box is not None:
                place[box.key] = (column * (BOX_W + GAP_X), row * (BOX_H + GAP_Y))
    return place


def _graph(p: MetricProfile, lineage: Lineage) -> tuple[dict[str, Node], list[tuple[str, str, bool]]]:
    graph = lineage.graph
    depth: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in depth:
            depth[name] = 1 + max((level(s) for s in lineage.depends_on(name) if s in wanted), default=-1)
        return depth[name]

    wanted = {p.name, *p.upstream, *p.downstream}
    # Models the metric joins (through its filters) stand in a column of their own just before it.
    joined_column = 2 + level(p.name) if p.joined else None
    nodes: dict[str, Node] = {f"model:{m}": Node(f"model:{m}", m, "model", 0) for m in p.models}
    nodes |= {f"model:{m}": Node(f"model:{m}", m, "model", joined_column or 0, low=True) for m in p.joined}
    nodes |= {f"measure:{m}": Node(f"measure:{m}", m, "measure", 1) for m in p.measures}
    for name in wanted:
        kind = "self" if name == p.name else "metric"
        href = None if name == p.name else f"{name}.html"
        shift = 1 if joined_column is not None and level(name) >= level(p.name) else 0
        nodes[f"metric:{name}"] = Node(f"metric:{name}", name, kind, 2 + level(name) + shift, href)
    # The dashboards showing it stand beside what is built on it, below it: no edge runs through them.
    beside = nodes[f"metric:{p.name}"].column + 1
    boards = list(dict.fromkeys(t.dashboard for t in p.tiles))
    nodes |= {f"dashboard:{b}": Node(f"dashboard:{b}", b, "dashboard", beside, low=True) for b in boards}
    edges = [(f"model:{m.split('.')[0]}", f"measure:{m}", False) for m in p.measures]
    edges += [(f"metric:{p.name}", f"dashboard:{b}", False) for b in boards]
    edges += [(f"model:{m}", f"metric:{p.name}", True) for m in p.joined]
    for name in wanted:
        measures, models = _inputs(graph.metrics[name])
        edges += [(f"measure:{m}", f"metric:{name}", False) for m in measures]
        edges += [(f"model:{m}", f"metric:{name}", False) for m in models]
        edges += [(f"metric:{s}", f"metric:{name}", False) for s in lineage.depends_on(name) if s in wanted]
    return nodes, [edge for edge in edges if edge[0] in nodes and edge[1] in nodes]


def _inputs(metric: d.Metric) -> tuple[list[str], list[str]]:
    """The measures (`model.measure`) and models a metric reads rows of itself, not through another metric."""
    if isinstance(metric, d.SimpleMetric):
        return [metric.measure], []
    if isinstance(metric, d.ConversionMetric):
        return [metric.base, metric.conversion], []
    if isinstance(metric, d.RetentionMetric):
        return [], [metric.activity]
    return [], []


def _edge(start: tuple[int, int], end: tuple[int, int], dashed: bool) -> str:
    x1, y1 = start[0] + BOX_W, start[1] + BOX_H // 2
    x2, y2 = end[0], end[1] + BOX_H // 2
    bend = GAP_X // 2 + 10
    cls = ' class="joined"' if dashed else ""
    return f'<path{cls} d="M {x1} {y1} C {x1 + bend} {y1}, {x2 - bend} {y2}, {x2} {y2}"/>'


def _box(node: Node, at: tuple[int, int]) -> str:
    x, y = at
    text = node.label if len(node.label) <= MAX_CHARS else node.label[: MAX_CHARS - 1] + "…"
    inner = (
        f"<title>{e(node.kind if node.kind != 'self' else 'metric')} {e(node.label)}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}"/>'
        f'<text x="{x + 8}" y="{y + BOX_H // 2 + 4}">{e(text)}</text>'
    )
    group = f'<g class="{node.kind}">{inner}</g>'
    return f'<a href="{e(node.href)}">{group}</a>' if node.href else group
