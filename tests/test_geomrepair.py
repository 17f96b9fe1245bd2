"""geolookup.core.geomrepair: one repair step for GADM, NUTS and provider geometries (hypothesis)."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings, strategies as st

from geolookup.core.geomrepair import GeometryRepairWarning, repair_invalid

coord = st.floats(-10, 10, allow_nan=False).map(lambda v: round(v, 2))
ring = st.lists(st.tuples(coord, coord), min_size=3, max_size=7)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), ring), min_size=1, max_size=6))
def test_repair_makes_every_geometry_valid_and_keeps_valid_ones(rings):
    geoms = np.array([None if r is None else shapely.Polygon(r + [r[0]]) for r in rings], dtype=object)
    before_valid = np.array([g is not None and shapely.is_valid(g) for g in geoms])
    given_in = list(geoms)
    fixed, count = repair_invalid(geoms)
    missing = shapely.is_missing(geoms)
    assert (shapely.is_missing(fixed) == missing).all()
    assert shapely.is_valid(fixed[~missing]).all()
    assert count == int((~missing & ~before_valid).sum())
    assert all(fixed[i] is geoms[i] for i in np.flatnonzero(before_valid))  # valid input untouched
    assert all(a is b for a, b in zip(geoms, given_in))  # the caller's array is not changed


def test_bow_tie_keeps_its_area_and_warns_with_the_label():
    bow = shapely.from_wkt("POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))")
    with pytest.warns(GeometryRepairWarning, match=r"^layer.gpkg: repaired 1 invalid geometries"):
        fixed, count = repair_invalid([bow, None], "layer.gpkg")
    assert count == 1 and fixed[1] is None
    assert shapely.get_type_id(fixed[0]) == 6 and shapely.area(fixed[0]) == pytest.approx(0.5)
