"""Propagate OxCGRT measures to every lookup location with the Data Hub's sign conventions.

Rules (Guidotti & Ardia, Scientific Data 2022, section "Policy measures", and the Data Hub's behaviour):

- **Sign** (:func:`~lookup.policies.sources.signed_values`): value x sign(flag - 0.5); flag 1 general,
  0 targeted, missing 0; C8, H2, H3 and H7 count as general (H7's flag is a cost flag, see
  :mod:`~lookup.policies.table`); 0 stays 0.
- **Row choice** (:mod:`~lookup.policies.locations`, :mod:`~lookup.policies.sources`): a location uses its
  own region's rows when OxCGRT has them, else its country's national rows; level 3 uses its region's
  rows (OxCGRT has no municipal data), else the nation's. The choice is made **per day**: a region whose
  OxCGRT series ends (the US 2020 file stops on 2020-08-05) falls back to the nation for later days, and
  ``policy_source`` / ``policy_inherited`` say so on every row.
- **Indices** (government_response_index, stringency_index, containment_health_index,
  economic_support_index): level 1 kept; level 2 kept when the region's own rows are used, negated when
  inherited from the nation; level 3 always negated. Policies are never negated for inheritance.

Vectorised: per-source arrays are built once (n_src x n_days) and broadcast to locations with index
arrays (``numpy.take``); there is no Python loop per location or per day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geolookup.core.errors import InputError

from .locations import candidates, read_lookup
from .readers import read_oxcgrt
from .sources import SourceArrays, source_table
from .table import INDEX_COLUMNS, POLICY_COLUMNS
from .values import require_indicators


def output_columns() -> list[str]:
    """Output column order of :func:`propagate`."""
    return ["id", "date", *POLICY_COLUMNS, *INDEX_COLUMNS, "policy_source", "policy_inherited",
            *(f"{p}_targeted" for p in POLICY_COLUMNS)]


def _choose(cands: list[np.ndarray], present: np.ndarray) -> np.ndarray:
    """(n_loc, n_days) int64 source index per location and day: first candidate present that day, else -1."""
    n_src, n_days = present.shape
    pad = np.vstack([present, np.zeros((1, n_days), bool)])  # row n_src = "no source"
    chosen = np.full((len(cands[0]), n_days), -1, dtype=np.int64)
    for c in reversed(cands):  # earlier candidates override later ones
        c = np.where(c >= 0, c, n_src)
        chosen = np.where(pad[c], c[:, None], chosen)
    return chosen


def propagate(locations: pd.DataFrame, sources: SourceArrays, admin_level: int) -> pd.DataFrame:
    """Policies for every (location, day) that has an OxCGRT source.

    Input: ``locations`` from :func:`~lookup.policies.locations.candidates` (columns id, iso3, own_code,
    region_code; ids unique), ``sources`` from :func:`~lookup.policies.sources.source_table`, and the Data
    Hub ``admin_level`` (1, 2 or 3). Output: one row per (id, date), ordered by location (input order) then
    date; days without any source for a location are left out. Columns:
    ``id`` (category), ``date`` (datetime64[ns]), the 14 policies (float64, signed: negative = targeted,
    NaN = not recorded), the 4 indices (float64, negative = inherited per the rules above),
    ``policy_source`` (category: the RegionCode or ISO3 whose rows were used), ``policy_inherited`` (bool:
    the rows are not the location's own; always False at level 1, always True at level 3) and
    ``<policy>_targeted`` (nullable boolean: True when the measure is targeted, i.e. its signed value < 0;
    NA when the value is NaN). Raises InputError for an admin_level outside 1-3.
    """
    if admin_level not in (1, 2, 3):
        raise InputError(f"administrative_area_level {admin_level} is not supported; use 1, 2 or 3")
    nation = sources.index_of(locations["iso3"], national=True)
    if admin_level == 1:
        cands = [nation]
    else:
        own = sources.index_of(locations["own_code"], national=False)
        cands = [own, nation] if admin_level == 2 else [own, sources.index_of(locations["region_code"], False), nation]
    chosen = _choose(cands, sources.present)
    n_days = len(sources.dates)
    pos = np.flatnonzero(chosen.ravel() >= 0)
    src = chosen.ravel()[pos]
    del chosen
    loc_idx, day_idx = np.divmod(pos, n_days)
    flat = src * n_days + day_idx
    del pos
    if admin_level == 1:
        inherited = np.zeros(len(src), bool)
    elif admin_level == 2:
        inherited = sources.national[src]
    else:
        inherited = np.ones(len(src), bool)

    # one float64 block (columns x rows) filled in place: no per-column copies, no consolidation copy
    numeric = [*POLICY_COLUMNS, *INDEX_COLUMNS]
    block = np.empty((len(numeric), len(src)))
    for i, col in enumerate(numeric):
        np.take(sources.values[col].ravel(), flat, out=block[i])
    del flat
    idx = block[len(POLICY_COLUMNS):]
    if inherited.all():
        np.negative(idx, out=idx)
    elif inherited.any():
        idx[:, inherited] *= -1.0
    idx += 0.0  # -0.0 -> 0.0
    out = pd.DataFrame(block.T, columns=numeric, copy=False)
    out.insert(0, "id", pd.Categorical.from_codes(loc_idx, categories=pd.Index(locations["id"].to_numpy(dtype=object))))
    out.insert(1, "date", sources.dates.take(day_idx))
    keys = pd.Index(sources.keys)
    out["policy_source"] = (pd.Categorical.from_codes(src, categories=keys) if keys.is_unique
                            else pd.Categorical(sources.keys.take(src)))
    out["policy_inherited"] = inherited
    for i, col in enumerate(POLICY_COLUMNS):
        v = block[i]
        out[f"{col}_targeted"] = pd.arrays.BooleanArray(v < 0, np.isnan(v))
    return out


def build_policies(lookup, oxcgrt, admin_level: int, allow_missing=()) -> pd.DataFrame:
    """End to end: read the lookup (folder of Data Hub CSVs, one CSV, or a lookup.sqlite) and OxCGRT
    files/folders, and return :func:`propagate`'s table for Data Hub ``admin_level`` 1-3 (one row per
    (id, date)). An indicator (or a policy's flag) the OxCGRT inputs lack is refused unless named in
    ``allow_missing`` (:func:`~lookup.policies.values.require_indicators`). Raises InputError as
    :func:`~lookup.policies.locations.read_lookup`, :func:`~lookup.policies.locations.candidates`,
    :func:`~lookup.policies.readers.read_oxcgrt` and require_indicators do."""
    locs = candidates(read_lookup(lookup), admin_level)
    long = read_oxcgrt(oxcgrt)
    require_indicators(long, allow_missing)
    return propagate(locs, source_table(long), admin_level)
