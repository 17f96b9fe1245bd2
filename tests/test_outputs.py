"""Output files (lookup.outputs): SQLite per-country replacement, GIS files, provenance."""

import sqlite3

import pandas as pd
import pyogrio
import pytest
import shapely

from clihelp import run_cli
from geolookup.core.errors import GeolookupError
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


def test_sqlite_schema_a_pipeline_can_use(tmp_path):
    """Primary key on id, indexes on the keys and id_* columns, types that never change across rebuilds."""
    db = tmp_path / "lookup.sqlite"
    write_sqlite(db, "AAA", small_table("AAA", ["a1", "a2"]), prov(["a1", "a2"], "AAA"))
    schema = lambda: sqlite3.connect(db).execute(  # noqa: E731
        "select name, type, pk from pragma_table_info('location') order by name").fetchall()
    first = schema()
    empty = small_table("AAA", ["a1"]).assign(population="", latitude="", longitude="")  # nothing to type from
    write_sqlite(db, "AAA", empty, prov(["a1"], "AAA"))
    assert schema() == first
    with sqlite3.connect(db) as con:
        assert [r for r in first if r[2]] == [("id", "TEXT", 1)]
        indexed = {r[0] for r in con.execute("select il.name from sqlite_master m, pragma_index_list(m.name) i, "
                                             "pragma_index_info(i.name) il where m.name = 'location'")}
        assert {"key_gadm", "iso3", "id_src_aaa"} <= indexed
        assert con.execute("select population, latitude from location").fetchall() == [(None, None)]
        assert con.execute("explain query plan select * from location where key_gadm = 'AAA.1_1'").fetchall()[0][
            3].startswith("SEARCH")


def test_sqlite_of_the_older_layout_gets_its_primary_key(tmp_path):
    db = tmp_path / "lookup.sqlite"
    with sqlite3.connect(db) as con:  # what earlier builds wrote: pandas to_sql, no key, no types for empty columns
        small_table("BBB", ["b1"]).assign(iso3="BBB").to_sql("location", con, index=False)
    write_sqlite(db, "AAA", small_table("AAA", ["a1"]), prov(["a1"], "AAA"))
    with sqlite3.connect(db) as con:
        assert sorted(r[0] for r in con.execute("select id from location")) == ["a1", "b1"]
        assert con.execute("select pk from pragma_table_info('location') where name = 'id'").fetchone() == (1,)


def test_sqlite_id_of_another_country_is_refused_and_nothing_changes(tmp_path):
    db = tmp_path / "lookup.sqlite"
    write_sqlite(db, "AAA", small_table("AAA", ["x1"]), prov(["x1"], "AAA"))
    before = db.read_bytes()
    with pytest.raises(GeolookupError, match="id 'x1' of BBB is already stored for AAA"):
        write_sqlite(db, "BBB", small_table("BBB", ["x1"]), prov(["x1"], "BBB"))
    assert db.read_bytes() == before


REVIEW_SPEC = """country = "ITA"
source = "test.provider"
admin_level = 2
file = "prov/regions.csv"
[columns]
key = "code"
name = "name"
"""


@pytest.fixture
def review_build(tmp_path, data_root):
    """A build whose provider names one real region and one place GADM does not know (it goes to review)."""
    specs, data = tmp_path / "specs", tmp_path / "data"
    (data / "prov").mkdir(parents=True)
    specs.mkdir()
    for sub in ("gadm36", "nuts"):
        (data / sub).symlink_to(data_root / sub, target_is_directory=True)
    (specs / "t.toml").write_text(REVIEW_SPEC, encoding="utf-8")
    (data / "prov" / "regions.csv").write_text("code,name\n13,Abruzzo\n99,Atlantide\n", encoding="utf-8")
    return ["build", "ITA", "--specs", specs, "--data-dir", data, "-o", tmp_path / "out", "--state-dir",
            tmp_path / "state"]


def test_build_exits_3_while_rows_wait_for_review(review_build, tmp_path, capsys):
    code, _, err = run_cli(capsys, *review_build)
    assert code == 3 and "error" not in err, err
    review = pd.read_csv(tmp_path / "out" / "ITA_review.csv", dtype=str)
    assert review["provider_key"].tolist() == ["99"]
    assert read_table(tmp_path / "out" / "ITA.csv")["administrative_area_level_2"].tolist() == ["Abruzzo"]
    code, out, _ = run_cli(capsys, *review_build, "--allow-review", "--json")
    assert code == 0 and '"in_review": 1' in out
    code, _, err = run_cli(capsys, *review_build, "--data-dir", tmp_path / "nowhere")
    assert code == 1 and "error: " in err and "Traceback" not in err  # errors stay exit 1


def test_build_help_documents_the_exit_status(capsys):
    code, out, _ = run_cli(capsys, "build", "--help")
    assert code == 0 and "--allow-review" in out and "3 done, but rows wait for review" in " ".join(out.split())
