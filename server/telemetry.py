"""Prometheus metrics for one app (its own registry, so tests can run many apps side by side)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "semantic_layer_requests", "GraphQL requests by outcome code", ["code"], registry=self.registry
        )
        self.errors = Counter("semantic_layer_errors", "GraphQL errors by code", ["code"], registry=self.registry)
        self.query_seconds = Histogram(
            "semantic_layer_query_seconds",
            "Query latency (compile + run)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.compile_seconds = Histogram(
            "semantic_layer_compile_seconds",
            "Compile time per query",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
            registry=self.registry,
        )
        self.cache_hits = Counter("semantic_layer_cache_hits", "Result cache hits", registry=self.registry)
        self.cache_misses = Counter("semantic_layer_cache_misses", "Result cache misses", registry=self.registry)
        self.cache_stale_hits = Counter(
            "semantic_layer_cache_stale_hits",
            "Cache hits past their TTL, served while one refresh runs (stale-while-revalidate)",
            registry=self.registry,
        )
        self.coalesced = Counter(
            "semantic_layer_coalesced_requests",
            "Cache misses that awaited the execution already under way for the same statement and values",
            registry=self.registry,
        )
        self.database_queries = Counter(
            "semantic_layer_database_queries",
            "Statements run on the database to answer queries",
            registry=self.registry,
        )
        self.cache_bytes = Gauge(
            "semantic_layer_cache_bytes",
            "Bytes the in-memory answer cache counts against its budget (0 with a shared cache)",
            registry=self.registry,
        )
        self.engine_memory_bytes = Gauge(
            "semantic_layer_engine_memory_bytes",
            "Memory an embedded database (DuckDB) holds in this process: its buffer pool's tables, "
            "hash tables and sorts (0 for a database in a process of its own)",
            registry=self.registry,
        )
        self.cache_errors = Counter(
            "semantic_layer_cache_errors",
            "Shared cache calls that failed (answered from the database instead)",
            registry=self.registry,
        )

    def count(self, codes: list[str]) -> None:
        """One request, by the code of its first error (OK without), and each of its errors."""
        self.requests.labels(codes[0] if codes else "OK").inc()
        for code in codes:
            self.errors.labels(code).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
