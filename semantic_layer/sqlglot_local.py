"""sqlglot tokenizers and generators, one per dialect and thread, reused.

Building either costs more than the work a served request asks of it — tokenizing one filter
string, rendering a few literals — and neither may be shared between threads: both keep state
while they work. Each thread keeps its own, built on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlglot.dialects.dialect import Dialect
from sqlglot.generator import Generator
from sqlglot.tokens import Tokenizer

T = TypeVar("T")
_local = threading.local()


def tokenizer(dialect: str) -> Tokenizer:
    return _kept("tokenizers", dialect, lambda d: d.tokenizer())


def generator(dialect: str) -> Generator:
    return _kept("generators", dialect, lambda d: d.generator())


def _kept(kind: str, dialect: str, build: Callable[[Dialect], T]) -> T:
    cache: dict[str, T] = _local.__dict__.setdefault(kind, {})
    found = cache.get(dialect)
    if found is None:
        found = cache[dialect] = build(Dialect.get_or_raise(dialect))
    return found
