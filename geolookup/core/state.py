"""The project's writable state folder: minted ``.n_0`` ids and curators' decisions.

Shared input data (GEOLOOKUP_DATA) may be read-only, so state lives apart from it:
``--state-dir``, else ``$GEOLOOKUP_STATE``, else ``./.geolookup`` in the working folder.
Everything in it is append-only or rewritten atomically; deleting it loses curated work.
"""

from __future__ import annotations

import os
from pathlib import Path


def state_dir(explicit: str | os.PathLike | None = None, create: bool = True) -> Path:
    """The state folder (created when ``create``): explicit, else $GEOLOOKUP_STATE, else ./.geolookup."""
    value = explicit or os.environ.get("GEOLOOKUP_STATE") or ".geolookup"
    path = Path(value).expanduser()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
