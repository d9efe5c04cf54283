"""The GraphQL server: `create_app(ServerSettings(project=...))`, served by `semantic-layer serve`."""

from .app import create_app
from .settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
