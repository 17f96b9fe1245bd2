"""nuts.load_nuts / assign_nuts on the real GISCO files (shared data)."""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geolookup import nuts
from geolookup.core.pointindex import PointIndex
from geolookup.core.errors import GeolookupError, InputError

ROME = (12.4964, 41.9028)


@pytest.fixture(autouse=True)
def _data_env(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


@pytest.fixture(scope="module")
def regions(data_root):
    return nuts.load_nuts("10M", 2021, data_dir=data_root)


@pytest.fixture(scope="module")
def provinces(data_root):
    df = pd.read_csv(data_root / "providers" / "pcm_dpc" / "dpc-covid19-ita-province-latest.csv",
                     dtype=str, keep_default_na=False)
    return df


def test_all_levels_file(regions):
    assert regions.crs.to_epsg() == 4326
    assert list(regions.columns) == ["NUTS_ID", "LEVL_CODE", "CNTR_CODE", "NAME_LATN", "NUTS_NAME", "geometry"]
    assert regions["LEVL_CODE"].dtype == "int64"
    assert regions["LEVL_CODE"].value_counts().sort_index().tolist() == [37, 125, 334, 1514]  # README
    assert regions["NUTS_ID"].is_unique
    assert (regions["NUTS_ID"].str.len() == regions["LEVL_CODE"] + 2).all()


def test_per_level_files(data_root):
    per_level = nuts.load_nuts("20M", 2021, data_dir=data_root)
    assert sorted(per_level["LEVL_CODE"].unique()) == [0, 1, 2, 3]
    assert per_level["NUTS_ID"].is_unique
    assert "NO0B" not in set(per_level["NUTS_ID"])  # README: 20M has no NO0B
    assert per_level.crs.to_epsg() == 4326


def test_3857_file_is_reprojected(data_root, tmp_path):
    shutil.copy(data_root / "nuts" / "NUTS_RG_20M_2016_3857.geojson", tmp_path)
    r = nuts.load_nuts("20M", 2016, data_dir=tmp_path)
    assert r.crs.to_epsg() == 4326
    xmin, ymin, xmax, ymax = r.total_bounds
    assert -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90
    out = nuts.assign_nuts([ROME[0]], [ROME[1]], regions=r)
    assert out.loc[0, "nuts_3"] == "ITI43"
    # regions passed in their own CRS are honoured too
    out2 = nuts.assign_nuts([ROME[0]], [ROME[1]], regions=r.to_crs(3857))
    assert out2.loc[0, "nuts_3"] == "ITI43"


def test_metres_declared_as_degrees_is_an_error(data_root, tmp_path):
    bad = gpd.read_file(data_root / "nuts" / "NUTS_RG_20M_2016_3857.geojson").set_crs(4326, allow_override=True)
    bad.to_file(tmp_path / "NUTS_RG_20M_2016_4326.geojson", driver="GeoJSON")
    with pytest.raises(InputError, match="coordinates are not degrees"):
        nuts.load_nuts("20M", 2016, data_dir=tmp_path)


def test_pcm_dpc_provinces_acceptance(provinces, regions):
    """Acceptance: >= 99% of pcm-dpc provinces with a codice_nuts_3 get that code."""
    undefined = provinces["denominazione_provincia"].str.startswith("In fase di definizione")
    assert undefined.any()
    assert (provinces.loc[undefined, ["lat", "long", "codice_nuts_3"]] == "").all().all()
    has = provinces[provinces["codice_nuts_3"] != ""]
    assert (has["lat"] != "").all()
    out = nuts.assign_nuts(has["long"].astype(float), has["lat"].astype(float), regions=regions)
    assert len(out) == len(has)
    agree = (out["nuts_3"].to_numpy() == has["codice_nuts_3"].to_numpy()).mean()
    assert agree >= 0.99
    assert (out["nuts_2"].to_numpy() == has["codice_nuts_2"].to_numpy()).mean() >= 0.99
    # README: 5 of 107 capitals fall outside every polygon at 10M and need the nearest fallback
    near = out["nuts_method"] == "nearest"
    assert near.sum() == 5
    assert ((out.loc[near, "nuts_distance_km"] > 0) & (out.loc[near, "nuts_distance_km"] <= 5)).all()
    assert (out.loc[~near, "nuts_distance_km"] == 0).all()


def aeqd_distance_km(lon, lat, geom):
    """Independent distance: azimuthal equidistant projection centred on the point; edges are
    straight in degrees (GeoJSON/shapely semantics), so they are densified before projecting."""
    geom = shapely.segmentize(geom, 0.0005)
    crs = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")
    t = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    projected = shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return shapely.distance(shapely.Point(0, 0), projected) / 1000


def test_nearest_distance_is_geodesic(provinces, regions):
    has = provinces[provinces["codice_nuts_3"] != ""]
    lon, lat = has["long"].astype(float).to_numpy(), has["lat"].astype(float).to_numpy()
    out = nuts.assign_nuts(lon, lat, regions=regions, levels=(3,))
    level3 = regions[regions["LEVL_CODE"] == 3].set_index("NUTS_ID")
    near = np.flatnonzero(out["nuts_method"] == "nearest")
    assert len(near)
    for i in near:
        expected = aeqd_distance_km(lon[i], lat[i], level3.loc[out.loc[i, "nuts_3"], "geometry"])
        assert out.loc[i, "nuts_distance_km"] == pytest.approx(expected, rel=2e-3, abs=1e-3)
    none = nuts.assign_nuts(lon[near], lat[near], regions=regions, tolerance_km=0)
    assert (none["nuts_method"] == "none").all() and none["nuts_distance_km"].isna().all()
    assert (none["nuts_3"] == "").all()


def test_tolerance_in_km():
    # 10 km west of Sardinia's west coast at Capo Caccia (about 8.16E, 40.56N)
    lon, lat = 8.16 - 10 / (111.32 * np.cos(np.radians(40.56))) - 0.02, 40.56
    default = nuts.assign_nuts([lon], [lat])
    assert default.loc[0, "nuts_method"] == "none" and default.loc[0, "nuts_0"] == ""
    wide = nuts.assign_nuts([lon], [lat], tolerance_km=30)
    assert wide.loc[0, "nuts_method"] == "nearest" and wide.loc[0, "nuts_3"].startswith("ITG")
    assert 5 < wide.loc[0, "nuts_distance_km"] < 30


def test_levels_prefixes_missing_and_order(regions):
    lon = np.array([ROME[0], np.nan, 2.3522, -40.0])
    lat = np.array([ROME[1], 45.0, 48.8566, 40.0])
    out = nuts.assign_nuts(lon, lat, regions=regions)
    assert list(out.columns) == ["nuts_0", "nuts_1", "nuts_2", "nuts_3", "nuts_method", "nuts_distance_km"]
    assert out["nuts_3"].tolist() == ["ITI43", "", "FR101", ""]
    assert out["nuts_0"].tolist() == ["IT", "", "FR", ""]
    assert out["nuts_method"].tolist() == ["within", "none", "within", "none"]
    assert out["nuts_distance_km"].isna().tolist() == [False, True, False, True]
    only2 = nuts.assign_nuts(lon, lat, regions=regions, levels=(2,))
    assert list(only2.columns) == ["nuts_2", "nuts_method", "nuts_distance_km"]
    assert only2["nuts_2"].tolist() == ["ITI4", "", "FR10", ""]


def test_within_agrees_with_sjoin(regions):
    """The grid/STRtree search equals geopandas.sjoin(predicate='within') for random points."""
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-10, 30, 20000), rng.uniform(35, 60, 20000)
    level3 = regions[regions["LEVL_CODE"] == 3].reset_index(drop=True)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
    joined = gpd.sjoin(pts, level3[["geometry"]], predicate="within", how="left")
    expected = joined["index_right"].fillna(-1).astype(int).groupby(level=0).min().to_numpy()
    for cell in (0.05, 0.25, 2.0):
        assert (PointIndex(level3.geometry.values, cell).within(x, y) == expected).all()
    out = nuts.assign_nuts(x, y, regions=regions, levels=(3,), tolerance_km=0)
    codes = np.append(level3["NUTS_ID"].to_numpy(dtype=object), "")
    assert (out["nuts_3"].to_numpy(dtype=object) == codes[expected]).all()


def test_bad_input():
    with pytest.raises(GeolookupError, match="point 1 .* not in degrees WGS84"):
        nuts.assign_nuts([12.0], [95.0])
    with pytest.raises(GeolookupError, match="choose among 0, 1, 2, 3"):
        nuts.assign_nuts([12.0], [45.0], levels=(4,))
    with pytest.raises(GeolookupError, match="not a GISCO scale"):
        nuts.load_nuts("10m2")
    empty = nuts.assign_nuts([], [])
    assert len(empty) == 0 and "nuts_3" in empty.columns


def test_interior_point_of_every_region_is_assigned_that_region(regions):
    """Property over all 2,010 regions of the 10M file: a region's interior point (GEOS PointOnSurface)
    lies in that region, so assigning it at the region's own level must give the region's NUTS_ID."""
    for level in range(4):
        layer = regions[regions["LEVL_CODE"] == level].reset_index(drop=True)
        pts = shapely.point_on_surface(layer.geometry.values)
        out = nuts.assign_nuts(shapely.get_x(pts), shapely.get_y(pts), regions=regions, levels=(level,),
                               tolerance_km=0)
        wrong = layer["NUTS_ID"][out[f"nuts_{level}"].to_numpy() != layer["NUTS_ID"].to_numpy()]
        assert wrong.empty, f"level {level}: {wrong.tolist()[:10]}"
        assert (out["nuts_method"] == "within").all() and (out["nuts_distance_km"] == 0).all()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-25, 45), st.floats(34, 72)), min_size=1, max_size=50))
def test_random_points_agree_with_shapely_contains(regions, points):
    """Property: a 'within' point lies in the interior of its level-3 region and its coarser codes are
    that region's prefixes (NUTS codes are hierarchical); a 'none' point (no fallback) is in none."""
    lon, lat = (np.array(v, dtype=float) for v in zip(*points))
    out = nuts.assign_nuts(lon, lat, regions=regions, tolerance_km=0)
    level3 = regions[regions["LEVL_CODE"] == 3].set_index("NUTS_ID").geometry
    pts = shapely.points(lon, lat)
    for i, row in out.iterrows():
        if row["nuts_method"] == "within":
            assert level3[row["nuts_3"]].contains(pts[i])
            assert [row[f"nuts_{k}"] for k in range(3)] == [row["nuts_3"][: 2 + k] for k in range(3)]
        else:
            assert row["nuts_method"] == "none" and row["nuts_3"] == "" and np.isnan(row["nuts_distance_km"])
            assert not shapely.contains(level3.values, pts[i]).any()


@pytest.mark.parametrize("iso3", ["VAT", "SMR", "MCO", "SXM"])
def test_countries_outside_nuts_get_no_code(regions, iso3):
    """Holy See, San Marino, Monaco, Sint Maarten are not NUTS countries: their GADM interior points
    get no code, though at 10M a GISCO polygon covers some of them or lies within the 5 km tolerance."""
    from geolookup import gadm

    areas = gadm.load_areas(iso3, max(gadm.available_levels(iso3)))
    lon, lat = gadm.interior_points(areas)
    blind = nuts.assign_nuts(lon, lat, regions=regions)  # country unknown: the coarse layer answers
    assert (blind["nuts_3"] != "").any()
    for country in (iso3, areas["gid_0"].to_numpy()):  # the caller's country, or GID_0 per point
        out = nuts.assign_nuts(lon, lat, regions=regions, country=country)
        assert (out["nuts_3"] == "").all() and (out["nuts_0"] == "").all()
        assert (out["nuts_method"] == "none").all() and out["nuts_distance_km"].isna().all()


def test_country_per_point_keeps_nuts_countries(regions):
    lon, lat = np.array([ROME[0], 12.4534, 12.4534]), np.array([ROME[1], 41.9029, 41.9029])  # Rome, Vatican x2
    out = nuts.assign_nuts(lon, lat, regions=regions, country=["ITA", "VAT", ""])
    assert out["nuts_3"].tolist() == ["ITI43", "", "ITI43"]
    with pytest.raises(GeolookupError, match="one ISO3 code per point"):
        nuts.assign_nuts(lon, lat, regions=regions, country=["ITA"])


def test_point_on_a_boundary_takes_the_fallback_at_zero_km(regions):
    """A vertex of a level-3 region is on its boundary: not "within" (sjoin semantics), so the nearest
    region at 0 km, which is one of the regions sharing that vertex."""
    level3 = regions[regions["LEVL_CODE"] == 3].reset_index(drop=True)
    it = level3[level3["NUTS_ID"] == "ITI43"].geometry.values
    x, y = shapely.get_coordinates(it)[:5].T
    out = nuts.assign_nuts(x, y, regions=regions, levels=(3,))
    assert (out["nuts_method"] == "nearest").all() and (out["nuts_distance_km"] == 0).all()
    touching = set(level3["NUTS_ID"][shapely.intersects(level3.geometry.values, shapely.multipoints(np.c_[x, y]))])
    assert set(out["nuts_3"]) <= touching and "ITI43" in touching
