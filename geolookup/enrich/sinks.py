"""Outputs of ``geolookup enrich``: CSV (pyarrow, ``geolookup.core.csvio``), Parquet / GeoParquet, and
GeoPackage / FlatGeobuf / GeoJSON (GDAL through pyogrio's Arrow writer), streamed chunk by chunk.

The input's geometry column and CRS are kept when the output format has geometry (GeoParquet
keeps the input's ``geo`` metadata); CSV gets the geometry as WKT text. Every file is written to
a temporary path and renamed at the end (``geolookup.core.tableio.atomic_path``), and a dataset
folder is written to a hidden staging folder and renamed into place with a ``_SUCCESS`` marker, so
an interrupted run never leaves output that looks complete.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from geolookup.core.errors import InputError

from .sources import CSV_EXT, PARQUET_EXT, Source

GEO_OUT = {".gpkg": "GPKG", ".fgb": "FlatGeobuf", ".geojson": "GeoJSON"}


def output_kind(path: Path, src: Source, folder: bool = False) -> str:
    """"csv", "parquet", "ogr" or "dataset" (a folder of Parquet files) for the output ``path``."""
    ext = path.suffix.lower()
    if folder or (not ext and not path.is_file()):
        return "dataset"
    if ext in CSV_EXT:
        return "csv"
    if ext in PARQUET_EXT:
        return "parquet"
    if ext in GEO_OUT:
        if src.geometry is None:
            raise InputError(f"{path}: {ext} output needs an input with point geometry; write .csv or .parquet")
        return "ogr"
    raise InputError(f"{path}: unknown output format {path.suffix or '(no extension)'!r}; use .csv, .parquet, "
                     f"{', '.join(GEO_OUT)} or a folder (Parquet dataset)")


def check_not_input(out: Path, src: Source) -> None:
    """No command writes over its own input."""
    out = out.resolve()
    for f in [src.path, *src.files]:
        f = Path(f).resolve()
        if out == f or out in f.parents:
            raise InputError(f"{out}: is the input {f}; write the output elsewhere")


def geo_metadata(src: Source) -> bytes | None:
    """GeoParquet ``geo`` metadata for the output: the input's (without its bounding box, which the new
    file may not share) or one built from the input's geometry column and CRS."""
    if src.geometry is None:
        return None
    meta = json.loads(json.dumps(src.geo_meta)) if src.geo_meta else {
        "version": "1.0.0", "primary_column": src.geometry,
        "columns": {src.geometry: {"encoding": "WKB", "geometry_types": []}}}
    for col in meta.get("columns", {}).values():
        col.pop("bbox", None)
    if src.crs is not None and "crs" not in meta["columns"][src.geometry] and not src.geo_meta:
        meta["columns"][src.geometry]["crs"] = src.crs.to_json_dict()
    return json.dumps(meta).encode()


def _csv_ready(table: pa.Table, src: Source) -> pa.Table:
    if src.geometry is None or src.geometry not in table.column_names:
        return table
    i = table.column_names.index(src.geometry)
    wkb = table.column(i).combine_chunks().to_numpy(zero_copy_only=False)
    wkt = shapely.to_wkt(shapely.from_wkb(wkb), rounding_precision=-1)
    return table.set_column(i, src.geometry, pa.array(wkt, type=pa.string()))


def _dictionary_columns(first: pa.Table) -> list[str]:
    """Columns worth Parquet's dictionary encoding: the added code columns (Arrow dictionaries) and the
    input's columns whose first rows repeat values (at most one distinct value per two rows). On ids
    and measurements (all distinct) the encoder would build a hash table only to drop it, which more
    than doubled the write time of a million points."""
    out = []
    for field, col in zip(first.schema, first.columns):
        if pa.types.is_dictionary(field.type):
            out.append(field.name)
        elif not pa.types.is_nested(field.type):
            sample = col.slice(0, 1 << 16)
            if len(sample) and pc.count_distinct(sample).as_py() <= len(sample) // 2:
                out.append(field.name)
    return out


def write_file(path: Path, kind: str, src: Source, tables) -> None:
    """Stream ``tables`` (an iterator of Arrow tables with one schema) into ``path`` atomically."""
    tables = iter(tables)
    # (imported here, not at the top: tableio and csvio import pandas, which a Parquet run does not
    # need; the caller starts computing the first chunks before this import, see run._ahead)
    from geolookup.core.tableio import atomic_path

    with atomic_path(path) as tmp:
        if kind == "csv":
            from geolookup.core.csvio import CsvWriter

            with CsvWriter(tmp) as w:
                for t in tables:
                    w.write(_csv_ready(t, src))
        elif kind == "parquet":
            writer, geo = None, geo_metadata(src)
            try:
                for t in tables:
                    if writer is None:
                        schema = t.schema.with_metadata({b"geo": geo}) if geo else t.schema.remove_metadata()
                        # min/max statistics of dictionary (code) columns cost half their write time and
                        # prune nothing in unsorted data: keep them for the other columns only
                        stats = [f.name for f in schema if not pa.types.is_dictionary(f.type)]
                        writer = pq.ParquetWriter(tmp, schema, write_statistics=stats,
                                                  use_dictionary=_dictionary_columns(t))
                    writer.write_table(t.cast(writer.schema))
            finally:
                if writer is not None:
                    writer.close()
        else:
            import pyogrio

            first = next(tables, None)
            if first is None:
                return
            # GDAL has no dictionary type: write the text itself
            schema = pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                                for f in first.schema])
            stream = (b for t in itertools.chain([first], tables) for b in t.cast(schema).to_batches())
            pyogrio.write_arrow(pa.RecordBatchReader.from_batches(schema, stream), tmp, layer=path.stem,
                                driver=GEO_OUT[path.suffix.lower()], geometry_name=src.geometry,
                                geometry_type="Unknown", crs=src.crs.to_wkt() if src.crs is not None else None,
                                # FlatGeobuf's spatial index would reorder the rows; keep the input's order
                                layer_options={"SPATIAL_INDEX": "NO"} if path.suffix.lower() == ".fgb" else None)


@contextlib.contextmanager
def staged_folder(dest: Path):
    """Yield a hidden staging folder next to ``dest``; on success write ``_SUCCESS`` in it and rename
    it to ``dest`` (an older ``dest`` is replaced only then). On failure or kill, ``dest`` is untouched
    and the staging folder (``.<name>.staging-*``, no ``_SUCCESS``) is all that was written."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.staging-"))
    ok = False
    try:
        yield stage
        (stage / "_SUCCESS").write_text("", encoding="utf-8")
        old = None
        if dest.exists():
            old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.old-"))
            os.replace(dest, old / dest.name)
        os.replace(stage, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        ok = True
    finally:
        if not ok:
            shutil.rmtree(stage, ignore_errors=True)


def partition_name(src: Source, f: Path) -> str:
    """Output file name of the input file ``f`` of a dataset: its path relative to the dataset folder."""
    base = src.path if src.path.is_dir() else src.path.parent
    return str(Path(f).relative_to(base).with_suffix(".parquet"))


__all__ = ["output_kind", "write_file", "staged_folder", "partition_name", "check_not_input"]
