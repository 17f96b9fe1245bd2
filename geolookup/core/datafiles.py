"""Where data files live: the data folder, the user cache, and the one-time download.

Lookup order for a file (e.g. ``gadm36/gadm36_ITA_gpkg.zip``):

1. the data folder: ``--data-dir``, else the environment variable ``GEOLOOKUP_DATA``;
   the file may sit at ``<dir>/<subdir>/<name>`` or directly at ``<dir>/<name>``;
2. the user cache: ``GEOLOOKUP_CACHE``, else ``~/.cache/geolookup`` (``<cache>/<subdir>/<name>``);
3. a download from the publisher's URL into the cache, written to a temporary file and renamed,
   so an interrupted download never leaves a half file; once cached, never downloaded again.

Offline with the file missing, :class:`~geolookup.core.errors.DataNotFoundError` names the file,
the URL and where to put it.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .errors import DataNotFoundError

#: Official GADM 3.6 download URLs (gadm.org); fmt is "gpkg" or "shp".
GADM36_URL = "https://biogeo.ucdavis.edu/data/gadm3.6/{fmt}/gadm36_{iso}_{fmt}.zip"
#: Eurostat GISCO NUTS distribution; name is e.g. NUTS_RG_10M_2021_4326.geojson.
GISCO_NUTS_URL = "https://gisco-services.ec.europa.eu/distribution/v2/nuts/geojson/{name}"

DOWNLOAD_TIMEOUT_S = 60


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The data folder: ``explicit`` (``--data-dir``) if given, else ``$GEOLOOKUP_DATA``, else None."""
    value = explicit or os.environ.get("GEOLOOKUP_DATA")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The user cache: ``$GEOLOOKUP_CACHE`` or ``~/.cache/geolookup`` (not created here)."""
    value = os.environ.get("GEOLOOKUP_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "geolookup"


def local_candidates(subdir: str, name: str, explicit_dir=None) -> list[Path]:
    """Every local path where ``subdir/name`` may be found, in lookup order."""
    out = []
    d = data_dir(explicit_dir)
    if d is not None:
        out += [d / subdir / name, d / name]
    out.append(cache_dir() / subdir / name)
    return out


def find_local(subdir: str, name: str, explicit_dir=None) -> Path | None:
    """The first existing local copy of ``subdir/name``, or None."""
    return next((p for p in local_candidates(subdir, name, explicit_dir) if p.is_file()), None)


def download(url: str, dest: Path, opener=None) -> Path:
    """Download ``url`` to ``dest`` atomically (temporary file in the same folder, then rename).

    ``opener`` is a callable like :func:`urllib.request.urlopen` (tests pass a mock or point the
    URL at a local server). Raises OSError/urllib errors on failure; ``dest`` is then untouched.
    """
    opener = opener or urllib.request.urlopen
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, opener(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            shutil.copyfileobj(resp, out, length=1 << 20)
            out.flush()
            os.fsync(out.fileno())
            # http.client returns a short body without error when the connection drops early
            expected = getattr(resp, "headers", None) and resp.headers.get("Content-Length")
            if expected and expected.isdigit() and out.tell() != int(expected):
                raise OSError(f"incomplete download: {out.tell()} of {expected} bytes")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def fetch(subdir: str, name: str, url: str, explicit_dir=None, opener=None) -> Path:
    """Return a local path to ``subdir/name``, downloading it once into the cache if needed.

    Raises DataNotFoundError (one line: file, URL, where to put it) when the file is not local
    and the download fails.
    """
    found = find_local(subdir, name, explicit_dir)
    if found is not None:
        return found
    dest = cache_dir() / subdir / name
    try:
        return download(url, dest, opener=opener)
    except (OSError, urllib.error.URLError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        d = data_dir(explicit_dir)
        put = f"{d / subdir}/ or {dest.parent}/" if d else f"{dest.parent}/ (or set GEOLOOKUP_DATA / --data-dir)"
        raise DataNotFoundError(
            f"{name} not found locally and download from {url} failed ({reason}); put the file in {put}"
        ) from None
