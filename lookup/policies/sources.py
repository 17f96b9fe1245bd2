"""From the long OxCGRT table to per-source signed arrays (one source = one nation or one region).

Which rows feed each source (and so each Data Hub ``administrative_area_level``):

- a **nation** (key = ISO3, used by level 1 and as fallback by levels 2-3) takes rows of scope
  ``national``: ``NAT_TOTAL`` or a national row without jurisdiction (wide national timeseries, whose
  figures are OxCGRT's national totals) first, then ``NAT_GOV`` (the 2020 files' national rows, empty
  RegionCode). A ``NAT_*`` row is never a region, whatever its RegionCode, so the UK's national rows are
  never counted as one of its four nations;
- a **region** (key = RegionCode such as US_CA, UK_SCO, BR_SP, used by levels 2-3) takes rows of scope
  ``region``: ``STATE_TOTAL`` / ``STATE_ALL`` (state and national measures combined, what applies in the
  region) first, then ``STATE_WIDE`` / ``STATE_GOV`` (the state government's own measures; Brazil 2020);
- ``city`` rows feed nothing.

For each source, day and indicator the value comes from the best-ranked row that recorded it (ties: the
file given last wins); a value always travels with the flag of its own row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .table import FLAGGED_POLICIES, INDEX_COLUMNS, POLICY_COLUMNS

#: Jurisdiction rank per scope: lower wins. "" = the file has no Jurisdiction column.
RANK = {"NAT_TOTAL": 0, "": 0, "NAT_GOV": 1, "STATE_TOTAL": 0, "STATE_ALL": 0, "STATE_WIDE": 1, "STATE_GOV": 1}
_OTHER_RANK = 2


def signed_values(values, flags, scope_flag: bool) -> np.ndarray:
    """The Data Hub's sign convention (paper, "Policy measures"): ``value * sign(flag - 0.5)``.

    Inputs: raw OxCGRT values (array-like float, >= 0, NaN = not recorded) and flags (same shape, 1 =
    general, 0 = targeted, NaN = missing), ``scope_flag`` False for C8, H2, H3 and H7 (no scope flag:
    treated as flag 1, whatever ``flags`` holds). A missing flag counts as 0 (targeted). Output: float64
    array of the same shape; targeted measures negative, general ones positive, 0 stays +0.0 (never
    -0.0), NaN stays NaN. The minus only marks the case; ``abs(result) == values`` always.
    """
    values = np.asarray(values, dtype=float)
    if not scope_flag:
        return values + 0.0
    flags = np.nan_to_num(np.asarray(flags, dtype=float), nan=0.0)
    return values * np.sign(flags - 0.5) + 0.0


@dataclass
class SourceArrays:
    """Dense per-source arrays, built once and broadcast to locations.

    ``keys``: object array (n_src) of ISO3 (nations) or RegionCode (regions); ``country``: ISO3 of each
    source; ``national``: bool (n_src); ``dates``: datetime64[ns] (n_dates), every day any source has;
    ``present``: bool (n_src, n_dates), True where the source has a row with at least one value that
    day; ``values``: column -> float64 (n_src, n_dates), policies already signed, indices raw.
    """

    keys: np.ndarray
    country: np.ndarray
    national: np.ndarray
    dates: np.ndarray
    present: np.ndarray
    values: dict

    def index_of(self, codes, national: bool) -> np.ndarray:
        """Positions (int64, -1 when absent) of ``codes`` among nation keys or among region keys."""
        pos = np.flatnonzero(self.national == national)
        if len(pos) == 0:
            return np.full(len(codes), -1, dtype=np.int64)
        idx = pd.Index(self.keys[pos]).get_indexer(pd.Index(np.asarray(codes, dtype=object)))
        return np.where(idx >= 0, pos[np.maximum(idx, 0)], -1).astype(np.int64)


def source_table(long: pd.DataFrame) -> SourceArrays:
    """Build :class:`SourceArrays` from the long table of :func:`~lookup.policies.readers.read_oxcgrt`.

    Applies the row choice of this module's docstring and the sign convention of :func:`signed_values`.
    """
    df = long[long["scope"] != "city"]
    national = (df["scope"] == "national").to_numpy()
    key = np.where(national, df["country_code"].to_numpy(dtype=object), df["region_code"].to_numpy(dtype=object))
    rank = df["jurisdiction"].map(RANK).fillna(_OTHER_RANK).to_numpy()
    # national and region keys live apart: a RegionCode could in theory equal an ISO3
    keyed = pd.MultiIndex.from_arrays([national, key])
    k_codes, k_uniques = pd.factorize(keyed, sort=True)
    d_codes, d_uniques = pd.factorize(df["date"].to_numpy(), sort=True)
    n_src, n_dates = len(k_uniques), len(d_uniques)
    order = np.lexsort((-df["file_order"].to_numpy(), rank, d_codes, k_codes))
    cell = (k_codes * n_dates + d_codes)[order]
    present = np.zeros(n_src * n_dates, bool)
    values = {}
    for col in (*POLICY_COLUMNS, *INDEX_COLUMNS):
        v = df[col].to_numpy(dtype=float)[order]
        ok = ~np.isnan(v)
        first = np.flatnonzero(ok)[np.unique(cell[ok], return_index=True)[1]]
        arr = np.full(n_src * n_dates, np.nan)
        if col in POLICY_COLUMNS:
            f = df[f"{col}_flag"].to_numpy(dtype=float)[order][first]
            arr[cell[first]] = signed_values(v[first], f, col in FLAGGED_POLICIES)
        else:
            arr[cell[first]] = v[first]
        present[cell[first]] = True
        values[col] = arr.reshape(n_src, n_dates)
    nat_u = k_uniques.get_level_values(0).to_numpy(dtype=bool)
    key_u = k_uniques.get_level_values(1).to_numpy(dtype=object)
    first_row = pd.Series(np.arange(len(k_codes))).groupby(k_codes).first().to_numpy()
    country = df["country_code"].to_numpy(dtype=object)[first_row]
    return SourceArrays(keys=key_u, country=country, national=nat_u,
                        dates=np.asarray(d_uniques, dtype="datetime64[ns]"),
                        present=present.reshape(n_src, n_dates), values=values)
