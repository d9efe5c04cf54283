"""A semantic metrics layer: one definition per metric, compiled to correct SQL for any store.

import semantic_layer as sl
layer = sl.connect("metrics")
layer.query(metrics=["revenue"], dimensions=["metric_time:month"]).rows
"""

from .access import Principal
from .alerts import Alert
from .catalog import Dimension, Metric
from .client import Client
from .errors import (
    DeprecatedMetricWarning,
    ExecutionError,
    FailedCheckWarning,
    ForbiddenError,
    Issue,
    LimitExceededError,
    NotFinalWarning,
    ProtocolError,
    QueryError,
    QueryTimeoutError,
    QueryValidationError,
    SemanticLayerError,
    SemanticLayerWarning,
    ServerUnavailableError,
    TruncatedResultWarning,
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
    "DeprecatedMetricWarning",
    "Dimension",
    "ExecutionError",
    "FailedCheckWarning",
    "Filter",
    "ForbiddenError",
    "Issue",
    "Layer",
    "LimitExceededError",
    "Metric",
    "NotFinalWarning",
    "Principal",
    "Project",
    "ProtocolError",
    "Query",
    "QueryError",
    "QueryTimeoutError",
    "QueryValidationError",
    "Result",
    "SemanticLayerError",
    "SemanticLayerWarning",
    "ServerUnavailableError",
    "TimeRange",
    "TruncatedResultWarning",
    "UnauthenticatedError",
    "UnknownMemberError",
    "ValidationError",
    "connect",
    "load",
]
