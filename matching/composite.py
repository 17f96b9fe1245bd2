"""Composite provider areas: one provider entity made of several GADM areas."""

from __future__ import annotations

import numpy as np
import shapely

from geolookup.core.errors import GeolookupError


def resolve_composite(part_gids, areas):
    """The Data Hub rule for an area made of several GADM areas.

    Input: ``part_gids`` list of GIDs (>= 1) all present in ``areas`` (a gadm.load_areas
    GeoDataFrame in EPSG:4326 with columns ``gid`` and ``geometry``).
    Output: ``(gid, lon, lat)``: ``gid`` is the part whose geometry is closest to the centroid of
    the union of all parts (distance 0 when the centroid lies inside it; ties go to the first part
    given); ``lon``/``lat`` (degrees WGS84) are the interior point (GEOS PointOnSurface) of the
    union. "Centroid" is taken as the centre of the union's extent (bounding box, degrees WGS84).
    This choice is verified on ONE case only -- the Data Hub's "New York City" -> USA.33.32_1 (New
    York County), the only composite in the reference tables -- and it is the only variant tried
    that reproduces it: the area-weighted centroid, in degrees or in an equal-area CRS, falls in
    Queens (USA.33.42_1) or Kings. Treat it as the Data Hub's observed behaviour, not a general law.
    Source: COVID-19 Data Hub USA lookup table.
    Raises GeolookupError when a part is not in ``areas``.
    """
    from geolookup import gadm

    gids = areas["gid"].astype(str).to_numpy()
    pos = []
    for g in part_gids:
        hit = np.flatnonzero(gids == g)
        if hit.size == 0:
            raise GeolookupError(f"composite part {g} is not a GADM area of this level; fix the alias/crosswalk row")
        pos.append(int(hit[0]))
    geoms = areas.geometry.to_numpy()[pos]
    union = shapely.union_all(geoms)
    x0, y0, x1, y1 = shapely.bounds(union)
    dist = shapely.distance(geoms, shapely.points((x0 + x1) / 2, (y0 + y1) / 2))
    best = int(np.argmin(dist))
    lon, lat = gadm.interior_points(np.array([union], dtype=object))
    return str(part_gids[best]), float(lon[0]), float(lat[0])
