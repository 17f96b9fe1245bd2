"""Coordinates of one chunk in degrees WGS84: from lat/lon columns (numbers or text) or a point geometry.

Numbers stay numbers (Parquet floats go straight to numpy); text cells (CSV) are parsed by Arrow
(``.`` or ``,`` decimal); WKB points are decoded from their bytes with numpy, no geometry object
per point. Anything wrong stops with one line naming file, row (header = row 1) and column, the
message of ``geolookup.core.tableio.numeric_column``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from geolookup.core.errors import InputError, where

_MISSING_TEXT = ("", "nan", "NaN", "NA", "None")


def _float64_values(arr: pa.Array) -> np.ndarray:
    """float64 values of an Arrow array (cast to float64), NaN where null, read from its buffers:
    pyarrow's to_numpy imports pandas, which enrich from Parquet otherwise does without."""
    arr = arr.cast(pa.float64())
    values = np.frombuffer(arr.buffers()[1], dtype=np.float64, count=len(arr), offset=arr.offset * 8)
    if arr.null_count:
        bits = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8), bitorder="little")
        values = np.where(bits[arr.offset:arr.offset + len(arr)].astype(bool), values, np.nan)
    return values


def _numbers(col: pa.ChunkedArray, name: str, label, first_row: int, lo: float, hi: float) -> np.ndarray:
    """float64 array of a numeric or text column; NaN for empty/null; InputError as numeric_column."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    try:
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            text = pc.replace_substring(pc.utf8_trim_whitespace(arr), ",", ".")
            text = pc.if_else(pc.is_in(text, value_set=pa.array(_MISSING_TEXT)), pa.scalar(None, text.type), text)
            arr = pc.cast(text, pa.float64())
        values = _float64_values(arr)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = None
    if values is None or ((values < lo) | (values > hi)).any():
        import pandas as pd  # only to word the error as every command does

        from geolookup.core.tableio import numeric_column

        numeric_column(pd.DataFrame({name: col.to_pandas().astype(object)}), name, label, lo, hi, first_row)
        if values is None:  # numeric_column accepts what Arrow refused (e.g. "1.") : use its parse
            values = numeric_column(pd.DataFrame({name: col.to_pandas().astype(object)}), name, label, lo, hi,
                                    first_row).to_numpy()
    return values


def from_columns(table: pa.Table, lat_col: str, lon_col: str, label, first_row: int, transformer=None):
    """(lon, lat, missing) of a chunk from its coordinate columns; ``transformer`` maps the columns'
    CRS to EPSG:4326 (None when they are degrees already)."""
    geo = transformer is None
    lat = _numbers(table.column(lat_col), lat_col, label, first_row, -90 if geo else -np.inf, 90 if geo else np.inf)
    lon = _numbers(table.column(lon_col), lon_col, label, first_row, -180 if geo else -np.inf, 180 if geo else np.inf)
    return _finish(lon, lat, label, first_row, lon_col, transformer)


def _finish(lon, lat, label, first_row, column, transformer):
    missing = np.isnan(lat) | np.isnan(lon)
    lat, lon = np.where(missing, np.nan, lat), np.where(missing, np.nan, lon)
    if transformer is not None:
        lon, lat = transformer.transform(lon, lat)
        bad = ~missing & ~(np.isfinite(lon) & np.isfinite(lat))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{where(label, first_row + i, column)}: point cannot be converted from "
                             f"{transformer.source_crs.to_string()} to degrees; check the CRS")
    return lon, lat, missing


def _wkb_points_fast(arr: pa.Array):
    """(x, y) of WKB 2D points read straight from the bytes, or None when not all are such points."""
    if not (pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type)) or arr.null_count:
        return None
    bufs = arr.buffers()
    off = np.frombuffer(bufs[1], dtype="int64" if pa.types.is_large_binary(arr.type) else "int32")
    off = off[arr.offset: arr.offset + len(arr) + 1]
    if len(arr) == 0 or not (np.diff(off) == 21).all():
        return None
    data = np.frombuffer(bufs[2], dtype="uint8")
    start = off[:-1].astype("int64")
    head = data[start[:, None] + np.arange(5)]
    if not ((head[:, 0] == 1) & (head[:, 1] == 1) & (head[:, 2:] == 0).all(axis=1)).all():
        return None  # not little-endian 2D Point (byte order 1, type 1)
    xy = data[start[:, None] + np.arange(5, 21)].copy().view("<f8")
    return xy[:, 0], xy[:, 1]


def from_geometry(table: pa.Table, column: str, label, first_row: int, crs, representative_point: bool):
    """(lon, lat, missing) of a chunk from its WKB geometry column in ``crs`` (reprojected to EPSG:4326).

    Point geometries are used as they are; any other type stops with a one-line InputError
    suggesting ``--representative-point``, which takes each geometry's point on surface
    (GEOS PointOnSurface) instead.
    """
    arr = table.column(column).combine_chunks()
    fast = _wkb_points_fast(arr)
    if fast is not None:
        x, y = fast
    else:
        geoms = shapely.from_wkb(arr.to_numpy(zero_copy_only=False))
        kind = shapely.get_type_id(geoms)
        other = (kind != 0) & (kind != -1) & ~shapely.is_empty(geoms)
        if other.any():
            i = int(np.flatnonzero(other)[0])
            if not representative_point:
                raise InputError(f"{where(label, first_row + i, column)}: geometry is a {geoms[i].geom_type}, not a "
                                 "point; add --representative-point to use each geometry's point on surface")
            geoms = np.where(other, shapely.point_on_surface(geoms), geoms)
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    transformer = None
    if crs is not None and not crs.equals("EPSG:4326") and not crs.equals("OGC:CRS84"):
        transformer = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat, missing = _finish(np.asarray(x, "float64"), np.asarray(y, "float64"), label, first_row, column,
                                transformer)
    bad = ~missing & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where(label, first_row + i, column)}: ({lon[i]}, {lat[i]}) is not a longitude/latitude; "
                         "the file's CRS does not match its coordinates")
    return lon, lat, missing
