"""Nearest polygon within a tolerance, for points outside every polygon of a :class:`PointIndex` layer.

Used by the NUTS nearest-region fallback (coarse GISCO layers leave coastal points just outside
every region) and the service's nearest-area answer. The layer's boundary segments are listed once
per grid cell and tolerance: the segments within the tolerance of the cell (an STRtree query of
the grown cell). A point's candidates are its cell's list, so a search builds no geometry per
point, and a point in a cell with an empty list (the open sea) costs nothing. The lists are built
for the cells met, kept on the index (and saved with it, see ``PointIndex.to_arrays``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

from . import geodesy

PAIR_CHUNK = 1 << 18


def _map(func, chunks) -> list:
    """``func`` over chunks on a thread pool (shapely and numpy release the GIL)."""
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


def _expand(points: np.ndarray, start: np.ndarray, count: np.ndarray, values: np.ndarray):
    """Yield chunks of at most about ``PAIR_CHUNK`` (point, value) pairs, each point with
    ``values[start:start+count]``; a point's pairs are consecutive and never split between chunks."""
    if not len(points) or not count.sum():
        return
    ends = np.cumsum(count)
    cuts = np.searchsorted(ends, np.arange(PAIR_CHUNK, ends[-1], PAIR_CHUNK)) + 1
    bounds = np.unique(np.concatenate([[0], cuts, [len(points)]]))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        p, s, k = points[lo:hi], start[lo:hi], count[lo:hi]
        if k.sum():
            offs = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
            yield np.repeat(p, k), values[np.repeat(s, k) + offs]


def _segments(index, tree: bool = True):
    """Boundary segments of every polygon (start xy, end xy, polygon index) and, when ``tree``, the
    STRtree of their boxes (None otherwise). Built on first use and kept on the index: the arrays
    travel with it when pickled or saved, the tree is rebuilt where needed."""
    with index._lock:
        if index._seg_xy is None:
            parts, part_of = shapely.get_parts(index.polys, return_index=True)
            rings, ring_of = shapely.get_rings(parts, return_index=True)
            xy, ri = shapely.get_coordinates(rings, return_index=True)
            same = ri[1:] == ri[:-1]  # consecutive vertices of one ring make a segment
            index._seg_xy = (xy[:-1][same], xy[1:][same], part_of[ring_of[ri[:-1][same]]].astype("int64"))
        if tree and index._seg_tree is None:
            a, b, _ = index._seg_xy
            built = shapely.STRtree(shapely.box(np.minimum(a[:, 0], b[:, 0]), np.minimum(a[:, 1], b[:, 1]),
                                                np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])))
            built.query(shapely.points(0.0, 0.0))  # GEOS builds a tree on its first query: here, not in threads
            index._seg_tree = built
    return (*index._seg_xy, index._seg_tree)


def _near_lists(index, cids: np.ndarray, tolerance_km: float):
    """(start, count, segments): per grid cell, the boundary segments within ``tolerance_km`` of it
    as ``segments[start[c]:start[c] + count[c]]``; cached per tolerance, computed for new cells
    only. The cell ``index.ncell`` (outside the grid) has none."""
    with index._lock:
        if tolerance_km not in index._near:
            done = np.zeros(index.ncell + 1, bool)
            done[-1] = True
            index._near[tolerance_km] = (done, np.zeros(index.ncell + 1, "int64"), np.zeros(index.ncell + 1, "int32"),
                                         np.zeros(0, "int32"))
        done = index._near[tolerance_km][0]
        todo = ~done[cids]
    if todo.any():
        tree = _segments(index)[3]
        with index._lock:
            done, start, count, segs = index._near[tolerance_km]
            seen = np.zeros(len(done), dtype=bool)
            seen[cids[todo]] = True
            new = np.flatnonzero(seen & ~done)
            bx = index.x0 + (new % index.nx) * index.cell
            by = index.y0 + (new // index.nx) * index.cell
            ci, si = tree.query(_grow(bx, by, bx + index.cell, by + index.cell, tolerance_km))
            order = np.lexsort((si, ci))
            counts = np.bincount(ci, minlength=len(new))
            start[new], count[new] = len(segs) + np.cumsum(counts) - counts, counts
            segs = np.concatenate([segs, si[order].astype("int32")])
            done[new] = True
            index._near[tolerance_km] = (done, start, count, segs)
    return index._near[tolerance_km][1:]


def fill_near(index, tolerance_km: float) -> None:
    """List the boundary segments near every grid cell for ``tolerance_km`` now (before the index is
    saved, see ``PointIndex.to_arrays``)."""
    _near_lists(index, np.arange(index.ncell), float(tolerance_km))


def _closest(lon, lat, p, q, sa, sb, spoly):
    """For pairs (point p, segment q), grouped by point: per point (the point, its closest pair's
    polygon, and the offset (dlon, dlat) in degrees to the closest point of that segment). Distances
    are planar on a local equirectangular plane centred on the point (x scaled by cos(latitude)),
    ties to the lowest polygon index."""
    c = np.cos(np.radians(lat[p]))
    ax, ay = (sa[q, 0] - lon[p]) * c, sa[q, 1] - lat[p]
    dx, dy = (sb[q, 0] - sa[q, 0]) * c, sb[q, 1] - sa[q, 1]
    len2 = dx * dx + dy * dy
    t = np.clip(-(ax * dx + ay * dy) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
    nx, ny = ax + t * dx, ay + t * dy
    d2 = nx * nx + ny * ny
    first = np.flatnonzero(np.append(True, p[1:] != p[:-1]))  # each point's first pair
    size = np.diff(np.append(first, len(p)))
    best = np.repeat(np.minimum.reduceat(d2, first), size) == d2
    poly = spoly[q]
    lowest = np.repeat(np.minimum.reduceat(np.where(best, poly, np.iinfo("int64").max), first), size)
    chosen = np.flatnonzero(best & (poly == lowest))
    chosen = chosen[np.append(True, p[chosen][1:] != p[chosen][:-1])]  # one per point
    return p[chosen], poly[chosen], nx[chosen] / c[chosen], ny[chosen]


def nearest(index, lon, lat, tolerance_km: float, cells=None) -> tuple[np.ndarray, np.ndarray]:
    """Nearest polygon within ``tolerance_km`` of each point (layer in EPSG:4326).

    Parameters
    ----------
    lon, lat : numpy.ndarray of float64, shape (N,)
        Degrees WGS84, no NaN; meant for points outside every polygon (the nearest point of a
        polygon is then on its boundary).
    tolerance_km : float
        Largest geodesic distance searched, km.
    cells : numpy.ndarray of int64, shape (N,), optional
        The points' ``index.cell_ids(lon, lat)``, when the caller has them.

    Returns
    -------
    (numpy.ndarray of int64, numpy.ndarray of float64), shape (N,) each
        Polygon index or -1, and the geodesic distance in km or NaN; ties go to the lowest
        index. A point's candidates are the boundary segments listed for its grid cell (those
        within the tolerance of the cell, a superset of those within the tolerance of the point;
        points outside the grid query the segments' STRtree with their own grown box); on a
        local equirectangular plane centred on the point (x scaled by cos(latitude), accurate to
        well under 0.1 % within a few tens of km) the closest point of each segment is found with
        numpy, and the distance to the closest one is measured on the ellipsoid
        (:func:`geolookup.core.geodesy.geodesic_km`).
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    n = len(lon)
    idx, dist = np.full(n, -1, dtype="int64"), np.full(n, np.nan)
    tolerance_km = float(tolerance_km)
    if n == 0 or tolerance_km <= 0 or not len(index.polys):
        return idx, dist
    sa, sb, spoly, _ = _segments(index, tree=False)
    cells = index.cell_ids(lon, lat) if cells is None else cells
    start, count, segs = _near_lists(index, cells, tolerance_km)
    k = count[cells]
    todo = np.flatnonzero(k > 0)  # points in a cell with no boundary near it need no search
    chunks = list(_expand(todo, start[cells[todo]], k[todo], segs))
    far = np.flatnonzero(cells == index.ncell)  # outside the grid: the tree, with each point's box
    if len(far):
        p, q = _segments(index)[3].query(_grow(lon[far], lat[far], lon[far], lat[far], tolerance_km))
        order = np.argsort(p, kind="stable")
        chunks.append((far[p[order]], q[order]))

    # planar degrees to km: within 1 % of the ellipsoid anywhere (a degree of latitude is 110.57 to
    # 111.69 km); only candidates this bound cannot rule out are measured on the ellipsoid
    reach = (tolerance_km * 1.05 / geodesy.KM_PER_DEG_LAT) ** 2

    def measure(pairs):
        p, a, ddx, ddy = _closest(lon, lat, *pairs, sa, sb, spoly)
        near = ddx * ddx * np.cos(np.radians(lat[p])) ** 2 + ddy * ddy <= reach
        p, a, ddx, ddy = p[near], a[near], ddx[near], ddy[near]
        d = geodesy.geodesic_km(lon[p], lat[p], lon[p] + ddx, lat[p] + ddy)
        ok = d <= tolerance_km
        return p[ok], a[ok], d[ok]

    found = [f for f in _map(measure, [c for c in chunks if len(c[0])]) if len(f[0])]
    if found:
        p, a, d = (np.concatenate([f[j] for f in found]) for j in range(3))
        idx[p], dist[p] = a, d
    return idx, dist


def _grow(x0, y0, x1, y1, tolerance_km):
    """Boxes (x0, y0, x1, y1) in degrees grown by ``tolerance_km`` on every side (with margin)."""
    my = tolerance_km / geodesy.KM_PER_DEG_LAT * 1.02
    far = np.minimum(np.maximum(np.abs(y0), np.abs(y1)) + my, 89.9)
    mx = np.minimum(tolerance_km / (geodesy.KM_PER_DEG_LON * np.cos(np.radians(far))) * 1.02, 180.0)
    return shapely.box(x0 - mx, y0 - my, x1 + mx, y1 + my)
