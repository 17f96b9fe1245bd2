"""Assign NUTS codes to points: point-in-polygon, then the nearest region within a tolerance.

Rule (COVID-19 Data Hub paper, "Spatial data"): NUTS codes are assigned "by checking which NUTS
contains the coordinates computed with GADM". The Data Hub used GISCO's 1:1 million layer; at
coarser scales (10M, 20M) coastal points can fall just outside every polygon, so a point outside
all regions takes the nearest region within ``tolerance_km`` (geodesic distance) and says so in
``nuts_method`` / ``nuts_distance_km``. Coarser codes are the prefixes of the finest one (NUTS
codes are hierarchical: ITF11 -> ITF1 -> ITF -> IT). One code may serve many points.

NUTS covers only the countries listed in nuts/defaults.toml (EU, EFTA, candidates, UK). A point
whose GADM country is known (GID_0 of its area, or the caller's country) and is not one of them
gets no code, neither within nor nearest: a coarse GISCO polygon may reach into San Marino or the
Holy See, and the fallback would give Monaco or Sint Maarten a French code.
"""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pyarrow as pa

from geolookup.core import config
from geolookup.core.errors import GeolookupError
from geolookup.core.geodesy import lonlat_arrays
from geolookup.core.pointindex import index_for

from .loader import load_nuts


def _text_column(table: list[str], idx: np.ndarray) -> pd.Series:
    """Strings ``table[idx]`` with "" for idx -1, built with one Arrow take (fast for millions)."""
    arr = pa.array(list(table) + [""], type=pa.large_string()).take(pa.array(np.where(idx < 0, len(table), idx)))
    return pd.Series(pd.array(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


METHODS = ("within", "nearest", "none")


def nuts_countries() -> frozenset[str]:
    """ISO3 codes of the countries NUTS 2021 covers (``countries`` of nuts/defaults.toml)."""
    return frozenset(str(c).upper() for c in config.section("nuts").get("countries", []))


def _outside_nuts(country, n: int) -> np.ndarray:
    """Boolean (n,): True where the point's known country is not a NUTS country."""
    if country is None:
        return np.zeros(n, dtype=bool)
    if isinstance(country, str):
        iso = country.strip().upper()
        return np.full(n, bool(iso) and iso not in nuts_countries())
    iso = pd.Series(np.asarray(country, dtype=object).ravel()).fillna("").astype(str).str.strip().str.upper()
    if len(iso) != n:
        raise GeolookupError(f"{len(iso)} countries for {n} points; give one ISO3 code per point (or one for all)")
    return ((iso != "") & ~iso.isin(nuts_countries())).to_numpy()


class NutsLayer:
    """The NUTS regions of one level with their point index, ready to locate points (picklable).

    Parameters
    ----------
    regions : GeoDataFrame
        As from :func:`nuts.load_nuts` (NUTS_ID, LEVL_CODE, geometry; any CRS, reprojected to
        EPSG:4326).
    level : int
        NUTS level (0-3) whose regions are searched.

    Raises GeolookupError when ``regions`` has no region of ``level``.
    """

    def __init__(self, regions, level: int):
        if regions.crs is not None and not regions.crs.equals("EPSG:4326"):
            regions = regions.to_crs(4326)
        layer = regions[regions["LEVL_CODE"].astype("int64") == int(level)]
        if not len(layer):
            raise GeolookupError(f"the NUTS regions given have no level-{level} region; "
                                 "load all levels with nuts.load_nuts()")
        self.level = int(level)
        self.codes = layer["NUTS_ID"].astype(str).to_numpy(dtype=object)
        # NUTS codes are hierarchical (ITF11 -> ITF1 -> ITF -> IT): level k's code is a prefix
        self.prefixes = {k: [c[: 2 + k] for c in self.codes] for k in range(self.level + 1)}
        self.index = index_for(layer.geometry.values, float(config.section("nuts").get("grid_cell_deg", 0.25)))

    def locate(self, lon, lat, tolerance_km: float, outside=None):
        """Region of each point: (int64 position in ``codes`` or -1, int8 method 0 within / 1 nearest /
        2 none, float64 km: 0 within, geodesic km nearest, NaN none), shape (N,) each.

        ``lon``/``lat`` are float64 arrays, degrees WGS84 (NaN = missing); ``outside`` (bool, N) marks points
        whose country is not a NUTS country, which get none.
        """
        n = len(lon)
        skip = np.isnan(lon) | np.isnan(lat)
        if outside is not None:
            skip |= outside
        good = np.flatnonzero(~skip)
        idx = np.full(n, -1, dtype="int64")
        dist = np.full(n, np.nan)
        idx[good] = self.index.within(lon[good], lat[good])
        method = np.where(idx >= 0, 0, 2).astype("int8")
        out_pts = good[idx[good] < 0]
        if len(out_pts) and tolerance_km > 0:
            near, d = self.index.nearest(lon[out_pts], lat[out_pts], float(tolerance_km))
            hit = near >= 0
            idx[out_pts[hit]] = near[hit]
            dist[out_pts[hit]] = d[hit]
            method[out_pts[hit]] = 1
        dist[method == 0] = 0.0
        return idx, method, dist


_LAYERS: "collections.OrderedDict[tuple, tuple]" = collections.OrderedDict()


def _layer(regions, level: int) -> NutsLayer:
    """The :class:`NutsLayer` of ``regions`` at ``level``, kept for the same regions object (a service or
    a chunked enrich calls assign_nuts many times with one layer; the point index itself is cached by
    geometry in :mod:`geolookup.core.pointindex`)."""
    key = (id(regions), int(level))
    hit = _LAYERS.get(key)
    if hit is not None and hit[0] is regions:
        _LAYERS.move_to_end(key)
        return hit[1]
    layer = NutsLayer(regions, level)
    _LAYERS[key] = (regions, layer)
    while len(_LAYERS) > 8:
        _LAYERS.popitem(last=False)
    return layer


def assign_nuts(lon, lat, regions=None, levels=(0, 1, 2, 3), tolerance_km=None, data_dir=None,
                country=None) -> pd.DataFrame:
    """NUTS codes of points: the region containing each point, else the nearest within a tolerance.

    Parameters
    ----------
    lon, lat : array-like of float, shape (N,)
        Degrees WGS84 (NaN = missing point).
    regions : GeoDataFrame, optional
        As from :func:`nuts.load_nuts` (NUTS_ID, LEVL_CODE, geometry; any CRS, reprojected to
        EPSG:4326); default ``load_nuts()``.
    levels : iterable of int
        NUTS levels to return (subset of 0-3).
    tolerance_km : float, optional
        Nearest-region fallback distance (default ``tolerance_km`` of nuts/defaults.toml, 5 km;
        0 disables it).
    data_dir : path, optional
        Data folder for loading the default regions.
    country : str or array-like of str, shape (N,), optional
        The GADM country (ISO3, GID_0) of each point, or one for all: a point whose country is
        known and not a NUTS country (``countries`` of nuts/defaults.toml: Holy See, San Marino,
        Monaco, Sint Maarten, ...) gets no NUTS code at all, since NUTS does not cover it even
        where a coarse GISCO polygon reaches it. None or "" = unknown: the point is assigned.

    Returns
    -------
    pandas.DataFrame, N rows in input order (RangeIndex)
        ``nuts_<k>`` for each requested level (str, "" when none), ``nuts_method`` ("within" |
        "nearest" | "none", for the finest requested level) and ``nuts_distance_km`` (float64: 0.0
        within, geodesic km for nearest, NaN for none). Codes of coarser levels are prefixes of the
        finest level's code (NUTS codes are hierarchical: ITF11 -> ITF1 -> ITF -> IT).

    Raises
    ------
    GeolookupError
        Bad levels, mismatched lengths, coordinates outside [-180, 180] x [-90, 90], or a region
        layer without the finest requested level.

    Notes
    -----
    Point in polygon uses the shared grid index (:mod:`geolookup.core.pointindex`, built once per
    layer), with ``sjoin(predicate="within")`` semantics: a point exactly on a boundary takes the
    nearest-region fallback at distance 0.
    """
    levels = sorted({int(k) for k in levels})
    if not levels or not set(levels) <= {0, 1, 2, 3}:
        raise GeolookupError(f"NUTS levels {levels} are not valid; choose among 0, 1, 2, 3")
    if tolerance_km is None:
        tolerance_km = float(config.section("nuts").get("tolerance_km", 5))
    lon, lat = lonlat_arrays(lon, lat)
    outside = _outside_nuts(country, len(lon))
    layer = _layer(regions if regions is not None else load_nuts(data_dir=data_dir), levels[-1])
    idx, method, dist = layer.locate(lon, lat, float(tolerance_km), outside)
    cols = {f"nuts_{k}": _text_column(layer.prefixes[k], idx) for k in levels}
    cols["nuts_method"] = _text_column(METHODS, method)
    cols["nuts_distance_km"] = dist
    return pd.DataFrame(cols)
