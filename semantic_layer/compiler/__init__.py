"""Queries to SQL: see `pipeline.py` for the order of the passes."""

from .pipeline import ColumnInfo, CompiledQuery, Compiler

__all__ = ["ColumnInfo", "CompiledQuery", "Compiler"]
