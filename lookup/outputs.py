"""Output files of a build. The build writes them into the staging folder of a new generation and
publishes them together (:mod:`lookup.generation`); each writer is also atomic on its own.

Per country ``<ISO3>`` in the output folder ``<OUT>``:

- ``<ISO3>.csv``            the lookup table in the Data Hub layout (:mod:`lookup.table`);
- ``<ISO3>_provenance.csv`` the sidecar, one row per (id, source) (:data:`PROVENANCE_COLUMNS`);
- ``<ISO3>_areas.gpkg``     layer ``<ISO3>``: one feature per table row, the Data Hub columns plus
                            the GADM geometry of key_gadm (union of the parts for composites;
                            empty for ``.n_0`` areas GADM lacks); join to GADM on key_gadm = GID_n;
- ``<ISO3>_areas.shp``      the same for shapefile users, field names cut to <= 10 characters by
                            :data:`SHAPEFILE_FIELDS` (``key_gadm`` -> ``GID``); id_<source> columns
                            are left out (names too long; join the CSV on ``id``).

Shared by all countries: ``lookup.sqlite`` with tables ``location`` (one row per id, primary key
``id``, every column of every country's table plus ``iso3``) and ``provenance``; a country's rows
are replaced as a whole, in one transaction, on each build (:func:`write_sqlite`).
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
from filelock import FileLock

from geolookup.core.errors import GeolookupError
from geolookup.core.tableio import atomic_dir_files, atomic_path, write_boundary, write_csv_atomic

from .table import column_order, id_columns, write_table

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


#: SQL type of each column; every other column is TEXT. Declared once when a column is created and
#: never changed, so a pipeline sees the same types after every rebuild.
SQL_TYPES = {"latitude": "REAL", "longitude": "REAL", "administrative_area_level": "INTEGER",
             "population": "INTEGER", "match_score": "REAL", "nuts_distance_km": "REAL"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_values(df: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as Python values for sqlite3: int/float for INTEGER/REAL columns, str for TEXT, None for empty."""
    cols = []
    for c in columns:
        kind = SQL_TYPES.get(c, "TEXT")
        s = df[c] if c in df else pd.Series([None] * len(df), index=df.index)
        if kind == "TEXT":
            s = s.astype(object).where(s.notna() & (s.astype(str) != ""), None)
            cols.append([None if v is None else str(v) for v in s])
        else:
            num = pd.to_numeric(s.replace("", None), errors="coerce")
            conv = int if kind == "INTEGER" else float
            cols.append([None if pd.isna(v) else conv(v) for v in num])
    return list(zip(*cols)) if cols else []


def _ensure_table(con, name: str, columns: list[str], primary: str | None) -> list[str]:
    """Create table ``name`` (typed by :data:`SQL_TYPES`, ``primary`` as PRIMARY KEY) or add its missing
    columns; a table made before the primary key existed is rebuilt with it. Returns its columns."""
    info = con.execute(f"select name, pk from pragma_table_info({_q(name)})").fetchall()
    have = [r[0] for r in info]
    if info and primary and not any(r[0] == primary and r[1] for r in info):
        con.execute(f"alter table {_q(name)} rename to {_q(name + '_old')}")
        _ensure_table(con, name, list(dict.fromkeys(have + columns)), primary)
        cols = ", ".join(_q(c) for c in have)
        con.execute(f"insert into {_q(name)} ({cols}) select {cols} from {_q(name + '_old')}")
        con.execute(f"drop table {_q(name + '_old')}")
        return _ensure_table(con, name, columns, primary)
    if not info:
        defs = ", ".join(f"{_q(c)} {SQL_TYPES.get(c, 'TEXT')}" + (" PRIMARY KEY NOT NULL" if c == primary else "")
                         for c in columns)
        con.execute(f"create table {_q(name)} ({defs})")
        return list(columns)
    for c in columns:
        if c not in have:
            con.execute(f"alter table {_q(name)} add column {_q(c)} {SQL_TYPES.get(c, 'TEXT')}")
            have.append(c)
    return have


def write_sqlite(db_path, iso3: str, table: pd.DataFrame, provenance: pd.DataFrame, locked: bool = False) -> Path:
    """Replace country ``iso3``'s rows in ``lookup.sqlite`` tables ``location`` and ``provenance``.

    ``location``: one row per lookup row (``table``, Data Hub layout) plus ``iso3``; ``id`` TEXT PRIMARY
    KEY; latitude/longitude REAL (degrees WGS84), administrative_area_level/population INTEGER, every
    other column TEXT, empty cells NULL; indexes on iso3, key_gadm, key_nuts, key_local and every
    ``id_*`` column. ``provenance``: :data:`PROVENANCE_COLUMNS` (match_score, nuts_distance_km REAL),
    indexed on id and iso3. Column types are declared when a column first appears and never change;
    rows of other countries and rows without iso3 are kept. The update is ONE SQLite transaction (a
    crash leaves the old rows, SQLite's journal rolls it back) taken under a filelock lock
    ``<db>.lock`` unless ``locked`` (the caller holds the output folder's lock, see
    :mod:`lookup.generation`). Raises GeolookupError when an id of ``table`` is already stored for
    another country (nothing is changed). Returns the database path.
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    location = table.assign(iso3=iso3)
    location = location[column_order(location.columns)]
    prov = provenance.reindex(columns=list(dict.fromkeys(PROVENANCE_COLUMNS + list(provenance.columns))))
    lock = contextlib.nullcontext() if locked else FileLock(str(db_path) + ".lock")
    with lock:
        con = sqlite3.connect(db_path, isolation_level=None)  # transactions are explicit below
        try:
            write_boundary(f"sqlite begin {iso3}")
            con.execute("begin immediate")
            try:
                for name, df, primary in (("location", location, "id"), ("provenance", prov, None)):
                    cols = _ensure_table(con, name, list(df.columns), primary)
                    con.execute(f"delete from {_q(name)} where iso3 = ?", (iso3,))
                    try:
                        con.executemany(f"insert into {name} ({', '.join(map(_q, cols))}) values "
                                        f"({', '.join('?' * len(cols))})", _sql_values(df, cols))
                    except sqlite3.IntegrityError:
                        clash = _clashing_ids(con, df["id"].tolist())
                        raise GeolookupError(
                            f"{db_path}: id {clash[0][0]!r} of {iso3} is already stored for "
                            f"{clash[0][1] or 'a row without iso3'}; ids must be unique across countries - "
                            "remove that row or rebuild that country") from None
                loc_cols = [r[0] for r in con.execute("select name from pragma_table_info('location')")]
                keys = [c for c in ("iso3", "key_gadm", "key_nuts", "key_local") if c in loc_cols]
                for c in keys + id_columns(loc_cols):
                    con.execute(f"create index if not exists {_q('location_' + c)} on location({_q(c)})")
                for c in ("id", "iso3"):
                    con.execute(f"create index if not exists {_q('provenance_' + c)} on provenance({_q(c)})")
                write_boundary(f"sqlite commit {iso3}")
                con.execute("commit")
            except BaseException:
                if con.in_transaction:
                    con.execute("rollback")
                raise
        finally:
            con.close()
    return db_path


def _clashing_ids(con, ids: list[str]) -> list[tuple[str, str | None]]:
    found = []
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        found += con.execute(f"select id, iso3 from location where id in ({', '.join('?' * len(chunk))})",
                             chunk).fetchall()
    return found or [(ids[0], None)]


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
                  standard: bool = True, locked: bool = False) -> dict[str, Path]:
    """Write every output of one country (module doc) into ``out_dir``; returns ``{"csv": ..., ...}``.

    ``table`` is the validated lookup table (text cells), ``provenance`` has
    :data:`PROVENANCE_COLUMNS`, ``geometries`` is aligned with ``table`` rows (None: no GIS files).
    The build calls it on the staging folder of a new generation (:mod:`lookup.generation`, whose
    lock it holds: ``locked``), so all files of a build become visible together.
    """
    out_dir = Path(out_dir)
    paths = {"csv": write_table(table, out_dir / f"{iso3}.csv", standard=standard)}
    paths["provenance"] = write_csv_atomic(provenance.reindex(columns=PROVENANCE_COLUMNS),
                                           out_dir / f"{iso3}_provenance.csv")
    paths["sqlite"] = write_sqlite(out_dir / "lookup.sqlite", iso3, table, provenance, locked=locked)
    if geometries is not None:
        paths["gpkg"], paths["shp"] = write_areas(out_dir, iso3, table, geometries)
    return paths
