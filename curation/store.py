"""The persistent store of curators' decisions, in the state folder (geolookup.core.state.state_dir).

Two files, both UTF-8 CSV:

- ``decisions_log.csv``: append-only audit log, one line per recorded change: ``when`` (UTC, ISO 8601,
  e.g. ``2024-05-01T09:30:00Z``), ``who``, ``source``, ``provider_key``, ``iso3``, ``action``
  (``set`` for a first decision, ``change`` for a forced replacement), ``old_value``, ``new_value``,
  ``kind``, ``gid``, ``gid_parts``, ``admin_level``, ``gadm_level``, ``note``. Lines are only ever
  appended (never rewritten), so the log alone can rebuild the current state.
- ``decisions.csv``: the current state, one row per (source, provider_key), columns
  :data:`TABLE_COLUMNS`; derived from the log and rewritten atomically (geolookup.core.tableio) after
  the log lines are written and fsynced. Every read checks it against the log (count and crc32, see
  :mod:`curation.decisionlog`) and rebuilds it from the log when they disagree.

Both files are read and written under the state folder's ``filelock`` lock.

Decisions are keyed by (source, provider_key) only: they survive rebuilds, GADM reloads and a
provider renaming its places (the paper keeps data inserted manually as the last word). Re-recording an identical decision
changes nothing and writes no log line; a different decision for a decided entity needs
``force=True`` (the replacement is logged with the old value). A curator's decision is never
overwritten silently.
"""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from geolookup.core.errors import GeolookupError, InputError
from geolookup.core.state import state_dir as _state_dir
from geolookup.core.tableio import atomic_path, read_csv_text

from .decisionlog import (LOG_FILE, _checkpoint, append_lines, cut_torn_tail, fingerprint, locked, read_log, split_log,
                          table_agrees, write_check)

log = logging.getLogger(__name__)

DECISIONS_FILE = "decisions.csv"

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


def _write_table(folder: Path, records: list[dict] | pd.DataFrame, log_body: bytes) -> pd.DataFrame:
    """Write ``decisions.csv`` atomically, then its check file (log length/crc32, table rows/crc32)."""
    table = records if isinstance(records, pd.DataFrame) else (
        pd.DataFrame(records, columns=TABLE_COLUMNS) if records else _empty_table())
    data = table[TABLE_COLUMNS].to_csv(index=False, lineterminator="\n").encode("utf-8")
    with atomic_path(folder / DECISIONS_FILE) as tmp:
        tmp.write_bytes(data)
    _checkpoint("table-written")
    write_check(folder, fingerprint(log_body, data, len(table)))
    return table


def _read_table(path: Path) -> tuple[pd.DataFrame | None, bytes, str | None]:
    """(table or None, its bytes, why it is unusable or None)."""
    try:
        data = path.read_bytes()
        df = read_csv_text(path, required=TABLE_COLUMNS, label=str(path))
    except FileNotFoundError:
        return None, b"", f"{DECISIONS_FILE} is missing"
    except (OSError, InputError) as exc:
        return None, b"", f"{DECISIONS_FILE} is unreadable ({exc})"
    if df.duplicated(["source", "provider_key"]).any():
        return None, data, f"{DECISIONS_FILE} has duplicate keys"
    return df[TABLE_COLUMNS].reset_index(drop=True), data, None


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    key = ["source", "provider_key"]
    a = a.sort_values(key).reset_index(drop=True).astype(str)
    b = b.sort_values(key).reset_index(drop=True).astype(str)
    return a.shape == b.shape and bool((a.to_numpy() == b.to_numpy()).all())


def load_decisions(state_dir=None) -> pd.DataFrame:
    """The current decisions, checked against the append-only log.

    Input: the state folder (default geolookup.core.state.state_dir()). Output: DataFrame, one row per
    (source, provider_key), columns :data:`TABLE_COLUMNS`, all ``str`` ("" when empty); empty when
    nothing was decided yet. ``decisions_log.csv`` is the truth: ``decisions.csv`` is used only when
    its check file (:mod:`curation.decisionlog`) matches both the log and the table; otherwise (a crash
    between the log append and the table rename, a truncated, edited or missing table) the state is
    rebuilt from the log's complete lines (last line per key), one warning says so, and the table is
    rewritten when the folder is writable. A half-written last log line is never loaded. Reads take
    the state folder's lock. Raises InputError for a damaged log.
    """
    folder = _state_dir(state_dir)
    with locked(folder):
        return _load_locked(folder)


def _load_locked(folder: Path) -> pd.DataFrame:
    log_df, body, _ = read_log(folder / LOG_FILE, LOG_COLUMNS)
    table, data, why = _read_table(folder / DECISIONS_FILE)
    if log_df.empty:
        if table is None and why and "missing" not in why:
            raise InputError(f"{folder / DECISIONS_FILE}: {why}, and there is no {LOG_FILE} to rebuild it from; "
                             "restore the state folder from a backup")
        return table if table is not None else _empty_table()
    if table is not None:
        why = table_agrees(folder, body, data, len(table))
        if why is None:
            return table
    derived = _table_from_log(log_df)[TABLE_COLUMNS].reset_index(drop=True)
    if table is not None and _same(table, derived):  # e.g. a folder from before the check file: no news
        why = None
    if why:
        log.warning("%s disagrees with %s (%s): rebuilt from the log, %d decision(s)", folder / DECISIONS_FILE,
                    LOG_FILE, why, len(derived))
    try:
        _write_table(folder, derived, body)
    except OSError:  # a read-only state folder: the rebuilt state is still what we return
        pass
    return derived


def load_log(state_dir=None) -> pd.DataFrame:
    """The decisions log's complete lines (columns :data:`LOG_COLUMNS`, all str), empty when none exists."""
    return read_log(_state_dir(state_dir) / LOG_FILE, LOG_COLUMNS)[0]


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
    with locked(folder):
        current = _load_locked(folder)
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
            log_path = folder / LOG_FILE
            cut_torn_tail(log_path)
            append_lines(log_path, LOG_COLUMNS, log_rows)
            _checkpoint("log-appended")
            _write_table(folder, records, split_log(log_path.read_bytes())[0])
    return result
