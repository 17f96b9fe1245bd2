"""Output files of a build, all written atomically (temporary file, then rename).

Per country ``<ISO3>`` in the output folder ``<OUT>``:

- ``<ISO3>.csv``            the lookup table in the Data Hub layout (:mod:`lookup.table`);
- ``<ISO3>_provenance.csv`` the sidecar, one row per (id, source) (:data:`PROVENANCE_COLUMNS`);
- ``<ISO3>_areas.gpkg``     layer ``<ISO3>``: one feature per table row, the Data Hub columns plus
                            the GADM geometry of key_gadm (union of the parts for composites;
                            empty for ``.n_0`` areas GADM lacks); join to GADM on key_gadm = GID_n;
- ``<ISO3>_areas.shp``      the same for shapefile users, field names cut to <= 10 characters by
                            :data:`SHAPEFILE_FIELDS` (``key_gadm`` -> ``GID``); id_<source> columns
                            are left out (names too long; join the CSV on ``id``).

Shared by all countries: ``lookup.sqlite`` with tables ``location`` (one row per id, every column
of every country's table plus ``iso3``) and ``provenance``; a country's rows are replaced as a
whole on each build.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geolookup.core.tableio import atomic_dir_files, atomic_path, write_csv_atomic

from .table import column_order, write_table

PROVENANCE_COLUMNS = [
    "id", "iso3", "source", "provider_key", "row_status", "match_status", "match_method", "match_score",
    "candidates", "match_reason", "point_method", "nuts_method", "nuts_distance_km", "gadm_version",
    "nuts_version", "input_files", "build_time",
]

#: Data Hub column -> shapefile field (dBase limits names to 10 characters).
SHAPEFILE_FIELDS = {
    "id": "id",
    "administrative_area_level": "adm_level",
    "administrative_area_level_2": "adm_name2",
    "administrative_area_level_3": "adm_name3",
    "key_gadm": "GID",
    "key_nuts": "NUTS_ID",
    "key_hasc": "HASC",
    "key_local": "key_local",
    "key_google_mobility": "key_google",
    "key_apple_mobility": "key_apple",
    "key_jhu_csse": "key_jhu",
    "latitude": "latitude",
    "longitude": "longitude",
    "population": "population",
}


def file_checksum(path) -> str:
    """``sha256:<hex>`` of a file's bytes (input files are recorded in the provenance)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for c in ("latitude", "longitude"):
        if c in out:
            out[c] = pd.to_numeric(out[c], errors="coerce")
    for c in ("administrative_area_level", "population"):
        if c in out:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    return out


def write_sqlite(db_path, iso3: str, table: pd.DataFrame, provenance: pd.DataFrame) -> Path:
    """Replace country ``iso3``'s rows in ``lookup.sqlite`` tables ``location`` and ``provenance``.

    The database is copied to a temporary file, updated, and renamed over the original, so a
    crash leaves the old database whole. Columns missing on either side are added (empty).
    Returns the database path.
    """
    db_path = Path(db_path)
    location = _typed(table).assign(iso3=iso3)
    frames = {"location": location, "provenance": provenance.reindex(columns=PROVENANCE_COLUMNS)}
    with atomic_path(db_path) as tmp:
        if db_path.exists():
            shutil.copyfile(db_path, tmp)
        con = sqlite3.connect(tmp)
        try:
            for name, df in frames.items():
                exists = con.execute("select 1 from sqlite_master where type='table' and name=?", (name,)).fetchone()
                if exists:
                    # rows of other countries (and any without iso3) are kept as they are
                    stored = pd.read_sql_query(f"select * from {name} where iso3 is null or iso3 != ?", con,
                                               params=(iso3,))
                    df = pd.concat([stored, df], ignore_index=True)
                if name == "location":
                    df = _typed(df[column_order(df.columns)])
                df.to_sql(name, con, if_exists="replace", index=False)
            con.execute("create index if not exists location_iso3 on location(iso3)")
            con.execute("create index if not exists provenance_id on provenance(id)")
            con.commit()
        finally:
            con.close()
    return db_path


def areas_frame(table: pd.DataFrame, geometries) -> gpd.GeoDataFrame:
    """The table's rows as a GeoDataFrame (EPSG:4326 degrees) with ``geometries`` (one per row,
    None allowed): one feature per lookup row; latitude/longitude float64, level and population
    Int64, other columns text."""
    return gpd.GeoDataFrame(_typed(table).reset_index(drop=True), geometry=list(geometries), crs="EPSG:4326")


def write_areas(out_dir, iso3: str, table: pd.DataFrame, geometries) -> tuple[Path, Path]:
    """Write ``<ISO3>_areas.gpkg`` (layer ``<ISO3>``, all table columns) and ``<ISO3>_areas.shp``
    (fields renamed by :data:`SHAPEFILE_FIELDS`, key_gadm -> GID for joins to GADM), each
    atomically; returns both paths. Raises OSError / pyogrio errors on a failed write (the old
    files then stay whole)."""
    out_dir = Path(out_dir)
    gdf = areas_frame(table, geometries)
    gpkg = out_dir / f"{iso3}_areas.gpkg"
    with atomic_path(gpkg) as tmp:
        gdf.to_file(tmp, layer=iso3, driver="GPKG", engine="pyogrio")
    shp = out_dir / f"{iso3}_areas.shp"
    fields = [c for c in SHAPEFILE_FIELDS if c in gdf.columns]
    small = gdf[fields + ["geometry"]].rename(columns=SHAPEFILE_FIELDS)
    with atomic_dir_files(shp) as tmp:
        small.to_file(tmp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
    return gpkg, shp


def write_country(out_dir, iso3: str, table: pd.DataFrame, provenance: pd.DataFrame, geometries=None,
                  standard: bool = True) -> dict[str, Path]:
    """Write every output of one country (module doc); returns ``{"csv": ..., "provenance": ..., ...}``.

    ``table`` is the validated lookup table (text cells), ``provenance`` has
    :data:`PROVENANCE_COLUMNS`, ``geometries`` is aligned with ``table`` rows (None: no GIS files).
    """
    out_dir = Path(out_dir)
    paths = {"csv": write_table(table, out_dir / f"{iso3}.csv", standard=standard)}
    paths["provenance"] = write_csv_atomic(provenance.reindex(columns=PROVENANCE_COLUMNS),
                                           out_dir / f"{iso3}_provenance.csv")
    paths["sqlite"] = write_sqlite(out_dir / "lookup.sqlite", iso3, table, provenance)
    if geometries is not None:
        paths["gpkg"], paths["shp"] = write_areas(out_dir, iso3, table, geometries)
    return paths
