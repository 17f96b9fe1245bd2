"""Point lookup for the service: GADM areas of the loaded countries and NUTS 2021 regions, loaded once.

The work is done by the packages: :func:`geolookup.gadm.load_areas` and the layer's point index
(:func:`geolookup.core.pointindex.index_for`, held once: the index :func:`geolookup.gadm.locate` uses,
with its rule) for the point in area, and :func:`geolookup.nuts.load_nuts` / :func:`geolookup.nuts.assign_nuts` (point in
region, nearest region within ``nuts.tolerance_km``). Each country is loaded at its finest GADM
level, whose rows carry GID_k and NAME_k of every coarser level (GADM's own hierarchy columns), so one
point-in-area test answers every GADM level. A point outside every area of the searched countries
takes the nearest area within ``service.gadm_nearest_km`` (the same within/nearest rule the Data Hub
applies to NUTS, paper "Spatial data"); its distance is geodesic (WGS84, km).

Answers are built as JSON text from per-area fragments computed once, so a batch of 100,000 points
costs one vectorised lookup and one string join.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd

from geolookup import gadm, nuts
from geolookup.core.errors import InputError
from geolookup.core.pointindex import index_for

MAX_LEVEL = 5  # GADM 3.6 levels 0-5


@dataclass
class _Country:
    iso3: str
    levels: list  # available GADM levels


class Indexes:
    """GADM areas (finest level) of ``countries`` and NUTS regions (level 3), ready for lookups.

    Parameters
    ----------
    countries : iterable of str
        ISO3 codes whose GADM 3.6 areas are loaded.
    data_dir : str, optional
        Data folder (default ``$GEOLOOKUP_DATA``).
    nearest_km : float
        GADM nearest-area fallback distance in km (0 disables it).

    Raises GeolookupError / DataNotFoundError from the packages (unknown country, missing files).
    """

    def __init__(self, countries, data_dir=None, nearest_km: float = 5.0):
        self.nearest_km = float(nearest_km)
        frames, self.countries = [], {}
        for iso in sorted({str(c).strip().upper() for c in countries}):
            levels = gadm.available_levels(iso, data_dir)
            frames.append(gadm.load_areas(iso, max(levels), data_dir=data_dir))
            self.countries[iso] = _Country(iso, levels)
        if not frames:
            raise InputError("no country to serve; give --countries ISO3,... or a lookup holding countries")
        # one layer for every country: one point index (cached by geolookup.core.pointindex), one query
        self.areas = pd.concat(frames, ignore_index=True)
        if self.areas.crs is not None and not self.areas.crs.equals("EPSG:4326"):
            self.areas = self.areas.to_crs("EPSG:4326")
        # the layer's point index, held here: finding it in the shared cache costs more than a lookup
        self.index = index_for(self.areas.geometry.values)
        self.finest = self.areas["level"].to_numpy(dtype="int64")
        self.gids = {k: self._col(f"gid_{k}") for k in range(MAX_LEVEL + 1)}
        self.names = {k: self._col(f"name_{k}") for k in range(MAX_LEVEL + 1)}
        self._frag: dict = {}
        regions = nuts.load_nuts(data_dir=data_dir)
        self.nuts = regions[regions["LEVL_CODE"] == 3].reset_index(drop=True)  # codes of levels 0-2 are prefixes
        self.nuts_iso3 = nuts.nuts_countries()
        for iso in self.countries:  # build the point indexes and answer fragments now, not on a request
            self.locate_json([0.0], [0.0], iso)

    def _col(self, name) -> np.ndarray:
        return self.areas[name].fillna("").astype(str).to_numpy(dtype=object) if name in self.areas else \
            np.full(len(self.areas), "", dtype=object)

    def check(self, country: str | None, gadm_level: int | None) -> None:
        """Raise InputError (naming the field and the fix) for a country not loaded or a GADM level the
        country (or every loaded country) does not have."""
        if country is not None and country not in self.countries:
            raise InputError(f"country: {country!r} is not served; use one of {', '.join(self.countries)}")
        if gadm_level is not None:
            have = self.countries[country].levels if country else sorted({k for c in self.countries.values()
                                                                            for k in c.levels})
            if gadm_level not in have:
                raise InputError(f"gadm_level: GADM level {gadm_level} does not exist for "
                                 f"{country or 'the served countries'}; use one of {', '.join(map(str, have))}")

    def _locate_gadm(self, lon, lat, country):
        """Row of the area table per point (-1 none), method code (0 within, 1 nearest, 2 none) and
        distance in km. With ``country``, areas of other countries count as none."""
        idx = self.index.within(lon, lat)  # gadm.locate's rule: within, lowest area on overlaps
        method = np.where(idx >= 0, 0, 2)
        dist = np.where(idx >= 0, 0.0, np.nan)
        out = np.flatnonzero(idx < 0)
        if len(out) and self.nearest_km > 0:
            near, d = self.index.nearest(lon[out], lat[out], self.nearest_km)
            hit = near >= 0
            idx[out[hit]], method[out[hit]], dist[out[hit]] = near[hit], 1, d[hit]
        if country:
            other = (idx >= 0) & (self.gids[0][np.maximum(idx, 0)] != country)
            idx[other], method[other], dist[other] = -1, 2, np.nan
        return idx, method, dist

    def _fragments(self, level: int) -> np.ndarray:
        """Per area, the JSON text of its ``gid``, ``gadm_level`` and ``levels`` down to GADM ``level``
        (object array; its last entry is the text of no area)."""
        if level not in self._frag:
            top = np.minimum(self.finest, level)
            frag = []
            for i in range(len(self.finest)):
                lv = [{"gadm_level": k, "gid": self.gids[k][i], "name": self.names[k][i]}
                      for k in range(int(top[i]) + 1)]
                frag.append(f'"gid":{json.dumps(lv[-1]["gid"])},"gadm_level":{int(top[i])},'
                            f'"levels":{json.dumps(lv, ensure_ascii=False, separators=(",", ":"))}')
            self._frag[level] = np.array(frag + ['"gid":null,"gadm_level":null,"levels":[]'], dtype=object)
        return self._frag[level]

    def _answers(self, lon, lat, country, gadm_level):
        """Per point: area row (-1 none), GADM method code (0 within, 1 nearest, 2 none), GADM distance
        (km), NUTS 3 code ("" none), NUTS method (object array) and NUTS distance (km)."""
        idx, gm, gd = self._locate_gadm(lon, lat, country)
        # the GADM country of points inside an area: nuts.assign_nuts gives no code to a known country
        # NUTS does not cover, so such points (e.g. all US points) skip the call
        iso = np.where(gm == 0, self.gids[0][np.maximum(idx, 0)], "")
        ask = np.flatnonzero(np.fromiter((c == "" or c in self.nuts_iso3 for c in iso), bool, len(iso)))
        n = len(lon)
        n3, nm, nd = np.full(n, "", dtype=object), np.full(n, "none", dtype=object), np.full(n, np.nan)
        if len(ask):
            codes = nuts.assign_nuts(lon[ask], lat[ask], regions=self.nuts, levels=(3,), country=iso[ask])
            n3[ask] = codes["nuts_3"].fillna("").to_numpy(dtype=object)
            nm[ask] = codes["nuts_method"].astype(str).to_numpy(dtype=object)
            nd[ask] = codes["nuts_distance_km"].to_numpy(dtype="float64")
        return idx, gm, gd, n3, nm, nd

    def locate_json(self, lon, lat, country: str | None = None, gadm_level: int | None = None) -> list[str]:
        """The GADM areas and NUTS regions of points, as JSON text (schema ``service.models.LocateResult``).

        Parameters
        ----------
        lon, lat : array-like of float, shape (N,)
            Degrees WGS84 (EPSG:4326), range-checked by the caller.
        country : str, optional
            ISO3 of a served country: areas of other countries count as none.
        gadm_level : int, optional
            Last GADM level answered (default: the finest of the area found).

        Returns
        -------
        list of str, length N, input order
            One JSON object per point: ``lat``, ``lon`` (as sent), ``gadm`` (method within|nearest|none,
            distance_km geodesic km, gid, gadm_level, levels: GID and name per GADM level from 0) and
            ``nuts`` (method, distance_km, nuts_0..nuts_3; codes of levels 0-2 are prefixes of the level-3
            code). Rules: point in area / region, then the nearest within the tolerance (COVID-19 Data Hub
            paper, "Spatial data", as ``nuts.assign_nuts`` applies it).
        """
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        idx, gm, gd, n3, nm, nd = self._answers(lon, lat, country, gadm_level)
        frag = self._fragments(MAX_LEVEL if gadm_level is None else gadm_level)[np.where(idx >= 0, idx, -1)]
        methods = np.array(["within", "nearest", "none"], dtype=object)
        return [
            f'{{"lat":{y!r},"lon":{x!r},"gadm":{{"method":"{methods[m]}","distance_km":{_num(d)},{f}}},'
            f'"nuts":{{"method":"{mm}","distance_km":{_num(dd)},{_nuts(c)}}}}}'
            for x, y, m, d, f, c, mm, dd in zip(lon.tolist(), lat.tolist(), gm.tolist(), gd.tolist(), frag, n3, nm,
                                                nd.tolist())
        ]

    def locate_body(self, lon, lat, country: str | None = None, gadm_level: int | None = None,
                    layout: str = "rows") -> bytes:
        """The JSON body of ``POST /v1/locate`` for N points.

        Parameters
        ----------
        lon, lat : array-like of float, shape (N,)
            Degrees WGS84 (EPSG:4326), range-checked by the caller.
        country, gadm_level
            As :meth:`locate_json`.
        layout : {"rows", "columns"}
            ``rows``: ``{"count": N, "results": [one object per point, as locate_json]}``.
            ``columns``: ``{"count": N, "columns": {name: [N values]}}`` with the columns of
            :func:`geolookup.locate` -- ``lat``, ``lon``, ``GID_k`` / ``NAME_k`` for k = 0..L (L the finest
            GADM level answered), ``nuts_0`` .. ``nuts_3``, ``nuts_method``, ``nuts_distance_km`` --
            plus ``gid`` and ``gadm_level`` (the finest area found), ``gadm_method`` and
            ``gadm_distance_km``; null where there is no value. One array per column: under half the
            rows' size, no object per point to build when read, and a data frame as it stands.

        Returns
        -------
        bytes
            UTF-8 JSON text.
        """
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        if layout not in ("rows", "columns"):
            raise InputError(f"layout: {layout!r} is not one of rows, columns")
        if not len(lon):
            return b'{"count":0,"results":[]}' if layout == "rows" else b'{"count":0,"columns":{}}'
        if layout == "rows":
            rows = self.locate_json(lon, lat, country, gadm_level)
            return f'{{"count":{len(rows)},"results":[{",".join(rows)}]}}'.encode()
        idx, gm, gd, n3, nm, nd = self._answers(lon, lat, country, gadm_level)
        found = idx >= 0
        top = np.where(found, np.minimum(self.finest[np.maximum(idx, 0)],
                                         MAX_LEVEL if gadm_level is None else gadm_level), -1)
        # columns down to the level asked, else the finest level of the countries searched (no area is deeper)
        searched = self.countries.values() if country is None else [self.countries[country]]
        deepest = gadm_level if gadm_level is not None else max(max(c.levels) for c in searched)
        at = np.maximum(idx, 0)
        finest_gid = np.stack([self.gids[k][at] for k in range(MAX_LEVEL + 1)])[np.maximum(top, 0), np.arange(len(top))]
        cols: dict = {"lat": _floats(lat), "lon": _floats(lon),
                      "gid": np.where(found, finest_gid, None).tolist(),
                      "gadm_level": [int(t) if t >= 0 else None for t in top.tolist()],
                      "gadm_method": np.array(["within", "nearest", "none"], dtype=object)[gm].tolist(),
                      "gadm_distance_km": _floats(np.round(gd, 6))}
        for k in range(deepest + 1):
            ok = top >= k
            cols[f"GID_{k}"] = np.where(ok, self.gids[k][at], None).tolist()
            cols[f"NAME_{k}"] = np.where(ok, self.names[k][at], None).tolist()
        for k in range(4):
            cols[f"nuts_{k}"] = [c[: 2 + k] if c else None for c in n3.tolist()]
        cols["nuts_method"] = nm.tolist()
        cols["nuts_distance_km"] = _floats(np.round(nd, 6))
        return orjson.dumps({"count": len(lon), "columns": cols})


def _floats(x: np.ndarray) -> list:
    """float64 array -> list of float, NaN as None (JSON null)."""
    out = x.tolist()
    for i in np.flatnonzero(np.isnan(x)).tolist():
        out[i] = None
    return out


def _num(x: float) -> str:
    return "null" if x != x else repr(round(x, 6))


def _nuts(code: str) -> str:
    """NUTS codes of levels 0-3 from the level-3 code (NUTS codes are hierarchical prefixes)."""
    if not code:
        return '"nuts_0":null,"nuts_1":null,"nuts_2":null,"nuts_3":null'
    return ",".join(f'"nuts_{k}":"{code[:2 + k]}"' for k in range(4))
