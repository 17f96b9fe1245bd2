"""Matching one source spec's rows of a country: home areas, territories, missing GADM levels.

- Rows that name a territory (lookup/territories.py) are matched in the territory's GADM file: a
  Data Hub level-2 row naming the territory is the territory's GADM level-0 area (key_gadm "PRI");
  a level-3 row inside it is matched among the territory's GADM level-1 areas ("Adjuntas" ->
  "PRI.1_1"), as the Data Hub's USA table does.
- Rows of a GADM level the local file lacks (GADM ships only some levels locally, e.g. a
  simplified level-1 file) are kept without a GID: match_status "accepted", match_method
  ``no_gadm``, and the reason names the file to download (GADM's gpkg archive has every level).
- Everything else goes to :func:`geolookup.matching.match_places` for the country.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geolookup import gadm, matching
from geolookup.core.datafiles import GADM36_URL, find_local

from .territories import territory_of

RESULT_COLUMNS = ["gid", "gid_parts", "match_status", "match_score", "match_method", "candidates",
                  "match_gadm_level", "match_reason"]
NO_GADM = "no_gadm"


def local_gadm(iso3: str, data_dir=None) -> bool:
    """True when a GADM 3.6 archive of ``iso3`` is on disk (data folder or cache); never downloads."""
    return any(find_local("gadm36", f"gadm36_{iso3}_{fmt}.zip", data_dir) is not None for fmt in ("gpkg", "shp"))


def download_hint(iso3: str) -> str:
    """The GADM file holding every level of a country and where it comes from."""
    return f"gadm36_{iso3}_gpkg.zip from {GADM36_URL.format(fmt='gpkg', iso=iso3)}"


def _blank(n: int) -> pd.DataFrame:
    return pd.DataFrame({"gid": [""] * n, "gid_parts": "", "match_status": "unmatched", "match_score": 0.0,
                         "match_method": "", "candidates": "", "match_gadm_level": -1, "match_reason": ""})


def _kept(out: pd.DataFrame, sel: np.ndarray, iso3: str, level: int) -> None:
    out.loc[sel, ["match_status", "match_method"]] = ["accepted", NO_GADM]
    out.loc[sel, "match_reason"] = (f"GADM level {level} of {iso3} is not in the local files; row kept without "
                                    f"a GID; download {download_hint(iso3)}")


def _match(rows, iso3, level, spec, data_dir, state, parent: bool) -> pd.DataFrame:
    lat = spec.col("latitude")
    res = matching.match_places(
        rows, iso3, level, "_name", code_col="_code" if spec.col("code") else None,
        parent_col="_parent" if parent else None, lat_col=lat, lon_col=spec.col("longitude") if lat else None,
        data_dir=data_dir, state_dir=state, source=spec.source, key_col="_pkey", label=spec.file)
    return res[RESULT_COLUMNS].reset_index(drop=True)


def match_spec(spec, rows: pd.DataFrame, iso3: str, data_dir=None, state=None) -> pd.DataFrame:
    """GADM match of every row of one spec in one country (module doc).

    Input: ``rows`` from lookup.specs.read_provider plus ``_pkey`` (provider key) and ``_code``
    (the spec's code values). Output: DataFrame aligned with ``rows`` (RangeIndex), columns
    :data:`RESULT_COLUMNS` as matching.match_places gives them. Raises what match_places raises,
    and DataNotFoundError (file, URL, where to put it) when the country's own GADM file is
    neither local nor downloadable.
    """
    rows = rows.reset_index(drop=True)
    n = len(rows)
    out = _blank(n)
    levels = gadm.available_levels(iso3, data_dir)
    own = gadm.load_areas(iso3, 1, data_dir)["name"].tolist() if 1 in levels else []
    terr = territory_of(rows["_name"] if spec.admin_level == 2 else rows["_parent"], iso3, own)
    home = terr == ""
    if home.any():
        if spec.gadm_level in levels:
            res = _match(rows[home], iso3, spec.gadm_level, spec, data_dir, state, bool(spec.col("parent")))
            out.loc[home, RESULT_COLUMNS] = res.to_numpy()
        else:
            _kept(out, home, iso3, spec.gadm_level)
    for t in sorted(set(terr[~home])):
        sel = terr == t
        if not local_gadm(t, data_dir):
            _kept(out, sel, t, 0 if spec.admin_level == 2 else 1)
        elif spec.admin_level == 2:  # the territory itself: its GADM level-0 area, GID = ISO3
            out.loc[sel, ["gid", "gid_parts", "match_status", "match_score", "match_method", "match_gadm_level"]] = \
                [t, t, "accepted", 100.0, "territory", 0]
            out.loc[sel, "candidates"] = f"{t}:100"
            out.loc[sel, "match_reason"] = f"territory: GADM files it as country {t} (ISO 3166)"
        elif 1 in gadm.available_levels(t, data_dir):
            res = _match(rows[sel], t, 1, spec, data_dir, state, parent=False)
            res["match_reason"] = res["match_reason"].astype(str) + f"; searched territory {t}'s GADM file"
            out.loc[sel, RESULT_COLUMNS] = res.to_numpy()
        else:
            _kept(out, sel, t, 1)
    return out
