"""Runs MetricFlow queries in MetricFlow's own virtual environment (not this project's).

tests/metricflow_env.py starts it with that environment's Python inside the dbt project folder:
it reads a JSON list of requests on stdin and writes one JSON list of result rows per request,
through the same engine `mf query` builds, so one process answers every query.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from typing import Any

from dbt_metricflow.cli.cli_configuration import CLIConfiguration
from metricflow.engine.metricflow_engine import MetricFlowQueryRequest


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def main() -> None:
    config = CLIConfiguration()
    config.setup()
    answers = []
    for request in json.load(sys.stdin):
        try:
            result = config.mf.query(
                MetricFlowQueryRequest.create(
                    metric_names=request["metrics"],
                    group_by_names=request.get("group_by") or None,
                    where_constraints=request.get("where") or None,
                    time_constraint_start=_time(request.get("start")),
                    time_constraint_end=_time(request.get("end")),
                )
            )
        except Exception as exc:  # reported per request: one failure says which query
            answers.append({"error": f"{type(exc).__name__}: {exc}"})
            continue
        frame = result.result_df
        rows = [dict(zip(frame.column_names, map(_value, row), strict=True)) for row in frame.rows] if frame else []
        answers.append({"rows": rows})
    json.dump(answers, sys.stdout)


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


if __name__ == "__main__":
    main()
