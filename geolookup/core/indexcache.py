"""Built point indexes kept on disk in the user cache, keyed by the files their polygons were read from.

Reading a polygon layer (a GISCO GeoJSON, a GADM GeoPackage) and classifying its grid cells costs
more than locating a million points in it; a command run again on the same files loads the
finished index instead (a NumPy ``.npz`` of plain arrays, read without pickle, in milliseconds).

The key is each source file's resolved path, size and modification time, the caller's parameters
and :data:`FORMAT`: a replaced or touched file is read again, and an entry of another layout is
rebuilt. Entries live in ``<user cache>/pointindex/`` (``geolookup.core.datafiles.cache_dir``) and are
written to a temporary file and renamed, so a reader never sees half an entry; a cache that cannot
be written (read-only, full) is skipped with a debug message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

#: Layout version of the stored arrays; bump it when :meth:`PointIndex.to_arrays` changes.
FORMAT = 1
SUBDIR = "pointindex"


def entry_path(name: str, sources, params: dict) -> Path:
    """The cache file of a layer.

    Parameters
    ----------
    name : str
        Short label of the layer kind (file name prefix), e.g. ``"nuts-10M-2021-3"``.
    sources : iterable of path-like
        The files the layer is read from (they must exist).
    params : dict
        Everything else the built arrays depend on (JSON-serialisable: level, cell size, ...).

    Returns
    -------
    Path
        ``<cache>/pointindex/<name>-<sha256 of the key, 20 hex digits>.npz``.
    """
    from .datafiles import cache_dir

    stats = []
    for p in sources:
        st = os.stat(p)
        stats.append([str(Path(p).resolve()), st.st_size, st.st_mtime_ns])
    key = json.dumps({"format": FORMAT, "sources": stats, "params": params}, sort_keys=True, default=str)
    return cache_dir() / SUBDIR / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"


def load(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache entry, or None when there is none or it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:  # a damaged entry is rebuilt
        logger.debug("point index cache %s unreadable (%s); rebuilding it", path, exc)
        return None


def store(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a cache entry atomically (temporary file, then rename); failures are logged, not raised."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        logger.debug("point index cache %s not written (%s)", path, exc)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
