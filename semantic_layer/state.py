"""The state folder: what the layer writes at run time (the audit log of queries, the last data
check results), kept out of the project folder so that git and hot reload never see it.

`SEMANTIC_LAYER_STATE_DIR` names the folder (one per project); by default it is
`$XDG_CACHE_HOME/semantic-layer/<project name>` (`~/.cache/semantic-layer/<project name>`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

STATE_DIR_ENV = "SEMANTIC_LAYER_STATE_DIR"


def state_dir(project_name: str) -> Path:
    """The project's state folder (not created here: a read-only caller must not create it)."""
    chosen = os.environ.get(STATE_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
    return cache / "semantic-layer" / (re.sub(r"[^A-Za-z0-9._-]", "_", project_name) or "project")
