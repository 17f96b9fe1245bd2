"""Applying curators' decisions to automatic matches, and reading the matches file.

The matches file ``<state_dir>/matches/<ISO3>.csv`` is written by the build (see
:data:`geolookup.curation.apply.APPLY_REQUIRED` for its columns); curation reads it to export review queues and to check imported decisions.
Decisions are applied by ``match`` and ``build`` before any automatic result is trusted
(the paper keeps data "inserted manually" as the last word): a decided entity takes the curator's gid whatever the matcher
found, so a rebuild, a GADM reload or a provider renaming a place cannot undo a decision.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geolookup.core.errors import DataNotFoundError, InputError, where
from geolookup.core.state import state_dir as _state_dir
from geolookup.core.tableio import check_columns, read_csv_text

from .store import load_decisions

MATCHES_COLUMNS = [
    "source", "provider_key", "name", "parent", "admin_level", "gadm_level", "latitude", "longitude", "gid",
    "gid_parts", "match_status", "match_score", "match_method", "candidates",
]
#: the columns a build writes to the matches file: the required ones and matching's reason per row
MATCHES_FILE_COLUMNS = MATCHES_COLUMNS + ["match_reason"]
#: the columns apply_decisions needs (written by the build, read by apply_decisions)
APPLY_REQUIRED = ["source", "provider_key", "gid", "gid_parts", "match_status", "match_score", "match_method"]
#: matching's own verdict that a row names no place ("Unassigned", "Out of AL", an empty name): its boolean
#: column when the matches file has one, else the phrase every such match_reason of matching ends with
PLACEHOLDER_COLUMN = "match_placeholder"
NON_PLACE_REASON = "names no place"


def placeholder_mask(matches: pd.DataFrame) -> np.ndarray:
    """Boolean array: rows matching judged to name no place (placeholders such as "Unassigned" or
    "Out of AL", empty or punctuation-only names). Read from matching's output: its ``match_placeholder``
    column when present (bool, or text true/1), else ``match_reason`` containing "names no place". All
    False when the table has neither column."""
    if PLACEHOLDER_COLUMN in matches.columns:
        col = matches[PLACEHOLDER_COLUMN]
        if col.dtype == bool:
            return col.to_numpy()
        return col.astype(str).str.strip().str.lower().isin(["true", "1", "yes"]).to_numpy()
    if "match_reason" in matches.columns:
        return matches["match_reason"].astype(str).str.contains(NON_PLACE_REASON, regex=False).to_numpy()
    return np.zeros(len(matches), dtype=bool)


def matches_path(iso3: str, state_dir=None) -> Path:
    """``<state_dir>/matches/<ISO3>.csv`` (not checked for existence)."""
    return _state_dir(state_dir) / "matches" / f"{iso3.strip().upper()}.csv"


def read_matches(iso3: str, state_dir=None, required=MATCHES_COLUMNS) -> pd.DataFrame:
    """Read the matches file of one country.

    Output: one row per provider entity, the file's columns, all ``str`` (codes keep their leading
    zeros). Raises DataNotFoundError when the file does not exist (run the build / match first),
    InputError for missing columns or a duplicate (source, provider_key).
    """
    path = matches_path(iso3, state_dir)
    if not path.is_file():
        raise DataNotFoundError(
            f"{path}: no matches file for {iso3.upper()}; run `geolookup build` (or match) for it first, "
            "or pass the right --state-dir"
        )
    df = read_csv_text(path, required=required, label=str(path))
    dup = df.duplicated(["source", "provider_key"], keep="first")
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise InputError(
            f"{where(path, i + 2)}: duplicate entity (source {df['source'].iloc[i]!r}, provider_key "
            f"{df['provider_key'].iloc[i]!r}); each provider entity must appear once — rebuild the file"
        )
    return df


def apply_decisions(matches: pd.DataFrame, state_dir=None, decisions: pd.DataFrame | None = None,
                    auto_skip: bool = False) -> pd.DataFrame:
    """Apply the current curator decisions to a matches table.

    Input: a DataFrame with at least ``source, provider_key, gid, gid_parts, match_status,
    match_score, match_method`` (the matches-file schema; other columns are kept), and the state
    folder holding ``decisions.csv`` (default geolookup.core.state.state_dir()). Rows are joined to
    decisions on (source, provider_key) compared as text: give provider_key as ``str`` so codes
    keep their leading zeros ("01001" is not 1001).
    Output: a copy, same rows in the same order, plus a boolean column ``skipped``. Rows with a
    decision get ``gid``/``gid_parts`` from it, ``match_status`` "accepted", ``match_method``
    "manual", ``match_score`` 100; ``skip`` decisions get ``gid``/``gid_parts`` "",
    ``match_status`` "unmatched", ``match_method`` "manual", ``match_score`` 100 (the curator is
    certain) and ``skipped`` True (False elsewhere). When a ``match_reason`` column exists it says
    who decided and when. Rule source: the paper keeps "inserting the data
    manually" as the last word over computed matches.
    ``decisions`` (the :func:`~curation.store.load_decisions` table) saves re-reading the state
    folder when the caller already holds it.
    ``auto_skip``: rows matching judged to name no place (:func:`placeholder_mask`) and that no curator
    decided are skipped too, automatically, with ``match_reason`` "automatic skip: <matching's reason>"
    and a boolean column ``auto_skipped`` (True only for them); a curator's decision always wins.
    Raises InputError for missing columns.
    """
    check_columns(matches, APPLY_REQUIRED, "matches table")
    out = matches.copy()
    out["skipped"] = np.zeros(len(out), dtype=bool)
    if decisions is None:
        decisions = load_decisions(state_dir)
    if auto_skip:
        _auto_skip(out, decisions)
    if decisions.empty or out.empty:
        return out
    keys = pd.MultiIndex.from_arrays([out["source"].astype(str), out["provider_key"].astype(str)])
    table = decisions.set_index(["source", "provider_key"])
    pos = table.index.get_indexer(keys)
    hit = pos >= 0
    if not hit.any():
        return out
    d = table.iloc[pos[hit]]
    is_skip = (d["kind"] == "skip").to_numpy()
    rows = np.flatnonzero(hit)
    for col in ("gid", "gid_parts", "match_status", "match_method"):
        out[col] = out[col].astype(object)
    out.iloc[rows, out.columns.get_loc("gid")] = np.where(is_skip, "", d["gid"].to_numpy())
    parts = np.where(d["gid_parts"].to_numpy() == "", d["gid"].to_numpy(), d["gid_parts"].to_numpy())
    out.iloc[rows, out.columns.get_loc("gid_parts")] = np.where(is_skip, "", parts)
    out.iloc[rows, out.columns.get_loc("match_status")] = np.where(is_skip, "unmatched", "accepted")
    out.iloc[rows, out.columns.get_loc("match_method")] = "manual"
    score = out["match_score"]
    if score.dtype == object:  # text read from a CSV: keep it text
        out.iloc[rows, out.columns.get_loc("match_score")] = "100"
    else:
        out["match_score"] = score.astype("float64")
        out.iloc[rows, out.columns.get_loc("match_score")] = 100.0
    out.iloc[rows, out.columns.get_loc("skipped")] = is_skip
    if "match_reason" in out.columns:
        out["match_reason"] = out["match_reason"].astype(object)
        reason = "curator decision " + d["value"] + " by " + d["reviewer"] + " on " + d["decided_at"]
        out.iloc[rows, out.columns.get_loc("match_reason")] = reason.to_numpy()
    return out


def _auto_skip(out: pd.DataFrame, decisions: pd.DataFrame) -> None:
    """Mark undecided rows that name no place as skipped, in place (see apply_decisions)."""
    decided = np.zeros(len(out), dtype=bool)
    if len(decisions) and len(out):
        keys = pd.MultiIndex.from_arrays([out["source"].astype(str), out["provider_key"].astype(str)])
        decided = pd.MultiIndex.from_arrays([decisions["source"], decisions["provider_key"]]).get_indexer(keys) >= 0
    auto = placeholder_mask(out) & ~decided & (out["match_status"].astype(str) != "accepted").to_numpy()
    out["auto_skipped"] = auto
    out.loc[auto, "skipped"] = True
    if "match_reason" in out.columns and auto.any():
        out["match_reason"] = out["match_reason"].astype(object)
        out.loc[auto, "match_reason"] = "automatic skip: " + out.loc[auto, "match_reason"].astype(str)
