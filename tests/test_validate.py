"""Validation of lookup tables (lookup.validate) on the reference tables and broken copies."""

import numpy as np
import pytest

from geolookup import gadm
from geolookup.core.errors import GeolookupError
from geolookup.lookup.table import read_table
from geolookup.gadm import distance_to_areas_km
from geolookup.lookup.validate import validate


def ref(data_root, iso):
    return read_table(data_root / "reference" / "covid19datahub" / f"{iso}.csv")


@pytest.mark.parametrize("iso, iso2", [("ITA", "IT"), ("ESP", "ES"), ("USA", "US")])
def test_reference_tables_pass_errors(data_root, iso, iso2):
    report = validate(ref(data_root, iso), iso2=iso2)
    print(iso, "warnings:", report.counts())  # measured: none for ITA, ESP, USA
    assert report.errors.empty
    report.raise_for_errors(iso)


def test_each_error_is_found(data_root):
    t = ref(data_root, "ESP")
    t.loc[3, "id"] = t.loc[2, "id"]
    t.loc[4, "id"] = ""
    lvl3 = t.index[t["administrative_area_level"] == "3"]
    t.loc[lvl3[1], "key_local"] = t.loc[lvl3[0], "key_local"]
    t.loc[lvl3[2], "administrative_area_level_2"] = "Atlantis"
    report = validate(t, iso2="ES")
    got = report.errors.groupby("check")["row"].apply(sorted).to_dict()
    assert got == {"duplicate_id": [3, 4], "missing_id": [5], "duplicate_key_local": [lvl3[0] + 1, lvl3[1] + 1],
                   "orphan_admin3": [lvl3[2] + 1]}
    with pytest.raises(GeolookupError, match="6 validation error"):
        report.raise_for_errors("ESP.csv")


def test_each_warning_is_found(data_root):
    t = ref(data_root, "ESP")
    t.loc[0, "key_gadm"] = t.loc[1, "key_gadm"]      # duplicate key_gadm at level 2
    t.loc[2, "key_hasc"] = "ES"                        # depth 1 on a level-2 row
    t.loc[3, "key_nuts"] = t.loc[4, "key_nuts"]       # duplicate key_nuts
    t.loc[5, "key_nuts"] = "FR10"                     # wrong country
    t.loc[6, "latitude"] = ""
    t.loc[7, "population"] = ""
    report = validate(t, iso2="ES")
    rows = report.warnings.groupby("check")["row"].apply(sorted).to_dict()
    assert rows == {"duplicate_key_gadm": [1, 2], "hasc_depth": [3], "duplicate_key_nuts": [4, 5],
                    "nuts_country": [6], "missing_coordinates": [7], "missing_population": [8]}
    assert report.errors.empty


def test_greek_nuts_prefix_is_not_a_warning(data_root):
    t = ref(data_root, "ESP").iloc[:2].copy()
    t["key_nuts"] = ["EL30", "EL41"]
    assert validate(t, iso2="GR").warnings.empty


@pytest.fixture(scope="module")
def ita_regions(data_root):
    return gadm.load_areas("ITA", 1, data_dir=data_root)


def test_points_inside_their_polygon(data_root, ita_regions):
    t = ref(data_root, "ITA")
    report = validate(t, iso2="IT", areas=ita_regions)
    assert not (report.findings["check"] == "point_outside_gadm").any()
    moved = t.copy()
    i = int(np.flatnonzero(moved["key_gadm"] == "ITA.1_1")[0])  # Abruzzo
    moved.loc[i, "latitude"] = "45.07"                          # Turin's latitude: far outside
    out = validate(moved, iso2="IT", areas=ita_regions, tolerance_km=5)
    hit = out.warnings[out.warnings["check"] == "point_outside_gadm"]
    assert hit["row"].tolist() == [i + 1]


def test_distance_to_areas_km(ita_regions):
    g = ita_regions.set_index("gid").geometry
    lon = np.array([13.70, np.nan, 13.70])
    lat = np.array([42.66, 42.0, 42.66 + 1.0])
    d = distance_to_areas_km(lon, lat, [g["ITA.1_1"], g["ITA.1_1"], g["ITA.1_1"]])
    # Abruzzo spans about 41.7-42.9 N: one degree (~111 km) north of 42.66 N is 0-111 km outside it
    assert d[0] == 0 and np.isnan(d[1]) and 0 < d[2] < 111
    # independent bounds: at least the meridian distance to the polygon's northernmost latitude; at
    # most the geodesic distance to its nearest vertex, within the "few percent" the docstring allows
    # for finding the nearest point in degree space
    from geolookup.gadm import geodesic_km
    import shapely
    xy = shapely.get_coordinates(g["ITA.1_1"])
    to_vertices = geodesic_km(np.full(len(xy), lon[2]), np.full(len(xy), lat[2]), xy[:, 0], xy[:, 1])
    north_gap = geodesic_km(lon[2], lat[2], lon[2], xy[:, 1].max())
    assert north_gap - 1e-6 <= d[2] <= to_vertices.min() * 1.02
