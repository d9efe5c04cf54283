"""Data lineage for row policies: which models' rows come from the table a policy filters.

A row policy names one model, but the same rows can reach a caller through another door: a model
over the same table under another name, or a `sql:` model whose statement reads that table. Such a
model *carries* the filtered data. The policy reaches it only along declared to-one joins to the
filtered model; a carrier without one would hand out every row, so validation refuses the project
and the compiler refuses the query.

Tables are compared by their own name, case-insensitively, ignoring schema and catalog: whether
`crm.customers` and `main.customers` are one table depends on the store's catalogs, so two
schemas holding a table of the same name count as the same data — the error errs towards
applying the policy. A policy on a `sql:` model filters that model's rows alone: the tables its
statement reads are not themselves the filtered data.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import traverse_scope

from .. import definitions as d
from ..graph import SemanticGraph
from .scope import parse_snippet_query

TableNames = Mapping[str, str]  # normalised name → the name as the model spells it (shared: read only)


def read_tables(model: d.Model, dialect: str) -> TableNames:
    """The tables `model`'s rows come from: its `table:`, or every table its `sql:` reads."""
    if model.table is not None:
        return _named_table(model.table, dialect)
    return _statement_tables(model.sql or "", dialect)


def filtered_table_read(graph: SemanticGraph, model: str, filtered: str) -> str | None:
    """The table (as `model` spells it) through which `model` reads the rows a row policy on
    `filtered` restricts, or None when it reads none of them."""
    target = graph.models[filtered]
    if target.table is None:
        return None
    dialect = graph.settings.dialect
    wanted = _named_table(target.table, dialect)
    tables = read_tables(graph.models[model], dialect)
    return next((spelled for key, spelled in tables.items() if key in wanted), None)


@lru_cache(maxsize=1024)
def _named_table(name: str, dialect: str) -> TableNames:
    table = exp.to_table(name, dialect=dialect)
    return {table.name.lower(): name}


@lru_cache(maxsize=1024)
def _statement_tables(sql: str, dialect: str) -> TableNames:
    """Every table a statement reads, in CTEs and subqueries too; CTE names are not tables.

    sqlglot's scopes tell a CTE from a table of the same name (`WITH customers AS (SELECT … FROM
    customers)`); every table node not named like a CTE is added as well, so a construct the scopes
    do not visit still counts. A statement sqlglot cannot scope counts every table node.
    """
    query = parse_snippet_query(sql, dialect)
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    tables = [table for table in query.find_all(exp.Table) if table.name.lower() not in ctes]
    try:
        tables += [
            source
            for scope in traverse_scope(query)
            for source in scope.sources.values()
            if isinstance(source, exp.Table)
        ]
    except SqlglotError:
        tables = list(query.find_all(exp.Table))
    # A table function (`range(10)`, `read_parquet(...)`) is a Table node without a name.
    return {
        table.name.lower(): ".".join(part.sql(dialect) for part in table.parts)
        for table in tables
        if isinstance(table.this, exp.Identifier)
    }
