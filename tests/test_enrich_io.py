"""enrich I/O: pyarrow CSV writing (geolookup.core.csvio), geometry inputs in any CRS, datasets, bad input."""

from __future__ import annotations

import datetime as dt
import io

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geolookup import gadm, nuts
from geolookup.core import csvio
from clihelp import assert_one_line_error, run_cli


@pytest.fixture(autouse=True)
def _data_env(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


@pytest.fixture(scope="module")
def esp_points(data_root):
    """Interior points of Spain's 52 provinces (GADM level 2), with a text id keeping leading zeros."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GEOLOOKUP_DATA", str(data_root))
    areas = gadm.load_areas("ESP", 2)
    mp.undo()
    lon, lat = gadm.interior_points(areas)
    return gpd.GeoDataFrame({"id": [f"{i:03d}" for i in range(len(areas))], "gid_expected": areas["gid"]},
                            geometry=gpd.points_from_xy(lon, lat), crs=4326)


def test_csv_writer_reads_back_as_pandas_wrote():
    df = pd.DataFrame({
        "code": ["007", "a,b", 'say "hi"', "two\nlines", "", None],
        "x": [0.0, 1.5, 1e-5, 41.9028, np.nan, -0.25],
        "flag": [True, False, True, True, False, True],
        "maybe": pd.array([True, None, False, True, True, None], dtype="boolean"),
        "day": pd.to_datetime(["2020-03-01", "2020-03-02", "2020-03-03", "2020-03-04", "2020-03-05", None]),
        "at": pd.to_datetime(["2020-03-01 10:30:05"] * 6),
        "date32": [dt.date(2021, 1, k + 1) for k in range(6)],
        "cat": pd.Categorical(["x", "y", "x", None, "y", "x"]),
        "n": [1, 2, 3, 4, 5, 6],
    })
    buf = io.BytesIO()
    csvio.write_csv(df, buf)
    ours = buf.getvalue().decode()
    theirs = df.to_csv(index=False, date_format=None)
    a = pd.read_csv(io.StringIO(ours), dtype=str, keep_default_na=False)
    b = pd.read_csv(io.StringIO(theirs), dtype=str, keep_default_na=False)
    assert a.columns.tolist() == b.columns.tolist()
    for col in ("code", "flag", "maybe", "day", "at", "date32", "cat", "n"):
        assert a[col].tolist() == b[col].tolist(), col
    assert a["code"].tolist() == ["007", "a,b", 'say "hi"', "two\nlines", "", ""]  # quoting, leading zeros
    assert a["flag"].tolist()[:2] == ["True", "False"] and a["day"][0] == "2020-03-01"
    assert a["at"][0] == "2020-03-01 10:30:05"
    assert np.allclose(a["x"].replace("", "nan").astype(float), df["x"], equal_nan=True)  # numbers round trip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), max_size=8),
                min_size=1, max_size=20))
def test_csv_writer_round_trips_any_text(values):
    """Property: every text cell comes back unchanged, whatever quotes, separators or line breaks it holds."""
    buf = io.BytesIO()
    with csvio.CsvWriter(buf) as w:
        w.write(pa.table({"t": values[: len(values) // 2 + 1], "k": range(len(values) // 2 + 1)}))
        w.write(pa.table({"t": values[len(values) // 2 + 1:], "k": range(len(values) - len(values) // 2 - 1)}))
    back = pd.read_csv(io.BytesIO(buf.getvalue()), dtype=str, keep_default_na=False)
    assert back["t"].tolist() == values


@pytest.mark.parametrize("ext", [".parquet", ".gpkg", ".fgb", ".geojson"])
def test_geometry_inputs_any_crs(tmp_path, capsys, esp_points, ext):
    """Point geometry in EPSG:3035 is reprojected for the lookup; the output keeps geometry and CRS."""
    src = tmp_path / f"esp{ext}"
    pts = esp_points.to_crs(3035)
    pts.to_parquet(src) if ext == ".parquet" else pts.to_file(src)
    out = tmp_path / f"out{ext}"
    code, _, err = run_cli(capsys, "enrich", src, "--country", "ESP", "--gadm-level", "2", "-o", out)
    assert code == 0, err
    back = gpd.read_parquet(out) if ext == ".parquet" else gpd.read_file(out)
    assert back.crs.equals(pts.crs)
    back = back.set_index("id").loc[pts["id"]]
    assert (back["gid"].to_numpy() == pts["gid_expected"].to_numpy()).all()
    assert (back["nuts_0"] == "ES").all()
    assert np.allclose(shapely.get_coordinates(back.geometry.values), shapely.get_coordinates(pts.geometry.values))


def test_csv_and_parquet_inputs_agree(tmp_path, capsys, esp_points):
    """Parquet floats stay numbers (no text round trip), CSV cells stay text; both give the same codes."""
    lon, lat = esp_points.geometry.x.to_numpy(), esp_points.geometry.y.to_numpy()
    table = pd.DataFrame({"id": esp_points["id"], "lat": lat, "lon": lon})
    table.to_csv(tmp_path / "p.csv", index=False)
    table.to_parquet(tmp_path / "p.parquet")
    for name in ("p.csv", "p.parquet"):
        code, _, err = run_cli(capsys, "enrich", tmp_path / name, "--lat-col", "lat", "--lon-col", "lon",
                               "--country", "ESP", "-o", tmp_path / f"o_{name}")
        assert code == 0, err
    a = pd.read_csv(tmp_path / "o_p.csv", dtype=str, keep_default_na=False)
    b = pq.read_table(tmp_path / "o_p.parquet").to_pandas()
    assert a["id"].tolist() == esp_points["id"].tolist() and b["lat"].dtype == "float64"
    assert b["lat"].tolist() == lat.tolist()  # floats unchanged, bit for bit
    assert a["gid"].tolist() == b["gid"].tolist() == esp_points["gid_expected"].tolist()
    assert a["nuts_3"].tolist() == b["nuts_3"].tolist() == nuts.assign_nuts(lon, lat)["nuts_3"].tolist()


def test_parquet_dataset_folder(tmp_path, capsys, esp_points):
    ds = tmp_path / "ds"
    ds.mkdir()
    for k in range(3):
        esp_points.iloc[k * 20:(k + 1) * 20].to_parquet(ds / f"part-{k}.parquet")
    code, _, err = run_cli(capsys, "enrich", ds, "--country", "ESP", "-o", tmp_path / "all.csv")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "all.csv", dtype=str)["gid"].tolist() == esp_points["gid_expected"].tolist()
    code, _, err = run_cli(capsys, "enrich", ds, "--country", "ESP", "-o", tmp_path / "outds")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "outds").iterdir()) == [
        "_SUCCESS", "part-0.parquet", "part-1.parquet", "part-2.parquet"]
    back = gpd.read_parquet(tmp_path / "outds" / "part-1.parquet")
    assert back.crs.equals(esp_points.crs) and back["gid"].tolist() == esp_points["gid_expected"][20:40].tolist()


def test_geometry_bad_input(tmp_path, capsys, esp_points):
    poly = esp_points.copy()
    poly["geometry"] = poly.to_crs(3035).buffer(5000).to_crs(4326)
    poly.to_parquet(tmp_path / "poly.parquet")
    out = tmp_path / "o.parquet"
    code, _, err = run_cli(capsys, "enrich", tmp_path / "poly.parquet", "--country", "ESP", "-o", out)
    assert_one_line_error(code, err, "poly.parquet", "row 2", "Polygon", "--representative-point")
    assert not out.exists()
    code, _, err = run_cli(capsys, "enrich", tmp_path / "poly.parquet", "--country", "ESP", "--representative-point",
                           "-o", out)
    assert code == 0, err
    assert gpd.read_parquet(out)["gid"].tolist() == esp_points["gid_expected"].tolist()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    esp_points.iloc[:5].to_parquet(mixed / "a.parquet")
    esp_points.iloc[5:10].to_crs(3035).to_parquet(mixed / "b.parquet")
    code, _, err = run_cli(capsys, "enrich", mixed, "-o", tmp_path / "m.csv")
    assert_one_line_error(code, err, "a.parquet (EPSG:4326)", "b.parquet (EPSG:3035)", "reproject")
    esp_points.iloc[:5].to_parquet(tmp_path / "pts.parquet")
    code, _, err = run_cli(capsys, "enrich", tmp_path / "pts.parquet", "-o", tmp_path / "pts.parquet")
    assert_one_line_error(code, err, "pts.parquet")
    assert len(gpd.read_parquet(tmp_path / "pts.parquet")) == 5  # the input is untouched
    pd.DataFrame({"lat": [40.0]}).to_csv(tmp_path / "nogeo.csv", index=False)
    code, _, err = run_cli(capsys, "enrich", tmp_path / "nogeo.csv", "-o", tmp_path / "x.gpkg")
    assert_one_line_error(code, err, ".gpkg output needs an input with point geometry")
    code, _, err = run_cli(capsys, "enrich", tmp_path / "nogeo.csv", "-o", tmp_path / "x.csv")
    assert_one_line_error(code, err, "nogeo.csv", "no geometry column", "--lat-col")
    code, _, err = run_cli(capsys, "enrich", tmp_path / "pts.parquet", "-o", tmp_path / "x.xlsx")
    assert_one_line_error(code, err, "unknown output format '.xlsx'")
