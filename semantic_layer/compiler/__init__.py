"""Queries to SQL: see `pipeline.py` for the order of the passes."""

from .pipeline import CompiledQuery, Compiler
from .plan import ColumnInfo

__all__ = ["ColumnInfo", "CompiledQuery", "Compiler"]
