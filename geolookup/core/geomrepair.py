"""Repair of invalid geometries, shared by the GADM, NUTS and provider-geometry readers."""

from __future__ import annotations

import warnings

import numpy as np
import shapely


class GeometryRepairWarning(UserWarning):
    """Some geometries read from a file were invalid and were repaired with shapely.make_valid."""


def repair_invalid(geoms, label: str | None = None, stacklevel: int = 3) -> tuple[np.ndarray, int]:
    """Invalid geometries repaired; missing ones left as they are.

    Input: N shapely geometries (any sequence; None allowed), and ``label`` (the file or layer the
    geometries come from) to warn with; None = no warning. Output: ``(geoms, count)``: a new object
    array (N,) where every invalid geometry is replaced by ``shapely.make_valid(method="structure",
    keep_collapsed=False)`` -- polygons stay polygonal (a bow tie becomes two triangles),
    collapsed parts are dropped, a second pass where GEOS left parts sharing an edge -- and the
    number repaired. Vectorized (one GEOS call per pass).
    Warns GeometryRepairWarning "<label>: repaired N invalid geometries with shapely.make_valid".
    """
    geoms = np.array(geoms, dtype=object)
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    count = int(bad.sum())
    if count:
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
        # GEOS may return polygons sharing an edge as a (still invalid) MultiPolygon; a second
        # pass dissolves them
        again = bad & ~shapely.is_valid(geoms)
        if again.any():
            geoms[again] = shapely.make_valid(geoms[again], method="structure", keep_collapsed=False)
        if label is not None:
            warnings.warn(f"{label}: repaired {count} invalid geometries with shapely.make_valid",
                          GeometryRepairWarning, stacklevel=stacklevel)
    return geoms, count
