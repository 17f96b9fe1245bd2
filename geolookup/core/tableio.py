"""Reading user tables robustly and writing any output atomically.

Curators open our CSVs in Excel or LibreOffice and save them back, so reading accepts UTF-8 (with
or without BOM), Latin-1 (cp1252), ``,`` / ``;`` / tab separators and CRLF line ends, and keeps
every cell as text so that codes keep their leading zeros. Writing always goes to a temporary
file in the target folder followed by ``os.replace``, so a crash leaves the old file whole.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from .errors import InputError, where

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def decode(raw: bytes, path) -> tuple[str, str]:
    """Decode file bytes; returns (text, encoding). UTF-8 (BOM stripped) first, then cp1252, then Latin-1."""
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: cannot decode as UTF-8 or Latin-1; save it as UTF-8 CSV")  # pragma: no cover


def sniff_separator(sample: str) -> str:
    """The field separator of a CSV sample (its first lines): ``,``, ``;``, tab or ``|``.

    Counts candidates outside quotes in the header line; ties go to ``,``.
    """
    header = sample.splitlines()[0] if sample else ""
    counts = {}
    for sep in (",", ";", "\t", "|"):
        try:
            counts[sep] = len(next(csv.reader([header], delimiter=sep))) - 1
        except (csv.Error, StopIteration):
            counts[sep] = 0
    best = max(counts, key=lambda s: (counts[s], s == ","))
    return best if counts[best] > 0 else ","


def read_csv_text(path, required: list[str] | tuple[str, ...] = (), label: str | None = None) -> pd.DataFrame:
    """Read a CSV into a DataFrame of strings, whatever its encoding and separator.

    Input: a path to a CSV in UTF-8 (BOM or not), cp1252/Latin-1, separated by ``,`` ``;`` tab
    or ``|``, LF or CRLF. Output: one row per data line, every column dtype ``object`` holding
    ``str`` (empty cells become ``""``, never NaN), columns in file order, header names stripped.
    Raises InputError (one line: file, fix) for a missing or empty file, duplicate column names,
    or a missing required column (the message lists the columns found).
    """
    path = Path(path)
    label = label or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{label}: file not found; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{label}: is a folder, not a CSV file; give the file path") from None
    text, _ = decode(raw, label)
    if not text.strip():
        raise InputError(f"{label}: file is empty; it needs a header line and at least one row")
    sep = sniff_separator(text[:65536])
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.ParserError as exc:
        raise InputError(f"{label}: not a valid CSV ({str(exc).splitlines()[0]}); check quotes and separators") from None
    check_unique_header([c.strip() for c in next(csv.reader(io.StringIO(text), delimiter=sep))], label)
    df.columns = [str(c).strip() for c in df.columns]
    check_columns(df, required, label)
    return df.astype(object)


def check_unique_header(header: list[str], label) -> None:
    """Raise InputError naming the file when a column name repeats in ``header`` (pandas would
    silently rename the second one "<name>.1")."""
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise InputError(f"{label}: duplicate column names {dupes}; rename them so each is unique")


def check_columns(df: pd.DataFrame, required, label) -> None:
    """Check that ``df`` has every column in ``required`` (empty names ignored); ``label`` names
    the file. Raises InputError naming the file, the missing columns and the columns found."""
    missing = [c for c in required if c and c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns[:30]))
        raise InputError(f"{label}: missing column(s) {', '.join(missing)}; columns found: {found}")


def numeric_column(df: pd.DataFrame, column: str, label, lo: float, hi: float, first_row: int = 2) -> pd.Series:
    """Parse a column of text numbers (``.`` or ``,`` decimal) into float64; empty cells become NaN.

    Raises InputError naming file, row (``first_row`` is the spreadsheet row of ``df``'s first row: 2 right
    after the header; see geolookup.core.errors.where) and column
    for a non-numeric cell or a value outside [lo, hi] (e.g. latitude outside [-90, 90] degrees).
    """
    s = df[column]
    if s.dtype == object:
        text = s.astype(str).str.strip().str.replace(",", ".", regex=False)
        text = text.mask(text.isin(["", "nan", "NaN", "NA", "None"]))
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & text.notna()
    else:
        values = pd.to_numeric(s, errors="coerce")
        bad = values.isna() & s.notna()
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"{where(label, first_row + i, column)}: {s.iloc[i]!r} is not a number; fix or empty the cell"
        )
    out_of_range = (values < lo) | (values > hi)
    if out_of_range.any():
        i = int(out_of_range.to_numpy().nonzero()[0][0])
        raise InputError(
            f"{where(label, first_row + i, column)}: {values.iloc[i]} is outside [{lo}, {hi}]; "
            + ("check that latitude and longitude are not swapped and are in degrees (EPSG:4326)"
               if (lo, hi) in ((-90, 90), (-180, 180)) else "fix the value")
        )
    return values.astype("float64")


#: Crash tests: ``GEOLOOKUP_KILL_AT=n`` makes the n-th :func:`write_boundary` of the process kill it
#: with SIGKILL (a crash at a known point, not a timer); ``GEOLOOKUP_KILL_TRACE=<file>`` appends one
#: line ``<n> <label>`` per boundary reached, so a test can count and sample them.
_boundaries = {"n": 0}


def write_boundary(label: str) -> None:
    """Mark a point between two writes where a crash must leave every file whole (crash tests only).

    Does nothing unless ``GEOLOOKUP_KILL_AT`` or ``GEOLOOKUP_KILL_TRACE`` is set; then counts the
    boundary, records it in the trace file, and at the n-th boundary kills the process with SIGKILL
    (no cleanup, no ``finally``), as a power cut or the OOM killer would. Every atomic writer here
    calls it before writing, before its rename and after it; multi-step commits call it between steps.
    """
    kill_at, trace = os.environ.get("GEOLOOKUP_KILL_AT"), os.environ.get("GEOLOOKUP_KILL_TRACE")
    if not kill_at and not trace:
        return
    _boundaries["n"] += 1
    n = _boundaries["n"]
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(f"{n} {label}\n")
    if kill_at and int(kill_at) == n:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def remove_dead_temporaries(dest) -> None:
    """Remove the temporary files and folders a killed writer of ``dest`` left next to it.

    Temporaries are named ``.<stem>.<pid>-<random>...`` by :func:`atomic_path` and
    :func:`atomic_dir_files`; one whose process no longer exists can never be renamed into place
    (a live writer's, even of another process, is left alone).
    """
    dest = Path(dest)
    for p in dest.parent.glob(f".{glob.escape(dest.stem)}.*-*"):
        pid = p.name[len(dest.stem) + 2:].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # alive (or not ours to signal): maybe writing now
        except ProcessLookupError:
            pass
        except OSError:
            continue
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(dest) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success rename it over ``dest``.

    Any writer (pandas, pyogrio, sqlite3) writes to the yielded path. On an exception the
    temporary file is removed and ``dest`` is left exactly as it was. Shapefiles (several
    sibling files) are handled by :func:`atomic_dir_files` instead.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.stem}.{os.getpid()}-", suffix=dest.suffix)
    os.close(fd)
    os.unlink(tmp)  # writers such as pyogrio refuse to overwrite an existing file
    tmp_path = Path(tmp)
    try:
        write_boundary(f"write {dest.name}")
        yield tmp_path
        write_boundary(f"replace {dest.name}")
        os.replace(tmp_path, dest)
        write_boundary(f"replaced {dest.name}")
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir_files(dest) -> Iterator[Path]:
    """Like :func:`atomic_path` for formats made of sibling files (shapefile .shp/.shx/.dbf/.prj/.cpg).

    Yields a path inside a temporary folder next to ``dest``; each file written there with the
    same stem is renamed into place once all of them exist. The renames are one per file, so a
    crash between them leaves a mixed set: files that must change together are written into a
    fresh folder published in one step instead (the build's output generations).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(dest)
    tmpdir = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.stem}.{os.getpid()}-"))
    try:
        write_boundary(f"write {dest.name}")
        yield tmpdir / dest.name
        for f in sorted(tmpdir.iterdir()):
            write_boundary(f"replace {f.name}")
            os.replace(f, dest.parent / (dest.stem + f.name[len(dest.stem):]))
        write_boundary(f"replaced {dest.name}")
    finally:
        for f in tmpdir.glob("*"):
            f.unlink(missing_ok=True)
        tmpdir.rmdir()


def write_text_atomic(dest, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``dest`` atomically; returns ``dest`` as a Path."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding=encoding, newline="")
    return Path(dest)


def write_csv_atomic(df: pd.DataFrame, dest, **to_csv_kwargs) -> Path:
    """Write a DataFrame as CSV atomically (UTF-8, no index unless asked); returns ``dest``."""
    to_csv_kwargs.setdefault("index", False)
    with atomic_path(dest) as tmp:
        df.to_csv(tmp, **to_csv_kwargs)
    return Path(dest)
