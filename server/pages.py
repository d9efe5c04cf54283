"""The web pages (docs/dashboards.md): the dashboards, the metric catalogue and the explorer.

The server sends each page as a small HTML shell and its scripts as static files; the scripts ask
`/graphql` for everything they show, with the caller's token, so the pages see exactly what the
caller may see and row policies hold. Nothing on a page is rendered from data on the server.

Every page and static file is sent with a Content-Security-Policy that allows scripts, styles and
requests from this server only (no inline script or style, no other origin): text that reaches a
page from data or definitions can never run as code there, whatever a script does with it.

Static files live under a path named after their content (`/static/<version>/…`): a browser keeps
them for good and loads a page again without asking for any, and a server with other files serves
them under another path. Scripts import each other by relative paths, which stay inside it.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from html import escape
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .reload import ProjectState

STATIC = Path(__file__).parent / "static"
POLICY = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGE_HEADERS = {**POLICY, "Cache-Control": "no-cache"}  # a page always names the current static files
KEEP = "public, max-age=31536000, immutable"  # a static file found: its path changes with its content
# Static imports only: a module a page imports dynamically (the dashboard's ECharts) loads while the
# page's first question is out, and preloading it would hold that question back.
IMPORT = re.compile(r"""\bfrom\s*'(\.{1,2}/[\w./-]+\.js)'""")


@cache
def static_version() -> str:
    """A digest of every static file's path and content."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def static_url(path: str) -> str:
    return f"/static/{static_version()}/{path}"


@cache
def modules(page: str) -> tuple[str, ...]:
    """Every module a page's script imports statically, at any depth, as URLs: the page announces
    them all at once (modulepreload) instead of the browser discovering them level by level, one
    round trip each."""
    found: list[str] = []
    pending = [STATIC / "js" / f"{page}.js"]
    while pending:
        path = pending.pop()
        for target in IMPORT.findall(path.read_text(encoding="utf-8")):
            resolved = (path.parent / target).resolve()
            url = static_url(resolved.relative_to(STATIC).as_posix())
            if url not in found:
                found.append(url)
                pending.append(resolved)
    return tuple(sorted(found))


def shell(page: str, title: str, missing: str | None = None) -> str:
    """A page's HTML: the header, an empty main element, and the page's script (`missing`: the
    dashboard name a 404 did not find, which the index page mentions)."""
    said = "" if missing is None else f' data-missing="{escape(missing)}"'
    preload = "\n".join(f'<link rel="modulepreload" href="{url}">' for url in modules(page))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="{static_url("favicon.svg")}" type="image/svg+xml">
<link rel="stylesheet" href="{static_url("css/app.css")}">
{preload}
<script type="module" src="{static_url(f"js/{page}.js")}"></script>
</head>
<body data-page="{page}"{said}>
<header class="top">
  <a class="brand" href="/">Semantic layer</a>
  <nav><a href="/">Dashboards</a><a href="/catalog">Catalogue</a><a href="/explore">Explore</a></nav>
  <div id="account"></div>
</header>
<main id="main"><p class="loading">Loading…</p></main>
</body>
</html>
"""


def _html(text: str, status: int = 200) -> Response:
    return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)


class StaticHeaders:
    """The pages' security headers on every static response, and a found file kept for good."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in POLICY.items():
                    headers[name] = value
                headers["Cache-Control"] = KEEP if message["status"] in (200, 304) else "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


def page_routes(state: ProjectState) -> list[BaseRoute]:
    """`/`, `/dashboards/<name>`, `/catalog`, `/explore` and `/static/<version>/…`."""
    pages = {
        "index": shell("index", "Dashboards"),
        "catalog": shell("catalog", "Metric catalogue"),
        "explore": shell("explore", "Explore"),
    }

    async def index(_: Request) -> Response:
        return _html(pages["index"])

    async def catalog(_: Request) -> Response:
        return _html(pages["catalog"])

    async def explore(_: Request) -> Response:
        return _html(pages["explore"])

    async def dashboard(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in state.layer.project.dashboards:
            return _html(shell("index", "No such dashboard", missing=name), status=404)
        return _html(shell("dashboard", name))

    files = StaticFiles(directory=STATIC)
    return [
        Route("/", index),
        Route("/catalog", catalog),
        Route("/explore", explore),
        Route("/dashboards/{name}", dashboard),
        Mount(f"/static/{static_version()}", app=StaticHeaders(GZipMiddleware(files, minimum_size=1024))),
    ]
