"""``geolookup areas`` and ``geolookup enrich`` through the real entry point (geolookup.cli.main)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import pytest

from geolookup import gadm
from geolookup import nuts
from clihelp import assert_one_line_error, run_cli

PCM = ("providers", "pcm_dpc", "dpc-covid19-ita-province-latest.csv")


@pytest.fixture(autouse=True)
def _data_env(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


@pytest.fixture(scope="module")
def pcm(data_root):
    return pd.read_csv(data_root.joinpath(*PCM), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def inventory(data_root):
    """Feature counts per (iso, GADM level) as listed by the shared data's INVENTORY.csv."""
    inv = pd.read_csv(data_root / "gadm36" / "INVENTORY.csv")
    return {(r.iso, r.level): r.features for r in inv.itertuples()}


def test_areas_csv(tmp_path, capsys, inventory):
    out = tmp_path / "ita.csv"
    code, _, stderr = run_cli(capsys, "areas", "ITA", "--level", "2", "-o", out)
    n = inventory[("ITA", 2)]
    assert code == 0 and f"{n} GADM level-2 areas of ITA" in stderr
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(df) == n
    for col in ("gid", "level", "parent_gid", "name", "varnames", "latitude", "longitude", "centroid_latitude",
                "centroid_longitude", "nuts_0", "nuts_1", "nuts_2", "nuts_3", "nuts_method", "nuts_distance_km"):
        assert col in df.columns
    assert "geometry" not in df.columns and not df.apply(lambda c: c.str.contains("POLYGON")).any().any()
    areas = gadm.load_areas("ITA", 2)
    lon, lat = gadm.interior_points(areas)
    assert df["gid"].tolist() == areas["gid"].tolist()
    assert np.abs(df["latitude"].astype(float) - lat).max() < 1e-12
    assert np.abs(df["longitude"].astype(float) - lon).max() < 1e-12
    expected = nuts.assign_nuts(lon, lat)
    assert df["nuts_3"].tolist() == expected["nuts_3"].tolist()
    assert (df["nuts_3"] != "").all()
    joined = areas["varnames"].map("|".join)
    assert df["varnames"].tolist() == joined.tolist() and joined.str.contains("|", regex=False).any()


@pytest.mark.parametrize("ext", [".gpkg", ".parquet", ".shp"])
def test_areas_geo_formats(tmp_path, capsys, ext):
    out = tmp_path / f"esp{ext}"
    code, _, _ = run_cli(capsys, "areas", "ESP", "--level", "2", "-o", out)
    assert code == 0
    back = gpd.read_parquet(out) if ext == ".parquet" else gpd.read_file(out)
    assert len(back) == 52 and back.crs.to_epsg() == 4326  # issue 2: the 52 Spanish provinces
    lat_col = "lat" if ext == ".shp" else "latitude"
    assert {"gid", "nuts_3", lat_col}.issubset(back.columns)
    assert (back["nuts_0"] == "ES").all()
    assert not list(tmp_path.glob(".*"))  # no temporary leftovers


@pytest.mark.filterwarnings("ignore::geolookup.gadm.GeometryRepairWarning")
def test_areas_usa_derived_level(tmp_path, capsys):
    out = tmp_path / "usa.csv"
    code, stdout, err = run_cli(capsys, "areas", "USA", "--level", "1", "-o", out)
    assert code == 0
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(df) == 51 and df["gid"].str.fullmatch(r"USA\.\d+_1").all()
    assert (df["nuts_method"] == "none").all()


def test_areas_errors(tmp_path, capsys):
    code, _, err = run_cli(capsys, "areas", "XYZ", "--level", "1", "-o", tmp_path / "x.csv")
    assert_one_line_error(code, err, "unknown ISO3 code 'XYZ'", "ITA")
    code, _, err = run_cli(capsys, "areas", "ITA", "--level", "5", "-o", tmp_path / "x.csv")
    assert_one_line_error(code, err, "available GADM levels: 0, 1, 2")
    code, _, err = run_cli(capsys, "areas", "ITA", "--level", "1", "-o", tmp_path / "x.xlsx")
    assert_one_line_error(code, err, "unknown output format")
    assert not (tmp_path / "x.csv").exists()


def test_enrich_pcm_dpc(tmp_path, capsys, data_root, pcm):
    out = tmp_path / "out.csv"
    code, _, stderr = run_cli(capsys, "enrich", data_root.joinpath(*PCM), "--lat-col", "lat", "--lon-col", "long",
                          "--country", "ITA", "-o", out)
    assert code == 0
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns[: len(pcm.columns)]) == list(pcm.columns)
    assert df[pcm.columns].equals(pcm)  # every input cell unchanged, leading zeros kept
    assert list(df.columns[len(pcm.columns):]) == ["gid", "nuts_0", "nuts_1", "nuts_2", "nuts_3", "nuts_method",
                                                  "nuts_distance_km"]
    missing = pcm["lat"] == ""
    assert (df.loc[missing, ["gid", "nuts_3"]] == "").all().all()
    assert (df.loc[~missing, "gid"].str.startswith("ITA.")).all()
    has = df["codice_nuts_3"] != ""
    assert (df.loc[has, "nuts_3"] == df.loc[has, "codice_nuts_3"]).mean() >= 0.99
    assert stderr.count("\n") == 1  # the summary line (logging)
    assert f"{len(pcm)} rows" in stderr and f"{int(missing.sum())} without coordinates" in stderr


def test_enrich_chunked_equals_single(tmp_path, capsys, data_root):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    src = data_root.joinpath(*PCM)
    run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "long", "--chunk-size", "7", "-o", a)
    run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "long", "-o", b)
    assert a.read_bytes() == b.read_bytes()


def test_enrich_excel_latin1_semicolon(tmp_path, capsys):
    src = tmp_path / "pts.csv"
    src.write_bytes("id;città;lat;lon\r\n007;Roma;41,9028;12,4964\r\n008;Sée;;\r\n".encode("cp1252"))
    out = tmp_path / "out.csv"
    code, _, stderr = run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "-o", out)
    assert code == 0 and "1 without coordinates" in stderr
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert df["id"].tolist() == ["007", "008"] and df["città"].tolist() == ["Roma", "Sée"]
    assert df["nuts_3"].tolist() == ["ITI43", ""]
    assert df["nuts_method"].tolist() == ["within", "none"]


def test_enrich_parquet_keeps_types(tmp_path, capsys):
    src, out = tmp_path / "pts.parquet", tmp_path / "out.parquet"
    pq.write_table(pa.table({"n": pa.array([1, 2], pa.int32()), "lat": [41.9028, None], "lon": [12.4964, None]}), src)
    code, _, _ = run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "--country", "ITA",
                     "--gadm-level", "1", "--nuts-level", "1", "-o", out)
    assert code == 0
    t = pq.read_table(out)
    assert t.schema.field("n").type == pa.int32()
    assert t.column_names == ["n", "lat", "lon", "gid", "nuts_0", "nuts_1", "nuts_method", "nuts_distance_km"]
    d = t.to_pandas()
    lazio = gadm.load_areas("ITA", 1).set_index("name").loc["Lazio", "gid"]  # Rome lies in Lazio
    assert d["gid"].tolist() == [lazio, ""]
    assert d["nuts_1"].tolist() == ["ITI", ""]


def test_enrich_projected_crs(tmp_path, capsys):
    x, y = pyproj.Transformer.from_crs(4326, 3035, always_xy=True).transform([12.4964, 2.3522], [41.9028, 48.8566])
    src, out = tmp_path / "pts.csv", tmp_path / "out.csv"
    pd.DataFrame({"east": x, "north": y}).to_csv(src, index=False)
    code, _, _ = run_cli(capsys, "enrich", src, "--lat-col", "north", "--lon-col", "east", "--crs", "EPSG:3035", "-o", out)
    assert code == 0
    assert pd.read_csv(out)["nuts_3"].tolist() == ["ITI43", "FR101"]


def test_enrich_bad_input(tmp_path, capsys):
    out = tmp_path / "out.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,lat,lon\n1,41.9,12.5\n2,north,12.5\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "enrich", bad, "--lat-col", "lat", "--lon-col", "lon", "-o", out)
    assert_one_line_error(code, err, str(bad), "row 3", "column 'lat'", "not a number")
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    bad.write_text("id,lat,lon\n1,41.9,12.5\n2,12.5,191\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "enrich", bad, "--lat-col", "lat", "--lon-col", "lon", "--chunk-size", "1", "-o", out)
    assert_one_line_error(code, err, "row 3", "column 'lon'", "outside [-180, 180]")
    assert not out.exists()
    code, _, err = run_cli(capsys, "enrich", bad, "--lat-col", "latitude", "--lon-col", "lon", "-o", out)
    assert_one_line_error(code, err, "missing column(s) latitude", "columns found: id, lat, lon")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    code, _, err = run_cli(capsys, "enrich", empty, "--lat-col", "lat", "--lon-col", "lon", "-o", out)
    assert_one_line_error(code, err, "file is empty")
    code, _, err = run_cli(capsys, "enrich", bad, "--lat-col", "lat", "--lon-col", "lon", "--crs", "EPSG:99999", "-o", out)
    assert_one_line_error(code, err, "not a known CRS")
    code, _, err = run_cli(capsys, "enrich", bad, "--lat-col", "lat", "--lon-col", "lon", "--gadm-level", "1", "-o", out)
    assert_one_line_error(code, err, "--gadm-level needs --country")


def test_enrich_bom_utf8_and_header_only(tmp_path, capsys):
    src, out = tmp_path / "pts.csv", tmp_path / "out.csv"
    src.write_bytes("\ufeffid,lat,lon\r\n007,41.9028,12.4964\r\n".encode("utf-8"))
    code, _, err = run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "-o", out)
    assert code == 0, err
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns[:3]) == ["id", "lat", "lon"] and df["id"].tolist() == ["007"]  # BOM not in the name
    src.write_text("id,lat,lon\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "-o", tmp_path / "o2.csv")
    assert_one_line_error(code, err, str(src), "no data rows")
    assert not (tmp_path / "o2.csv").exists()


def test_enrich_more_bad_input(tmp_path, capsys):
    out = tmp_path / "out.csv"
    src = tmp_path / "pts.csv"
    src.write_text("id,lat,lat,lon\n1,41.9,41.9,12.5\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "-o", out)
    assert_one_line_error(code, err, str(src), "duplicate column names ['lat']")
    src.write_text("id,lat,lon,nuts_3\n1,41.9,12.5,x\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "-o", out)
    assert_one_line_error(code, err, str(src), "already has column(s) nuts_3")
    src.write_text("id,lat,lon\n1,-91,12.5\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "-o", out)
    assert_one_line_error(code, err, "row 2", "column 'lat'", "outside [-90, 90]")
    code, _, err = run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "-o", tmp_path / "o.xlsx")
    assert_one_line_error(code, err, "unknown output format '.xlsx'")
    code, _, err = run_cli(capsys, "enrich", tmp_path / "missing.csv", "--lat-col", "lat", "--lon-col", "lon", "-o", out)
    assert_one_line_error(code, err, "missing.csv", "file not found")
    broken = tmp_path / "pts.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    code, _, err = run_cli(capsys, "enrich", broken, "--lat-col", "lat", "--lon-col", "lon", "-o", out)
    assert_one_line_error(code, err, "pts.parquet", "not a readable Parquet file")
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_areas_more_bad_input(tmp_path, capsys):
    code, _, err = run_cli(capsys, "areas", "ITA", "--level", "-1", "-o", tmp_path / "x.csv")
    assert_one_line_error(code, err, "available GADM levels: 0, 1, 2")
    code, _, err = run_cli(capsys, "areas", "IT", "--level", "1", "-o", tmp_path / "x.csv")
    assert_one_line_error(code, err, "not an ISO3 country code")
    assert not list(tmp_path.iterdir())
