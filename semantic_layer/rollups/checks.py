"""Load-time checks of `rollups:`, each reported at the YAML node that breaks it: the model and its
time, every measure (one that cannot be re-aggregated is refused), every dimension (as a query
would resolve it from the model), and a store outside the project folder."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from .. import definitions as d
from ..graph import SemanticGraph
from .shape import check_model, resolve_stored_dimension, resolve_stored_measure

if TYPE_CHECKING:
    from ..loader import Origin
    from ..validation import Checker

STORE_PREFIX = "duckdb:///"


def check_rollups(chk: Checker, graph: SemanticGraph, rollups: dict[str, tuple[d.Rollup, Origin]]) -> None:
    for rollup, origin in rollups.values():
        if rollup.model not in graph.models:
            chk.attempt(origin, ("model",), partial(graph.model, rollup.model))
            continue
        chk.attempt(origin, ("model",), partial(check_model, graph, rollup))
        for i, name in enumerate(rollup.measures):
            chk.attempt(origin, ("measures", i), partial(resolve_stored_measure, graph, rollup.model, name))
        for i, ref in enumerate(rollup.dimensions):
            chk.attempt(origin, ("dimensions", i), partial(resolve_stored_dimension, graph, rollup.model, ref))
    _check_store(chk, graph)


def _check_store(chk: Checker, graph: SemanticGraph) -> None:
    """The store is written at run time: inside the project folder, git and hot reload would see it."""
    url, origin = graph.settings.rollup_store, chk.src.settings_origin
    if url is None or origin is None:
        return
    path = Path(url.removeprefix(STORE_PREFIX)).expanduser()
    root = chk.src.root.resolve()
    if path.is_absolute() and (path.resolve() == root or root in path.resolve().parents):
        chk.report(
            origin,
            f"rollup_store '{url}' lies inside the project folder — keep it out (by default rollups "
            "live in the state folder, SEMANTIC_LAYER_STATE_DIR), e.g. duckdb:///var/lib/semantic-layer/rollups.duckdb",
            "rollup_store",
        )


def store_path(url: str | None, state_folder: Path) -> Path:
    """The rollup store's file: `rollup_store`'s path (a relative one in the state folder), else
    rollups.duckdb in the state folder."""
    if url is None:
        return state_folder / "rollups.duckdb"
    return state_folder / os.path.expanduser(url.removeprefix(STORE_PREFIX))
