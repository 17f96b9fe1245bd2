"""Build outputs published as one generation: a reader sees every file old or every file new, never a mix.

Layout of an output folder ``OUT``::

    OUT/generations/<n>/          one complete set of outputs (every country built into OUT: <ISO3>.csv,
                                  its provenance, diff, review queue, validation report, GeoPackage,
                                  shapefile set, and lookup.sqlite) plus MANIFEST.json; never changed
                                  once published
    OUT/current -> generations/<n>      the published generation (relative symlink)
    OUT/<name>  -> current/<name>       one link per output file, so ``OUT/ITA.csv`` keeps working
    OUT/generations/publish.lock        the filelock lock every build holds while it publishes

A build fills a staging folder ``generations/staging-*``: the files of the current generation are
hard-linked into it (cheap, and safe because published files are never written again: writers
replace a name by a new file), the build writes its own files, the manifest is written last, the
folder is renamed ``generations/<n>`` and one ``os.replace`` of the ``current`` link publishes it.
That replace is the only step a reader can observe, so a build killed at any point leaves either the
old or the new generation whole, and the next build removes what the killed one left (staging
folders, generations never published). The previous generation is kept until the next publish for
readers that resolved ``current`` just before.

A program reading several files that must agree (``.shp``/``.shx``/``.dbf``, or a table and its
provenance) resolves ``current`` once, with :func:`current_dir`, and reads them all from there;
the top-level links are resolved at each ``open`` and suit one-file readers.

The lock serialises publishing: several builds into one OUT (different countries) each start from
the generation the previous one published, so none loses another country's files or
``lookup.sqlite`` rows. A top-level output name that is a regular file (an output folder written
before generations existed, or a file replaced by hand) is the newest version of that name: the
next generation adopts it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from geolookup.core.errors import GeolookupError
from geolookup.core.tableio import write_boundary, write_text_atomic

logger = logging.getLogger(__name__)

GENERATIONS = "generations"
CURRENT = "current"
MANIFEST = "MANIFEST.json"
LOCK = "publish.lock"
#: files updated in place (SQLite transactions, e.g. ``geolookup policies -o OUT/lookup.sqlite``):
#: copied, not hard-linked, into a new generation; their checksum is not checked by :func:`verify`.
UPDATED_IN_PLACE = ("lookup.sqlite",)
#: top-level regular files a generation adopts (outputs of a build made before generations existed).
OUTPUT_NAME = re.compile(r"^(lookup\.sqlite|[A-Z]{3}\.csv|[A-Z]{3}_(provenance|diff|review|validation)\.csv"
                         r"|[A-Z]{3}_areas\.(gpkg|shp|shx|dbf|prj|cpg))$")


def current_dir(out_dir) -> Path | None:
    """The published generation's folder of ``out_dir`` (``current`` resolved once), or None before the first build."""
    link = Path(out_dir) / CURRENT
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def read_manifest(folder) -> dict:
    """MANIFEST.json of a generation folder: ``generation`` (int), ``created`` (UTC ISO 8601), ``by``
    (the command), ``files`` (name -> {"sha256": hex, "bytes": int}); ``{}`` when absent or unreadable."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def sha256(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(out_dir) -> list[str]:
    """Check that ``out_dir`` shows exactly one whole generation; returns the problems (empty: all well).

    Checked: ``current`` names a generation with a manifest; every manifest file exists with its
    checksum (except :data:`UPDATED_IN_PLACE`, which must open as SQLite and pass ``quick_check``);
    every file of the generation has its top-level link; no top-level output is a regular file (one
    the next build would adopt) or a temporary file. Each problem is one line naming the file.
    """
    out = Path(out_dir)
    gen = current_dir(out)
    if gen is None:
        return [] if not (out / CURRENT).is_symlink() else [f"{out / CURRENT}: link to a missing generation"]
    manifest = read_manifest(gen)
    if not manifest:
        return [f"{gen / MANIFEST}: missing or unreadable"]
    problems = []
    for name, entry in manifest["files"].items():
        path = gen / name
        if not path.is_file():
            problems.append(f"{path}: listed in the manifest but missing")
        elif name in UPDATED_IN_PLACE:
            try:
                with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
                    ok = con.execute("pragma quick_check").fetchone()[0] == "ok"
            except sqlite3.Error:
                ok = False
            if not ok:
                problems.append(f"{path}: not a sound SQLite database")
        elif path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
            problems.append(f"{path}: content differs from the manifest of generation {manifest['generation']}")
    for top in sorted(out.iterdir()):
        if top.is_symlink() and top.name != CURRENT and os.readlink(top) != f"{CURRENT}/{top.name}":
            problems.append(f"{top}: link to {os.readlink(top)}, not into {CURRENT}/")
        elif top.name.startswith("."):
            problems.append(f"{top}: temporary file left beside the generations")
        elif OUTPUT_NAME.match(top.name) and not top.is_symlink():
            problems.append(f"{top}: a file outside generation {manifest['generation']} (the next build adopts it)")
    for name in manifest["files"]:
        if not (out / name).is_symlink():
            problems.append(f"{out / name}: no link to {CURRENT}/{name}")
    return problems


def _number(p: Path) -> int | None:
    return int(p.name) if p.name.isdigit() else None


def _link(target: str, dest: Path, tmp_dir: Path) -> None:
    """Point symlink ``dest`` at ``target`` atomically (a new link renamed over the old name)."""
    if dest.is_symlink() and os.readlink(dest) == target:
        return
    tmp = tmp_dir / f"link-{os.getpid()}-{secrets.token_hex(4)}"
    os.symlink(target, tmp)
    write_boundary(f"link {dest.name}")
    os.replace(tmp, dest)


class Publisher:
    """Context manager that stages one build's outputs and publishes them as a new generation.

    ``with Publisher(out_dir, "build ITA") as gen:`` takes the folder's lock (waiting for another
    build), removes a killed run's leftovers, and prepares ``gen.dir``, a staging folder holding the
    current generation's files. Inside, :meth:`stored` gives the published version of a file (the
    previous state, e.g. the stored table for a rebuild); :meth:`clear` removes a country's files
    from the staging folder before they are written anew into ``gen.dir``. Leaving the block
    normally publishes (module doc); leaving it with an exception discards the staging folder and
    publishes nothing. ``gen.number`` is the new generation's number.
    """

    def __init__(self, out_dir, by: str = "build", keep: int = 2):
        self.out = Path(out_dir)
        self.root = self.out / GENERATIONS
        self.by, self.keep = by, max(2, keep)
        self.dir: Path | None = None
        self.number = 0
        self._carried: dict[str, dict] = {}

    # -- setup -------------------------------------------------------------------------------
    def __enter__(self) -> "Publisher":
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.root / LOCK))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            logger.info("%s: waiting for another build to publish its outputs", self.out)
            self._lock.acquire()
        try:
            self._remove_leftovers()
            self.number = 1 + max([n for n in map(_number, self.root.iterdir()) if n is not None], default=0)
            self.dir = self.root / f"staging-{os.getpid()}-{secrets.token_hex(4)}"
            self.dir.mkdir()  # honours the umask, unlike mkdtemp's private 0700: readers are other users too
            self._fill_staging()
        except BaseException:
            self._discard()
            raise
        return self

    def _remove_leftovers(self) -> None:
        """Staging folders and links of killed runs, generations never published, old generations."""
        cur = current_dir(self.out)
        cur_n = _number(cur) if cur is not None and cur.parent == self.root.resolve() else None
        older = sorted(n for n in map(_number, self.root.iterdir()) if n is not None and cur_n and n < cur_n)
        keep_older = set(older[-(self.keep - 1):])
        for p in self.root.iterdir():
            n = _number(p)
            stale = (p.name.startswith(("staging-", "link-")) or (n is not None and n != cur_n and n not in keep_older))
            if stale:
                write_boundary(f"remove {p.name}")
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()

    def _fill_staging(self) -> None:
        cur = current_dir(self.out)
        manifest = read_manifest(cur) if cur else {}
        if cur:
            for f in cur.iterdir():
                if f.name == MANIFEST or not f.is_file():
                    continue
                self._carry(f, f.name)
                if f.name in manifest.get("files", {}) and f.name not in UPDATED_IN_PLACE:
                    self._carried[f.name] = manifest["files"][f.name]
        for f in self.out.iterdir():  # adopted: a regular file at the top level is newer than the generation's
            if OUTPUT_NAME.match(f.name) and f.is_file() and not f.is_symlink():
                (self.dir / f.name).unlink(missing_ok=True)
                self._carried.pop(f.name, None)
                self._carry(f, f.name)

    def _carry(self, src: Path, name: str) -> None:
        dest = self.dir / name
        if name in UPDATED_IN_PLACE:  # the build updates it in place: a copy, never a shared inode;
            # SQLite's backup API reads it under a read lock, so a writer's open transaction is not copied
            try:
                with contextlib.closing(sqlite3.connect(f"file:{src}?mode=ro", uri=True)) as s_con, \
                        contextlib.closing(sqlite3.connect(dest)) as d_con:
                    s_con.backup(d_con)
            except sqlite3.Error as exc:
                raise GeolookupError(f"{src}: not a readable SQLite database ({exc}); move it away and build "
                                     "again (every country's rows are then rewritten by its next build)") from None
            return
        try:
            os.link(src, dest)
        except OSError:  # a file system without hard links
            shutil.copyfile(src, dest)

    # -- used by the build -------------------------------------------------------------------
    def stored(self, name: str) -> Path | None:
        """The published version of output ``name`` (top-level file or link), or None when there is none."""
        p = self.out / name
        return p if p.is_file() else None

    def clear(self, iso3: str) -> None:
        """Remove country ``iso3``'s files (``<ISO3>.csv``, ``<ISO3>_*``) from the staging folder."""
        for f in list(self.dir.iterdir()):
            if f.name == f"{iso3}.csv" or f.name.startswith(f"{iso3}_"):
                f.unlink()
                self._carried.pop(f.name, None)

    # -- publish -----------------------------------------------------------------------------
    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._publish()
            else:
                self._discard()
        finally:
            self._lock.release()

    def _discard(self) -> None:
        if self.dir is not None and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)

    def _publish(self) -> None:
        files = {}
        for f in sorted(self.dir.iterdir()):
            if f.is_file() and f.name != MANIFEST:
                files[f.name] = self._carried.get(f.name) or {"sha256": sha256(f), "bytes": f.stat().st_size}
        created = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        manifest = {"generation": self.number, "created": created, "by": self.by, "files": files}
        write_text_atomic(self.dir / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        final = self.root / str(self.number)
        write_boundary(f"rename staging to {final.name}")
        os.rename(self.dir, final)
        self.dir = final
        for name in files:  # links first: until `current` moves they show the old generation's file
            top = self.out / name
            if not top.is_dir():
                _link(f"{CURRENT}/{name}", top, self.root)
        _link(f"{GENERATIONS}/{self.number}", self.out / CURRENT, self.root)  # the publishing step
        write_boundary(f"published {final.name}")
        for top in self.out.iterdir():  # links to names the new generation no longer has
            if top.is_symlink() and top.name not in files and os.readlink(top) == f"{CURRENT}/{top.name}":
                top.unlink()
        self._remove_leftovers()
