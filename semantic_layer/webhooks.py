"""Alert messages as each kind of webhook reads them, and their delivery with bounded retries.

A webhook URL usually carries its secret (Slack's path, WeCom's and DingTalk's `key`/`access_token`),
so it is never logged or stored: logs name the host, and the state of what was sent is keyed by a
hash of the URL (`webhook_id`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from . import definitions as d
from .alerts import Alert

log = logging.getLogger("semantic_layer.alerts")

# Chat colours of WeCom's markdown for each level (its only three: green, grey, orange-red).
WECOM_COLOUR = {"ok": "info", "warn": "comment", "critical": "warning"}


@dataclass(frozen=True)
class Change:
    """A metric whose level differs from the one last sent to a webhook."""

    project: str
    alert: Alert
    previous: str  # the level the webhook was last told
    at: datetime  # when the thresholds were evaluated

    @property
    def headline(self) -> str:
        if self.alert.level == "ok":
            return f"{self.alert.metric} recovered (was {self.previous})"
        return f"{self.alert.metric} {self.alert.level} (was {self.previous})"

    @property
    def text(self) -> str:
        """The message a person reads, with the note when there is one."""
        note = f" ({self.alert.note})" if self.alert.note else ""
        return f"{self.alert.message}{note}"


def webhook_id(url: str) -> str:
    """The name a webhook's sent levels are kept under: its URL holds a secret, this does not."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def where(url: str) -> str:
    """A webhook as logs name it: its host, without the path and query that hold its secret."""
    return urlsplit(url).netloc or "(no host)"


def message(webhook_format: str, change: Change) -> dict[str, Any]:
    """The JSON body `webhook_format` expects for one change."""
    title = f"[{change.project}] {change.headline}"
    if webhook_format == "slack":
        return {"text": f"{title}: {change.text}"}
    if webhook_format == "wecom":
        colour = WECOM_COLOUR[change.alert.level]
        content = f'**{change.project}** <font color="{colour}">{change.headline}</font>\n> {change.text}'
        return {"msgtype": "markdown", "markdown": {"content": content}}
    if webhook_format == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": f"#### {title}\n\n{change.text}"}}
    return {
        "project": change.project,
        **change.alert.to_json(),
        "previous_level": change.previous,
        "evaluated_at": change.at.astimezone(UTC).isoformat(),
    }


class WebhookSender:
    """POSTs a message, retrying what may pass on a second try — no connection, a timeout, a 5xx or
    a 429 — `attempts` times in all, waiting `backoff` seconds and twice as long each time after.
    Other refusals (a 4xx, or a chat bot's error code in a 200 answer) are not retried: the same
    message would be refused again."""

    def __init__(self, attempts: int = 4, backoff: float = 1.0, timeout: float = 10.0):
        self.attempts = attempts
        self.backoff = backoff
        # One client for every message: its connection pool and TLS setup are reused (making a
        # client costs tens of milliseconds). Redirects are not followed: a hook that moved is a 3xx.
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, hook: d.Webhook, body: dict[str, Any]) -> str | None:
        """None once delivered, else why the message could not be."""
        problem: str | None = "not sent"
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            problem, retry = _post(self._client, hook, body)
            if problem is None or not retry:
                break
            log.info("webhook at %s: %s (attempt %d of %d)", where(hook.url), problem, attempt + 1, self.attempts)
        return problem

    def close(self) -> None:
        self._client.close()


def _post(client: httpx.Client, hook: d.Webhook, body: dict[str, Any]) -> tuple[str | None, bool]:
    """(why it failed or None, whether to try again)."""
    try:
        response = client.post(hook.url, json=body)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}", True
    if response.status_code >= 500 or response.status_code == 429:
        return f"HTTP {response.status_code}", True
    if response.status_code >= 300:
        return f"HTTP {response.status_code}: {response.text[:200]}", False
    return _bot_error(hook.format, response), False


def _bot_error(webhook_format: str, response: httpx.Response) -> str | None:
    """WeCom and DingTalk answer 200 and say in the body whether they took the message."""
    if webhook_format not in ("wecom", "dingtalk"):
        return None
    try:
        answer = response.json()
    except ValueError:
        return f"the answer is not JSON: {response.text[:200]}"
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        return f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"
    return None
