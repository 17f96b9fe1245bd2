"""Interior points, equal-area centroids and point-in-area lookup for GADM areas.

Interior point: the COVID-19 Data Hub paper ("Spatial data") gives each area "a point that lies on
the surface of the administrative area", i.e. GEOS PointOnSurface of the GADM 3.6 polygon in
EPSG:4326 (the Data Hub's ESP latitude/longitude equal it exactly).

Centroid: computed in an equal-area projection, never in degrees. Each geometry is projected to a
Lambert azimuthal equal-area (LAEA, WGS84 ellipsoid) centred on the 10-degree grid cell that holds
its vertex mean on the sphere (the mean of the vertices' unit vectors, so areas crossing the
antimeridian are handled), its planar centroid is taken there and projected back. One projection
per occupied grid cell, geometries vectorized within a cell. LAEA keeps areas exact, and within
10 degrees of its centre its shape distortion is small, so the result is close to the centroid on
the ellipsoid (a single global CRS such as EPSG:6933 distorts shape strongly at high latitudes).
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from geolookup.core.geodesy import geodesic_km  # noqa: F401 (public as gadm.geodesic_km)
from geolookup.core.pointindex import index_for

CELL_DEG = 10.0
#: Longest edge (degrees) kept when projecting; GADM edges are straight lines in EPSG:4326.
SEGMENT_DEG = 0.05


def _geoms(geometry) -> np.ndarray:
    """Shapely geometry array in EPSG:4326 from a GeoSeries/GeoDataFrame/array/list/one geometry."""
    crs = getattr(geometry, "crs", None)
    if hasattr(geometry, "geometry"):
        series = geometry.geometry
        if crs is not None and not crs.equals("EPSG:4326"):
            series = series.to_crs(4326)
        return np.asarray(series.values, dtype=object)
    if isinstance(geometry, shapely.Geometry):
        return np.array([geometry], dtype=object)
    return np.asarray(geometry, dtype=object)


def interior_points(geometry) -> tuple[np.ndarray, np.ndarray]:
    """GEOS PointOnSurface of every geometry (``shapely.point_on_surface``, vectorized).

    Input: geometries in EPSG:4326 (a GeoSeries/GeoDataFrame in another CRS is reprojected to
    EPSG:4326 first), N items. Output: ``(lon, lat)``, two float64 arrays of length N in degrees
    WGS84; NaN for missing or empty geometry. Each point lies inside its polygon (on its boundary
    only for degenerate polygons). Rule: Data Hub paper, "Spatial data".
    """
    pts = shapely.point_on_surface(_geoms(geometry))
    return shapely.get_x(pts).astype("float64"), shapely.get_y(pts).astype("float64")


def _vertex_means(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat (degrees) of the mean unit vector of each geometry's vertices; NaN when empty."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    n = len(geoms)
    vx = np.bincount(idx, np.cos(lat) * np.cos(lon), n)
    vy = np.bincount(idx, np.cos(lat) * np.sin(lon), n)
    vz = np.bincount(idx, np.sin(lat), n)
    empty = np.bincount(idx, minlength=n) == 0
    clon = np.degrees(np.arctan2(vy, vx))
    clat = np.degrees(np.arctan2(vz, np.hypot(vx, vy)))
    clon[empty] = np.nan
    clat[empty] = np.nan
    return clon, clat


def centroids(geometry) -> tuple[np.ndarray, np.ndarray]:
    """Centroids computed in an equal-area projection, returned in degrees WGS84.

    Input: geometries as for :func:`interior_points` (N items). Output: ``(lon, lat)`` float64
    arrays of length N, degrees EPSG:4326; NaN for missing/empty geometry. Projection: LAEA centred
    on the 10-degree cell of the geometry's spherical vertex mean (see module docstring); edges
    longer than 0.05 degrees are densified first, since GADM edges are straight in degrees. The
    centroid of a non-convex area may lie outside it; use :func:`interior_points` for a point on
    the area.
    """
    geoms = _geoms(geometry)
    n = len(geoms)
    lon_out = np.full(n, np.nan)
    lat_out = np.full(n, np.nan)
    clon, clat = _vertex_means(geoms)
    ok = ~np.isnan(clon)
    if not ok.any():
        return lon_out, lat_out
    cell_lon = np.floor(clon[ok] / CELL_DEG) * CELL_DEG + CELL_DEG / 2
    cell_lat = np.clip(np.floor(clat[ok] / CELL_DEG) * CELL_DEG + CELL_DEG / 2, -90, 90)
    rows = np.flatnonzero(ok)
    cells, inverse = np.unique(np.column_stack([cell_lon, cell_lat]), axis=0, return_inverse=True)
    for c, (lon0, lat0) in enumerate(cells):  # one projection per occupied 10-degree cell
        sel = rows[inverse.ravel() == c]
        laea = pyproj.CRS.from_proj4(f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs")
        fwd = pyproj.Transformer.from_crs("EPSG:4326", laea, always_xy=True)
        dense = shapely.segmentize(geoms[sel], SEGMENT_DEG)  # edges are straight in degrees: keep them so
        projected = shapely.transform(dense, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
        cen = shapely.centroid(projected)
        x, y = fwd.transform(shapely.get_x(cen), shapely.get_y(cen), direction="INVERSE")
        lon_out[sel], lat_out[sel] = x, y
    return lon_out, lat_out


def locate(lon, lat, areas, tree=None) -> np.ndarray:
    """Positional index into ``areas`` of the area containing each point, -1 when none.

    Parameters
    ----------
    lon, lat : array-like of float, shape (N,)
        Degrees WGS84; NaN allowed.
    areas : GeoDataFrame
        M areas in any CRS (the points are reprojected to it).
    tree : shapely.STRtree, optional
        Accepted for compatibility and not needed: the layer's cached point index
        (:func:`geolookup.core.pointindex.index_for`) holds its own tree.

    Returns
    -------
    numpy.ndarray of int64, shape (N,)
        Semantics of ``geopandas.sjoin(predicate="within")`` keeping the lowest index: a point on a
        boundary, outside every area or with NaN coordinates gives -1; a point inside several
        overlapping areas gets the lowest index. The grid index is built once per layer and reused
        by every later call on the same geometries (copies of ``areas`` included).
    """
    lon = np.asarray(lon, dtype="float64").ravel()
    lat = np.asarray(lat, dtype="float64").ravel()
    if not len(lon) or not len(areas):
        return np.full(len(lon), -1, dtype="int64")
    crs = getattr(areas, "crs", None)
    if crs is not None and not crs.equals("EPSG:4326"):
        lon, lat = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    return index_for(areas.geometry.values).within(lon, lat)


def distance_to_areas_km(lon, lat, geometries) -> np.ndarray:
    """Distance in km from each point to its paired area: 0 when the area covers the point,
    NaN when the point or the area is missing.

    Inputs: lon/lat arrays (degrees WGS84) and an equal-length sequence of shapely geometries in
    EPSG:4326 (None allowed). The nearest boundary point is found in degree space
    (``shapely.shortest_line``), then the ellipsoidal distance to it is measured (pyproj.Geod):
    good to a few percent for the short distances it is used for (curators' hints, validation
    tolerance for simplified geometry). Vectorized; no loop per point.
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    geoms = np.asarray(list(geometries), dtype=object)
    out = np.full(len(lon), np.nan)
    if not len(lon):
        return out
    ok = np.isfinite(lon) & np.isfinite(lat) & ~shapely.is_missing(geoms)
    if not ok.any():
        return out
    pts = shapely.points(lon[ok], lat[ok])
    inside = shapely.covers(geoms[ok], pts)
    dist = np.zeros(int(ok.sum()))
    far = ~inside
    if far.any():
        nearest = shapely.get_point(shapely.shortest_line(pts[far], geoms[ok][far]), 1)
        dist[far] = geodesic_km(lon[ok][far], lat[ok][far], shapely.get_x(nearest), shapely.get_y(nearest))
    out[ok] = dist
    return out
