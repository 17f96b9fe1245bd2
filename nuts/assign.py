"""Assign NUTS codes to points: point-in-polygon, then the nearest region within a tolerance.

Rule (COVID-19 Data Hub paper, "Spatial data"): NUTS codes are assigned "by checking which NUTS
contains the coordinates computed with GADM". The Data Hub used GISCO's 1:1 million layer; at
coarser scales (10M, 20M) coastal points can fall just outside every polygon, so a point outside
all regions takes the nearest region within ``tolerance_km`` (geodesic distance) and says so in
``nuts_method`` / ``nuts_distance_km``. Coarser codes are the prefixes of the finest one (NUTS
codes are hierarchical: ITF11 -> ITF1 -> ITF -> IT). One code may serve many points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from geolookup.core import config
from geolookup.core.errors import GeolookupError

from . import grid
from .loader import load_nuts


def _text_column(table: list[str], idx: np.ndarray) -> pd.Series:
    """Strings ``table[idx]`` with "" for idx -1, built with one Arrow take (fast for millions)."""
    arr = pa.array(list(table) + [""], type=pa.large_string()).take(pa.array(np.where(idx < 0, len(table), idx)))
    return pd.Series(pd.array(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


def assign_nuts(lon, lat, regions=None, levels=(0, 1, 2, 3), tolerance_km=None, data_dir=None) -> pd.DataFrame:
    """NUTS codes of points: the region containing each point, else the nearest within a tolerance.

    Input: ``lon``, ``lat`` array-likes of N floats in degrees WGS84 (NaN = missing point);
    ``regions`` a GeoDataFrame as from :func:`nuts.load_nuts` (NUTS_ID, LEVL_CODE, geometry; any
    CRS, reprojected to EPSG:4326; default: ``load_nuts()``); ``levels`` NUTS levels to return
    (subset of 0-3); ``tolerance_km`` for the nearest fallback (default ``tolerance_km`` of
    nuts/defaults.toml, 5 km; 0 disables it); ``data_dir`` for loading the default regions.
    Output: DataFrame with N rows in input order (RangeIndex): ``nuts_<k>`` for each requested
    level (str, "" when none), ``nuts_method`` ("within" | "nearest" | "none", for the finest
    requested level) and ``nuts_distance_km`` (float64: 0.0 within, geodesic km for nearest, NaN
    for none). Codes of coarser levels are prefixes of the finest level's code.
    Raises GeolookupError for bad levels, mismatched lengths, coordinates outside
    [-180, 180] x [-90, 90], or a region layer without the finest requested level.
    """
    levels = sorted({int(k) for k in levels})
    if not levels or not set(levels) <= {0, 1, 2, 3}:
        raise GeolookupError(f"NUTS levels {levels} are not valid; choose among 0, 1, 2, 3")
    settings = config.section("nuts")
    if tolerance_km is None:
        tolerance_km = float(settings.get("tolerance_km", 5))
    lon = np.asarray(lon, dtype="float64").ravel()
    lat = np.asarray(lat, dtype="float64").ravel()
    if lon.shape != lat.shape:
        raise GeolookupError(f"{len(lon)} longitudes but {len(lat)} latitudes; give one of each per point")
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GeolookupError(f"point {i + 1}: ({lon[i]}, {lat[i]}) is not a longitude/latitude in degrees; "
                             "reproject to EPSG:4326 first")
    if regions is None:
        regions = load_nuts(data_dir=data_dir)
    elif regions.crs is not None and not regions.crs.equals("EPSG:4326"):
        regions = regions.to_crs(4326)
    finest = levels[-1]
    layer = regions[regions["LEVL_CODE"].astype("int64") == finest]
    if not len(layer):
        raise GeolookupError(f"the NUTS regions given have no level-{finest} region; "
                             "load all levels with nuts.load_nuts()")
    polys, tree = grid.prepare(layer.geometry.values)
    cell = float(settings.get("grid_cell_deg", 0.25))
    n = len(lon)
    good = np.flatnonzero(~(np.isnan(lon) | np.isnan(lat)))
    idx = np.full(n, -1, dtype="int64")
    dist = np.full(n, np.nan)
    idx[good] = grid.within(polys, tree, lon[good], lat[good], cell)
    method = np.where(idx >= 0, 0, 2)
    out_pts = good[idx[good] < 0]
    if len(out_pts) and tolerance_km > 0:
        near, d = grid.nearest(polys, tree, lon[out_pts], lat[out_pts], float(tolerance_km), cell)
        hit = near >= 0
        idx[out_pts[hit]] = near[hit]
        dist[out_pts[hit]] = d[hit]
        method[out_pts[hit]] = 1
    dist[method == 0] = 0.0
    codes = layer["NUTS_ID"].astype(str)
    cols = {f"nuts_{k}": _text_column(codes.str[: 2 + k].tolist(), idx) for k in levels}
    cols["nuts_method"] = _text_column(["within", "nearest", "none"], method)
    cols["nuts_distance_km"] = dist
    return pd.DataFrame(cols)
