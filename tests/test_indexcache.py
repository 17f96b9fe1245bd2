"""Built point indexes on disk (geolookup.core.indexcache, PointIndex.to_arrays, nuts.nuts_layer): the
same answers as a fresh build, a source file's change seen, a damaged entry rebuilt, warnings kept."""

from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy as np
import pytest

from geolookup import nuts
from geolookup.core import indexcache
from geolookup.core.pointindex import PointIndex
from geolookup.core.pointnearest import fill_near

EUROPE = (-25.0, 34.0, 45.0, 72.0)


@pytest.fixture(scope="module")
def nuts3(data_root):
    r = nuts.load_nuts("10M", 2021, data_dir=data_root)
    return r[r["LEVL_CODE"] == 3].reset_index(drop=True)


def points(n=60_000, seed=8):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(EUROPE[0], EUROPE[2], n), rng.uniform(EUROPE[1], EUROPE[3], n)
    # NaN, far outside the grid, and just outside it (west of the Azores, within the tolerance)
    return np.concatenate([x, [np.nan, 170.0, -31.4]]), np.concatenate([y, [45.0, -80.0, 39.5]])


def test_arrays_round_trip_answers_as_a_fresh_build(nuts3):
    x, y = points()
    fresh = PointIndex(nuts3.geometry.values)
    want_in, (want_near, want_km) = fresh.within(x, y), fresh.nearest(x, y, 5.0)
    built = PointIndex(nuts3.geometry.values)
    built.within(x[:1000], y[:1000])  # partly classified: the rest is classified after loading
    built.nearest(x[:1000], y[:1000], 5.0)
    loaded = PointIndex.from_arrays(built.to_arrays())
    assert (loaded.within(x, y) == want_in).all()
    near, km = loaded.nearest(x, y, 5.0)
    assert (near == want_near).all() and np.allclose(km, want_km, equal_nan=True)
    full = PointIndex(nuts3.geometry.values)
    full.fill_all()
    fill_near(full, 5.0)
    assert (full.state != -3).all()
    arrays = full.to_arrays()
    assert all(v.dtype != object for v in arrays.values())  # loadable without pickle
    again = PointIndex.from_arrays(arrays)
    assert (again.within(x, y) == want_in).all() and (again.nearest(x, y, 5.0)[0] == want_near).all()
    with pytest.raises(ValueError):
        PointIndex.from_arrays({**arrays, "state": arrays["state"][:-1]})


def test_nuts_layer_is_loaded_from_the_cache_with_the_same_answers(data_root, monkeypatch, nuts3):
    x, y = points(20_000, seed=2)
    first = nuts.nuts_layer(3, "10M", 2021, data_dir=data_root)
    assert len(list(_cache().glob("*.npz"))) == 1
    monkeypatch.setattr(nuts.loader, "_load", lambda paths: pytest.fail("the GeoJSON was read again"))
    second = nuts.nuts_layer(3, "10M", 2021, data_dir=data_root)
    assert second is not first and list(second.codes) == list(first.codes) == nuts3["NUTS_ID"].tolist()
    a, b = first.locate(x, y, 5.0), second.locate(x, y, 5.0)
    for u, v in zip(a, b):
        assert np.array_equal(u, v, equal_nan=True)
    assert (a[1] == 1).sum() > 50  # the nearest-region fallback was exercised


def _cache():
    from geolookup.core.datafiles import cache_dir

    return cache_dir() / indexcache.SUBDIR


def test_a_changed_source_file_is_read_again(data_root, tmp_path):
    data = tmp_path / "data"
    (data / "nuts").mkdir(parents=True)
    src = data / "nuts" / "NUTS_RG_10M_2021_4326.geojson"
    shutil.copy(data_root / "nuts" / src.name, src)
    nuts.nuts_layer(3, data_dir=data)
    nuts.nuts_layer(3, data_dir=data)
    assert len(list(_cache().glob("*.npz"))) == 1
    os.utime(src, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns + 10**9))  # the file was replaced
    nuts.nuts_layer(3, data_dir=data)
    assert len(list(_cache().glob("*.npz"))) == 2


def test_a_damaged_or_unwritable_cache_is_rebuilt_or_skipped(data_root, monkeypatch, tmp_path):
    layer = nuts.nuts_layer(2, data_dir=data_root)
    (entry,) = _cache().glob("*.npz")
    entry.write_bytes(b"not a zip file")
    again = nuts.nuts_layer(2, data_dir=data_root)  # rebuilt from the GeoJSON and stored again
    assert list(again.codes) == list(layer.codes)
    assert indexcache.load(entry) is not None
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("GEOLOOKUP_CACHE", str(blocker))  # the cache folder cannot be created
    assert list(nuts.nuts_layer(2, data_dir=data_root).codes) == list(layer.codes)


def test_repair_warnings_are_raised_on_every_load(tmp_path):
    """A layer whose file needed geometry repair warns again when it comes from the cache."""
    bowtie = [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]
    square = [[[3, 0], [4, 0], [4, 1], [3, 1], [3, 0]]]
    feats = [{"type": "Feature", "properties": {"NUTS_ID": i, "LEVL_CODE": 3, "CNTR_CODE": i[:2]},
              "geometry": {"type": "Polygon", "coordinates": g}} for i, g in (("XX001", bowtie), ("XX002", square))]
    (tmp_path / "nuts").mkdir()
    (tmp_path / "nuts" / "NUTS_RG_10M_2021_4326.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
         "features": feats}))
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layer = nuts.nuts_layer(3, data_dir=tmp_path)
        assert [str(w.message).split(": ", 1)[1] for w in caught if w.category is nuts.GeometryRepairWarning] == \
            ["repaired 1 invalid geometries with shapely.make_valid"]
    assert layer.locate(np.array([3.5, 0.3, 9.0]), np.array([0.5, 1.0, 9.0]), 0.0)[0].tolist() == [1, 0, -1]
