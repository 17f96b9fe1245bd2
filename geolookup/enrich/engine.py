"""The enrich step shared by every engine: chunks in, the same chunks with GADM GID and NUTS codes out.

:class:`Enricher` holds the polygon layers' point indexes (built once, picklable: Dask ships it
to each worker once) and turns one chunk's coordinates into the new columns. :func:`enrich_tables`
is the one per-partition function: the local engine runs it over the whole input, the Dask
engine over each file of a dataset.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyproj

from geolookup.core.errors import InputError
from geolookup.core.pointindex import index_for

from . import coords
from .sources import Source, batches


# Arrow arrays are built from their buffers here: pyarrow.array() imports pandas (about 0.3 s of a
# one-second run), which enrich from Parquet does not otherwise need.
def _int32_array(values: np.ndarray) -> pa.Array:
    values = np.ascontiguousarray(values, dtype=np.int32)
    return pa.Array.from_buffers(pa.int32(), len(values), [None, pa.py_buffer(values)])


def _float64_array(values: np.ndarray) -> pa.Array:
    """float64 array with NaN as null (an empty CSV cell)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    valid = ~np.isnan(values)
    nulls = len(values) - int(valid.sum())
    mask = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(pa.float64(), len(values), [mask, pa.py_buffer(values)], null_count=nulls)


def _string_array(values) -> pa.Array:
    data = [str(v).encode("utf-8") for v in values]
    offsets = np.zeros(len(data) + 1, dtype=np.int32)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(data), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])


class _CodedText:
    """Strings ``values[idx]`` ("" where idx is -1) as Arrow dictionary arrays of the distinct values:
    no string is copied per row, and Parquet writes the codes without hashing each row. The distinct
    values are found once per layer, not per chunk."""

    def __init__(self, values):
        labels, inverse = np.unique(np.append(np.asarray(values, dtype=object), ""), return_inverse=True)
        self.inverse = inverse.astype("int32")  # [-1] is the code of ""
        self.labels = _string_array(labels.tolist())

    def __call__(self, idx: np.ndarray) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(_int32_array(self.inverse[idx]), self.labels)


class Enricher:
    """What enrich adds to each point: the containing GADM area's GID and the NUTS codes.

    Parameters
    ----------
    country : str, optional
        ISO3 code: add ``gid``, the GID of the GADM 3.6 area containing the point.
    gadm_level : int, optional
        GADM level (0 = country; default the finest available).
    nuts_level : int
        Add ``nuts_0`` .. ``nuts_<nuts_level>``, ``nuts_method``, ``nuts_distance_km``
        (see :func:`geolookup.nuts.assign_nuts`); None for no NUTS columns.
    nuts_scale : str, optional
        GISCO scale (default from nuts/defaults.toml).
    data_dir : path, optional
        Data folder.

    The NUTS nearest-region fallback and codes apply only when ``country`` is a NUTS country or
    not given (the points' country is then unknown).
    """

    def __init__(self, country=None, gadm_level=None, nuts_level=3, nuts_scale=None, data_dir=None):
        from geolookup import nuts
        from geolookup.core import config

        self.country = str(country).upper() if country else None
        self.gadm = None
        if country:
            from geolookup import gadm  # (geopandas and GDAL load only when a GADM layer is read)

            self.gadm_level = gadm_level if gadm_level is not None else max(gadm.available_levels(country, data_dir))
            areas = gadm.load_areas(country, self.gadm_level, data_dir=data_dir)
            self.gids = areas["gid"].to_numpy(dtype=object)
            self._gid_text = _CodedText(self.gids)
            self.gadm = index_for(areas.geometry.values)
        self.nuts = None
        if nuts_level is not None:
            self.nuts_level = int(nuts_level)
            self.nuts = nuts.nuts_layer(self.nuts_level, nuts_scale, data_dir=data_dir)  # kept on disk between runs
            self.tolerance_km = float(config.section("nuts").get("tolerance_km", 5))
            self.blocked = bool(self.country) and self.country not in nuts.nuts_countries()
            self.methods = nuts.assign.METHODS
            codes = self.nuts.codes
            self._nuts_text = [_CodedText([c[: 2 + k] for c in codes]) for k in range(self.nuts_level + 1)]
            self._method_text = _CodedText(self.methods)

    @property
    def columns(self) -> list[str]:
        """Names of the columns added, in order."""
        cols = ["gid"] if self.gadm is not None else []
        if self.nuts is not None:
            cols += [f"nuts_{k}" for k in range(self.nuts_level + 1)] + ["nuts_method", "nuts_distance_km"]
        return cols

    def apply(self, lon: np.ndarray, lat: np.ndarray, counts: Counter) -> list[pa.Array]:
        """The added columns for N points (float64 degrees WGS84, NaN = missing), as Arrow arrays of
        length N in :attr:`columns` order: text as dictionary<int32, string> ("" when none; read
        back by pandas as categorical), ``nuts_distance_km`` float64 km (null when none)."""
        out = []
        if self.gadm is not None:
            idx = self.gadm.within(lon, lat)
            out.append(self._gid_text(idx))
            counts["gid"] += int((idx >= 0).sum())
        if self.nuts is not None:
            outside = np.full(len(lon), True) if self.blocked else None
            idx, method, dist = self.nuts.locate(lon, lat, self.tolerance_km, outside)
            out += [text(idx) for text in self._nuts_text]
            out.append(self._method_text(method))
            out.append(_float64_array(dist))  # NaN -> null: an empty cell
            valid = ~(np.isnan(lon) | np.isnan(lat))
            per_method = np.bincount(method[valid], minlength=len(self.methods))
            for k, name in enumerate(self.methods):
                counts[name] += int(per_method[k])
        return out


@dataclass
class Options:
    """How to read the points: coordinate columns (or the geometry column), their CRS, chunk size."""

    lat_col: str | None = None
    lon_col: str | None = None
    crs: str = "EPSG:4326"
    representative_point: bool = False
    chunk_size: int = 250_000

    def transformer(self):
        try:
            src = pyproj.CRS.from_user_input(self.crs)
        except pyproj.exceptions.CRSError:
            raise InputError(f"--crs {self.crs!r} is not a known CRS; give e.g. EPSG:4326 or EPSG:3035") from None
        return None if src.equals("EPSG:4326") else pyproj.Transformer.from_crs(src, 4326, always_xy=True)


def check_source(src: Source, opts: Options, enricher: Enricher, first: pa.Table) -> None:
    """One-line InputError when the columns asked for are missing or the new ones already exist."""
    names = first.column_names
    if opts.lat_col or opts.lon_col:
        if not (opts.lat_col and opts.lon_col):
            raise InputError("give both --lat-col and --lon-col (or neither, for a file with point geometry)")
        if opts.lat_col not in names or opts.lon_col not in names:
            # (tableio imports pandas: only to word the error as every command does)
            from geolookup.core.tableio import check_columns

            check_columns(_Cols(names), [opts.lat_col, opts.lon_col], str(src.path))
    elif src.geometry is None:
        raise InputError(f"{src.path}: no geometry column; give --lat-col and --lon-col")
    clash = [c for c in enricher.columns if c in names]
    if clash:
        raise InputError(f"{src.path}: already has column(s) {', '.join(clash)}; rename them first")


class _Cols:
    """Just enough of a DataFrame for ``tableio.check_columns``."""

    def __init__(self, names):
        self.columns = list(names)


def enrich_tables(src: Source, enricher: Enricher, opts: Options, counts: Counter, files=None):
    """Yield each input chunk (Arrow table, columns unchanged) with :attr:`Enricher.columns` appended.

    The one per-partition function of every engine. ``files`` restricts a Parquet dataset to
    some of its files. ``counts`` accumulates rows, missing (no coordinates), gid, within,
    nearest, none.
    """
    transformer = opts.transformer() if opts.lat_col else None
    crs = src.crs if src.crs is not None else pyproj.CRS.from_user_input(opts.crs)
    label = str(files[0] if files and len(files) == 1 else src.path)
    for table in batches(src, opts.chunk_size, files):
        if counts["chunks"] == 0:
            check_source(src, opts, enricher, table)
        first_row = counts["rows"] + 2  # header is row 1
        if opts.lat_col:
            lon, lat, missing = coords.from_columns(table, opts.lat_col, opts.lon_col, label, first_row, transformer)
        else:
            lon, lat, missing = coords.from_geometry(table, src.geometry, label, first_row, crs,
                                                     opts.representative_point)
        for name, arr in zip(enricher.columns, enricher.apply(lon, lat, counts)):
            table = table.append_column(name, arr)
        counts["rows"] += table.num_rows
        counts["missing"] += int(missing.sum())
        counts["chunks"] += 1
        yield table
