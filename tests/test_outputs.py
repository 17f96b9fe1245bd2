"""Output files (lookup.outputs): SQLite per-country replacement, GIS files, provenance."""

import sqlite3

import pandas as pd
import pyogrio
import shapely

from geolookup.lookup.outputs import PROVENANCE_COLUMNS, SHAPEFILE_FIELDS, file_checksum, write_country, write_sqlite
from geolookup.lookup.table import read_table


def small_table(iso, ids):
    return pd.DataFrame({"id": ids, f"id_src_{iso.lower()}": ["k"] * len(ids), "administrative_area_level": "2",
                         "administrative_area_level_2": ["A", "B"][: len(ids)], "key_gadm": [f"{iso}.1_1", f"{iso}.2_1"][
                             : len(ids)], "latitude": "1.5", "longitude": "2.5", "population": ["10", ""][: len(ids)]})


def prov(ids, iso):
    return pd.DataFrame({"id": ids, "iso3": iso, "source": "src"}).reindex(columns=PROVENANCE_COLUMNS)


def test_sqlite_replaces_one_country_and_keeps_others(tmp_path):
    db = tmp_path / "lookup.sqlite"
    write_sqlite(db, "AAA", small_table("AAA", ["a1", "a2"]), prov(["a1", "a2"], "AAA"))
    write_sqlite(db, "BBB", small_table("BBB", ["b1"]), prov(["b1"], "BBB"))
    write_sqlite(db, "AAA", small_table("AAA", ["a3"]), prov(["a3"], "AAA"))
    with sqlite3.connect(db) as con:
        loc = pd.read_sql_query("select * from location order by id", con)
        p = pd.read_sql_query("select * from provenance order by id", con)
        types = dict(con.execute("select name, type from pragma_table_info('location')").fetchall())
    assert loc["id"].tolist() == ["a3", "b1"] and p["id"].tolist() == ["a3", "b1"]
    assert {"id_src_aaa", "id_src_bbb", "iso3"} <= set(loc.columns)
    assert types["latitude"] == "REAL" and types["population"] == "INTEGER"


def test_write_country_files(tmp_path):
    t = small_table("AAA", ["a1", "a2"])
    geoms = [shapely.box(0, 0, 1, 1), None]
    paths = write_country(tmp_path, "AAA", t, prov(["a1", "a2"], "AAA"), geoms)
    assert read_table(paths["csv"])["id"].tolist() == ["a1", "a2"]
    assert list(pd.read_csv(paths["provenance"]).columns) == PROVENANCE_COLUMNS
    g = pyogrio.read_dataframe(paths["gpkg"], layer="AAA")
    assert g.geometry.isna().tolist() == [False, True]
    shp = pyogrio.read_dataframe(paths["shp"])
    assert shp["GID"].tolist() == ["AAA.1_1", "AAA.2_1"]
    assert not any(c.startswith("id_") for c in shp.columns)
    assert all(len(v) <= 10 for v in SHAPEFILE_FIELDS.values())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp leftovers


def test_file_checksum(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"abc")
    assert file_checksum(p) == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_sqlite_rows_without_iso3_are_never_dropped(tmp_path):
    """A rebuild replaces one country's rows only; a row another tool stored without iso3 survives."""
    db = tmp_path / "lookup.sqlite"
    write_sqlite(db, "AAA", small_table("AAA", ["a1"]), prov(["a1"], "AAA"))
    with sqlite3.connect(db) as con:
        con.execute("insert into location (id, administrative_area_level) values ('x1', 2)")
    write_sqlite(db, "AAA", small_table("AAA", ["a2"]), prov(["a2"], "AAA"))
    with sqlite3.connect(db) as con:
        ids = [r[0] for r in con.execute("select id from location order by id")]
    assert ids == ["a2", "x1"]
