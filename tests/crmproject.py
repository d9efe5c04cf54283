"""A copy of the CRM reference project (metrics/, dashboards included) on a small demo file, for
tests that serve it: the dashboards tests and the pages' browser tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from semantic_layer.demo import write_demo

METRICS = Path(__file__).resolve().parents[1] / "metrics"


def crm_project(root: Path, db: Path) -> Path:
    """metrics/ copied to `root`, its connection pointed at `db` (written at scale 0.05 if absent)."""
    if not db.exists():
        write_demo(db, scale=0.05, seed=42)
    shutil.copytree(METRICS, root, dirs_exist_ok=True)
    settings = root / "semantic_layer.yml"
    lines = [ln for ln in settings.read_text(encoding="utf-8").splitlines() if not ln.startswith("connection:")]
    settings.write_text("\n".join([*lines, f"connection: duckdb:///{db}"]) + "\n", encoding="utf-8")
    return root
