"""Vectorized point-in-polygon and nearest-polygon search for many points and few polygons.

Both searches bin the points into a regular grid of ``cell_deg`` degrees and query shapely's
STRtree once with the boxes of the occupied cells (whole arrays, no Python loop per point or per
polygon). Per cell they learn the polygons that matter, so points only meet the few polygons of
their own cell, and no point geometry is ever built (building a million shapely points costs more
than the whole search). Work on (point, polygon) pairs runs in bounded chunks on a thread pool:
shapely releases the GIL.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyproj
import shapely

PAIR_CHUNK = 1 << 18
_GEOD = pyproj.Geod(ellps="WGS84")


def prepare(geoms) -> tuple[np.ndarray, shapely.STRtree]:
    """Prepared polygons (object array, same order as ``geoms``; degrees EPSG:4326 for
    :func:`nearest`) and their STRtree, for :func:`within` and :func:`nearest`."""
    polys = np.asarray(geoms, dtype=object)
    shapely.prepare(polys)
    # GEOS builds its point locators lazily; build them now, single-threaded, before threads share them.
    b = shapely.bounds(polys)
    shapely.intersects_xy(polys, (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
    return polys, shapely.STRtree(polys)


def first_pairs(pi: np.ndarray, ai: np.ndarray, key=None) -> np.ndarray:
    """Positions of the chosen (point, area) pair per point: smallest key, then lowest area index."""
    order = np.lexsort((ai, pi) if key is None else (ai, key, pi))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pi[order][1:] != pi[order][:-1]
    return order[first]


def first_per_point(pi: np.ndarray, ai: np.ndarray, n: int) -> np.ndarray:
    """Area index per point (lowest on ties), -1 for points without a pair."""
    out = np.full(n, -1, dtype="int64")
    if len(pi):
        pos = first_pairs(pi, ai)
        out[pi[pos]] = ai[pos]
    return out


class _Cells:
    """Points binned into grid cells; ``pcell`` is each point's occupied-cell number."""

    MAX_CELLS = 1 << 22

    def __init__(self, x, y, cell_deg):
        w, h = float(x.max() - x.min()), float(y.max() - y.min())
        cell_deg = max(cell_deg, np.sqrt((w + cell_deg) * (h + cell_deg) / self.MAX_CELLS))  # bounded grid
        self.cell = cell_deg
        # cells aligned on multiples of cell_deg, so results do not depend on how points are chunked
        self.xmin = float(np.floor(x.min() / cell_deg) * cell_deg)
        self.ymin = float(np.floor(y.min() / cell_deg) * cell_deg)
        w, h = float(x.max()) - self.xmin, float(y.max()) - self.ymin
        nx = int(w // cell_deg) + 1
        ny = int(h // cell_deg) + 1
        inv = 1.0 / cell_deg
        cid = np.minimum(((y - self.ymin) * inv).astype("int64"), ny - 1) * nx
        cid += np.minimum(((x - self.xmin) * inv).astype("int64"), nx - 1)
        occ = np.flatnonzero(np.bincount(cid, minlength=nx * ny))
        lut = np.full(nx * ny, -1, dtype="int64")
        lut[occ] = np.arange(len(occ))
        self.pcell = lut[cid]
        self.n = len(occ)
        self.x0 = self.xmin + (occ % nx) * cell_deg
        self.y0 = self.ymin + (occ // nx) * cell_deg

    def boxes(self, mx=0.0, my=0.0):
        return shapely.box(self.x0 - mx, self.y0 - my, self.x0 + self.cell + mx, self.y0 + self.cell + my)

    def expand(self, ci, ai, points):
        """Yield chunks of (point, area) pairs: every point of ``points`` with its cell's areas."""
        order = np.argsort(ci, kind="stable")
        ci, ai = ci[order], ai[order]
        start = np.searchsorted(ci, np.arange(self.n))
        count = np.bincount(ci, minlength=self.n)
        k_all = count[self.pcell[points]]
        bounds = np.searchsorted(np.cumsum(k_all), np.arange(PAIR_CHUNK, k_all.sum() + PAIR_CHUNK, PAIR_CHUNK))
        lo = 0
        for hi in np.unique(np.append(bounds + 1, len(points))):
            pts, k = points[lo:hi], k_all[lo:hi]
            lo = hi
            if not len(pts):
                continue
            offs = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
            yield np.repeat(pts, k), ai[np.repeat(start[self.pcell[pts]], k) + offs]


def _map(func, chunks) -> list:
    chunks = list(chunks)
    if len(chunks) <= 1:
        return [func(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=min(len(chunks), os.cpu_count() or 1)) as pool:
        return list(pool.map(func, chunks))


def within(polys, tree, x, y, cell_deg: float = 0.25) -> np.ndarray:
    """Index of the polygon covering each point, -1 when none.

    Input: prepared polygons and STRtree from :func:`prepare`, float64 arrays x/y (same CRS as the
    polygons, no NaN). Output: int64 array, one per point. A cell inside one polygon assigns all
    its points at once, a cell touching no polygon none; only points in cells crossed by a
    boundary are tested with prepared point-in-polygon (``shapely.intersects_xy``): first against
    the polygon covering the cell's centre, then the rest against the cell's other candidates.
    A point exactly on a boundary shared by several polygons gets one of them, deterministically
    (it depends only on the point and the fixed grid, not on the other points).
    """
    out = np.full(len(x), -1, dtype="int64")
    if len(x) == 0 or len(polys) == 0:
        return out
    cells = _Cells(x, y, cell_deg)
    boxes = cells.boxes()
    ci, ai = tree.query(boxes)
    touch = shapely.intersects(polys[ai], boxes[ci])
    ci, ai = ci[touch], ai[touch]
    inside = shapely.contains(polys[ai], boxes[ci])
    cell_area = first_per_point(ci[inside], ai[inside], cells.n)
    mixed = np.zeros(cells.n, dtype=bool)
    mixed[ci] = True
    mixed[cell_area >= 0] = False
    out[:] = cell_area[cells.pcell]
    keep = mixed[ci]
    cm, am = ci[keep], ai[keep]
    pts = np.flatnonzero(mixed[cells.pcell])

    def pip(pair):
        p, a = pair
        hit = shapely.intersects_xy(polys[a], x[p], y[p])
        return p[hit], a[hit]

    # pass 1: each point against the polygon covering its cell's centre (most points end here)
    centre = shapely.intersects_xy(polys[am], cells.x0[cm] + cells.cell / 2, cells.y0[cm] + cells.cell / 2)
    primary = first_per_point(cm[centre], am[centre], cells.n)
    p1 = pts[primary[cells.pcell[pts]] >= 0]
    step = PAIR_CHUNK
    found = _map(pip, [(p1[i:i + step], primary[cells.pcell[p1[i:i + step]]]) for i in range(0, len(p1), step)])
    for p, a in found:
        out[p] = a
    # pass 2: the other points against their cell's other candidates
    rest = pts[out[pts] < 0]
    other = am != primary[cm]
    found = _map(pip, cells.expand(cm[other], am[other], rest))
    if found:
        best = first_per_point(np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found]), len(x))
        out[rest] = best[rest]
    return out


def nearest(polys, tree, x, y, tolerance_km: float, cell_deg: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Nearest polygon within ``tolerance_km`` (geodesic, WGS84 ellipsoid) of each point.

    Input: prepared polygons/STRtree in EPSG:4326, degree arrays x/y (no NaN), tolerance in km.
    Output: (int64 polygon index or -1, float64 distance in km or NaN), one per point.
    Per cell, the polygons meeting the cell grown by the tolerance are clipped to it (one
    vectorized intersection); each point's candidates are mapped to a local equirectangular plane
    centred on the point (accurate to well under 0.1% within a few km) to find the nearest point
    of each polygon, and the distance to it is measured on the ellipsoid with pyproj.Geod.
    """
    n = len(x)
    idx = np.full(n, -1, dtype="int64")
    dist = np.full(n, np.nan)
    if n == 0 or len(polys) == 0 or tolerance_km <= 0:
        return idx, dist
    cells = _Cells(x, y, cell_deg)
    my = tolerance_km / 110.5 * 1.02  # degrees of latitude, with margin
    far_lat = np.minimum(np.maximum(np.abs(cells.y0), np.abs(cells.y0 + cell_deg)) + my, 89.9)
    mx = np.minimum(tolerance_km / (111.3 * np.cos(np.radians(far_lat))) * 1.02, 180.0)
    grown = cells.boxes(mx, my)
    ci, ai = tree.query(grown)
    touch = shapely.intersects(polys[ai], grown[ci])
    ci, ai = ci[touch], ai[touch]
    if not len(ci):
        return idx, dist
    clipped = shapely.intersection(polys[ai], grown[ci])
    gb = shapely.bounds(clipped)
    pair_id = np.arange(len(ci))  # "areas" below are pair ids, mapped back through ai

    def measure(pair):
        p, q = pair
        # cheap pre-filter: drop pairs whose clipped polygon's bounding box is beyond the tolerance
        dx = np.maximum(np.maximum(gb[q, 0] - x[p], x[p] - gb[q, 2]), 0) * 111.32 * np.cos(np.radians(y[p]))
        dy = np.maximum(np.maximum(gb[q, 1] - y[p], y[p] - gb[q, 3]), 0) * 110.57
        near = np.hypot(dx, dy) <= tolerance_km * 1.02  # conservative (scales are upper bounds)
        p, q = p[near], q[near]
        geoms = clipped[q]
        px, py, pc = x[p], y[p], np.cos(np.radians(y[p]))
        coords, gi = shapely.get_coordinates(geoms, return_index=True)
        local = np.empty_like(coords)
        local[:, 0] = (coords[:, 0] - px[gi]) * pc[gi]
        local[:, 1] = coords[:, 1] - py[gi]
        line = shapely.shortest_line(shapely.Point(0.0, 0.0), shapely.set_coordinates(geoms.copy(), local))
        end = shapely.get_coordinates(shapely.get_point(line, 1))
        _, _, d = _GEOD.inv(px, py, px + end[:, 0] / pc, py + end[:, 1])
        ok = d <= tolerance_km * 1000.0
        return p[ok], q[ok], d[ok]

    found = _map(measure, cells.expand(ci, pair_id, np.arange(n)))
    if found:
        p = np.concatenate([f[0] for f in found])
        a = ai[np.concatenate([f[1] for f in found])]
        d = np.concatenate([f[2] for f in found])
        if len(p):
            pos = first_pairs(p, a, key=d)
            idx[p[pos]] = a[pos]
            dist[p[pos]] = d[pos] / 1000.0
    return idx, dist
