"""Interior points, equal-area centroids and locate, on real GADM layers and generated polygons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from geolookup import gadm


@pytest.fixture(autouse=True)
def _data_env(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


@pytest.fixture(scope="module")
def inventory(data_root):
    return pd.read_csv(data_root / "gadm36" / "INVENTORY.csv")


def test_esp_provinces_equal_datahub(data_root):
    """Acceptance: the Data Hub's ESP latitude/longitude are GEOS PointOnSurface of GADM level 2."""
    areas = gadm.load_areas("ESP", 2)
    lon, lat = gadm.interior_points(areas.geometry)
    ref = pd.read_csv(data_root / "reference" / "covid19datahub" / "ESP.csv", dtype=str, keep_default_na=False)
    ref = ref[ref["administrative_area_level"] == "3"]
    ours = pd.DataFrame({"key_gadm": areas["gid"], "lon": lon, "lat": lat})
    m = ours.merge(ref, on="key_gadm", validate="one_to_one")
    assert len(m) == 52
    assert np.abs(m["lat"] - m["latitude"].astype(float)).max() < 1e-9
    assert np.abs(m["lon"] - m["longitude"].astype(float)).max() < 1e-9


@pytest.mark.filterwarnings("ignore::geolookup.gadm.GeometryRepairWarning")
def test_interior_points_inside_every_real_layer(inventory):
    """Property over every layer in the shared data: each interior point is covered by its polygon."""
    for row in inventory.itertuples():
        areas = gadm.load_areas(row.iso, row.level)
        assert len(areas) == row.features
        lon, lat = gadm.interior_points(areas)
        inside = shapely.covers(areas.geometry.values, shapely.points(lon, lat))
        assert inside.all(), f"{row.iso} level {row.level}: {areas['gid'][~inside].tolist()}"


def star_polygon(n_vertices, radii, cx, cy):
    angles = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    r = np.asarray(radii[:n_vertices])
    return shapely.Polygon(np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)]))


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(3, 40),
    radii=st.lists(st.floats(0.01, 5.0), min_size=40, max_size=40),
    cx=st.floats(-170, 170),
    cy=st.floats(-80, 80),
    hole=st.booleans(),
)
def test_interior_point_inside_generated_polygons(n, radii, cx, cy, hole):
    poly = star_polygon(n, radii, cx, cy)
    if hole:
        poly = poly.difference(shapely.Point(cx, cy).buffer(min(radii[:n]) / 2))
    assume(poly.is_valid and not poly.is_empty)  # star polygons are simple; a hole can split them
    lon, lat = gadm.interior_points([poly])
    assert poly.covers(shapely.Point(lon[0], lat[0]))


def spherical_centroid(lon0, lon1, lat0, lat1, n=800):
    """Centroid on the sphere of a lon/lat box by numerical integration (mean of unit vectors)."""
    lat = np.radians(np.linspace(lat0, lat1, n + 1))
    lon = np.radians(np.linspace(lon0, lon1, 2 * n + 1))
    la, lo = np.meshgrid((lat[:-1] + lat[1:]) / 2, (lon[:-1] + lon[1:]) / 2, indexing="ij")
    w = np.cos(la)
    x, y, z = (w * np.cos(la) * np.cos(lo)).sum(), (w * np.cos(la) * np.sin(lo)).sum(), (w * np.sin(la)).sum()
    return np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))


def test_centroid_equal_area_at_high_latitude():
    box = shapely.box(0, 60, 40, 80)  # a degree-space rectangle: its degree centroid is (20, 70)
    lon, lat = gadm.centroids([box])
    ref_lon, ref_lat = spherical_centroid(0, 40, 60, 80)
    # planar centroid in a LAEA centred near the box vs the centroid on the sphere: ~0.01 degrees apart
    assert abs(lat[0] - ref_lat) < 0.05 and abs(lon[0] - ref_lon) < 0.05
    assert abs(lat[0] - box.centroid.y) > 1.0  # degree space would be off by more than a degree


def test_centroids_real_high_latitude_match_laea_europe():
    """NOR level 1 centroids agree with those computed in EPSG:3035 (ETRS89-LAEA, equal area)."""
    areas = gadm.load_areas("NOR", 1)
    lon, lat = gadm.centroids(areas.geometry)
    laea = areas.to_crs(3035).geometry.centroid.to_crs(4326)
    assert np.abs(lat - laea.y.to_numpy()).max() < 0.005
    assert np.abs(lon - laea.x.to_numpy()).max() < 0.005
    deg = shapely.centroid(areas.geometry.values)  # degree space: Nordland is off by ~0.1 degree
    assert max(np.abs(lat - shapely.get_y(deg)).max(), np.abs(lon - shapely.get_x(deg)).max()) > 0.05


def test_centroid_antimeridian_and_missing():
    east = shapely.box(178, 60, 180, 62)
    west = shapely.box(-180, 60, -178, 62)
    lon, lat = gadm.centroids([shapely.MultiPolygon([east, west]), None, shapely.Polygon()])
    assert abs(abs(lon[0]) - 180) < 0.01 and 60.9 < lat[0] < 61.1
    assert np.isnan(lon[1:]).all() and np.isnan(lat[1:]).all()
    ilon, ilat = gadm.interior_points([None])
    assert np.isnan(ilon[0]) and np.isnan(ilat[0])


def test_locate_real_provinces_and_crs():
    areas = gadm.load_areas("ESP", 2)
    lon, lat = gadm.interior_points(areas)
    lon = np.append(lon, [np.nan, -20.0])  # missing, Atlantic
    lat = np.append(lat, [40.0, 40.0])
    idx = gadm.locate(lon, lat, areas)
    assert idx.tolist() == list(range(52)) + [-1, -1]
    assert gadm.locate(lon, lat, areas.to_crs(3857)).tolist() == idx.tolist()
    tree = shapely.STRtree(areas.geometry.to_numpy())  # a caller's tree gives the same answer
    assert gadm.locate(lon, lat, areas, tree).tolist() == idx.tolist()


def test_locate_matches_geopandas_sjoin():
    import geopandas as gpd

    areas = gadm.load_areas("ITA", 1)
    rng = np.random.default_rng(1)
    x, y = rng.uniform(6, 19, 3000), rng.uniform(36, 47.5, 3000)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
    joined = gpd.sjoin(pts, areas[["geometry"]], predicate="within", how="left")
    expected = joined["index_right"].fillna(-1).astype(int).groupby(level=0).min().to_numpy()
    assert (gadm.locate(x, y, areas) == expected).all()
    assert pyproj.CRS(areas.crs).equals("EPSG:4326")
