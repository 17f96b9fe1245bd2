"""The one point-in-polygon index of the project (GADM areas and NUTS regions).

A :class:`PointIndex` lays a fixed grid over a polygon layer. Each grid cell is classified once,
the first time a point falls in it, and the answer is kept for every later call: a cell inside one
polygon's interior assigns all its points at once, a cell meeting no polygon none, and only points
of cells crossed by a boundary are tested exactly with ``shapely.contains_xy`` on prepared
polygons, first against the polygon holding the cell's centre, then against the cell's other
candidates. It works on coordinate arrays: no shapely Point is built per input point (building a
million Points costs more than the whole search).

Semantics are those of ``geopandas.sjoin(predicate="within")`` keeping the lowest polygon index
per point: a point on a boundary is in no polygon, and a point in the interior of several
(overlapping) polygons gets the lowest index; overlapping pairs are found once per layer, so the
fast path stays exact.

The index is built once per layer and cached (:func:`index_for`), and it pickles (without its
GEOS prepared state, rebuilt on arrival) so Dask can ship it to each worker once.
"""

from __future__ import annotations

import collections
import os
import threading

import numpy as np
import shapely

from .pointnearest import _lowest, _map, nearest

PAIR_CHUNK = 1 << 18
MAX_CELLS = 1 << 21
UNKNOWN, MIXED, EMPTY = -3, -2, -1


def _expand(points: np.ndarray, start: np.ndarray, count: np.ndarray, values: np.ndarray):
    """Yield bounded chunks of (point, value) pairs: each point with ``values[start:start+count]``."""
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


class PointIndex:
    """Grid point-in-polygon index over one polygon layer (see the module docstring).

    Parameters
    ----------
    geoms : array-like of shapely (Multi)Polygons, shape (M,)
        The layer, in any CRS; queries use coordinates in the same CRS (``nearest`` needs
        EPSG:4326). Missing geometries never match.
    cell : float
        Grid cell size in the layer's units (degrees for EPSG:4326); enlarged so that the grid
        over the layer's bounds has at most ``MAX_CELLS`` cells. Performance only.
    """

    def __init__(self, geoms, cell: float = 0.25):
        self.polys = np.asarray(geoms, dtype=object)
        ok = ~shapely.is_missing(self.polys) & ~shapely.is_empty(self.polys)
        b = shapely.total_bounds(self.polys[ok]) if ok.any() else np.array([0.0, 0.0, 0.0, 0.0])
        w, h = float(b[2] - b[0]), float(b[3] - b[1])
        cell = max(float(cell), np.sqrt((w + cell) * (h + cell) / MAX_CELLS))
        self.cell = cell
        self.x0, self.y0 = float(np.floor(b[0] / cell) * cell), float(np.floor(b[1] / cell) * cell)
        self.nx, self.ny = int((b[2] - self.x0) // cell) + 1, int((b[3] - self.y0) // cell) + 1
        ncell = self.nx * self.ny
        self.state = np.full(ncell, UNKNOWN, dtype="int32")  # polygon index, MIXED, EMPTY or UNKNOWN
        self.primary = np.full(ncell, -1, dtype="int32")
        self.start = np.zeros(ncell, dtype="int64")
        self.count = np.zeros(ncell, dtype="int32")
        self.cand = np.zeros(0, dtype="int32")
        self.partners = self._overlaps() if ok.any() else (np.zeros(1, "int64"), np.zeros(0, "int32"))
        self._setup()

    # -- set-up, pickling ---------------------------------------------------------------------
    def _setup(self):
        self._lock = threading.Lock()
        self._seg = None
        self._near = {}
        self.tree = shapely.STRtree(self.polys)
        shapely.prepare(self.polys)
        # GEOS builds point locators lazily; build them now, single-threaded, before threads share them.
        b = shapely.bounds(self.polys)
        shapely.contains_xy(self.polys, (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"], state["tree"]
        state["_seg"], state["_near"] = None, {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._setup()

    def _overlaps(self):
        """CSR (offsets, lower-index partners) of polygons whose interiors intersect another's."""
        tree = shapely.STRtree(self.polys)
        i, j = tree.query(self.polys, predicate="intersects")
        keep = j < i
        i, j = i[keep], j[keep]
        inter = shapely.relate_pattern(self.polys[i], self.polys[j], "T********")
        i, j = i[inter], j[inter]
        order = np.lexsort((j, i))
        offsets = np.zeros(len(self.polys) + 1, dtype="int64")
        np.add.at(offsets, i + 1, 1)
        return np.cumsum(offsets), j[order].astype("int32")

    # -- grid -------------------------------------------------------------------------------------
    def _cell_ids(self, x, y) -> np.ndarray:
        """Grid cell of each point, -1 outside the grid or NaN."""
        fx = np.floor((x - self.x0) / self.cell)
        fy = np.floor((y - self.y0) / self.cell)
        ok = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)  # False for NaN
        cid = np.full(len(x), -1, dtype="int64")
        cid[ok] = fy[ok].astype("int64") * self.nx + fx[ok].astype("int64")
        return cid

    def _fill(self, cids: np.ndarray) -> None:
        """Classify the cells ``cids`` (unique, UNKNOWN) and store their candidate polygons."""
        cx, cy = cids % self.nx, cids // self.nx
        bx, by = self.x0 + cx * self.cell, self.y0 + cy * self.cell
        boxes = shapely.box(bx, by, bx + self.cell, by + self.cell)
        ci, ai = self.tree.query(boxes, predicate="intersects")
        order = np.lexsort((ai, ci))
        ci, ai = ci[order], ai[order]
        inside = shapely.contains_properly(self.polys[ai], boxes[ci])
        state = np.full(len(cids), EMPTY, dtype="int32")
        state[ci] = MIXED
        pos = _lowest(ci[inside], ai[inside], len(cids))
        whole = pos >= 0
        state[whole] = ai[inside][pos[whole]]
        centre = shapely.contains_xy(self.polys[ai], bx[ci] + self.cell / 2, by[ci] + self.cell / 2)
        primary = np.full(len(cids), -1, dtype="int64")
        has = np.bincount(ci, minlength=len(cids)) > 0
        primary[has] = ai[np.searchsorted(ci, np.flatnonzero(has))]
        pos = _lowest(ci[centre], ai[centre], len(cids))
        got = pos >= 0
        primary[got] = ai[centre][pos[got]]
        mixed = state == MIXED
        keep = mixed[ci]
        counts = np.bincount(ci[keep], minlength=len(cids))
        starts = len(self.cand) + np.cumsum(counts) - counts
        self.cand = np.concatenate([self.cand, ai[keep].astype("int32")])
        self.start[cids], self.count[cids] = starts, counts
        self.primary[cids] = np.where(mixed, primary, -1)
        self.state[cids] = state  # last: a reader seeing a state finds its candidates stored

    def prepare_cells(self, x, y) -> np.ndarray:
        """Cell ids of the points (see :meth:`_cell_ids`), classifying cells not seen before."""
        cid = self._cell_ids(x, y)
        valid = cid[cid >= 0]
        if len(valid) and (self.state[valid] == UNKNOWN).any():
            with self._lock:
                new = np.unique(valid[self.state[valid] == UNKNOWN])
                if len(new):
                    self._fill(new)
        return cid

    # -- queries ----------------------------------------------------------------------------------
    def within(self, x, y) -> np.ndarray:
        """Index of the polygon whose interior holds each point, -1 when none.

        Parameters
        ----------
        x, y : array-like of float, shape (N,)
            Coordinates in the layer's CRS (longitude/latitude degrees for EPSG:4326); NaN allowed.

        Returns
        -------
        numpy.ndarray of int64, shape (N,)
            Position in ``geoms`` (lowest when several interiors hold the point); -1 for a point
            outside every polygon, on a boundary, or with NaN coordinates. Equals
            ``geopandas.sjoin(points, layer, predicate="within")`` keeping the lowest index.
        """
        x = np.ascontiguousarray(x, dtype="float64").ravel()
        y = np.ascontiguousarray(y, dtype="float64").ravel()
        cid = self.prepare_cells(x, y)
        st = np.where(cid >= 0, self.state[np.maximum(cid, 0)], EMPTY)
        out = np.where(st >= 0, st, -1).astype("int64")
        pts = np.flatnonzero(st == MIXED)

        def test(pair):
            p, a = pair
            hit = shapely.contains_xy(self.polys[a], x[p], y[p])
            return p[hit], a[hit]

        # pass 1: each point against the polygon holding its cell's centre (most points end here)
        prim = self.primary[cid[pts]]
        step = max(-(-len(pts) // (os.cpu_count() or 1)), 1 << 15)  # one chunk per CPU for big calls
        for p, a in _map(test, [(pts[i:i + step], prim[i:i + step]) for i in range(0, len(pts), step)]):
            out[p] = a
        # pass 2: the other points against their cell's other candidates
        rest = pts[out[pts] < 0]
        c = cid[rest]
        self._settle(out, _map(test, _expand(rest, self.start[c], self.count[c], self.cand)), exclude=True,
                     cid=cid)
        # pass 3: a point found in a polygon that overlaps lower-index polygons is tested against them
        off, partner = self.partners
        hitp = np.flatnonzero(out >= 0)
        h = out[hitp]
        k = off[h + 1] - off[h]
        has = k > 0
        if has.any():
            self._settle(out, _map(test, _expand(hitp[has], off[h[has]], k[has], partner)))
        return out

    def _settle(self, out, found, exclude=False, cid=None) -> None:
        """Merge hits (lists of (points, polygons)) into ``out``, keeping the lowest polygon index;
        ``exclude`` drops hits on the cell's primary polygon (already tested)."""
        found = [f for f in found if len(f[0])]
        if not found:
            return
        p = np.concatenate([f[0] for f in found])
        a = np.concatenate([f[1] for f in found]).astype("int64")
        if exclude:
            keep = a != self.primary[cid[p]]
            p, a = p[keep], a[keep]
        cur = out[p]
        p, a = np.concatenate([p, p]), np.concatenate([a, cur])
        keep = a >= 0
        p, a = p[keep], a[keep]
        pos = _lowest(p, a, len(out))
        got = pos >= 0
        out[got] = a[pos[got]]

    def nearest(self, lon, lat, tolerance_km: float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest polygon within ``tolerance_km`` of each point: see
        :func:`geolookup.core.pointnearest.nearest` (layer in EPSG:4326)."""
        return nearest(self, lon, lat, tolerance_km)


_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 8


def index_for(geoms, cell: float = 0.25) -> PointIndex:
    """The cached :class:`PointIndex` of a layer, built on first use.

    Parameters
    ----------
    geoms : array-like of shapely geometries, shape (M,)
        The layer. Cached by the identity of the geometry objects (shapely geometries are
        immutable, and the cache holds them, so an identity cannot be reused while cached): copies
        of a GeoDataFrame share the entry, a reprojected layer gets its own.
    cell : float
        Grid cell size (see :class:`PointIndex`).

    Returns
    -------
    PointIndex
        Shared between calls; the last ``CACHE_SIZE`` layers are kept.
    """
    polys = np.asarray(geoms, dtype=object)
    ids = np.fromiter(map(id, polys), dtype="int64", count=len(polys))
    key = (len(polys), hash(ids.tobytes()), float(cell))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0].tobytes() == ids.tobytes():
            _CACHE.move_to_end(key)
            return hit[1]
    index = PointIndex(polys, cell)
    with _CACHE_LOCK:
        _CACHE[key] = (ids, index)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return index
