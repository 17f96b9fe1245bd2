"""The one point-in-polygon index (geolookup.core.pointindex) against geopandas.sjoin(predicate="within")."""

from __future__ import annotations

import pickle
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geolookup import gadm, nuts
from geolookup.core.geodesy import geodesic_km
from geolookup.core.pointindex import PointIndex, index_for


def sjoin_lowest(geoms, x, y) -> np.ndarray:
    """Reference: lowest polygon index per point from geopandas.sjoin(predicate="within"), -1 for none."""
    layer = gpd.GeoDataFrame(geometry=list(geoms))
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y))
    joined = gpd.sjoin(pts, layer, predicate="within", how="left")
    return joined["index_right"].fillna(-1).astype(int).groupby(level=0).min().to_numpy()


@pytest.fixture(scope="module")
def nuts3(data_root):
    r = nuts.load_nuts("10M", 2021, data_dir=data_root)
    return r[r["LEVL_CODE"] == 3].reset_index(drop=True)


@pytest.fixture(scope="module")
def counties(data_root, monkeypatch_module):
    monkeypatch_module.setenv("GEOLOOKUP_DATA", str(data_root))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gadm.GeometryRepairWarning)
        return gadm.load_areas("USA", 2)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def boundary_points(geoms, rng, n):
    """Vertices and edge midpoints of the layer: points exactly on boundaries (sjoin "within" gives none)."""
    xy = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_geometry(geoms, 0)))
    pick = rng.choice(len(xy) - 1, n)
    mid = (xy[pick] + xy[pick + 1]) / 2
    return np.concatenate([xy[pick, 0], mid[:, 0]]), np.concatenate([xy[pick, 1], mid[:, 1]])


@pytest.mark.filterwarnings("ignore::geolookup.gadm.GeometryRepairWarning")
def test_real_layers_equal_sjoin(nuts3, counties):
    rng = np.random.default_rng(3)
    for layer, box in ((nuts3, (-25, 34, 45, 72)), (counties, (-125, 24, -66, 50))):
        geoms = layer.geometry.values
        x, y = rng.uniform(box[0], box[2], 40_000), rng.uniform(box[1], box[3], 40_000)
        bx, by = boundary_points(geoms, rng, 2000)
        x, y = np.concatenate([x, bx, [np.nan, 1e6]]), np.concatenate([y, by, [40.0, 1e6]])
        got = PointIndex(geoms).within(x, y)
        assert (got == sjoin_lowest(geoms, x, y)).all()
        assert (got[len(x) - 2:] == -1).all()  # NaN, far outside the grid
        assert (got[40_000:40_000 + 2000] == -1).all()  # vertices lie on a boundary


def test_overlapping_real_areas_take_lowest_index(counties):
    """GADM's USA counties overlap in a few places; a point in an overlap gets the lowest index, as sjoin."""
    geoms = counties.geometry.values
    i, j = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    assert len(i)
    keep = i < j
    overlap = shapely.intersection(geoms[i[keep]], geoms[j[keep]])
    overlap = overlap[shapely.area(overlap) > 0]
    pts = shapely.point_on_surface(overlap)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    got = PointIndex(geoms).within(x, y)
    assert (got == sjoin_lowest(geoms, x, y)).all()
    assert (got >= 0).any()


def test_chunks_cache_and_pickle(nuts3):
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-10, 30, 30_000), rng.uniform(35, 60, 30_000)
    index = index_for(nuts3.geometry.values)
    assert index_for(nuts3.copy().geometry.values) is index  # copies share the cached index
    assert index_for(nuts3.to_crs(3035).geometry.values) is not index
    whole = index.within(x, y)
    parts = np.concatenate([index.within(x[i:i + 997], y[i:i + 997]) for i in range(0, len(x), 997)])
    assert (parts == whole).all()
    clone = pickle.loads(pickle.dumps(index))
    assert (clone.within(x, y) == whole).all()
    assert (clone.state != -3).sum() == (index.state != -3).sum()  # the classified cells travel along


def test_nearest_is_the_geodesic_minimum(nuts3):
    """Nearest polygon and distance equal a brute-force search over densified boundaries."""
    rng = np.random.default_rng(11)
    geoms = nuts3.geometry.values
    x, y = rng.uniform(-10, 20, 3000), rng.uniform(36, 58, 3000)
    index = PointIndex(geoms)
    out = np.flatnonzero(index.within(x, y) < 0)[:150]
    near, dist = index.nearest(x[out], y[out], 8.0)
    assert (near >= 0).sum() > 10 and (near < 0).sum() > 10
    for k in np.flatnonzero(near >= 0)[:20]:
        p = shapely.Point(x[out[k]], y[out[k]])
        cand = shapely.STRtree(geoms).query(p.buffer(0.2))
        ring = shapely.segmentize(shapely.boundary(geoms[cand]), 0.0005)
        best = []
        for g in ring:
            xy = shapely.get_coordinates(g)
            best.append(geodesic_km(np.full(len(xy), p.x), np.full(len(xy), p.y), xy[:, 0], xy[:, 1]).min())
        assert cand[int(np.argmin(best))] == near[k]
        assert dist[k] == pytest.approx(min(best), rel=2e-3, abs=2e-3)
    far = out[near < 0]
    assert (index.nearest(x[far], y[far], 8.0)[0] == -1).all()


@st.composite
def layers_and_points(draw):
    """Star polygons that may overlap and nest, and points: random, on vertices, on edges, on grid lines."""
    n = draw(st.integers(1, 6))
    polys = []
    for _ in range(n):
        cx, cy = draw(st.floats(-3, 3)), draw(st.floats(-3, 3))
        k = draw(st.integers(3, 12))
        r = np.array(draw(st.lists(st.floats(0.05, 2.0), min_size=k, max_size=k)))
        ang = np.linspace(0, 2 * np.pi, k, endpoint=False)
        polys.append(shapely.Polygon(np.column_stack([cx + r * np.cos(ang), cy + r * np.sin(ang)])))
    polys = [p if p.is_valid else shapely.make_valid(p) for p in polys]
    xy = shapely.get_coordinates(np.array(polys, dtype=object))
    pts = draw(st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), min_size=1, max_size=60))
    on = draw(st.lists(st.integers(0, len(xy) - 2), max_size=20))
    grid = draw(st.lists(st.tuples(st.integers(-20, 20), st.integers(-20, 20)), max_size=10))
    x = [p[0] for p in pts] + [xy[i, 0] for i in on] + [(xy[i, 0] + xy[i + 1, 0]) / 2 for i in on] + [g[0] / 4 for g in grid]
    y = [p[1] for p in pts] + [xy[i, 1] for i in on] + [(xy[i, 1] + xy[i + 1, 1]) / 2 for i in on] + [g[1] / 4 for g in grid]
    cell = draw(st.sampled_from([0.1, 0.25, 1.0]))
    return np.array(polys, dtype=object), np.array(x), np.array(y), cell


@settings(max_examples=150, deadline=None)
@given(layers_and_points())
def test_generated_layers_equal_sjoin(case):
    geoms, x, y, cell = case
    assert (PointIndex(geoms, cell).within(x, y) == sjoin_lowest(geoms, x, y)).all()


def test_points_outside_the_grid_still_find_the_nearest_polygon():
    """The grid starts at the layer's bounds: a point just beyond them is searched with its own box."""
    index = PointIndex([shapely.box(0.0, 0.0, 1.0, 1.0), shapely.box(2.0, 0.0, 3.0, 1.0)])
    x, y = np.array([-0.01, 0.5, 1.5, 3.02, np.nan]), np.array([0.5, -0.02, 0.5, 1.0, 0.5])
    cells = index.cell_ids(x, y)
    assert cells[0] == index.ncell and cells[4] == index.ncell
    near, km = index.nearest(x[:4], y[:4], 5.0, cells[:4])
    assert near.tolist() == [0, 0, -1, 1]
    want = geodesic_km(np.array([-0.01, 0.5, 3.02]), np.array([0.5, -0.02, 1.0]), np.array([0.0, 0.5, 3.0]),
                       np.array([0.5, 0.0, 1.0]))
    assert km[[0, 1, 3]] == pytest.approx(want, rel=1e-3)
    assert (index.within(x, y, cells) == -1).all()
