"""The compile benchmark's TPC-H-like project loads and every one of its 64 shapes compiles, on
each engine's dialect, so the benchmark cannot rot into measuring error paths."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import semantic_layer as sl

TPCH = Path(__file__).resolve().parents[1] / "bench" / "tpch"


def _shapes() -> list[dict]:
    spec = importlib.util.spec_from_file_location("tpch_shapes", TPCH / "shapes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SHAPES


SHAPES = _shapes()


def test_the_sweep_has_64_distinct_shapes() -> None:
    assert len(SHAPES) == 64
    assert len({repr(shape) for shape in SHAPES}) == 64


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "mysql", "mariadb"])
def test_every_shape_compiles(dialect: str) -> None:
    layer = sl.connect(TPCH)
    for shape in SHAPES:
        sql = layer.compile(dialect=dialect, **shape)
        assert sql.startswith(("SELECT", "WITH")), shape
