"""The hand-written baseline for bench/server.py: the least a Python server can do for a query.

A bare ASGI callable on the same uvicorn: it reads the body, compiles the query with the layer,
runs it through the same engine in one thread hop and writes the rows as JSON — no GraphQL, no
auth, no cache, no metrics. Its overhead over direct DuckDB is the floor that HTTP on loopback, a
thread hop and JSON impose, whatever the server around them does.

    uvicorn bare_asgi:app --app-dir bench     (SEMANTIC_LAYER_PROJECT names the project)
"""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import semantic_layer as sl
from semantic_layer.query import build_query
from semantic_layer.result import answer_names, json_records

layer = sl.connect(os.environ.get("SEMANTIC_LAYER_PROJECT", "metrics"))
pool = ThreadPoolExecutor(max_workers=8)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            event = (await receive())["type"].removeprefix("lifespan.")
            await send({"type": f"lifespan.{event}.complete"})
            if event == "shutdown":
                return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    ask = json.loads(body or b"{}").get("variables", {}).get("input")
    if ask is None:  # a readiness probe
        await _send(send, b"{}")
        return
    query = build_query(
        metrics=ask["metrics"],
        dimensions=ask.get("dimensions", []),
        where=ask.get("where", []),
        time_range=ask.get("timeRange"),
    )
    compiled, values = layer.prepare(query, "duckdb")
    params = compiled.bind(values)
    names, rows = await asyncio.get_running_loop().run_in_executor(
        pool, lambda: layer.engine.fetch_rows(compiled.template, params)
    )
    answer = {"rows": json_records(answer_names(names, compiled.columns), rows), "sql": compiled.inline(values)}
    await _send(send, json.dumps({"data": {"query": answer}}).encode())


async def _send(send: Any, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
