"""gadm.load_areas / available_levels on the real GADM 3.6 archives (shared data)."""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geolookup import gadm
from geolookup.gadm import loader
from geolookup.core.errors import GeolookupError

CONTRACT = ["gid", "level", "parent_gid", "name", "varnames", "nl_names", "type", "engtype", "cc", "hasc"]


def raw_layer(data_root, iso, level):
    """The layer as GADM ships it, read without our code."""
    path = data_root / "gadm36" / f"gadm36_{iso}_gpkg.zip"
    return pyogrio.read_dataframe(f"/vsizip/{path}/gadm36_{iso}.gpkg", layer=f"gadm36_{iso}_{level}")


@pytest.fixture(autouse=True)
def _data_env(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


def test_esp_level2_contract(data_root):
    areas = gadm.load_areas("ESP", 2)
    raw = raw_layer(data_root, "ESP", 2)
    assert len(areas) == 52
    assert list(areas.columns) == CONTRACT + ["gid_0", "gid_1", "gid_2", "name_0", "name_1", "name_2", "geometry"]
    assert isinstance(areas.index, pd.RangeIndex)
    assert areas.crs.to_epsg() == 4326
    assert areas["gid"].tolist() == raw["GID_2"].tolist()
    assert (areas["parent_gid"] == areas["gid_1"]).all()
    assert (areas["level"] == 2).all() and areas["level"].dtype == "int64"
    assert areas["gid"].is_unique
    assert all(isinstance(v, list) for v in areas["varnames"])
    # missing HASC/NL_NAME become "" / [], never None or NaN
    for col in ("hasc", "cc", "type", "engtype"):
        assert all(isinstance(v, str) for v in areas[col])
    assert areas["geometry"].is_valid.all()


def test_varname_split_on_pipe(data_root):
    areas = gadm.load_areas("ITA", 1).set_index("gid")
    raw = raw_layer(data_root, "ITA", 1).set_index("GID_1")
    abruzzo = raw.loc["ITA.1_1", "VARNAME_1"]
    assert "|" in abruzzo
    assert areas.loc["ITA.1_1", "varnames"] == abruzzo.split("|")
    empty = raw["VARNAME_1"].isna() | (raw["VARNAME_1"] == "")
    assert all(areas.loc[g, "varnames"] == [] for g in raw.index[empty])


@pytest.mark.filterwarnings("ignore::geolookup.gadm.GeometryRepairWarning")
def test_usa_levels_derived_by_dissolve(data_root):
    raw = raw_layer(data_root, "USA", 2)
    assert gadm.available_levels("USA") == [0, 1, 2]
    states = gadm.load_areas("USA", 1)
    assert len(states) == raw["GID_1"].nunique() == 51
    assert set(states["gid"]) == set(raw["GID_1"])
    names = dict(zip(raw["GID_1"], raw["NAME_1"]))
    assert all(names[g] == n for g, n in zip(states["gid"], states["name"]))
    assert (states["parent_gid"] == "USA").all()
    assert states.geometry.is_valid.all()
    assert set(states.geometry.geom_type) == {"MultiPolygon"}
    # dissolving keeps the area: sum of counties == sum of states (planar degrees, same polygons)
    counties = shapely.make_valid(raw.geometry.values)
    assert shapely.area(states.geometry.values).sum() == pytest.approx(shapely.area(counties).sum(), rel=1e-6)
    country = gadm.load_areas("USA", 0)
    assert country["gid"].tolist() == ["USA"] and country["parent_gid"].tolist() == [""]
    assert country["name"].tolist() == ["United States"]


def test_available_levels_follow_the_inventory(data_root):
    """Every level from 0 to the finest one an archive stores is available (coarser ones derived)."""
    inv = pd.read_csv(data_root / "gadm36" / "INVENTORY.csv")
    for iso, levels in inv.groupby("iso")["level"]:
        assert gadm.available_levels(iso) == list(range(int(levels.max()) + 1)), iso


def test_fin_all_levels_from_level4(data_root):
    raw = raw_layer(data_root, "FIN", 4)  # FIN ships only level 4 (INVENTORY.csv)
    lv2 = gadm.load_areas("FIN", 2)
    assert set(lv2["gid"]) == set(raw["GID_2"])
    assert lv2["gid"].is_unique and lv2["gid"].str.fullmatch(r"FIN\.\d+\.\d+_1").all()
    assert (lv2["parent_gid"] == lv2["gid_1"]).all()


def test_repairs_counted_in_warning(data_root):
    raw = raw_layer(data_root, "USA", 2)
    invalid = int((~shapely.is_valid(raw.geometry.values)).sum())
    assert invalid > 0
    loader._load.cache_clear()
    with pytest.warns(gadm.GeometryRepairWarning, match=f"repaired {invalid} invalid"):
        areas = gadm.load_areas("USA", 2)
    assert areas.geometry.is_valid.all()


def test_cached_and_copied():
    a = gadm.load_areas("ITA", 2)
    a.loc[0, "name"] = "changed"
    b = gadm.load_areas("ITA", 2)
    assert b.loc[0, "name"] != "changed"


def test_missing_level_lists_levels():
    with pytest.raises(GeolookupError, match=r"GADM level 3 is not available for ITA.*available GADM levels: 0, 1, 2$"):
        gadm.load_areas("ITA", 3)
    with pytest.raises(GeolookupError, match="available GADM levels: 0, 1, 2"):
        gadm.load_areas("ita", -1)


def test_unknown_iso3_lists_local_countries():
    with pytest.raises(GeolookupError, match=r"unknown ISO3 code 'XYZ'.*ITA") as exc:
        gadm.load_areas("XYZ", 1)
    assert "\n" not in str(exc.value)
    with pytest.raises(GeolookupError, match="not an ISO3 country code"):
        gadm.load_areas("IT", 1)


def test_reads_shapefile_zip(data_root, tmp_path):
    """A folder holding only gadm36_HKG_shp.zip (GADM's shapefile layout) gives the same table."""
    folder = tmp_path / "data" / "gadm36"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "gadm36_HKG_shp.zip", "w") as zf:
        for level in (0, 1):
            layer = raw_layer(data_root, "HKG", level)
            stem = tmp_path / f"gadm36_HKG_{level}"
            pyogrio.write_dataframe(layer, f"{stem}.shp", encoding="UTF-8")
            for ext in ("shp", "shx", "dbf", "prj", "cpg"):
                zf.write(f"{stem}.{ext}", f"gadm36_HKG_{level}.{ext}")
    assert loader.archive("HKG", tmp_path / "data")[1] == "shp"
    from_shp = gadm.load_areas("HKG", 1, data_dir=tmp_path / "data")
    from_gpkg = gadm.load_areas("HKG", 1)
    assert from_shp.drop(columns="geometry").equals(from_gpkg.drop(columns="geometry"))
    assert shapely.equals_exact(from_shp.geometry.values, from_gpkg.geometry.values, tolerance=1e-12).all()
    assert from_shp.crs.to_epsg() == 4326


def test_no_warning_for_valid_layers():
    loader._load.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(gadm.load_areas("ESP", 2).geometry.is_valid)
