"""MetricFlow itself, for checking the import's numbers: its own virtual environment, a small CRM.

The environment is created once and kept outside the repository (SEMANTIC_LAYER_METRICFLOW_VENV, else
~/.cache/semantic-layer-tests/), named by the pinned versions so a change of pins builds a new one.
Nothing leaves the machine but pip's downloads: dbt's anonymous usage statistics are off
(DO_NOT_TRACK, DBT_SEND_ANONYMOUS_USAGE_STATS and the project's flags), and MetricFlow's telemetry
only logs locally.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

DBT_PROJECT = Path(__file__).parent / "dbt_metricflow_crm"
DRIVER = Path(__file__).parent / "metricflow_driver.py"
# dbt-core 1.12 and later fetch a parser from outside the package index: the newest that does not.
PINS = (
    "dbt-metricflow==0.15.0",
    "metricflow==0.213.0",
    "dbt-core==1.11.16",
    "dbt-duckdb==1.11.1",
    f"duckdb=={duckdb.__version__}",  # the same DuckDB as this process: both open one file
)
QUIET = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def unavailable(reason: str) -> None:
    """Skip outside CI; under CI=true MetricFlow must be there, so fail."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


def metricflow_python() -> Path:
    """The Python of a virtual environment holding the pinned dbt-metricflow, made on first use."""
    digest = hashlib.sha256("\n".join(PINS).encode()).hexdigest()[:12]
    base = os.environ.get("SEMANTIC_LAYER_METRICFLOW_VENV")
    venv = Path(base) if base else Path.home() / ".cache" / "semantic-layer-tests" / f"metricflow-{digest}"
    python = venv / "bin" / "python"
    ready = venv / ".installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:  # one install when workers start together
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.is_file():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *PINS],
            env={**os.environ, **QUIET},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            unavailable(f"could not install {', '.join(PINS)}: {done.stderr.strip()[-500:]}")
        ready.write_text("\n".join(PINS) + "\n")
    return python


def dbt_env(project: Path) -> dict[str, str]:
    return {**os.environ, **QUIET, "DBT_PROFILES_DIR": str(project)}


def run_dbt(python: Path, project: Path, *args: str) -> None:
    dbt = python.parent / "dbt"
    done = subprocess.run(
        [str(dbt), *args], cwd=project, env=dbt_env(project), capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")


def metricflow_queries(python: Path, project: Path, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MetricFlow's answers (rows, or an error) to `requests`, in one process in the dbt project."""
    done = subprocess.run(
        [str(python), str(DRIVER)],
        cwd=project,
        env=dbt_env(project),
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise AssertionError(f"MetricFlow failed:\n{done.stderr[-4000:]}")
    answers: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return answers


def copy_project(target: Path) -> Path:
    shutil.copytree(DBT_PROJECT, target)
    return target


def write_raw_tables(path: Path, seed: int = 7) -> None:
    """Customers who sign up through 2024 and 2025, their orders and their balance snapshots.

    Some customers order twice within a month of signing up and some never, orders span month ends,
    and balances are recorded on irregular days, so that the last snapshot day of a month is not
    every customer's: the shapes where definitions that look alike give different numbers.
    """
    rng = random.Random(seed)
    customers, orders, balances = [], [], []
    for customer_id in range(1, 301):
        signed_up = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 640))
        customers.append(
            (
                customer_id,
                f"Customer {customer_id}",
                rng.choice(["east", "west", "north"]),
                rng.choice(["smb", "ent"]).replace("ent", "enterprise"),
                signed_up,
            )
        )
        first = rng.choice([0, 3, 12, 29, 30, 31, 45, 90, None])
        day = None if first is None else signed_up + timedelta(days=first)
        while day is not None and day <= date(2025, 12, 31):
            ordered_at = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randrange(0, 86400))
            status = rng.choices(["completed", "cancelled", "returned"], [8, 1, 1])[0]
            delivered = ordered_at + timedelta(days=rng.randrange(1, 12)) if status != "cancelled" else None
            amount = round(rng.uniform(10, 1200), 2)
            orders.append((len(orders) + 1, customer_id, ordered_at, delivered, amount, status))
            day += timedelta(days=rng.choice([1, 7, 20, 40, 75]))
        snapshot, balance = signed_up, 0.0
        while snapshot <= date(2025, 12, 31):
            balance = max(0.0, round(balance + rng.uniform(-200, 400), 2))
            balances.append((len(balances) + 1, customer_id, snapshot, balance))
            snapshot += timedelta(days=rng.choice([3, 5, 9, 14]))
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE raw_customers (customer_id INTEGER, name VARCHAR, region VARCHAR, segment VARCHAR,"
            " signed_up_at DATE)"
        )
        con.executemany("INSERT INTO raw_customers VALUES (?, ?, ?, ?, ?)", customers)
        con.execute(
            "CREATE TABLE raw_orders (order_id INTEGER, customer_id INTEGER, ordered_at TIMESTAMP,"
            " delivered_at TIMESTAMP, amount DECIMAL(10, 2), status VARCHAR)"
        )
        con.executemany("INSERT INTO raw_orders VALUES (?, ?, ?, ?, ?, ?)", orders)
        con.execute(
            "CREATE TABLE raw_balances (snapshot_id INTEGER, customer_id INTEGER, snapshot_date DATE,"
            " balance DECIMAL(12, 2))"
        )
        con.executemany("INSERT INTO raw_balances VALUES (?, ?, ?, ?)", balances)
