"""The persistent store of curators' decisions, in the state folder (geolookup.core.state.state_dir).

Two files, both UTF-8 CSV:

- ``decisions_log.csv``: append-only audit log, one line per recorded change: ``when`` (UTC, ISO 8601,
  e.g. ``2024-05-01T09:30:00Z``), ``who``, ``source``, ``provider_key``, ``iso3``, ``action``
  (``set`` for a first decision, ``change`` for a forced replacement), ``old_value``, ``new_value``,
  ``kind``, ``gid``, ``gid_parts``, ``admin_level``, ``gadm_level``, ``note``. Lines are only ever
  appended (never rewritten), so the log alone can rebuild the current state.
- ``decisions.csv``: the current state, one row per (source, provider_key), columns
  :data:`TABLE_COLUMNS`; rewritten atomically (geolookup.core.tableio) after the log line is written.

Decisions are keyed by (source, provider_key) only: they survive rebuilds, GADM reloads and a
provider renaming its places (issue 5, "Applying decisions"). Re-recording an identical decision
changes nothing and writes no log line; a different decision for a decided entity needs
``force=True`` (the replacement is logged with the old value). A curator's decision is never
overwritten silently.
"""

from __future__ import annotations

import contextlib
import csv
import getpass
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from geolookup.core.errors import GeolookupError, InputError, where
from geolookup.core.state import state_dir as _state_dir
from geolookup.core.tableio import read_csv_text, write_csv_atomic

try:  # POSIX advisory lock; on Windows we go without (one curator per state folder)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

DECISIONS_FILE = "decisions.csv"
LOG_FILE = "decisions_log.csv"
LOCK_FILE = ".decisions.lock"

#: decision kinds: a GADM/minted GID typed by the curator, ``accept`` (top candidate), ``new``
#: (minted ``.n_0`` id), ``composite`` (several GIDs, Data Hub centroid rule), ``skip`` (non-geographic).
KINDS = ("gid", "accept", "new", "composite", "skip")

TABLE_COLUMNS = [
    "source", "provider_key", "iso3", "admin_level", "gadm_level", "kind", "value", "gid", "gid_parts",
    "reviewer", "decided_at", "note",
]
LOG_COLUMNS = [
    "when", "who", "source", "provider_key", "iso3", "action", "old_value", "new_value", "kind", "gid",
    "gid_parts", "admin_level", "gadm_level", "note",
]


@dataclass(frozen=True)
class Decision:
    """One curator decision for one provider entity.

    ``value`` is the canonical text of the decision: a GID, ``new:<parent GID>``,
    ``composite:<GID>|<GID>...`` (parts sorted) or ``skip``. ``gid``/``gid_parts`` are what the
    build uses ("" for skip; for ``new`` filled when the id is minted; for a single GID
    ``gid_parts`` equals ``gid``). ``admin_level`` is the Data Hub administrative_area_level,
    ``gadm_level`` the GADM level the entity is matched at (both as text, "" when unknown).
    """

    source: str
    provider_key: str
    iso3: str
    kind: str
    value: str
    gid: str = ""
    gid_parts: str = ""
    admin_level: str = ""
    gadm_level: str = ""
    note: str = ""
    row: int | None = field(default=None, compare=False)  # spreadsheet row it came from, if any

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.provider_key)


@dataclass
class RecordResult:
    """What :func:`record_decisions` did: lists of decisions added (new entity), changed (forced),
    unchanged (identical to the stored one)."""

    added: list[Decision] = field(default_factory=list)
    changed: list[Decision] = field(default_factory=list)
    unchanged: list[Decision] = field(default_factory=list)


def same_outcome(stored: dict | pd.Series, new: Decision) -> bool:
    """True when ``new`` decides the same as the stored row: same canonical value, or the same
    resulting gid and parts (e.g. the minted id typed literally after a ``new``)."""
    if stored["value"] == new.value:
        return True
    return bool(new.gid) and stored["gid"] == new.gid and stored["gid_parts"] == (new.gid_parts or new.gid)


def default_reviewer() -> str:
    """The login name, used when no reviewer is given ("unknown" when it cannot be read)."""
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # pragma: no cover - no login name in some containers
        return "unknown"


def utc_now() -> str:
    """Current time, UTC, ISO 8601 with seconds and a ``Z`` suffix."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in TABLE_COLUMNS})


def _table_from_log(log: pd.DataFrame) -> pd.DataFrame:
    last = log.drop_duplicates(["source", "provider_key"], keep="last")
    out = pd.DataFrame({
        "source": last["source"], "provider_key": last["provider_key"], "iso3": last["iso3"],
        "admin_level": last["admin_level"], "gadm_level": last["gadm_level"], "kind": last["kind"],
        "value": last["new_value"], "gid": last["gid"], "gid_parts": last["gid_parts"],
        "reviewer": last["who"], "decided_at": last["when"], "note": last["note"],
    })
    return out.reset_index(drop=True)


def load_decisions(state_dir=None) -> pd.DataFrame:
    """The current decisions.

    Input: the state folder (default geolookup.core.state.state_dir()). Output: DataFrame, one row per
    (source, provider_key), columns :data:`TABLE_COLUMNS`, all ``str`` ("" when empty). An empty
    frame when nothing was decided yet. When ``decisions.csv`` is missing but the log exists, the
    state is rebuilt from the log (last line per key). Raises InputError for a damaged file
    (missing columns, duplicate keys).
    """
    folder = _state_dir(state_dir)
    table, log = folder / DECISIONS_FILE, folder / LOG_FILE
    if table.is_file():
        df = read_csv_text(table, required=TABLE_COLUMNS, label=str(table))
    elif log.is_file() and log.stat().st_size > 0:
        df = _table_from_log(read_csv_text(log, required=LOG_COLUMNS, label=str(log)))
        return df[TABLE_COLUMNS].reset_index(drop=True)  # one row per key by construction
    else:
        return _empty_table()
    dup = df.duplicated(["source", "provider_key"], keep=False)
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise InputError(
            f"{where(table, i + 2)}: duplicate decision for ({df['source'].iloc[i]}, {df['provider_key'].iloc[i]}); "
            f"rebuild it from {LOG_FILE} by deleting {DECISIONS_FILE}"
        )
    return df[TABLE_COLUMNS].reset_index(drop=True)


def load_log(state_dir=None) -> pd.DataFrame:
    """The decisions log (columns :data:`LOG_COLUMNS`, all str), empty when none exists."""
    log = _state_dir(state_dir) / LOG_FILE
    if not log.is_file() or log.stat().st_size == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})
    return read_csv_text(log, required=LOG_COLUMNS, label=str(log))


@contextlib.contextmanager
def _locked(folder: Path):
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(folder / LOCK_FILE, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _append_log(path: Path, rows: list[list[str]]) -> None:
    new_file = not path.is_file() or path.stat().st_size == 0
    if not new_file:
        with open(path, "rb") as fh:  # a crash may have left a last line without its newline
            fh.seek(-1, os.SEEK_END)
            needs_newline = fh.read(1) not in (b"\n", b"\r")
    with open(path, "a", encoding="utf-8", newline="") as fh:
        if not new_file and needs_newline:
            fh.write("\r\n")
        writer = csv.writer(fh)
        if new_file:
            writer.writerow(LOG_COLUMNS)
        writer.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())


def find_conflicts(decisions: list[Decision], current: pd.DataFrame) -> list[tuple[Decision, dict]]:
    """Decisions that differ from an existing one for the same (source, provider_key).

    Output: list of (new decision, stored row as dict); identical re-decisions are not conflicts.
    """
    if current.empty or not decisions:
        return []
    stored = {(r["source"], r["provider_key"]): r for r in current.to_dict("records")}
    out = []
    for d in decisions:
        old = stored.get(d.key)
        if old is not None and not same_outcome(old, d):
            out.append((d, old))
    return out


def record_decisions(decisions: list[Decision], reviewer: str | None = None, force: bool = False,
                     state_dir=None, when: str | None = None) -> RecordResult:
    """Store decisions: log line(s) first (append-only), then the current-state table (atomic rewrite).

    Input: decisions (``gid`` already filled for ``new``: mint before recording), the reviewer
    name (default: login name), ``force`` to replace different existing decisions, the state
    folder, and the timestamp (default now, UTC ISO 8601). Output: :class:`RecordResult`.
    A decision identical to the stored one is ``unchanged`` and writes nothing. Raises
    GeolookupError (nothing written) when a decision differs from a stored one and ``force`` is
    False, or when two given decisions for one entity disagree.
    """
    folder = _state_dir(state_dir)
    reviewer = (reviewer or default_reviewer()).strip() or "unknown"
    when = when or utc_now()
    result = RecordResult()
    seen: dict[tuple[str, str], Decision] = {}
    for d in decisions:
        if d.kind not in KINDS:
            raise GeolookupError(f"decision kind {d.kind!r} for ({d.source}, {d.provider_key}) is not one of {KINDS}")
        if d.kind == "new" and not d.gid:
            raise GeolookupError(f"decision 'new' for ({d.source}, {d.provider_key}) has no minted gid; mint it first")
        prev = seen.get(d.key)
        if prev is not None and prev.value != d.value:
            raise GeolookupError(f"two different decisions for ({d.source}, {d.provider_key}): {prev.value} and {d.value}")
        seen[d.key] = d
    with _locked(folder):
        current = load_decisions(folder)
        conflicts = find_conflicts(list(seen.values()), current)
        if conflicts and not force:
            d, old = conflicts[0]
            raise GeolookupError(
                f"({d.source}, {d.provider_key}) is already decided as {old['value']} by {old['reviewer']} on "
                f"{old['decided_at']}; {len(conflicts)} such conflict(s); use force to replace them (logged)"
            )
        index = {k: i for i, k in enumerate(zip(current["source"], current["provider_key"]))}
        records = current.to_dict("records")
        log_rows = []
        for d in seen.values():
            i = index.get(d.key)
            old = records[i] if i is not None else None
            if old is not None and same_outcome(old, d):
                result.unchanged.append(d)
                continue
            row = {
                "source": d.source, "provider_key": d.provider_key, "iso3": d.iso3, "admin_level": d.admin_level,
                "gadm_level": d.gadm_level, "kind": d.kind, "value": d.value, "gid": d.gid,
                "gid_parts": d.gid_parts or d.gid, "reviewer": reviewer, "decided_at": when, "note": d.note,
            }
            log_rows.append([
                when, reviewer, d.source, d.provider_key, d.iso3, "change" if old else "set",
                old["value"] if old else "", d.value, d.kind, row["gid"], row["gid_parts"], d.admin_level,
                d.gadm_level, d.note,
            ])
            if old is None:
                index[d.key] = len(records)
                records.append(row)
                result.added.append(d)
            else:
                records[i] = row
                result.changed.append(d)
        if log_rows:
            _append_log(folder / LOG_FILE, log_rows)
            table = pd.DataFrame(records, columns=TABLE_COLUMNS) if records else _empty_table()
            write_csv_atomic(table, folder / DECISIONS_FILE, encoding="utf-8")
    return result
