"""``geolookup enrich``: add the containing GADM GID and NUTS codes to every row of a point file.

Reads CSV (any encoding/separator that ``geolookup.core.tableio`` accepts) or Parquet in chunks, so a
file larger than memory works; keeps every input column, in order and unchanged (CSV cells stay
text); writes the output atomically.
"""

from __future__ import annotations

import codecs
import csv
import sys
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
from tqdm import tqdm

from ..core.errors import InputError, where
from ..core.tableio import ENCODINGS, atomic_path, check_columns, check_unique_header, numeric_column, sniff_separator
from . import data_dir_option

CSV_EXT = {".csv", ".txt", ".tsv"}
PARQUET_EXT = {".parquet", ".pq"}


def _csv_encoding(path: Path) -> str:
    """The encoding the whole file decodes with, in ``tableio`` order: UTF-8 (BOM stripped), cp1252, Latin-1.

    Streams the file once in 4 MB blocks through incremental decoders, so it works on files
    larger than memory.
    """
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


def _read_chunks(path: Path, chunksize: int, bar):
    """Yield (DataFrame chunk, arrow table or None) from a CSV (all text) or Parquet file."""
    ext = path.suffix.lower()
    if ext in PARQUET_EXT:
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{path}: not a readable Parquet file ({exc}); check the file") from None
        bar.reset(total=pf.metadata.num_rows)
        for batch in pf.iter_batches(batch_size=chunksize):
            table = pa.Table.from_batches([batch])
            bar.update(table.num_rows)
            yield table.to_pandas(), table
        return
    if not path.is_file():
        raise InputError(f"{path}: file not found; check the path")
    with open(path, "rb") as fh:
        raw_head = fh.read(65536)
    if not raw_head.strip():
        raise InputError(f"{path}: file is empty; it needs a header line and at least one row")
    enc = _csv_encoding(path)
    head = raw_head.decode(enc, errors="ignore")
    sep = sniff_separator(head)
    check_unique_header([c.strip() for c in next(csv.reader(head.splitlines()[:1] or [""], delimiter=sep), [])], path)
    bar.reset(total=path.stat().st_size)
    with open(path, "rb") as fh:
        try:
            reader = pd.read_csv(fh, sep=sep, encoding=enc, dtype=str, keep_default_na=False,
                                 na_filter=False, chunksize=chunksize)
            for chunk in reader:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                bar.update(fh.tell() - bar.n)
                yield chunk, None
        except pd.errors.ParserError as exc:
            first = str(exc).splitlines()[0]
            raise InputError(f"{path}: not a valid CSV ({first}); check quotes and separators") from None
        except pd.errors.EmptyDataError:
            raise InputError(f"{path}: file is empty; it needs a header line and at least one row") from None


class _Writer:
    """Writes chunks (input columns + new columns) to ``tmp`` as CSV or Parquet."""

    def __init__(self, tmp: Path, kind: str):
        self.tmp, self.kind = tmp, kind
        self._fh = self._pq = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for h in (self._fh, self._pq):
            if h is not None:
                h.close()

    def write(self, df: pd.DataFrame, table: pa.Table | None, extra: pd.DataFrame):
        if self.kind == "csv":
            first = self._fh is None
            if first:
                self._fh = open(self.tmp, "w", encoding="utf-8", newline="")
            pd.concat([df.reset_index(drop=True), extra], axis=1).to_csv(self._fh, header=first, index=False)
            return
        table = table if table is not None else pa.Table.from_pandas(df, preserve_index=False)
        for col in extra.columns:
            table = table.append_column(col, pa.array(extra[col].to_numpy(), from_pandas=True))
        if self._pq is None:
            self._pq = pq.ParquetWriter(self.tmp, table.schema)
        self._pq.write_table(table.cast(self._pq.schema))


def _coordinates(df, lat_col, lon_col, label, first_row, transformer):
    """Parse one chunk's coordinates; returns degree arrays (NaN where either is missing)."""
    geo = transformer is None
    text = pd.DataFrame({c: df[c].astype(object) for c in (lat_col, lon_col)})
    lat = numeric_column(text, lat_col, label, -90 if geo else -np.inf, 90 if geo else np.inf, first_row).to_numpy()
    lon = numeric_column(text, lon_col, label, -180 if geo else -np.inf, 180 if geo else np.inf, first_row).to_numpy()
    missing = np.isnan(lat) | np.isnan(lon)
    lat, lon = np.where(missing, np.nan, lat), np.where(missing, np.nan, lon)
    if not geo:
        lon, lat = transformer.transform(lon, lat)
        bad = ~missing & ~(np.isfinite(lon) & np.isfinite(lat))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{where(label, first_row + i, lon_col)}: point cannot be converted from "
                             f"{transformer.source_crs.to_string()} to degrees; check --crs and the columns")
    return lon, lat, missing


@click.command("enrich")
@click.argument("points", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lat-col", required=True, help="Column of latitudes (or y/northing with --crs).")
@click.option("--lon-col", required=True, help="Column of longitudes (or x/easting with --crs).")
@click.option("--country", default=None, help="ISO3 code: add the GID of the containing GADM 3.6 area.")
@click.option("--gadm-level", type=int, default=None, help="GADM level for --country (default: finest available).")
@click.option("--nuts-level", type=click.IntRange(0, 3), default=3, show_default=True,
              help="Add NUTS codes of levels 0..N.")
@click.option("--no-nuts", is_flag=True, help="Do not add NUTS codes.")
@click.option("--nuts-scale", default=None, help="GISCO NUTS scale (default from nuts/defaults.toml: 10M).")
@click.option("--crs", default="EPSG:4326", show_default=True, help="CRS of the input coordinates.")
@click.option("--chunk-size", type=click.IntRange(1), default=100_000, show_default=True, help="Rows per chunk.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output .csv or .parquet (written atomically).")
@data_dir_option
def enrich(points, lat_col, lon_col, country, gadm_level, nuts_level, no_nuts, nuts_scale, crs, chunk_size,
           output, data_dir):
    """Add to every row of POINTS (CSV or Parquet) the GID of the GADM area containing it
    (with --country) and its NUTS 2021 codes, keeping all columns in order; ends with a summary."""
    from geolookup import gadm
    from geolookup import nuts

    for p, what in ((points, "input"), (output, "output")):
        if p.suffix.lower() not in CSV_EXT | PARQUET_EXT:
            raise InputError(f"{p}: unknown {what} format {p.suffix or '(no extension)'!r}; use .csv or .parquet")
    try:
        src_crs = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise InputError(f"--crs {crs!r} is not a known CRS; give e.g. EPSG:4326 or EPSG:3035") from None
    if gadm_level is not None and not country:
        raise InputError("--gadm-level needs --country ISO3 (the country whose GADM areas to use)")
    transformer = None if src_crs.equals("EPSG:4326") else pyproj.Transformer.from_crs(src_crs, 4326, always_xy=True)
    areas = None
    if country:
        level = gadm_level if gadm_level is not None else max(gadm.available_levels(country, data_dir))
        areas = gadm.load_areas(country, level, data_dir=data_dir)
        gids = np.append(areas["gid"].to_numpy(dtype=object), "")
    regions = None if no_nuts else nuts.load_nuts(nuts_scale, data_dir=data_dir)
    levels = tuple(range(nuts_level + 1))
    new_cols = ["gid"] if country else []
    if not no_nuts:
        new_cols += [f"nuts_{k}" for k in levels] + ["nuts_method", "nuts_distance_km"]
    counts = dict(rows=0, missing=0, gid=0, within=0, nearest=0, none=0)
    kind = "parquet" if output.suffix.lower() in PARQUET_EXT else "csv"
    bar = tqdm(desc=points.name, unit="", unit_scale=True, disable=None, file=sys.stderr, leave=False)
    with atomic_path(output) as tmp, _Writer(tmp, kind) as writer, bar:
        for df, table in _read_chunks(points, chunk_size, bar):
            if counts["rows"] == 0:
                check_columns(df, [lat_col, lon_col], str(points))
                clash = [c for c in new_cols if c in df.columns]
                if clash:
                    raise InputError(f"{points}: already has column(s) {', '.join(clash)}; rename them first")
            lon, lat, missing = _coordinates(df, lat_col, lon_col, str(points), counts["rows"] + 2, transformer)
            extra = pd.DataFrame(index=range(len(df)))
            if areas is not None:
                idx = gadm.locate(lon, lat, areas)
                extra["gid"] = pd.Series(gids[idx], dtype="str")
                counts["gid"] += int((idx >= 0).sum())
            if regions is not None:
                codes = nuts.assign_nuts(lon, lat, regions=regions, levels=levels)
                extra = pd.concat([extra, codes], axis=1)
                m = codes["nuts_method"][~missing].value_counts()
                for k in ("within", "nearest", "none"):
                    counts[k] += int(m.get(k, 0))
            writer.write(df, table, extra)
            counts["rows"] += len(df)
            counts["missing"] += int(missing.sum())
        if counts["rows"] == 0:
            raise InputError(f"{points}: no data rows; the file needs at least one row after the header")
    located = counts["rows"] - counts["missing"]
    parts = [f"enrich: {counts['rows']} rows written to {output}", f"{counts['missing']} without coordinates"]
    if areas is not None:
        parts.append(f"GADM {str(country).upper()} level {level}: {counts['gid']} of {located} in an area")
    if regions is not None:
        parts.append(f"NUTS {nuts_level}: {counts['within']} within, {counts['nearest']} nearest, "
                     f"{counts['none']} none")
    click.echo("; ".join(parts))
