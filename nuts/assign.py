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
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa

from geolookup.core import config, indexcache
from geolookup.core.errors import GeolookupError
from geolookup.core.geodesy import lonlat_arrays
from geolookup.core.geomrepair import GeometryRepairWarning
from geolookup.core.pointindex import PointIndex, index_for
from geolookup.core.pointnearest import fill_near

from . import loader

# pandas is imported where a DataFrame is built: a command that only locates points in a cached
# layer (geolookup enrich from Parquet) starts without it


def _text_column(table: list[str], idx: np.ndarray):
    """Strings ``table[idx]`` with "" for idx -1, built with one Arrow take (fast for millions)."""
    import pandas as pd

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
    codes = np.asarray(country, dtype=object).ravel()
    if len(codes) != n:
        raise GeolookupError(f"{len(codes)} countries for {n} points; give one ISO3 code per point (or one for all)")
    known = nuts_countries()
    memo: dict = {}  # each distinct value cleaned once (a pandas string pipeline costs ms even for one point)

    def outside(c) -> bool:
        if c not in memo:
            iso = "" if c is None or c != c else str(c).strip().upper()
            memo[c] = bool(iso) and iso not in known
        return memo[c]

    return np.fromiter(map(outside, codes), dtype=bool, count=n)


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
        self._set(level, layer["NUTS_ID"].astype(str).to_numpy(dtype=object),
                  index_for(layer.geometry.values, float(config.section("nuts").get("grid_cell_deg", 0.25))))

    def _set(self, level: int, codes: np.ndarray, index: PointIndex) -> None:
        self.level, self.codes, self.index = int(level), codes, index
        # NUTS codes are hierarchical (ITF11 -> ITF1 -> ITF -> IT): level k's code is a prefix
        self.prefixes = {k: [c[: 2 + k] for c in self.codes] for k in range(self.level + 1)}

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The layer as plain arrays: ``level``, ``codes`` and its index's (``index_*``, see
        :meth:`geolookup.core.pointindex.PointIndex.to_arrays`)."""
        out = {f"index_{k}": v for k, v in self.index.to_arrays().items()}
        out.update(level=np.array(self.level), codes=np.array(self.codes.tolist(), dtype=str))
        return out

    @classmethod
    def from_arrays(cls, arrays) -> "NutsLayer":
        """The layer saved by :meth:`to_arrays`; KeyError or ValueError for arrays of another layout."""
        self = cls.__new__(cls)
        index = PointIndex.from_arrays({k[6:]: v for k, v in arrays.items() if k.startswith("index_")})
        codes = np.asarray(arrays["codes"]).astype(object)
        if len(codes) != len(index.polys):
            raise ValueError("NUTS codes do not match the polygons")
        self._set(int(arrays["level"]), codes, index)
        return self

    def locate(self, lon, lat, tolerance_km: float, outside=None):
        """Region of each point: (int64 position in ``codes`` or -1, int8 method 0 within / 1 nearest /
        2 none, float64 km: 0 within, geodesic km nearest, NaN none), shape (N,) each.

        ``lon``/``lat`` are float64 arrays, degrees WGS84 (NaN = missing); ``outside`` (bool, N) marks points
        whose country is not a NUTS country, which get none.
        """
        lon = np.ascontiguousarray(lon, dtype="float64")
        lat = np.ascontiguousarray(lat, dtype="float64")
        cells = self.index.cell_ids(lon, lat)  # once for both searches; NaN falls outside the grid
        if outside is not None and outside.any():
            cells = np.where(outside, self.index.ncell, cells)
        idx = self.index.within(lon, lat, cells)
        method = np.where(idx >= 0, 0, 2).astype("int8")
        dist = np.where(idx >= 0, 0.0, np.nan)
        if tolerance_km > 0:
            miss = idx < 0
            if outside is not None:
                miss &= ~outside
            out_pts = np.flatnonzero(miss)
            out_pts = out_pts[~(np.isnan(lon[out_pts]) | np.isnan(lat[out_pts]))]
            near, d = self.index.nearest(lon[out_pts], lat[out_pts], float(tolerance_km), cells[out_pts])
            hit = near >= 0
            idx[out_pts[hit]] = near[hit]
            dist[out_pts[hit]] = d[hit]
            method[out_pts[hit]] = 1
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


def nuts_layer(level: int = 3, scale: str | None = None, year: int | None = None, data_dir=None) -> NutsLayer:
    """The :class:`NutsLayer` of one level of the GISCO files, kept on disk between runs.

    Parameters
    ----------
    level : int
        NUTS level (0-3).
    scale, year, data_dir
        As for :func:`nuts.load_nuts` (defaults from nuts/defaults.toml).

    Returns
    -------
    NutsLayer
        Built once per set of source files (and level, grid cell, tolerance), with every grid cell
        classified and listing the boundary segments near it for the configured ``tolerance_km``
        (the nearest-region search, :mod:`geolookup.core.pointnearest`), and kept in the
        user cache (:mod:`geolookup.core.indexcache`): a later run loads it in milliseconds instead
        of reading the GeoJSON and classifying cells again. GeometryRepairWarnings raised while
        reading the files are raised again on every load.

    Raises
    ------
    GeolookupError, DataNotFoundError, InputError
        As :func:`nuts.load_nuts`, or when the files have no region of ``level``.
    """
    settings = config.section("nuts")
    tolerance = float(settings.get("tolerance_km", 5))
    cell = float(settings.get("grid_cell_deg", 0.25))
    paths = loader.source_files(scale, year, data_dir)
    entry = indexcache.entry_path(f"nuts-{Path(paths[0]).stem}-{int(level)}", paths,
                                  {"level": int(level), "cell": cell, "tolerance_km": tolerance})
    arrays = indexcache.load(entry)
    if arrays is not None:
        try:
            layer = NutsLayer.from_arrays(arrays)
            for message in arrays.get("warnings", ()):
                warnings.warn(str(message), GeometryRepairWarning, stacklevel=2)
            return layer
        except (KeyError, ValueError):
            pass  # another layout: build it again
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeometryRepairWarning)
        regions = loader._load(tuple(str(p) for p in paths))
    repaired = [str(w.message) for w in caught if issubclass(w.category, GeometryRepairWarning)]
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    layer = NutsLayer(regions, level)
    layer.index.fill_all()
    if tolerance > 0:
        fill_near(layer.index, tolerance)
    indexcache.store(entry, {**layer.to_arrays(), "warnings": np.array(repaired, dtype=str)})
    return layer


def assign_nuts(lon, lat, regions=None, levels=(0, 1, 2, 3), tolerance_km=None, data_dir=None,
                country=None):
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
    layer = _layer(regions if regions is not None else loader.load_nuts(data_dir=data_dir), levels[-1])
    idx, method, dist = layer.locate(lon, lat, float(tolerance_km), outside)
    cols = {f"nuts_{k}": _text_column(layer.prefixes[k], idx) for k in levels}
    cols["nuts_method"] = _text_column(METHODS, method)
    cols["nuts_distance_km"] = dist
    import pandas as pd

    return pd.DataFrame(cols)
