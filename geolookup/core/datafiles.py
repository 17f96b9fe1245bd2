"""Where data files live: the data folder, the user cache, and the one-time download.

Lookup order for a file (e.g. ``gadm36/gadm36_ITA_gpkg.zip``):

1. the data folder: ``--data-dir``, else the environment variable ``GEOLOOKUP_DATA``;
   the file may sit at ``<dir>/<subdir>/<name>`` or directly at ``<dir>/<name>``;
2. the user cache: ``GEOLOOKUP_CACHE``, else the platform's user cache folder for ``geolookup``
   (platformdirs: ``~/.cache/geolookup`` on Linux, ``~/Library/Caches/geolookup`` on macOS,
   ``%LOCALAPPDATA%\\geolookup\\Cache`` on Windows), as ``<cache>/<subdir>/<name>``;
3. a download from the publisher's URL into the cache with pooch, which writes a temporary file
   and moves it into place (an interrupted download never leaves a half file) and checks the
   SHA256 when the caller knows it; once cached, a file is never downloaded again.

Offline with the file missing, :class:`~geolookup.core.errors.DataNotFoundError` names the file,
the URL and where to put it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import platformdirs
import pooch

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
    """The user cache: ``$GEOLOOKUP_CACHE``, else platformdirs' user cache folder (not created here)."""
    value = os.environ.get("GEOLOOKUP_CACHE")
    return Path(value).expanduser() if value else Path(platformdirs.user_cache_dir("geolookup", appauthor=False))


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


def _opener_downloader(opener):
    """A pooch downloader reading from ``opener(url, timeout=...)`` (a urlopen-like callable)."""

    def download(url, output_file, pooch_obj, check_only=False):
        with opener(url, timeout=DOWNLOAD_TIMEOUT_S) as resp, open(output_file, "wb") as out:
            shutil.copyfileobj(resp, out, length=1 << 20)

    return download


def download(url: str, dest: Path, opener=None, known_hash: str | None = None) -> Path:
    """Download ``url`` to ``dest`` with pooch: a temporary file in the same folder, then a rename.

    Parameters
    ----------
    url : str
        The publisher's URL (http, https or ftp).
    dest : Path
        Where the file goes; its folder is created.
    opener : callable, optional
        A callable like :func:`urllib.request.urlopen` used instead of pooch's HTTP downloader
        (tests pass one that drops the connection).
    known_hash : str, optional
        ``"sha256:<hex>"`` (or another pooch hash spec); the download fails when it differs.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    Exception
        Whatever the transfer raised (requests/OSError/ValueError); ``dest`` is then untouched.
    """
    from .log import quiet

    dest.parent.mkdir(parents=True, exist_ok=True)
    downloader = (_opener_downloader(opener) if opener is not None else
                  pooch.HTTPDownloader(timeout=DOWNLOAD_TIMEOUT_S, progressbar=not quiet() and _tty()))
    path = pooch.retrieve(url, known_hash=known_hash, fname=dest.name, path=dest.parent, downloader=downloader,
                          progressbar=False)
    return Path(path)


def _tty() -> bool:
    import sys

    return sys.stderr.isatty()


def fetch(subdir: str, name: str, url: str, explicit_dir=None, opener=None, known_hash: str | None = None) -> Path:
    """Return a local path to ``subdir/name``, downloading it once into the cache if needed.

    Parameters
    ----------
    subdir, name : str
        The file's folder in the data layout (``"gadm36"``, ``"nuts"``, ``"providers/jhu"``) and name.
    url : str
        The publisher's URL, used only when no local copy exists.
    explicit_dir : path, optional
        ``--data-dir``; else ``$GEOLOOKUP_DATA``.
    opener : callable, optional
        See :func:`download`.
    known_hash : str, optional
        Expected ``sha256:<hex>`` of the download.

    Returns
    -------
    Path
        The local file (data folder, cache, or the fresh download in the cache).

    Raises
    ------
    DataNotFoundError
        One line naming the file, the URL and where to put it, when the file is not local and the
        download fails.
    """
    found = find_local(subdir, name, explicit_dir)
    if found is not None:
        return found
    dest = cache_dir() / subdir / name
    try:
        return download(url, dest, opener=opener, known_hash=known_hash)
    except Exception as exc:  # requests, urllib3, OS and hash errors alike: the file is not there
        reason = getattr(exc, "reason", None) or exc
        d = data_dir(explicit_dir)
        put = f"{d / subdir}/ or {dest.parent}/" if d else f"{dest.parent}/ (or set GEOLOOKUP_DATA / --data-dir)"
        raise DataNotFoundError(
            f"{name} not found locally and download from {url} failed ({reason}); put the file in {put}"
        ) from None
