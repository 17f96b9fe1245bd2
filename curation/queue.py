"""Review queues: the uncertain matches of one country as a spreadsheet for curators.

``build_queue`` turns the matches file (``<state_dir>/matches/<ISO3>.csv``, after applying stored
decisions) into one row per provider entity in ``review`` or ``unmatched`` status (every entity
with ``include_all``), with its top-5 candidates spelled out; ``export_queue`` writes it
spreadsheet-safe (see :mod:`curation.sheet`). Curators fill the ``decision`` column and import
the file back with :func:`curation.importer.import_queue`.

Rows matching judged to name no place ("Unassigned", "Out of AL": :func:`curation.apply.placeholder_mask`)
need no curator: they get an automatic ``skip`` with matching's reason (:func:`auto_skips` lists them)
and are left out of the queue, unless ``include_placeholders`` queues them with ``skip`` already in the
``decision`` column and the reason in ``note`` (a curator may replace it).

Queue columns, in order (:data:`QUEUE_COLUMNS`):
``iso3`` (country of the matches file; import reads the country from it), ``source``,
``provider_key``, ``name``, ``parent``, ``admin_level`` (Data Hub administrative_area_level),
``gadm_level``, ``latitude``, ``longitude`` (provider point, degrees WGS84), ``status``,
``score`` (0-100), ``method``, ``match_reason`` (why the matcher did not accept the row), ``current_gid``, ``current_decision`` (stored curator decision),
then for k = 1..5: ``cand{k}_gid``, ``cand{k}_name``, ``cand{k}_parent`` (name of the parent area),
``cand{k}_gadm_level``, ``cand{k}_score``, ``cand{k}_method``, ``cand{k}_distance_km`` (km from the
provider point to the candidate area, 0 inside, empty without coordinates), and finally the empty
``decision`` and ``note`` columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geolookup.gadm import distance_to_areas_km
from geolookup.core.tableio import numeric_column

from .apply import apply_decisions, matches_path, read_matches
from .areas import AreaIndex
from .sheet import write_sheet
from .store import load_decisions

N_CANDIDATES = 5
CAND_FIELDS = ("gid", "name", "parent", "gadm_level", "score", "method", "distance_km")
CAND_COLUMNS = [f"cand{k}_{f}" for k in range(1, N_CANDIDATES + 1) for f in CAND_FIELDS]
QUEUE_COLUMNS = [
    "iso3", "source", "provider_key", "name", "parent", "admin_level", "gadm_level", "latitude", "longitude",
    "status", "score", "method", "match_reason", "current_gid", "current_decision", *CAND_COLUMNS, "decision", "note",
]
QUEUE_STATUSES = ("review", "unmatched")


def parse_candidates(candidates: pd.Series, n: int = N_CANDIDATES) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split the matches-file ``candidates`` text ("GID:score|GID:score", best first; an optional
    third field "GID:score:method" is read as the method) into three frames of ``n`` columns:
    gids (str, "" when absent), scores (float64, NaN) and methods (str)."""
    s = candidates.fillna("").astype(str)
    parts = s.str.split("|", expand=True, n=n) if len(s) else pd.DataFrame(index=s.index)
    parts = parts.reindex(columns=range(n + 1)).iloc[:, :n].astype(object).fillna("")
    gids, scores, methods = {}, {}, {}
    for k in range(n):
        fields = parts[k].str.strip().str.split(":", expand=True, n=2).reindex(columns=range(3)).astype(object).fillna("")
        gids[k] = fields[0].str.strip()
        scores[k] = pd.to_numeric(fields[1].str.strip(), errors="coerce")
        methods[k] = fields[2].str.strip()
    return pd.DataFrame(gids), pd.DataFrame(scores).astype("float64"), pd.DataFrame(methods)


def _decided_matches(iso3: str, state_dir) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(matches after curators' decisions and automatic skips, decisions table, label of the file)."""
    iso = iso3.strip().upper()
    label = str(matches_path(iso, state_dir))
    decisions = load_decisions(state_dir)
    m = apply_decisions(read_matches(iso, state_dir), decisions=decisions, auto_skip=True)
    if "match_reason" not in m.columns:  # a matches file from before match_reason was kept
        m["match_reason"] = ""
    return m, decisions, label


def auto_skips(iso3: str, state_dir=None) -> pd.DataFrame:
    """Entities of ``iso3`` skipped automatically because matching judged them to name no place.

    Output: one row per such entity (matches-file order), columns ``source``, ``provider_key``, ``name``,
    ``parent`` and ``reason`` (matching's match_reason), all str. Entities a curator decided are not
    listed. Raises as :func:`build_queue` does."""
    m, _, _ = _decided_matches(iso3, state_dir)
    a = m[m["auto_skipped"].to_numpy(bool)]
    return pd.DataFrame({"source": a["source"], "provider_key": a["provider_key"], "name": a["name"],
                         "parent": a["parent"],
                         "reason": a["match_reason"].str.replace("automatic skip: ", "", n=1, regex=False)}
                        ).reset_index(drop=True)


def build_queue(iso3: str, state_dir=None, data_dir=None, include_all: bool = False,
                areas: AreaIndex | None = None, include_placeholders: bool = False) -> pd.DataFrame:
    """The review queue of one country as a DataFrame (columns :data:`QUEUE_COLUMNS`).

    Input: ISO3, state folder (matches file and decisions), data folder (GADM 3.6), ``include_all``
    to keep every entity (default: only ``review``/``unmatched`` after stored decisions are
    applied; skipped entities are decided and leave the queue), ``include_placeholders`` to queue the
    entities skipped automatically (module docstring) with ``skip`` in ``decision`` and matching's
    reason in ``note``. Output: one row per provider entity,
    matches-file order; latitude/longitude/score/candidate scores/distances float64 (NaN when
    empty), candidate GADM levels Int64, other columns str. Candidate names come from
    gadm.load_areas; the method of candidate 1 is the row's ``match_method`` unless the candidates
    text carries one; distances are geodesic km (WGS84) from the provider point to the candidate
    area. Raises DataNotFoundError (no matches file), InputError (missing columns, duplicate
    entity, or a latitude/longitude that is not a number in degrees: names file, row, column).
    """
    iso = iso3.strip().upper()
    m, decisions, label = _decided_matches(iso, state_dir)
    auto = m["auto_skipped"].to_numpy(bool)
    # parsed on every row before filtering, so that an error names the matches file's own row
    lat_all = numeric_column(m, "latitude", label, -90, 90, first_row=2)
    lon_all = numeric_column(m, "longitude", label, -180, 180, first_row=2)
    keep = np.ones(len(m), dtype=bool)
    if not include_all:
        keep = (m["match_status"].isin(QUEUE_STATUSES) & ~m["skipped"]).to_numpy()
    if include_placeholders or include_all:
        keep = keep | auto
    auto = auto[keep]
    m = m[keep].reset_index(drop=True)
    lat, lon = lat_all[keep].reset_index(drop=True), lon_all[keep].reset_index(drop=True)
    areas = areas or AreaIndex(data_dir)
    current = pd.Series(decisions["value"].to_numpy(), index=pd.MultiIndex.from_arrays(
        [decisions["source"], decisions["provider_key"]])) if len(decisions) else pd.Series(dtype=object)
    keys = pd.MultiIndex.from_arrays([m["source"], m["provider_key"]])
    q = pd.DataFrame({
        "iso3": iso, "source": m["source"], "provider_key": m["provider_key"], "name": m["name"],
        "parent": m["parent"], "admin_level": m["admin_level"], "gadm_level": m["gadm_level"],
        "latitude": lat, "longitude": lon, "status": m["match_status"],
        "score": pd.to_numeric(m["match_score"], errors="coerce").astype("float64"), "method": m["match_method"],
        "match_reason": m["match_reason"].astype(str), "current_gid": m["gid"],
        "current_decision": current.reindex(keys).fillna("").to_numpy() if len(current) else "",
    })
    gids, scores, methods = parse_candidates(m["candidates"])
    n = len(m)
    flat = gids.to_numpy(object).ravel()  # row-major: row i candidates 0..4
    info = areas.describe(flat)
    dist = distance_to_areas_km(np.repeat(lon.to_numpy(), N_CANDIDATES), np.repeat(lat.to_numpy(), N_CANDIDATES),
                                info["geometry"].to_numpy(object))
    shape = (n, N_CANDIDATES)
    names = info["name"].to_numpy(object).reshape(shape)
    parents = info["parent"].to_numpy(object).reshape(shape)
    levels = info["gadm_level"].to_numpy().reshape(shape)
    dist = dist.reshape(shape)
    meth = methods.to_numpy(object).copy()
    meth[:, 0] = np.where(meth[:, 0] == "", m["match_method"].to_numpy(object), meth[:, 0])
    for k in range(N_CANDIDATES):
        empty = gids[k].to_numpy(object) == ""
        p = f"cand{k + 1}_"
        q[p + "gid"] = gids[k].to_numpy(object)
        q[p + "name"] = names[:, k]
        q[p + "parent"] = parents[:, k]
        q[p + "gadm_level"] = pd.array(np.where(empty, pd.NA, levels[:, k]), dtype="Int64")
        q[p + "score"] = scores[k].to_numpy()
        q[p + "method"] = np.where(empty, "", meth[:, k])
        q[p + "distance_km"] = np.round(dist[:, k], 1)
    q["decision"] = np.where(auto, "skip", "")
    q["note"] = np.where(auto, q["match_reason"].str.replace("automatic skip: ", "", n=1, regex=False), "")
    return q[QUEUE_COLUMNS]


def export_queue(iso3: str, out_path, state_dir=None, data_dir=None, include_all: bool = False,
                 sep: str = ",", include_placeholders: bool = False) -> pd.DataFrame:
    """Build the queue (:func:`build_queue`) and write it for spreadsheets to ``out_path``
    (UTF-8 with BOM, CRLF, ``sep`` separator, provider_key as ``="..."`` text, formula-injection
    guard; see :mod:`curation.sheet`), atomically. Returns the queue DataFrame."""
    q = build_queue(iso3, state_dir=state_dir, data_dir=data_dir, include_all=include_all,
                    include_placeholders=include_placeholders)
    write_sheet(q, out_path, sep=sep)
    return q
