"""Rollups (pre-aggregations): measures stored by dimensions and time in an embedded DuckDB file,
built with the layer's own SQL and read for every query they answer exactly (docs/rollups.md).

shape.py resolves a definition, checks.py validates it at load time, store.py keeps the file
(readers never see a half-written version), build.py fills it, and compiler/routing.py decides
which queries a rollup answers.
"""
