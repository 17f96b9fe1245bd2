"""Composites and single areas from provider geometry (WKT), on real GADM 3.6 USA counties."""

import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings, strategies as st

from geolookup.core.errors import InputError
from geolookup.core.tableio import read_csv_text

warnings.filterwarnings("ignore", module="geolookup.gadm")
pytestmark = pytest.mark.filterwarnings("ignore:.*repaired .* invalid geometries")

NY = ["USA.33.3_1", "USA.33.24_1", "USA.33.32_1", "USA.33.42_1", "USA.33.44_1"]  # the five boroughs


@pytest.fixture(autouse=True)
def _data(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


@pytest.fixture(scope="module")
def usa2(data_root):
    from geolookup import gadm

    return gadm.load_areas("USA", 2, data_root)


@pytest.fixture(scope="module")
def nyc_wkt(usa2):
    """The provider's "NYC": the five borough polygons unioned, buffered 300 m-ish and simplified."""
    union = shapely.union_all(usa2.set_index("gid").loc[NY, "geometry"].to_numpy())
    geom = shapely.simplify(shapely.buffer(union, 0.003), 0.002)
    assert not shapely.equals(geom, union) and shapely.get_num_coordinates(geom) != shapely.get_num_coordinates(union)
    return geom.wkt


def _gid(areas, state, name):
    hit = areas[(areas["name_1"] == state) & (areas["name"] == name)]
    assert len(hit) == 1
    return hit["gid"].iloc[0], hit.geometry.iloc[0]


def run(rows, state_dir, **kw):
    from geolookup.matching import match_places

    return match_places(pd.DataFrame(rows), "USA", 2, "name", geometry_col="wkt", state_dir=state_dir, **kw)


def test_nyc_geometry_is_a_composite_by_the_centroid_rule(tmp_path, nyc_wkt):
    out = run({"name": ["NYC"], "wkt": [nyc_wkt]}, tmp_path)
    row = out.iloc[0]
    assert (row["gid"], row["match_method"], row["match_status"]) == ("USA.33.32_1", "composite", "accepted")
    assert sorted(row["gid_parts"].split("|")) == sorted(NY)
    assert 90 <= row["match_score"] <= 100
    assert sorted(c.split(":")[0] for c in row["candidates"].split("|")) == sorted(NY)


def test_geometry_accept_false_sends_composites_to_review(tmp_path, nyc_wkt, monkeypatch):
    cfg = tmp_path / "geolookup.toml"
    cfg.write_text("[matching]\ngeometry_accept = false\n", encoding="utf-8")
    monkeypatch.setenv("GEOLOOKUP_CONFIG", str(cfg))
    out = run({"name": ["NYC"], "wkt": [nyc_wkt]}, tmp_path)
    assert out["match_status"].iloc[0] == "review" and out["gid"].iloc[0] == "" and out["gid_parts"].iloc[0] == ""
    assert sorted(c.split(":")[0] for c in out["candidates"].iloc[0].split("|")) == sorted(NY)


def test_geometry_and_name_together(tmp_path, nyc_wkt):
    out = run({"name": ["New York City", "Queens", "NYC"], "state": ["New York"] * 3, "wkt": [nyc_wkt] * 3},
              tmp_path, parent_col="state")
    alias, queens, nyc = (out.iloc[k] for k in range(3))
    # the alias composite and the geometry agree: accepted, same parts
    assert alias["match_status"] == "accepted" and alias["gid"] == "USA.33.32_1"
    assert sorted(alias["gid_parts"].split("|")) == sorted(NY) and "geometry agrees" in alias["match_reason"]
    # the name says one borough, the geometry five: never a guess
    assert queens["match_status"] == "review" and queens["gid"] == ""
    assert set(c.split(":")[0] for c in queens["candidates"].split("|")) == set(NY)
    assert nyc["gid"] == "USA.33.32_1"


def test_geometry_inside_one_county(tmp_path, usa2):
    gid, poly = _gid(usa2, "Iowa", "Polk")
    shrunk = shapely.buffer(poly, -0.02)  # inside the county, most of it
    small = shapely.buffer(shapely.point_on_surface(poly), 0.03)  # a place inside it (~3% of it)
    rows = {"name": ["Zzqx Area"], "wkt": [shrunk.wkt]}
    out = run(rows, tmp_path / "a")
    assert out[["gid", "gid_parts", "match_method", "match_status"]].iloc[0].tolist() == [gid, gid, "spatial", "accepted"]
    out = run({"name": ["Polk"], "state": ["Iowa"], "wkt": [small.wkt]}, tmp_path / "b", parent_col="state")
    assert out["gid"].iloc[0] == gid and out["match_method"].iloc[0] == "exact"
    assert "geometry agrees" in out["match_reason"].iloc[0]
    # a place inside the county whose name fits nothing: like a point, the county is the candidate
    out = run({"name": ["Zzqx Area"], "wkt": [small.wkt]}, tmp_path / "c")
    assert out["match_status"].iloc[0] == "review" and out["candidates"].iloc[0].startswith(gid + ":")
    # the name of another county with this geometry: review, both offered
    other, _ = _gid(usa2, "Iowa", "Story")
    out = run({"name": ["Story"], "state": ["Iowa"], "wkt": [shrunk.wkt]}, tmp_path / "d", parent_col="state")
    cands = [c.split(":")[0] for c in out["candidates"].iloc[0].split("|")]
    assert out["match_status"].iloc[0] == "review" and {gid, other} <= set(cands)


def test_rows_without_geometry_match_as_before(tmp_path, nyc_wkt):
    rows = {"name": ["Polk", "NYC", "Unknown"], "state": ["Iowa", "New York", "Iowa"], "wkt": ["", nyc_wkt, nyc_wkt]}
    from geolookup.matching import match_places

    out = run(rows, tmp_path, parent_col="state")
    plain = match_places(pd.DataFrame(rows).iloc[:1], "USA", 2, "name", parent_col="state", state_dir=tmp_path)
    cols = ["gid", "gid_parts", "match_status", "match_method", "candidates"]
    assert out.iloc[0][cols].tolist() == plain.iloc[0][cols].tolist() and plain["gid"].iloc[0].startswith("USA.16.")
    assert out["gid"].iloc[1] == "USA.33.32_1"
    assert out["match_status"].iloc[2] == "unmatched"  # a placeholder name stays unmatched


@pytest.mark.parametrize("cell, fix", [
    ("POLYGON ((-93 41, -93 42, -92 42))", "not valid WKT"),
    ("POLYGON ((500000 4600000, 510000 4600000, 510000 4610000, 500000 4600000))", "EPSG:4326"),
    ("POINT (-93.5 41.6)", "not an area"),
    ("hello", "not valid WKT"),
    ("SRID=3857;POLYGON ((0 0, 1 0, 1 1, 0 0))", "EPSG:4326"),
])
def test_bad_geometry_is_a_one_line_error_naming_the_row(tmp_path, cell, fix):
    rows = {"name": ["Polk", "Story", "Boone"], "wkt": ["", "", cell]}
    with pytest.raises(InputError) as e:
        run(rows, tmp_path, label="prov.csv")
    msg = str(e.value)
    assert "prov.csv, row 4, column 'wkt'" in msg and fix in msg and "\n" not in msg


def test_invalid_polygons_are_repaired():
    from geolookup.matching.geometry import parse_wkt

    bowtie = "POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))"  # self-intersecting ring
    g = parse_wkt([bowtie, "", "POLYGON EMPTY", "SRID=4326; " + bowtie], "x.csv", "wkt")
    assert shapely.is_valid(g[0]) and shapely.area(g[0]) == pytest.approx(2.0)
    assert g[1] is None and g[2] is None and shapely.equals(g[3], g[0])
    with pytest.raises(InputError, match="row 2.*no area"):
        parse_wkt(["POLYGON ((0 0, 1 1, 2 2, 0 0))"], "x.csv", "wkt")


def test_cli_geometry_column(tmp_path, nyc_wkt, capsys, monkeypatch):
    from geolookup.cli import main

    monkeypatch.setenv("GEOLOOKUP_STATE", str(tmp_path / "state"))
    src = tmp_path / "prov.csv"
    pd.DataFrame({"area": ["NYC", "Polk"], "state": ["New York", "Iowa"], "shape": [nyc_wkt, ""]}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    main(["match", str(src), "--country", "USA", "--gadm-level", "2", "--name-col", "area", "--parent-col", "state",
          "--geometry-col", "shape", "-o", str(out)])
    df = read_csv_text(out)
    assert list(df.columns) == ["area", "state", "shape", "gid", "gid_parts", "match_status", "match_score",
                                "match_method", "candidates", "match_reason"]
    assert df["gid"].iloc[0] == "USA.33.32_1" and df["match_method"].iloc[0] == "composite"
    capsys.readouterr()  # the first run's summary line
    src.write_text("area,state,shape\nNYC,New York,\"POLYGON ((1 2, 3\"\n", encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main(["match", str(src), "--country", "USA", "--gadm-level", "2", "--name-col", "area",
              "--geometry-col", "shape", "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 1 and "\n" not in err and f"{src}, row 2, column 'shape'" in err
    assert read_csv_text(out)["gid"].iloc[0] == "USA.33.32_1"  # old output untouched


@pytest.fixture(scope="module")
def adjacency(usa2):
    """Neighbours (touching within ~200 m, same state) of every county: position -> sorted positions."""
    g = usa2.geometry.to_numpy()
    i, j = shapely.STRtree(g).query(g, predicate="dwithin", distance=0.002)
    st1 = usa2["gid_1"].to_numpy()
    keep = (st1[i] == st1[j]) & (i != j)
    nb = pd.Series(j[keep]).groupby(i[keep]).apply(lambda s: sorted(set(s)))
    return nb.to_dict()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_union_of_adjacent_counties_returns_exactly_them(usa2, adjacency, tmp_path, data):
    seeds = sorted(adjacency)
    chosen = [data.draw(st.sampled_from(seeds), label="seed")]
    size = data.draw(st.integers(2, 4), label="size")
    while len(chosen) < size:
        frontier = sorted({n for c in chosen for n in adjacency.get(c, []) if n not in chosen})
        if not frontier:
            break
        chosen.append(data.draw(st.sampled_from(frontier), label="next"))
    union = shapely.union_all(usa2.geometry.to_numpy()[chosen])
    gids = usa2["gid"].to_numpy()[chosen]
    out = run({"name": ["Zzqx Region"], "wkt": [union.wkt]}, tmp_path)
    row = out.iloc[0]
    assert row["match_status"] == "accepted" and sorted(row["gid_parts"].split("|")) == sorted(gids)
    assert row["match_method"] == "composite" and row["gid"] in gids
    assert np.unique(usa2["gid_1"].to_numpy()[chosen]).size == 1


@pytest.mark.parametrize("name", ["New York", "New York County"])
def test_manhattan_by_name_is_not_the_nyc_composite(tmp_path, usa2, name):
    """The alias "New York City" keeps its type word: GADM's New York County (Manhattan) is one
    area; its geometry confirms it (found by the geometry check: the alias used to swallow it)."""
    _, manhattan = _gid(usa2, "New York", "New York")
    out = run({"name": [name], "state": ["New York"], "wkt": [manhattan.wkt]}, tmp_path, parent_col="state")
    assert out[["gid", "gid_parts", "match_status"]].iloc[0].tolist() == ["USA.33.32_1", "USA.33.32_1", "accepted"]
    assert "geometry agrees" in out["match_reason"].iloc[0]
