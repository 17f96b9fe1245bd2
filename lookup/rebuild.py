"""Safe rebuilds: the stored table is the id registry; nothing is lost or re-keyed silently.

Rules (the Data Hub keeps ids forever once published, and its build stops when a provider drops
rows: the paper's sanity check, "Methods"):

- A newly built row that corresponds to a stored row takes the stored row's ``id`` — ids are never
  recomputed. Correspondence, first hit wins: same id; same value in an ``id_<source>`` column
  the build fills; same ``key_local``; always within the same ``administrative_area_level``.
- Stored values the build does not produce (other providers' ``id_*`` columns, Google/Apple keys,
  population) are kept; a non-empty new value replaces the stored one and the change is reported.
  A changed ``key_gadm`` and a coordinate move beyond ``[rebuild] coordinate_change_km`` get their
  own notes in the diff.
- A stored row of a rebuilt source that the provider no longer publishes has *disappeared*. The
  paper's sanity check requires the stored rows to be a subset of what the providers publish now,
  so the rebuild stops (:class:`~geolookup.core.errors.GeolookupError`) unless ``force``; with
  ``force`` the row is kept and flagged ``disappeared``. Never deleted either way.
- A stored row whose provider entity is still published but is not accepted now (in review) is
  kept unchanged (``kept_unaccepted``); a not-accepted entity with no stored row is not added.
- The diff (:data:`DIFF_COLUMNS`) lists every added row, changed cell (per column, old -> new)
  and flagged row; it is written before the table is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geolookup.gadm import geodesic_km
from geolookup.core.config import section
from geolookup.core.errors import GeolookupError

from .table import column_order

DIFF_COLUMNS = ["change", "id", "administrative_area_level", "column", "old", "new", "note"]
STATUS_COLUMN = "_status"  # in the new rows: the match status ("accepted" or anything else)


@dataclass
class RebuildResult:
    """Outcome of :func:`merge_rebuild`.

    ``table``: merged lookup table (Data Hub layout, text cells). ``row_status``: Series aligned
    with ``table`` rows: ``new`` | ``updated`` | ``unchanged`` | ``kept_unaccepted`` |
    ``kept_other_source`` | ``disappeared``. ``diff``: DataFrame with :data:`DIFF_COLUMNS`.
    """

    table: pd.DataFrame
    row_status: pd.Series
    diff: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Per column: number of ``added`` rows, ``changed`` cells and ``disappeared`` rows."""
        if self.diff.empty:
            return pd.DataFrame(columns=["column", "added", "changed", "disappeared"])
        s = self.diff.groupby(["column", "change"]).size().unstack(fill_value=0)
        return s.reindex(columns=["added", "changed", "disappeared"], fill_value=0).reset_index()


def _norm(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype(object).where(df.notna(), "").map(str).reset_index(drop=True)


def _match_keys(row: dict, source_cols: list[str]) -> list[tuple]:
    lvl = row.get("administrative_area_level", "")
    keys = [("id", row.get("id", ""))]
    keys += [(c, lvl, row.get(c, "")) for c in source_cols]
    keys.append(("key_local", lvl, row.get("key_local", "")))
    return [k for k in keys if k[-1] != ""]


def _moved_km(old: dict, new: dict) -> float:
    try:
        vals = [float(old["longitude"]), float(old["latitude"]), float(new["longitude"]), float(new["latitude"])]
    except (KeyError, ValueError):
        return float("nan")
    return float(geodesic_km(*([v] for v in vals))[0])


def merge_rebuild(old: pd.DataFrame | None, new: pd.DataFrame, source_columns, force: bool = False,
                  label: str = "table", coordinate_change_km: float | None = None) -> RebuildResult:
    """Merge a freshly built table into the stored one under the registry rules (module doc).

    Inputs: ``old`` the stored table (None/empty for a first build); ``new`` the built rows (Data
    Hub layout plus ``_status``: ``accepted`` for rows to store, anything else for provider
    entities that are published but not accepted); ``source_columns`` the ``id_<source>``
    columns this build fills. Output: :class:`RebuildResult`. Raises GeolookupError (one line:
    how many rows disappeared, the first ids, ``--force``) when stored rows of a rebuilt source
    are no longer published and ``force`` is False.
    """
    km = coordinate_change_km if coordinate_change_km is not None else float(
        section("lookup").get("rebuild", {}).get("coordinate_change_km", 1.0))
    source_cols = list(source_columns)
    new = _norm(new)
    status = new.pop(STATUS_COLUMN) if STATUS_COLUMN in new.columns else pd.Series(["accepted"] * len(new))
    old = _norm(old) if old is not None and len(old) else pd.DataFrame(columns=list(new.columns))
    cols = column_order(set(old.columns) | set(new.columns))
    old = old.reindex(columns=cols, fill_value="")
    new = new.reindex(columns=cols, fill_value="")

    old_recs = old.to_dict("records")
    index: dict[tuple, int] = {}
    for i, row in enumerate(old_recs):
        for k in _match_keys(row, source_cols):
            index.setdefault(k, i)
    claimed: dict[int, int] = {}
    diff_rows: list[dict] = []
    out_rows: list[dict] = []
    out_status: list[str] = []
    for j, row in enumerate(new.to_dict("records")):
        hit = next((index[k] for k in _match_keys(row, source_cols) if k in index and index[k] not in claimed), None)
        accepted = status.iloc[j] == "accepted"
        if hit is None:
            if accepted:
                out_rows.append(row)
                out_status.append("new")
                diff_rows += [dict(change="added", id=row["id"], administrative_area_level=row[
                    "administrative_area_level"], column=c, old="", new=row[c], note="") for c in cols if row[c] != ""]
            continue
        claimed[hit] = j
        stored = old_recs[hit]
        if not accepted:
            out_rows.append(stored)
            out_status.append("kept_unaccepted")
            continue
        merged = dict(stored)
        row_diff = []
        for c in cols:
            if c == "id" or row[c] == "" or row[c] == stored[c]:
                continue
            merged[c] = row[c]
            row_diff.append(dict(change="changed", id=stored["id"], administrative_area_level=stored[
                "administrative_area_level"], column=c, old=stored[c], new=row[c],
                note="key_gadm changed" if c == "key_gadm" and stored[c] != "" else ""))
        coord_diff = [d for d in row_diff if d["column"] in ("latitude", "longitude")]
        moved = _moved_km(stored, merged) if coord_diff else float("nan")
        if moved == moved and moved > km:
            for d in coord_diff:
                d["note"] = f"coordinates moved {moved:.1f} km"
        diff_rows += row_diff
        out_rows.append(merged)
        out_status.append("updated" if row_diff else "unchanged")

    gone = []
    for i, row in enumerate(old_recs):
        if i in claimed:
            continue
        rebuilt = any(row.get(c, "") != "" for c in source_cols)
        out_rows.append(row)
        out_status.append("disappeared" if rebuilt else "kept_other_source")
        if rebuilt:
            gone.append(row["id"])
            diff_rows.append(dict(change="disappeared", id=row["id"], administrative_area_level=row[
                "administrative_area_level"], column="id", old=row["id"], new=row["id"],
                note="no longer published by the provider; kept and flagged"))
    if gone and not force:
        shown = ", ".join(gone[:5]) + (" ..." if len(gone) > 5 else "")
        raise GeolookupError(
            f"{label}: {len(gone)} stored row(s) are no longer published by the provider (ids {shown}); "
            "the stored rows must be a subset of the provider's rows - check the provider file, "
            "or rerun with --force to keep them flagged 'disappeared'"
        )
    table = pd.DataFrame(out_rows, columns=cols).reset_index(drop=True) if out_rows else pd.DataFrame(columns=cols)
    lost = set(old["id"]) - set(table["id"])
    if lost:  # pragma: no cover - guarded by construction; a hard stop if the logic ever breaks
        raise GeolookupError(f"{label}: internal error, rebuild would drop ids {sorted(lost)[:5]}; nothing written")
    diff = pd.DataFrame(diff_rows, columns=DIFF_COLUMNS)
    return RebuildResult(table=table, row_status=pd.Series(out_status, name="status"), diff=diff)
