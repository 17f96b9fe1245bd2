"""The one point-in-polygon index of the project (GADM areas and NUTS regions).

A :class:`PointIndex` lays a fixed grid over a polygon layer. Each grid cell is classified once,
the first time a point falls in it, and the answer is kept for every later call: a cell inside one
polygon's interior assigns all its points at once, a cell meeting no polygon none, and only points
of cells crossed by a boundary are tested exactly with ``shapely.contains_xy`` on prepared
polygons, first against the polygon holding the cell's centre, then against the cell's other
candidates in turn until one holds the point. It works on coordinate arrays: no shapely Point is
built per input point (building a million Points costs more than the whole search).

Semantics are those of ``geopandas.sjoin(predicate="within")`` keeping the lowest polygon index
per point: a point on a boundary is in no polygon, and a point in the interior of several
(overlapping) polygons gets the lowest index; overlapping pairs are found once per layer, and a
point found in a polygon is tested against that polygon's lower-index overlapping partners, so the
fast path stays exact.

The index is built once per layer and cached (:func:`index_for`); it pickles (without its GEOS
prepared state, rebuilt on arrival) so Dask can ship it to each worker once, and it converts to
plain arrays and back (:meth:`PointIndex.to_arrays`), which :mod:`geolookup.core.indexcache` keeps
on disk.
"""

from __future__ import annotations

import collections
import os
import threading

import numpy as np
import shapely

from .pointnearest import _expand, _lowest, _map, nearest

MAX_CELLS = 1 << 21
FILL_BATCH = 1 << 16
UNKNOWN, MIXED, EMPTY = -3, -2, -1
#: Per tolerance, the nearest search's lists of segments per cell (see geolookup.core.pointnearest).
NEAR_ARRAYS = ("done", "start", "count", "segments")


def _chunks(n: int, least: int = 1 << 15) -> list[slice]:
    """Slices of ``range(n)``: one per CPU for big calls (shapely releases the GIL), at least ``least`` long."""
    step = max(-(-n // (os.cpu_count() or 1)), least)
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


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

    #: Array attributes that make up a built index (see :meth:`to_arrays`).
    ARRAYS = ("state", "start", "count", "cand", "partner_offsets", "partner_values", "has_partner")

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
        # one more cell than the grid: the id of every point outside it (or NaN), always EMPTY
        self.state = np.full(ncell + 1, UNKNOWN, dtype="int32")  # polygon index, MIXED, EMPTY or UNKNOWN
        self.state[ncell] = EMPTY
        self.start = np.zeros(ncell + 1, dtype="int64")
        self.count = np.zeros(ncell + 1, dtype="int32")
        self.cand = np.zeros(0, dtype="int32")  # per MIXED cell: the centre's polygon first, then the others
        off, part = self._overlaps() if ok.any() else (np.zeros(len(self.polys) + 1, "int64"), np.zeros(0, "int32"))
        self.partner_offsets, self.partner_values = off, part
        self.has_partner = np.append(np.diff(off) > 0, False)  # [-1] (no polygon) has none
        self._setup()

    # -- set-up, pickling, arrays -----------------------------------------------------------------
    def _setup(self):
        self._lock = threading.Lock()
        self._seg_tree = None
        if not hasattr(self, "_seg_xy"):
            self._seg_xy = None
        if not hasattr(self, "_near"):
            self._near = {}
        self.tree = shapely.STRtree(self.polys)
        # GEOS builds a tree on its first query, and a prepared polygon's point index on its second
        # point test (the first one walks the rings): build both now, single-threaded, before threads
        # share them (building them from two threads at once corrupts the heap)
        self.tree.query(shapely.points(0.0, 0.0))
        shapely.prepare(self.polys)
        b = shapely.bounds(self.polys)
        x, y = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        for _ in range(2):
            shapely.contains_xy(self.polys, x, y)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"], state["tree"], state["_seg_tree"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._setup()

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The index as plain NumPy arrays (no Python objects): polygons as WKB, the grid, the classified
        cells, the overlap partners and what the nearest-polygon search has built. See :meth:`from_arrays`."""
        wkb = shapely.to_wkb(self.polys)
        sizes = np.array([-1 if g is None else len(g) for g in wkb], dtype="int64")
        out = {"wkb": np.frombuffer(b"".join(g for g in wkb if g is not None), dtype="uint8"), "wkb_sizes": sizes,
               "grid": np.array([self.cell, self.x0, self.y0, self.nx, self.ny], dtype="float64")}
        out.update({name: getattr(self, name) for name in self.ARRAYS})
        if self._seg_xy is not None:
            out["seg_a"], out["seg_b"], out["seg_poly"] = self._seg_xy
        tolerances = sorted(self._near)
        out["near_km"] = np.array(tolerances, dtype="float64")
        for k, tol in enumerate(tolerances):
            for name, value in zip(NEAR_ARRAYS, self._near[tol]):
                out[f"near_{name}_{k}"] = value
        return out

    @classmethod
    def from_arrays(cls, arrays) -> "PointIndex":
        """The index saved by :meth:`to_arrays` (a mapping of arrays, such as a loaded ``.npz``).

        Raises KeyError or ValueError for arrays of another layout.
        """
        self = cls.__new__(cls)
        sizes = np.asarray(arrays["wkb_sizes"])
        data = np.asarray(arrays["wkb"]).tobytes()
        ends = np.cumsum(np.maximum(sizes, 0))
        wkb = np.array([None if s < 0 else data[e - s:e] for s, e in zip(sizes, ends)], dtype=object)
        self.polys = shapely.from_wkb(wkb) if len(wkb) else np.zeros(0, dtype=object)
        cell, x0, y0, nx, ny = (float(v) for v in np.asarray(arrays["grid"]))
        self.cell, self.x0, self.y0, self.nx, self.ny = cell, x0, y0, int(nx), int(ny)
        for name in cls.ARRAYS:
            setattr(self, name, np.array(arrays[name]))
        if len(self.state) != self.nx * self.ny + 1 or len(self.has_partner) != len(self.polys) + 1:
            raise ValueError("point index arrays do not match their grid or polygons")
        self._seg_xy = tuple(np.array(arrays[k]) for k in ("seg_a", "seg_b", "seg_poly")) if "seg_a" in arrays else None
        self._near = {float(t): tuple(np.array(arrays[f"near_{name}_{k}"]) for name in NEAR_ARRAYS)
                      for k, t in enumerate(np.asarray(arrays["near_km"]))}
        self._setup()
        return self

    def _overlaps(self):
        """CSR (offsets, lower-index partners) of polygons whose interiors intersect another's."""
        tree = shapely.STRtree(self.polys)
        i, j = tree.query(self.polys, predicate="intersects")
        keep = j < i
        i, j = i[keep], j[keep]
        hits = _map(lambda s: shapely.relate_pattern(self.polys[i[s]], self.polys[j[s]], "T********"),
                    _chunks(len(i), 1 << 11))  # (on threads: GEOS relate is the costliest step of a build)
        inter = np.concatenate(hits) if hits else np.zeros(0, dtype=bool)
        i, j = i[inter], j[inter]
        order = np.lexsort((j, i))
        offsets = np.zeros(len(self.polys) + 1, dtype="int64")
        np.add.at(offsets, i + 1, 1)
        return np.cumsum(offsets), j[order].astype("int32")

    # -- grid -------------------------------------------------------------------------------------
    @property
    def ncell(self) -> int:
        return self.nx * self.ny

    def cell_ids(self, x, y) -> np.ndarray:
        """Grid cell of each point (int64, shape (N,)); :attr:`ncell` (an always-empty cell) outside the
        grid or NaN. Callers that query the same points twice (:meth:`within`, then :meth:`nearest` for
        the misses) compute it once and pass it as ``cells``."""
        fx = np.subtract(x, self.x0)
        fx /= self.cell
        np.floor(fx, out=fx)
        fy = np.subtract(y, self.y0)
        fy /= self.cell
        np.floor(fy, out=fy)
        ok = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)  # False for NaN
        fy *= self.nx
        fy += fx  # exact: far below 2**53
        return np.where(ok, fy, self.ncell).astype("int64")

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
        mixed = state == MIXED
        keep = mixed[ci]
        ci, ai = ci[keep], ai[keep]
        # the polygon holding the cell's centre (lowest such; else the first candidate) is tried first
        centre = shapely.contains_xy(self.polys[ai], bx[ci] + self.cell / 2, by[ci] + self.cell / 2)
        primary = np.full(len(cids), -1, dtype="int64")
        firsts = np.flatnonzero(np.append(True, ci[1:] != ci[:-1])) if len(ci) else np.zeros(0, "int64")
        primary[ci[firsts]] = ai[firsts]  # the first (lowest) candidate of each cell
        pos = _lowest(ci[centre], ai[centre], len(cids))
        got = pos >= 0
        primary[got] = ai[centre][pos[got]]
        order = np.lexsort((ai, ai != primary[ci], ci))
        ci, ai = ci[order], ai[order]
        counts = np.bincount(ci, minlength=len(cids))
        starts = len(self.cand) + np.cumsum(counts) - counts
        self.cand = np.concatenate([self.cand, ai.astype("int32")])
        self.start[cids], self.count[cids] = starts, counts
        self.state[cids] = state  # last: a reader seeing a state finds its candidates stored

    def prepare_cells(self, x, y, cells=None) -> tuple[np.ndarray, np.ndarray]:
        """(cell id, cell state) of each point (see :meth:`cell_ids`; ``cells`` if already known),
        classifying cells not seen before."""
        cid = self.cell_ids(x, y) if cells is None else cells
        st = self.state[cid]
        unknown = st == UNKNOWN
        if unknown.any():
            with self._lock:
                seen = np.zeros(len(self.state), dtype=bool)
                seen[cid[unknown]] = True
                new = np.flatnonzero(seen & (self.state == UNKNOWN))
                for i in range(0, len(new), FILL_BATCH):
                    self._fill(new[i:i + FILL_BATCH])
            st = self.state[cid]
        return cid, st

    def fill_all(self) -> None:
        """Classify every cell of the grid now (before the index is saved, see :meth:`to_arrays`)."""
        with self._lock:
            new = np.flatnonzero(self.state == UNKNOWN)
            for i in range(0, len(new), FILL_BATCH):
                self._fill(new[i:i + FILL_BATCH])

    # -- queries ----------------------------------------------------------------------------------
    def within(self, x, y, cells=None) -> np.ndarray:
        """Index of the polygon whose interior holds each point, -1 when none.

        Parameters
        ----------
        x, y : array-like of float, shape (N,)
            Coordinates in the layer's CRS (longitude/latitude degrees for EPSG:4326); NaN allowed.
        cells : numpy.ndarray of int64, shape (N,), optional
            The points' :meth:`cell_ids`, when the caller has them.

        Returns
        -------
        numpy.ndarray of int64, shape (N,)
            Position in ``geoms`` (lowest when several interiors hold the point); -1 for a point
            outside every polygon, on a boundary, or with NaN coordinates. Equals
            ``geopandas.sjoin(points, layer, predicate="within")`` keeping the lowest index.
        """
        x = np.ascontiguousarray(x, dtype="float64").ravel()
        y = np.ascontiguousarray(y, dtype="float64").ravel()
        cid, st = self.prepare_cells(x, y, cells)
        out = np.maximum(st, -1).astype("int64")  # whole cells' polygon; EMPTY and MIXED -> -1
        pts = np.flatnonzero(st == MIXED)
        cand = self.cand

        def test(p, a):
            hits = _map(lambda s: shapely.contains_xy(self.polys[a[s]], x[p[s]], y[p[s]]), _chunks(len(p)))
            return np.concatenate(hits) if hits else np.zeros(0, dtype=bool)

        # each point of a boundary cell against the cell's candidates in turn, the centre's polygon
        # first (most points end there), until one holds it: interiors of polygons that do not
        # overlap are disjoint, and overlaps are settled below
        c = cid[pts]
        first, left = self.start[c], self.count[c].astype("int64")
        turn = 0
        while len(pts):
            a = cand[first + turn]
            hit = test(pts, a)
            out[pts[hit]] = a[hit]
            turn += 1
            more = ~hit & (left > turn)
            pts, first, left = pts[more], first[more], left[more]
        # a point found in a polygon that overlaps lower-index polygons is tested against them
        hitp = np.flatnonzero(self.has_partner[out]) if len(self.partner_values) else ()
        if len(hitp):
            h, off = out[hitp], self.partner_offsets
            pairs = _expand(hitp, off[h], off[h + 1] - off[h], self.partner_values)
            self._settle(out, [(p[hit], a[hit]) for p, a in pairs for hit in [test(p, a)]])
        return out

    @staticmethod
    def _settle(out, found) -> None:
        """Merge hits (lists of (points, polygons)) into ``out``, keeping the lowest polygon index."""
        found = [f for f in found if len(f[0])]
        if not found:
            return
        p = np.concatenate([f[0] for f in found])
        a = np.concatenate([f[1] for f in found]).astype("int64")
        cur = out[p]
        p, a = np.concatenate([p, p]), np.concatenate([a, cur])
        keep = a >= 0
        p, a = p[keep], a[keep]
        pos = _lowest(p, a, len(out))
        got = pos >= 0
        out[got] = a[pos[got]]

    def nearest(self, lon, lat, tolerance_km: float, cells=None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest polygon within ``tolerance_km`` of each point: see
        :func:`geolookup.core.pointnearest.nearest` (layer in EPSG:4326)."""
        return nearest(self, lon, lat, tolerance_km, cells)


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
