"""Provider geometry: WKT parsing, equal-area measures and overlaps with GADM areas.

Provider geometry is WKT in EPSG:4326 degrees (lon lat order), one cell per row. Areas are
measured in EPSG:6933 (WGS 84 / NSIDC EASE-Grid 2.0 Global, a cylindrical equal-area CRS), after
densifying edges to ``SEGMENT_DEG`` (GADM edges are straight lines in degrees). Only ratios of
such areas are used, and an equal-area projection keeps area ratios exact.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyproj
import shapely

from geolookup.core.errors import InputError, where
from geolookup.core.geomrepair import repair_invalid

SEGMENT_DEG = 0.05
_EA = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)
_POLYGONAL = (3, 6, 7)  # Polygon, MultiPolygon, GeometryCollection (polygonal parts kept)
_TYPES = {0: "POINT", 1: "LINESTRING", 2: "LINEARRING", 4: "MULTIPOINT", 5: "MULTILINESTRING"}


def equal_area_m2(geoms) -> np.ndarray:
    """Area in square metres of each geometry (array of N shapely geometries in EPSG:4326 degrees;
    None allowed -> NaN), measured in EPSG:6933 after densifying edges to ``SEGMENT_DEG`` degrees.
    Output: float64 array (N,)."""
    g = shapely.segmentize(np.asarray(geoms, dtype=object), SEGMENT_DEG)
    g = shapely.transform(g, lambda x, y: _EA.transform(x, y), interleaved=False)
    return shapely.area(g).astype("float64")


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygonal parts of each geometry as one MultiPolygon (None when it has none); vectorized
    (collections from make_valid may hold lines and points next to polygons)."""
    geoms = np.asarray(geoms, dtype=object)
    p, i = shapely.get_parts(geoms, return_index=True)
    p, j = shapely.get_parts(p, return_index=True)  # a collection may hold MultiPolygons
    i = i[j]
    keep = np.isin(shapely.get_type_id(p), (3, 6))
    p, k = shapely.get_parts(p[keep], return_index=True)  # MultiPolygons -> Polygons
    i = i[keep][k]
    out = np.full(len(geoms), None, dtype=object)
    if len(p):
        shapely.multipolygons(p, indices=i, out=out)
    return out


def parse_wkt(values, label, column: str, first_row: int = 2) -> np.ndarray:
    """Parse a column of WKT cells (provider geometry, EPSG:4326 degrees, lon lat order).

    Input: N cells (str; "" = no geometry; EWKT ``SRID=4326;...`` accepted), ``label`` (file name for messages), ``column`` and the
    spreadsheet row of the first cell (2 = right after the header; geolookup.core.errors.where).
    Output: object array (N,) of 2D MultiPolygons, None where the cell is empty or the geometry
    is EMPTY. Invalid polygons (self-intersections, bow ties) are repaired with make_valid, keeping
    their polygonal parts.
    Raises InputError (one line: file, row, column, fix) for text that is not WKT, a geometry that
    is not an area (POINT, LINESTRING...), an EWKT SRID other than 4326, coordinates outside [-180, 180] x [-90, 90] (projected
    coordinates or a CRS mix-up) or a geometry without area.
    """
    text = pd.Series(values, dtype=object).fillna("").astype(str).str.strip().to_numpy(dtype=object)
    present = text != ""

    def fail(mask, what):
        k = int(np.flatnonzero(mask)[0])
        cell = text[k] if len(text[k]) <= 40 else text[k][:37] + "..."
        raise InputError(f"{where(label, first_row + k, column)}: {cell!r} {what}")

    srid = pd.Series(text, dtype=object).str.extract(r"^\s*SRID\s*=\s*(\d+)\s*;", expand=False).fillna("").to_numpy()
    if ((srid != "") & (srid != "4326")).any():
        fail((srid != "") & (srid != "4326"), "is in another CRS (EWKT SRID); reproject it to EPSG:4326 degrees")
    ew = srid != ""
    if ew.any():
        text[ew] = [t.split(";", 1)[1].strip() for t in text[ew]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geoms = shapely.from_wkt(np.where(present, text, None), on_invalid="ignore")
    if (present & shapely.is_missing(geoms)).any():
        fail(present & shapely.is_missing(geoms),
             "is not valid WKT; write e.g. POLYGON ((lon lat, lon lat, ...)) with closed rings, degrees EPSG:4326")
    geoms = np.where(shapely.is_empty(geoms), None, geoms)
    present = ~shapely.is_missing(geoms)
    tid = shapely.get_type_id(geoms)
    wrong = present & ~np.isin(tid, _POLYGONAL)
    if wrong.any():
        t = _TYPES.get(int(tid[np.flatnonzero(wrong)[0]]), "geometry")
        fail(wrong, f"is a {t}, not an area; give polygons here, and points through the latitude/longitude columns")
    b = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        out = present & ((b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)
                         | ~np.isfinite(b).all(axis=1))
    if out.any():
        fail(out, "has coordinates outside longitude [-180, 180] / latitude [-90, 90]; give WKT in degrees "
                  "EPSG:4326 in lon lat order (projected metres or a CRS mix-up?)")
    geoms = shapely.force_2d(geoms)
    geoms, _ = repair_invalid(geoms)
    geoms[present] = polygonal(geoms[present])
    flat = present & ~(shapely.area(geoms) > 0)
    if flat.any():
        fail(flat, "has no area (after repairing invalid rings); give the polygon of the place")
    return geoms


def overlaps(geoms: np.ndarray, M) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Overlaps of provider geometries with the GADM areas of matcher ``M`` (one GADM level).

    Input: N shapely geometries (EPSG:4326, none missing). Output ``(row, pos, inter_m2, share)``,
    one entry per (geometry, area) pair whose shapes intersect (STRtree query on the whole array,
    intersections vectorized): row in 0..N-1, area position in ``M.areas``, overlap area (m²,
    EPSG:6933) and its share of the GADM area's own area (0-1).
    """
    row, pos = M.geo_tree().query(geoms, predicate="intersects")
    if len(row) == 0:
        z = np.zeros(0)
        return row, pos, z, z
    inter = shapely.intersection(geoms[row], M.areas.geometry.to_numpy()[pos])
    inter_m2 = np.nan_to_num(equal_area_m2(inter))
    own = M.area_m2(pos)
    share = np.divide(inter_m2, own, out=np.zeros_like(inter_m2), where=own > 0)
    return row, pos, inter_m2, np.minimum(share, 1.0)
