"""Distances on the WGS84 ellipsoid: the one geodesic helper of the project (pyproj.Geod).

Every distance the project reports (NUTS nearest-region fallback, curators' distance hints,
validation tolerances, rebuild checks) is measured here, on the WGS84 ellipsoid with
``pyproj.Geod.inv`` (Karney's algorithm), never in degrees.
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

GEOD = pyproj.Geod(ellps="WGS84")
#: km per degree of latitude / of longitude at the equator (WGS84), for local planes and pre-filters only.
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON = 111.320


def lonlat_arrays(lon, lat, label: str = "points") -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes as float64 arrays, checked to be degrees WGS84 (NaN allowed: missing).

    Parameters
    ----------
    lon, lat : array-like of float, shape (N,)
        Degrees WGS84 (EPSG:4326).
    label : str
        What the points are, for the error message.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``lon`` and ``lat``, float64, flattened.

    Raises
    ------
    InputError
        Different lengths, or a point outside [-180, 180] x [-90, 90] (named by its 1-based position):
        projected coordinates or swapped columns.
    """
    from .errors import InputError

    lon = np.asarray(lon, dtype="float64").ravel()
    lat = np.asarray(lat, dtype="float64").ravel()
    if lon.shape != lat.shape:
        raise InputError(f"{label}: {len(lon)} longitudes but {len(lat)} latitudes; give one of each per point")
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{label}: point {i + 1} (longitude {lon[i]}, latitude {lat[i]}) is not in degrees WGS84; "
                         "swap the columns or reproject to EPSG:4326")
    return lon, lat


def geodesic_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in km between paired points.

    Parameters
    ----------
    lon1, lat1, lon2, lat2 : array-like of float, broadcastable to one shape (N,)
        Degrees WGS84 (EPSG:4326).

    Returns
    -------
    numpy.ndarray of float64, shape (N,)
        Kilometres on the WGS84 ellipsoid (``pyproj.Geod.inv``); NaN where any coordinate is NaN.
    """
    lon1, lat1, lon2, lat2 = np.broadcast_arrays(*(np.asarray(a, dtype="float64") for a in (lon1, lat1, lon2, lat2)))
    ok = np.isfinite(lon1) & np.isfinite(lat1) & np.isfinite(lon2) & np.isfinite(lat2)
    out = np.full(lon1.shape, np.nan)
    if ok.any():
        out[ok] = GEOD.inv(lon1[ok], lat1[ok], lon2[ok], lat2[ok])[2] / 1000.0
    return out


def nearest_point_km(lon, lat, geoms) -> np.ndarray:
    """Geodesic distance in km from each point to the nearest point of its paired geometry.

    Parameters
    ----------
    lon, lat : numpy.ndarray of float64, shape (N,)
        Degrees WGS84, no NaN.
    geoms : numpy.ndarray of shapely geometries, shape (N,)
        EPSG:4326, none missing; best clipped to the neighbourhood of the point (a few hundred km).

    Returns
    -------
    numpy.ndarray of float64, shape (N,)
        Kilometres. Each geometry is mapped to a local equirectangular plane centred on its point
        (x scaled by cos(latitude)), where the nearest point is found (``shapely.shortest_line``,
        vectorised), and the distance to that point is measured on the ellipsoid
        (:func:`geodesic_km`). Accurate to well under 0.1 % within a few tens of km.
    """
    if not len(lon):
        return np.zeros(0)
    pc = np.cos(np.radians(lat))
    coords, gi = shapely.get_coordinates(geoms, return_index=True)
    local = np.empty_like(coords)
    local[:, 0] = (coords[:, 0] - lon[gi]) * pc[gi]
    local[:, 1] = coords[:, 1] - lat[gi]
    line = shapely.shortest_line(shapely.Point(0.0, 0.0), shapely.set_coordinates(geoms.copy(), local))
    end = shapely.get_coordinates(shapely.get_point(line, 1))
    return geodesic_km(lon, lat, lon + end[:, 0] / pc, lat + end[:, 1])
