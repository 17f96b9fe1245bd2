"""Point inputs of ``geolookup enrich``, read in streamed Arrow chunks without text round trips.

CSV (any encoding/separator ``geolookup.core.tableio`` accepts; every cell stays text, so codes keep
their leading zeros), Parquet (numeric coordinates stay numeric), a folder of Parquet files read
as one dataset, GeoParquet (WKB point geometry and its CRS from the ``geo`` metadata), and
GeoPackage / GeoJSON / FlatGeobuf / shapefile through GDAL (pyogrio's Arrow stream).
"""

from __future__ import annotations

import codecs
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyproj

from geolookup.core.errors import InputError

CSV_EXT = {".csv", ".txt", ".tsv"}
PARQUET_EXT = {".parquet", ".pq", ".geoparquet"}
OGR_EXT = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".fgb": "FlatGeobuf",
           ".shp": "ESRI Shapefile"}
WGS84 = pyproj.CRS.from_epsg(4326)


@dataclass
class Source:
    """An opened point input: its kind, files, and geometry column (name, CRS) when it has one."""

    path: Path
    kind: str  # "csv" | "parquet" | "ogr"
    files: list[Path]
    geometry: str | None = None
    crs: pyproj.CRS | None = None
    geo_meta: dict | None = field(default=None, repr=False)  # GeoParquet "geo" metadata to write back
    csv_opts: dict | None = field(default=None, repr=False)


def _csv_encoding(path: Path) -> str:
    """The encoding the whole file decodes with, in ``tableio`` order: UTF-8 (BOM stripped), cp1252,
    Latin-1; streamed in 4 MB blocks through incremental decoders (files larger than memory)."""
    from geolookup.core.tableio import ENCODINGS

    alive = {enc: codecs.getincrementaldecoder(enc)() for enc in ENCODINGS[:-1]}  # the last one never fails
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            for name, dec in list(alive.items()):
                try:
                    dec.decode(block)
                except UnicodeDecodeError:
                    del alive[name]
            if not alive:
                break
    for name, dec in list(alive.items()):
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            del alive[name]
    return next(iter(alive), ENCODINGS[-1])


def _geo_crs(meta: dict, label) -> pyproj.CRS:
    col = meta.get("columns", {}).get(meta.get("primary_column"), {})
    crs = col.get("crs", "OGC:CRS84")  # GeoParquet: a missing crs means OGC:CRS84 (lon/lat WGS84)
    if crs is None:
        raise InputError(f"{label}: the geometry column declares no CRS (crs: null); set one before enriching")
    return pyproj.CRS.from_user_input(crs)


def _open_parquet(path: Path, files: list[Path]) -> Source:
    metas, schemas = [], []
    for f in files:
        try:
            schema = pq.read_schema(f)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{f}: not a readable Parquet file ({exc}); check the file") from None
        raw = (schema.metadata or {}).get(b"geo")
        metas.append(json.loads(raw) if raw else None)
        schemas.append(schema.remove_metadata())
    for f, s in zip(files[1:], schemas[1:]):
        if s.names != schemas[0].names:
            raise InputError(f"{f}: columns {s.names[:10]} differ from {files[0].name}'s {schemas[0].names[:10]}; "
                             "a dataset's files must share their columns")
    src = Source(path, "parquet", files)
    if metas[0] is not None:
        crss = [_geo_crs(m, f) if m else None for m, f in zip(metas, files)]
        if any(c is None or not c.equals(crss[0]) for c in crss):
            names = ", ".join(f"{f.name} ({c.to_string() if c else 'no geometry'})" for f, c in zip(files, crss))
            raise InputError(f"{path}: the files' geometry CRSs differ: {names}; reproject them to one CRS")
        src.geometry, src.crs, src.geo_meta = metas[0]["primary_column"], crss[0], metas[0]
    return src


def _open_ogr(path: Path) -> Source:
    import pyogrio

    try:
        info = pyogrio.read_info(path)
    except Exception as exc:  # pyogrio raises DataSourceError and GDAL errors of several kinds
        raise InputError(f"{path}: not a readable {OGR_EXT[path.suffix.lower()]} file ({exc}); check the file") from None
    crs = pyproj.CRS.from_user_input(info["crs"]) if info.get("crs") else None
    return Source(path, "ogr", [path], geometry=info.get("geometry_name") or "wkb_geometry", crs=crs)


def _open_csv(path: Path) -> Source:
    from geolookup.core.tableio import check_unique_header, sniff_separator  # (pandas: CSV inputs only)

    if not path.is_file():
        raise InputError(f"{path}: file not found; check the path")
    with open(path, "rb") as fh:
        raw_head = fh.read(65536)
    if not raw_head.strip():
        raise InputError(f"{path}: file is empty; it needs a header line and at least one row")
    enc = _csv_encoding(path)
    head = raw_head.decode(enc, errors="ignore")
    sep = sniff_separator(head)
    header = next(csv.reader(head.splitlines()[:1] or [""], delimiter=sep), [])
    names = [c.strip().lstrip("\ufeff") for c in header]
    check_unique_header(names, path)
    return Source(path, "csv", [path], csv_opts=dict(encoding=enc, sep=sep, names=names))


def open_source(path) -> Source:
    """Open a point input by its extension (or a folder of Parquet files).

    Raises InputError (one line) for a missing file, an unknown extension, an unreadable file,
    a dataset whose files differ in columns or geometry CRS (naming the files).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in PARQUET_EXT and not p.name.startswith((".", "_")))
        if not files:
            raise InputError(f"{path}: folder holds no .parquet file; give a CSV/Parquet file or a Parquet dataset folder")
        return _open_parquet(path, files)
    ext = path.suffix.lower()
    if ext not in CSV_EXT | PARQUET_EXT | set(OGR_EXT):
        raise InputError(f"{path}: unknown input format {path.suffix or '(no extension)'!r}; use .csv, .parquet, "
                         ".gpkg, .geojson, .fgb or a folder of .parquet files")
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path")
    if ext in PARQUET_EXT:
        return _open_parquet(path, [path])
    if ext in OGR_EXT:
        return _open_ogr(path)
    return _open_csv(path)


def count_rows(src: Source) -> int | None:
    """Rows of the input when known without reading it (Parquet metadata), else None."""
    if src.kind == "parquet":
        return sum(pq.ParquetFile(f).metadata.num_rows for f in src.files)
    return None


def batches(src: Source, chunk_size: int, files: list[Path] | None = None):
    """Yield Arrow tables of at most ``chunk_size`` rows, in file order (CSV cells as text)."""
    if src.kind == "parquet":
        for f in files or src.files:
            try:
                pf = pq.ParquetFile(f)
                for batch in pf.iter_batches(batch_size=chunk_size):
                    yield pa.Table.from_batches([batch]).replace_schema_metadata(None)
            except (pa.ArrowInvalid, OSError) as exc:
                raise InputError(f"{f}: not a readable Parquet file ({exc}); check the file") from None
        return
    if src.kind == "ogr":
        import pyogrio

        with pyogrio.open_arrow(src.path, batch_size=chunk_size, use_pyarrow=True) as (_, reader):
            for batch in reader:
                yield pa.Table.from_batches([batch])
        return
    o = src.csv_opts
    enc = "utf8" if o["encoding"].startswith("utf-8") else o["encoding"]
    read = pacsv.ReadOptions(column_names=o["names"], skip_rows=1, encoding=enc, block_size=1 << 23)
    parse = pacsv.ParseOptions(delimiter=o["sep"], newlines_in_values=True)
    conv = pacsv.ConvertOptions(column_types={n: pa.string() for n in o["names"]}, strings_can_be_null=False,
                                quoted_strings_can_be_null=False)
    try:
        reader = pacsv.open_csv(src.path, read_options=read, parse_options=parse, convert_options=conv)
        for batch in reader:
            t = pa.Table.from_batches([batch])
            for i in range(0, t.num_rows, chunk_size):
                yield t.slice(i, chunk_size)
    except pa.ArrowInvalid as exc:
        first = str(exc).splitlines()[0]
        if "Empty CSV file" in first:
            return
        raise InputError(f"{src.path}: not a valid CSV ({first}); check quotes and separators") from None
