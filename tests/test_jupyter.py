"""How a Result shows itself in a notebook: a short repr, a compact HTML table (formats applied, rows
counted, the cut, duration and cache flagged, the SQL folded) and Markdown; every text escaped."""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa

import semantic_layer as sl

EVIL = "<script>alert('x')</script>"


def answer(rows: int, **kwargs: object) -> sl.Result:
    table = pa.table(
        {
            "customers.tier": [f"tier {i}" for i in range(rows)],
            "revenue": pa.array([Decimal("1234.5") * i for i in range(rows)], pa.decimal128(38, 2)),
            "churn_rate": [None if i == 0 else i / 100 for i in range(rows)],
        }
    )
    columns = [
        sl.Column("customers.tier", "dimension", "string"),
        sl.Column("revenue", "metric", "number", "currency"),
        sl.Column("churn_rate", "metric", "number", "percent"),
    ]
    options: dict[str, object] = {"duration_ms": 12.3, "sql": "SELECT 1 WHERE a < b", **kwargs}
    return sl.Result(table, columns, **options)  # type: ignore[arg-type]


def test_the_repr_is_one_short_line() -> None:
    text = repr(answer(192_840, truncated=True, cached=True))
    assert text == ("<Result 192,840 rows × 3 columns, truncated, 12 ms, cached (customers.tier, revenue, churn_rate)>")
    assert "\n" not in text and "table" not in text


def test_html_is_a_compact_table_with_formats_counts_and_folded_sql() -> None:
    page = answer(3)._repr_html_()
    assert page.count("<tr>") == 4  # the header and three rows
    assert '<td style="text-align:right">2,469.00</td>' in page  # currency
    assert ">2.0%</td>" in page and ">null</td>" in page  # percent, NULL
    assert "3 rows × 3 columns, 12 ms" in page and "cached" not in page and "truncated" not in page
    assert re.search(r"<details><summary>SQL</summary><pre>SELECT 1 WHERE a &lt; b</pre></details>", page)


def test_a_long_answer_shows_its_first_and_last_rows_and_its_flags() -> None:
    page = answer(30, truncated=True, cached=True, warnings=["the answer was cut at 30 rows"])._repr_html_()
    shown = re.findall(r"<td>tier (\d+)</td>", page)
    assert shown == [str(i) for i in [*range(10), *range(25, 30)]] and "…" in page
    assert "30 rows × 3 columns, truncated, 12 ms, cached" in page
    assert "<li>the answer was cut at 30 rows</li>" in page


def test_everything_shown_is_escaped() -> None:
    table = pa.table({EVIL: [EVIL], "n": [1]})
    columns = [sl.Column(EVIL, "dimension", "string"), sl.Column("n", "metric", "number", None)]
    result = sl.Result(table, columns, f"SELECT '{EVIL}'", warnings=[EVIL])
    page = result._repr_html_()
    assert "<script>" not in page and page.count("&lt;script&gt;") == 4  # header, cell, warning, SQL
    markdown = result._repr_markdown_()
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "<" not in repr(sl.Result(table, columns, "")).replace("<Result", "").replace(EVIL, "")


def test_markdown_is_a_table_whose_cells_cannot_break_it() -> None:
    table = pa.table({"a|b": ["x|y", "*bold*"], "v": [0.5, None]})
    columns = [sl.Column("a|b", "dimension", "string"), sl.Column("v", "metric", "number", "percent")]
    lines = sl.Result(table, columns, "SELECT 1", duration_ms=3)._repr_markdown_().splitlines()
    assert lines[:4] == ["| a\\|b | v |", "|---|---:|", "| x\\|y | 50.0% |", "| \\*bold\\* | null |"]
    assert lines[-1] == "*2 rows × 2 columns, 3 ms*"
