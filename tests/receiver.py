"""A webhook receiver on a loopback port, in a thread: records every POST, and answers as scripted."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """`script[path]` lists the statuses to answer that path with, one per request, then 200;
    `delay` seconds pass before each answer (to make two senders overlap)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.posts: list[tuple[str, Any]] = []
        self.script: dict[str, list[int]] = {}
        self.answer: dict[str, Any] = {}  # path → the JSON body of a 200 answer
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.posts.append((self.path, body))
                    queue = receiver.script.get(self.path)
                    status = queue.pop(0) if queue else 200
                answer = json.dumps(receiver.answer.get(self.path, {"ok": True})).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def bodies(self, path: str) -> list[Any]:
        with self._lock:
            return [body for p, body in self.posts if p == path]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
