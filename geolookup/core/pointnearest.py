"""Nearest polygon within a tolerance, for points outside every polygon of a :class:`PointIndex` layer.

Used by the NUTS nearest-region fallback (coarse GISCO layers leave coastal points just outside
every region). The layer's boundary segments and their STRtree are built on first use and kept on
the index; a per-cell flag (cached per tolerance) skips points with no boundary near their cell.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

from . import geodesy


def _map(func, chunks) -> list:
    """``func`` over chunks on a thread pool (shapely releases the GIL)."""
    chunks = list(chunks)
    if len(chunks) <= 1:
        return [func(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=min(len(chunks), os.cpu_count() or 1)) as pool:
        return list(pool.map(func, chunks))


def _lowest(pi: np.ndarray, ai: np.ndarray, n: int, key=None) -> np.ndarray:
    """Per point 0..n-1 the position in (pi, ai) of its chosen pair (smallest key, then lowest
    polygon index), -1 for points without a pair."""
    out = np.full(n, -1, dtype="int64")
    if len(pi):
        order = np.lexsort((ai, pi) if key is None else (ai, key, pi))
        first = np.ones(len(order), dtype=bool)
        first[1:] = pi[order][1:] != pi[order][:-1]
        out[pi[order[first]]] = order[first]
    return out


def _segments(index):
    """Boundary segments of every polygon (start, end, polygon index) and their STRtree, built on
    the first nearest-region search and kept (not pickled: rebuilt where needed)."""
    with index._lock:
        if index._seg is None:
            parts, part_of = shapely.get_parts(index.polys, return_index=True)
            rings, ring_of = shapely.get_rings(parts, return_index=True)
            xy, ri = shapely.get_coordinates(rings, return_index=True)
            same = ri[1:] == ri[:-1]  # consecutive vertices of one ring make a segment
            a, b = xy[:-1][same], xy[1:][same]
            poly = part_of[ring_of[ri[:-1][same]]].astype("int64")
            boxes = shapely.box(np.minimum(a[:, 0], b[:, 0]), np.minimum(a[:, 1], b[:, 1]),
                                np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1]))
            index._seg = (a, b, poly, shapely.STRtree(boxes))
    return index._seg


def _near_cells(index, cids: np.ndarray, tolerance_km: float) -> np.ndarray:
    """Per cell id: does a boundary segment lie within the cell grown by ``tolerance_km``?
    (cached per tolerance, filled for new cells only)."""
    with index._lock:
        done, has = index._near.setdefault(tolerance_km, (np.zeros(index.nx * index.ny, bool),
                                                         np.zeros(index.nx * index.ny, bool)))
        new = np.unique(cids[~done[cids]])
        if len(new):
            bx = index.x0 + (new % index.nx) * index.cell
            by = index.y0 + (new // index.nx) * index.cell
            grown = _grow(bx, by, bx + index.cell, by + index.cell, tolerance_km)
            hit, _ = index._seg[3].query(grown)
            has[new[np.unique(hit)]] = True
            done[new] = True
    return has[cids]


def nearest(index, lon, lat, tolerance_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest polygon within ``tolerance_km`` of each point (layer in EPSG:4326).

    Parameters
    ----------
    lon, lat : numpy.ndarray of float64, shape (N,)
        Degrees WGS84, no NaN; meant for points outside every polygon (the nearest point of a
        polygon is then on its boundary).
    tolerance_km : float
        Largest geodesic distance searched, km.

    Returns
    -------
    (numpy.ndarray of int64, numpy.ndarray of float64), shape (N,) each
        Polygon index or -1, and the geodesic distance in km or NaN; ties go to the lowest
        index. Each point meets the boundary segments in a box grown by the tolerance (one
        STRtree query for all points); on a local equirectangular plane centred on the point
        (x scaled by cos(latitude), accurate to well under 0.1 % within a few tens of km) the
        nearest point of each segment is found with numpy, and the distance to the nearest one
        is measured on the ellipsoid (:func:`geolookup.core.geodesy.geodesic_km`).
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    n = len(lon)
    idx, dist = np.full(n, -1, dtype="int64"), np.full(n, np.nan)
    if n == 0 or tolerance_km <= 0 or not len(index.polys):
        return idx, dist
    sa, sb, spoly, stree = _segments(index)
    # points in a cell with no boundary segment within the tolerance need no search
    cid = index._cell_ids(lon, lat)
    inside = cid >= 0
    keep = ~inside
    keep[inside] = _near_cells(index, cid[inside], float(tolerance_km))
    todo = np.flatnonzero(keep)
    grown = _grow(lon[todo], lat[todo], lon[todo], lat[todo], float(tolerance_km))

    def measure(sel):
        p, q = stree.query(grown[sel])
        p = todo[sel[p]]
        c = np.cos(np.radians(lat[p]))
        ax, ay = (sa[q, 0] - lon[p]) * c, sa[q, 1] - lat[p]
        dx, dy = (sb[q, 0] - sa[q, 0]) * c, sb[q, 1] - sa[q, 1]
        len2 = dx * dx + dy * dy
        t = np.clip(-(ax * dx + ay * dy) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
        nx, ny = ax + t * dx, ay + t * dy
        pos = _lowest(p, spoly[q], n, key=nx * nx + ny * ny)
        got = np.flatnonzero(pos >= 0)
        k = pos[got]
        d = geodesy.geodesic_km(lon[got], lat[got], lon[got] + nx[k] / c[k], lat[got] + ny[k])
        ok = d <= tolerance_km
        return got[ok], spoly[q][k][ok], d[ok]

    m = len(todo)
    step = max(-(-m // (os.cpu_count() or 1)), 1 << 14)
    found = [f for f in _map(measure, [np.arange(i, min(i + step, m)) for i in range(0, m, step)]) if len(f[0])]
    if found:
        p, a, d = (np.concatenate([f[k] for f in found]) for k in range(3))
        idx[p], dist[p] = a, d
    return idx, dist



def _grow(x0, y0, x1, y1, tolerance_km):
    """Boxes (x0, y0, x1, y1) in degrees grown by ``tolerance_km`` on every side (with margin)."""
    my = tolerance_km / geodesy.KM_PER_DEG_LAT * 1.02
    far = np.minimum(np.maximum(np.abs(y0), np.abs(y1)) + my, 89.9)
    mx = np.minimum(tolerance_km / (geodesy.KM_PER_DEG_LON * np.cos(np.radians(far))) * 1.02, 180.0)
    return shapely.box(x0 - mx, y0 - my, x1 + mx, y1 + my)
