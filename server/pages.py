"""The web pages (docs/dashboards.md): the dashboards, the metric catalogue and the explorer.

The server sends each page as a small HTML shell and its scripts as static files; the scripts ask
`/graphql` for everything they show, with the caller's token, so the pages see exactly what the
caller may see and row policies hold. Nothing on a page is rendered from data on the server.

Every page and static file is sent with a Content-Security-Policy that allows scripts, styles and
requests from this server only (no inline script or style, no other origin): text that reaches a
page from data or definitions can never run as code there, whatever a script does with it.
"""

from __future__ import annotations

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
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every load (an ETag answers 304): a new server version never runs old scripts.
    "Cache-Control": "no-cache",
}
CHARTS = '<link rel="modulepreload" href="/static/vendor/echarts.esm.min.js">'


def shell(page: str, title: str, charts: bool, missing: str | None = None) -> str:
    """A page's HTML: the header, an empty main element, and the page's script (`missing`: the
    dashboard name a 404 did not find, which the index page mentions)."""
    said = "" if missing is None else f' data-missing="{escape(missing)}"'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/css/app.css">
{CHARTS if charts else ""}
<script type="module" src="/static/js/{page}.js"></script>
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
    return HTMLResponse(text, status_code=status, headers=SECURITY_HEADERS)


class SecurityHeaders:
    """Adds the pages' security headers to every response of the wrapped app (the static files)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def page_routes(state: ProjectState) -> list[BaseRoute]:
    """`/`, `/dashboards/<name>`, `/catalog`, `/explore` and `/static/…`."""
    pages = {
        "index": shell("index", "Dashboards", charts=False),
        "catalog": shell("catalog", "Metric catalogue", charts=False),
        "explore": shell("explore", "Explore", charts=True),
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
            return _html(shell("index", "No such dashboard", charts=False, missing=name), status=404)
        return _html(shell("dashboard", name, charts=True))

    static = SecurityHeaders(GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=1024))
    return [
        Route("/", index),
        Route("/catalog", catalog),
        Route("/explore", explore),
        Route("/dashboards/{name}", dashboard),
        Mount("/static", app=static, name="static"),
    ]
