"""A semantic metrics layer: one definition per metric, compiled to correct SQL for any store.

import semantic_layer as sl
layer = sl.connect("metrics")
layer.query(metrics=["revenue"], dimensions=["metric_time:month"]).rows
"""

from .access import Principal
from .alerts import Alert
from .client import Client
from .errors import (
    ExecutionError,
    ForbiddenError,
    Issue,
    LimitExceededError,
    QueryError,
    QueryTimeoutError,
    QueryValidationError,
    SemanticLayerError,
    UnauthenticatedError,
    UnknownMemberError,
    ValidationError,
)
from .layer import Layer, connect
from .project import Project, load
from .query import Filter, Query, TimeRange
from .result import Column, Result

__all__ = [
    "Alert",
    "Client",
    "Column",
    "ExecutionError",
    "Filter",
    "ForbiddenError",
    "Issue",
    "Layer",
    "LimitExceededError",
    "Principal",
    "Project",
    "Query",
    "QueryError",
    "QueryTimeoutError",
    "QueryValidationError",
    "Result",
    "SemanticLayerError",
    "TimeRange",
    "UnauthenticatedError",
    "UnknownMemberError",
    "ValidationError",
    "connect",
    "load",
]
