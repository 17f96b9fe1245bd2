"""The decisions log and the check that ties ``decisions.csv`` to it (used by :mod:`curation.store`).

``decisions_log.csv`` is the one source of truth: lines are only appended, each with an fsync. The
current-state table ``decisions.csv`` is derived from it; ``decisions.check.json`` records, with every
table written, the byte length and zlib.crc32 of the log the table was derived from and the table's own
row count and crc32. A reader compares both; on any disagreement (a crash between the log append and the
table rename, a truncated or edited table) the table is rebuilt from the log with one warning.

A crash in the middle of an append leaves a last line without its newline: that half line is never
parsed as a decision. It is reported once (one warning line) and cut off, to ``decisions_log.torn``, by
the next writer, before the writer appends, so a later line cannot glue onto it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import zlib
from pathlib import Path

import pandas as pd
from filelock import FileLock, Timeout

from geolookup.core.errors import GeolookupError, InputError
from geolookup.core.tableio import write_boundary, write_text_atomic

log = logging.getLogger(__name__)

LOG_FILE = "decisions_log.csv"
CHECK_FILE = "decisions.check.json"
TORN_FILE = "decisions_log.torn"
LOCK_FILE = ".decisions.lock"
LOCK_TIMEOUT_S = 120.0

#: test hook: called with a stage name at each write boundary of a decision import ("log-appended",
#: "table-written"); a crash test raises or kills the process there.
checkpoint = None


def _checkpoint(stage: str) -> None:
    # a crash test may stop the process here, between the log append and the table's rewrite
    write_boundary(f"decisions {stage}")
    if checkpoint is not None:
        checkpoint(stage)


@contextlib.contextmanager
def locked(folder: Path):
    """Hold the state folder's decisions lock (filelock: portable, re-entrant in one process)."""
    lock = FileLock(str(Path(folder) / LOCK_FILE), timeout=LOCK_TIMEOUT_S, is_singleton=True)
    try:
        lock.acquire()
    except Timeout:
        raise GeolookupError(f"{Path(folder) / LOCK_FILE}: another geolookup process has held the decisions "
                             f"lock for {LOCK_TIMEOUT_S:.0f} s; wait for it to finish and run again") from None
    except PermissionError:  # a read-only state folder (e.g. a shared checkout): nobody can write it either
        log.debug("%s: read-only, decisions read without the lock", folder)
        yield
        return
    try:
        yield
    finally:
        lock.release()


def split_log(raw: bytes) -> tuple[bytes, bytes]:
    """(complete lines, torn tail): the tail is what follows the last newline (b"" when none)."""
    end = raw.rfind(b"\n") + 1
    return raw[:end], raw[end:]


def read_log(path: Path, columns: list[str]) -> tuple[pd.DataFrame, bytes, bytes]:
    """Parse the complete lines of the log. Returns (frame of str with ``columns``, complete bytes,
    torn tail bytes). A torn tail is reported as one warning and never parsed. Raises InputError for
    a damaged complete part (missing columns, a line with a wrong number of fields)."""
    raw = path.read_bytes() if path.is_file() else b""
    body, tail = split_log(raw)
    if tail:
        log.warning("%s ends with a half-written line (%d bytes, a crash during an append): ignored, "
                    "not loaded as a decision; the next import moves it to %s", path, len(tail), TORN_FILE)
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    if not body.strip():
        return empty, body, tail
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [c.strip() for c in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; restore the log from a backup")
    bad = [i for i, r in enumerate(rows[1:]) if len(r) != len(header)]
    if bad:
        raise InputError(f"{path}, row {bad[0] + 2}: {len(rows[bad[0] + 1])} fields, the header has {len(header)}; "
                         "restore the log from a backup")
    df = pd.DataFrame(rows[1:], columns=header, dtype=object)
    return (df[columns] if len(df) else empty), body, tail


def cut_torn_tail(path: Path) -> None:
    """Before an append: move a half-written last line to ``decisions_log.torn`` and truncate it away."""
    if not path.is_file():
        return
    raw = path.read_bytes()
    body, tail = split_log(raw)
    if not tail:
        return
    with open(path.parent / TORN_FILE, "ab") as fh:
        fh.write(tail + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    with open(path, "r+b") as fh:
        fh.truncate(len(body))
        fh.flush()
        os.fsync(fh.fileno())
    log.warning("%s: a half-written last line (%d bytes) was moved to %s; it was never a decision",
                path, len(tail), TORN_FILE)


def append_lines(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Append CSV lines (and the header for a new file) and fsync them."""
    new_file = not path.is_file() or path.stat().st_size == 0
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    if new_file:
        writer.writerow(header)
    writer.writerows(rows)
    with open(path, "ab") as fh:
        fh.write(buf.getvalue().encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def fingerprint(log_body: bytes, table_bytes: bytes, rows: int) -> dict:
    """What the check file records: log length and crc32, table rows and crc32."""
    return {"log_bytes": len(log_body), "log_crc32": zlib.crc32(log_body), "table_rows": int(rows),
            "table_crc32": zlib.crc32(table_bytes)}


def write_check(folder: Path, record: dict) -> None:
    write_text_atomic(Path(folder) / CHECK_FILE, json.dumps(record, sort_keys=True) + "\n")


def table_agrees(folder: Path, log_body: bytes, table_bytes: bytes, rows: int) -> str | None:
    """None when the check file matches the log and the table; else why not (for the warning)."""
    path = Path(folder) / CHECK_FILE
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{path.name} is missing or unreadable"
    if rec.get("log_bytes") != len(log_body) or rec.get("log_crc32") != zlib.crc32(log_body):
        return f"the log changed since the table was written ({rec.get('log_bytes')} -> {len(log_body)} bytes)"
    if rec.get("table_crc32") != zlib.crc32(table_bytes) or rec.get("table_rows") != rows:
        return f"the table does not match its checksum ({rows} rows, {rec.get('table_rows')} recorded)"
    return None
