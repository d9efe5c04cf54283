"""A semantic metrics layer: one definition per metric, compiled to correct SQL for any store.

import semantic_layer as sl
layer = sl.connect("metrics")
layer.query(metrics=["revenue"], dimensions=["metric_time:month"]).rows
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .access import Principal
from .alerts import Alert
from .catalog import Dimension, Metric
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
from .project import Project, load
from .query import Filter, Query, TimeRange

# Arrow, the engines and the HTTP client load when first asked for (`sl.Layer`, `sl.Client`…): the
# command line's governance commands (lint, diff, docs) start without them.
_LAZY = {
    "Client": "client",
    "Column": "result",
    "Layer": "layer",
    "Result": "result",
    "connect": "layer",
}

if TYPE_CHECKING:
    from .client import Client
    from .layer import Layer, connect
    from .result import Column, Result


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'semantic_layer' has no attribute '{name}'")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


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
