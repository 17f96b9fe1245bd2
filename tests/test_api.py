"""The Python API re-exported from ``geolookup``, on real points and real GADM areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import geolookup
from geolookup.core.errors import InputError

PCM = ("providers", "pcm_dpc", "dpc-covid19-ita-province-latest.csv")


@pytest.fixture(scope="module")
def provinces(data_root):
    """pcm-dpc's Italian provinces with their published coordinates (degrees WGS84)."""
    df = pd.read_csv(data_root.joinpath(*PCM), dtype=str)
    df = df[pd.to_numeric(df["lat"], errors="coerce").fillna(0) != 0].reset_index(drop=True)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["long"].astype(float), df["lat"].astype(float)),
                            crs="EPSG:4326")


def test_locate_equals_sjoin_on_provider_points(provinces, data_root):
    got = geolookup.locate(provinces, country="ITA", gadm_level=2, nuts=False, data_dir=data_root)
    assert isinstance(got, gpd.GeoDataFrame) and list(got.index) == list(provinces.index)
    areas = geolookup.gadm.load_areas("ITA", 2, data_dir=data_root)
    joined = gpd.sjoin(provinces, areas[["gid_2", "name_1", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    assert (got["GID_2"].to_numpy() == joined["gid_2"].fillna("").to_numpy()).all()
    assert (got["NAME_1"].to_numpy() == joined["name_1"].fillna("").to_numpy()).all()
    # a province capital lies in its province: the GADM name agrees with pcm-dpc's for most of them
    assert (got["GID_2"] != "").mean() > 0.95


def test_locate_reprojects_and_takes_dataframes_and_arrays(provinces, data_root):
    base = geolookup.locate(provinces, country="ITA", gadm_level=1, data_dir=data_root)
    projected = geolookup.locate(provinces.to_crs(3035), country="ITA", gadm_level=1, data_dir=data_root)
    assert (projected["GID_1"] == base["GID_1"]).all() and (projected["nuts_3"] == base["nuts_3"]).all()
    frame = pd.DataFrame({"lat": provinces["lat"], "long": provinces["long"]})
    from_frame = geolookup.locate(frame, country="ITA", gadm_level=1, data_dir=data_root)
    assert (from_frame["GID_1"] == base["GID_1"]).all()
    arrays = geolookup.locate((provinces.geometry.x, provinces.geometry.y), country="ITA", gadm_level=1,
                              data_dir=data_root)
    assert (arrays["GID_1"].to_numpy() == base["GID_1"].to_numpy()).all()
    # pcm-dpc publishes each province's NUTS 3 code: the point's NUTS 3 agrees for nearly all
    assert (base["nuts_3"] == provinces["codice_nuts_3"]).mean() > 0.95


def test_locate_bad_input_is_one_clear_error(provinces):
    with pytest.raises(InputError, match="representative_point"):
        geolookup.locate(gpd.GeoDataFrame(geometry=provinces.to_crs(3035).buffer(1000).to_crs(4326)), nuts=False)
    with pytest.raises(InputError, match="no CRS"):
        geolookup.locate(gpd.GeoDataFrame(geometry=list(provinces.geometry)), nuts=False)
    with pytest.raises(InputError, match="point 1 .* not in degrees WGS84"):
        geolookup.locate(([12.5], [141.9]), nuts=False)
    with pytest.raises(InputError, match="lat_col"):
        geolookup.locate(pd.DataFrame({"a": [1.0]}), nuts=False)


def test_areas_and_build_from_python(data_root, tmp_path):
    table = geolookup.areas("ITA", 1, data_dir=data_root)
    assert len(table) == 20 and table.crs.equals("EPSG:4326")
    assert np.allclose(table["longitude"], table.geometry.representative_point().x)
    summary = geolookup.build("ITA", out_dir=tmp_path / "out", data_dir=data_root, state_dir=tmp_path / "state")
    assert summary.rows == 128 and summary.as_dict()["iso3"] == "ITA"


def test_match_from_python(data_root, tmp_path):
    df = pd.DataFrame({"name": ["Puglia", "Lombardia", "Emilia Romagna"]})
    res = geolookup.match(df, "ITA", 1, "name", data_dir=data_root, state_dir=tmp_path / "state")
    assert res["match_status"].tolist() == ["accepted"] * 3
    areas = geolookup.gadm.load_areas("ITA", 1, data_dir=data_root).set_index("name")["gid"]
    assert res["gid"].tolist() == [areas["Apulia"], areas["Lombardia"], areas["Emilia-Romagna"]]


def test_locate_gives_no_nuts_code_outside_nuts_countries(data_root):
    """Vatican City and San Marino lie inside Italian NUTS polygons at GISCO's scale, but NUTS does not cover them."""
    points = ([12.4534, 12.4578, 12.4964], [41.9029, 43.9424, 41.9028])  # St Peter's, San Marino city, Rome
    got = geolookup.locate(points, country=["VAT", "SMR", "ITA"], gadm_level=0, data_dir=data_root)
    assert got["GID_0"].tolist() == ["VAT", "SMR", "ITA"]
    assert got["nuts_3"].tolist()[:2] == ["", ""] and got["nuts_3"].iloc[2] == "ITI43"
