"""Validation of lookup tables (lookup.validate) on the reference tables and broken copies."""

import numpy as np
import pytest

from geolookup import gadm
from geolookup.core.errors import GeolookupError
from geolookup.lookup.table import read_table, write_table
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


def file_lines(t, folder):
    """Line of each row of ``t`` (by position) in the CSV that write_table makes of it, header = line 1,
    found through a marker column written with the rows."""
    back = read_table(write_table(t.assign(zz_marker=[str(i) for i in range(len(t))]), folder / "t.csv"))
    return {int(m): k + 3 for k, m in enumerate(back["zz_marker"])}  # line 2 is the "-" row


def test_each_error_is_found(data_root, tmp_path):
    t = ref(data_root, "ESP")
    t.loc[3, "id"] = t.loc[2, "id"]
    t.loc[4, "id"] = ""
    lvl3 = t.index[t["administrative_area_level"] == "3"]
    t.loc[lvl3[1], "key_local"] = t.loc[lvl3[0], "key_local"]
    t.loc[lvl3[2], "administrative_area_level_2"] = "Atlantis"
    report = validate(t, iso2="ES")
    got = report.errors.groupby("check")["row"].apply(sorted).to_dict()
    line = file_lines(t, tmp_path)  # rows are the lines of the table file, as a curator opens it
    assert got == {"duplicate_id": sorted([line[2], line[3]]), "missing_id": [line[4]],
                   "duplicate_key_local": sorted([line[lvl3[0]], line[lvl3[1]]]), "orphan_admin3": [line[lvl3[2]]]}
    with pytest.raises(GeolookupError, match="6 validation error"):
        report.raise_for_errors("ESP.csv")


def test_each_warning_is_found(data_root, tmp_path):
    t = ref(data_root, "ESP")
    t.loc[0, "key_gadm"] = t.loc[1, "key_gadm"]      # duplicate key_gadm at level 2
    t.loc[2, "key_hasc"] = "ES"                        # depth 1 on a level-2 row
    t.loc[3, "key_nuts"] = t.loc[4, "key_nuts"]       # duplicate key_nuts
    t.loc[5, "key_nuts"] = "FR10"                     # wrong country
    t.loc[6, "latitude"] = ""
    t.loc[7, "population"] = ""
    report = validate(t, iso2="ES")
    per_row = report.warnings[report.warnings["check"] != "hasc_depth"]
    rows = per_row.groupby("check")["row"].apply(sorted).to_dict()
    line = file_lines(t, tmp_path)
    assert rows == {"duplicate_key_gadm": sorted([line[0], line[1]]),
                    "duplicate_key_nuts": sorted([line[3], line[4]]), "nuts_country": [line[5]],
                    "missing_coordinates": [line[6]], "missing_population": [line[7]]}
    # key_hasc is GADM's own column: one summary finding for the check, not one per row
    hasc = report.warnings[report.warnings["check"] == "hasc_depth"]
    assert len(hasc) == 1 and hasc["value"].tolist() == ["1"] and t.loc[2, "id"] in hasc["message"].iloc[0]
    assert report.errors.empty


def test_gadm_data_and_unpublished_columns_are_one_finding_per_check(data_root):
    """Italy's GADM level-2 HASC codes have two parts (GADM's data), and a table whose level-3 rows
    have no population at all (no provider of that level publishes it): one finding per check, and
    check_counts still says how many rows each stands for."""
    t = ref(data_root, "ITA")
    lvl3 = t["administrative_area_level"] == "3"
    t["key_hasc"] = np.where(lvl3, "IT.AB", "")
    t.loc[lvl3, "population"] = ""
    report = validate(t, iso2="IT")
    w = report.warnings
    assert w["check"].value_counts().to_dict() == {"hasc_depth": 1, "missing_population": 1}
    assert report.check_counts() == {"hasc_depth": int(lvl3.sum()), "missing_population": int(lvl3.sum())}
    t.loc[np.flatnonzero(lvl3)[0], "population"] = "1000"  # one row has it: the others are per-row findings
    per_row = validate(t, iso2="IT").warnings
    assert (per_row["check"] == "missing_population").sum() == lvl3.sum() - 1


def test_greek_nuts_prefix_is_not_a_warning(data_root):
    t = ref(data_root, "ESP").iloc[:2].copy()
    t["key_nuts"] = ["EL30", "EL41"]
    assert validate(t, iso2="GR").warnings.empty


@pytest.fixture(scope="module")
def ita_regions(data_root):
    return gadm.load_areas("ITA", 1, data_dir=data_root)


def test_points_inside_their_polygon(data_root, ita_regions, tmp_path):
    t = ref(data_root, "ITA")
    report = validate(t, iso2="IT", areas=ita_regions)
    assert not (report.findings["check"] == "point_outside_gadm").any()
    moved = t.copy()
    i = int(np.flatnonzero(moved["key_gadm"] == "ITA.1_1")[0])  # Abruzzo
    moved.loc[i, "latitude"] = "45.07"                          # Turin's latitude: far outside
    out = validate(moved, iso2="IT", areas=ita_regions, tolerance_km=5)
    hit = out.warnings[out.warnings["check"] == "point_outside_gadm"]
    assert hit["row"].tolist() == [file_lines(moved, tmp_path)[i]]
    # the reference ITA.csv is in Data Hub order: row i of the table is line i + 3 of the file
    assert (data_root / "reference" / "covid19datahub" / "ITA.csv").read_text(encoding="utf-8").splitlines()[
        hit["row"].iloc[0] - 1].startswith(f'"{t.loc[i, "id"]}"')


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
