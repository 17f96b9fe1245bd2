"""GADM lookups by GID for curation: names, parents, levels, geometry, distances.

GIDs carry their own country and GADM level (gadm.gids). Areas are read with gadm.load_areas once
per (country, GADM level) per :class:`AreaIndex`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geolookup.gadm import load_areas
from geolookup.gadm.gids import gid_country, gid_level, gid_stem, is_minted, parent_stem
from geolookup.core.errors import GeolookupError


class AreaIndex:
    """GADM 3.6 areas by GID, loaded lazily per (country, GADM level) and kept for reuse.

    ``data_dir`` is passed to gadm.load_areas. GIDs are looked up on their stem (version suffix
    dropped); the GADM level of a GID is its number of dots (Data Hub level = GADM level + 1).
    """

    def __init__(self, data_dir=None):
        self.data_dir = data_dir
        self._areas: dict[tuple[str, int], object] = {}
        self._pos: dict[tuple[str, int], dict[str, int]] = {}

    def areas(self, country: str, gadm_level: int):
        """The GeoDataFrame of gadm.load_areas(country, gadm_level). Raises GeolookupError /
        DataNotFoundError as load_areas does."""
        key = (country, int(gadm_level))
        if key not in self._areas:
            gdf = load_areas(country, int(gadm_level), data_dir=self.data_dir)
            self._areas[key] = gdf
            self._pos[key] = {stem: i for i, stem in enumerate(gdf["gid"].map(gid_stem))}
        return self._areas[key]

    def position(self, gid: str) -> tuple[object, int]:
        """(areas frame, row position) of a GADM GID, matched on its stem; (frame, -1) when the
        level exists but the GID does not. Raises GeolookupError when the country/level cannot be loaded."""
        country, level = gid_country(gid), gid_level(gid)
        gdf = self.areas(country, level)
        return gdf, self._pos[(country, level)].get(gid_stem(gid), -1)

    def exists(self, gid: str) -> bool:
        """True when the GID is a GADM 3.6 area (version suffix compared too)."""
        gdf, i = self.position(gid)
        return i >= 0 and gdf["gid"].iat[i] == gid

    def describe(self, gids) -> pd.DataFrame:
        """Names for a list of GIDs (GADM or minted).

        Output: one row per input GID, same order, columns ``name`` (area name; minted ids:
        "new area in <parent name>"), ``parent`` (name of the parent area, "" at level 1 and
        above the country), ``gadm_level`` (int), ``found`` (bool) and ``geometry`` (shapely or
        None: minted ids use their parent's geometry). Unknown GIDs, or countries/levels
        without GADM data, get found False and empty names.
        """
        gids = pd.Series([str(g) for g in gids], dtype=object)
        n = len(gids)
        out = pd.DataFrame({"name": [""] * n, "parent": [""] * n, "gadm_level": gids.map(gid_level).astype(int),
                            "found": np.zeros(n, bool), "geometry": pd.Series([None] * n, dtype=object)})
        minted = gids.map(is_minted).to_numpy(bool)
        lookup = gids.where(~minted, gids.map(parent_stem)).map(gid_stem)  # minted ids: their parent
        groups = pd.DataFrame({"c": lookup.map(gid_country), "l": lookup.map(gid_level)})
        for (country, level), idx in groups.groupby(["c", "l"]).indices.items():
            if level < 1 or not country:
                continue
            try:
                gdf = self.areas(country, level)
            except GeolookupError:
                continue
            pos = lookup.iloc[idx].map(self._pos[(country, level)]).fillna(-1).to_numpy().astype(int)
            hit = pos >= 0
            rows, pos = idx[hit], pos[hit]
            names = gdf["name"].to_numpy(object)[pos]
            parents = gdf[f"name_{level - 1}"].to_numpy(object)[pos] if level >= 2 else np.full(len(pos), "", object)
            m = minted[rows]
            out.loc[rows, "name"] = np.where(m, "new area in " + names.astype(str), names)
            out.loc[rows, "parent"] = np.where(m, names, parents)
            out.loc[rows, "found"] = True
            out.loc[rows, "geometry"] = pd.Series(list(gdf.geometry.to_numpy()[pos]), index=rows, dtype=object)
        return out
