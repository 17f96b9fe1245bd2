"""Source specs (lookup.specs): shipped TOML files and the errors users see."""

import pandas as pd
import pytest

from geolookup.core.errors import GeolookupError, InputError
from geolookup.lookup.specs import load_specs, parse_spec, read_provider


@pytest.mark.parametrize("iso3, n", [("ITA", 2), ("USA", 5)])
def test_shipped_specs_read_real_files(data_root, iso3, n):
    specs = load_specs(iso3)
    assert [s.admin_level for s in specs] == sorted(s.admin_level for s in specs)
    specs = [s for s in specs if not s.shared]  # the country's own specs; global ones are tested in test_build_world
    assert len(specs) == n
    for spec in specs:
        rows, filtered, path = read_provider(spec, data_root)
        assert len(rows) > 0 and path.is_file()
        assert (rows["_key"] != "").any()


def test_nyt_keys_keep_zeros_and_id_value_is_r_integer(data_root):
    spec = next(s for s in load_specs("USA") if s.source == "github.nytimes.covid19data" and s.admin_level == 3)
    rows, _, _ = read_provider(spec, data_root)
    r = rows[rows["_key"] == "01001"].iloc[0]
    assert (r["_id_value"], r["_key_local"]) == ("1001", "01001")


def test_jhu_key_local_is_padded(data_root):
    spec = next(s for s in load_specs("USA") if s.source == "github.cssegisanddata.covid19" and s.admin_level == 3)
    rows, filtered, _ = read_provider(spec, data_root)
    r = rows[rows["_key"] == "84001001"].iloc[0]
    assert r["_key_local"] == "01001" and filtered > 0


def test_ita_provinces_filter_placeholders(data_root):
    spec = next(s for s in load_specs("ITA") if s.path.endswith("ita_pcmdpc_provinces.toml"))
    assert spec.admin_level == 3
    rows, filtered, path = read_provider(spec, data_root)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)  # read without our code
    real = raw["sigla_provincia"] != ""  # placeholder rows ("In fase di definizione...") have no sigla
    assert len(rows) == real.sum() and filtered == (~real).sum() > 0
    assert rows["_key"].tolist() == raw.loc[real, "sigla_provincia"].tolist()
    assert rows["_row"].tolist() == [i + 2 for i in range(len(raw)) if real.iloc[i]]  # spreadsheet rows: header = row 1


def test_spec_errors_are_one_line():
    with pytest.raises(GeolookupError, match="spec lacks admin_level, columns.name"):
        parse_spec('country = "ITA"\nsource = "x"\nfile = "a.csv"\n[columns]\nkey = "k"\n', "x.toml")
    with pytest.raises(GeolookupError, match="unknown \\[columns\\] key"):
        parse_spec('country="ITA"\nsource="x"\nfile="a.csv"\nadmin_level=2\n[columns]\nkey="k"\nname="n"\nlat="y"\n',
                   "x.toml")
    with pytest.raises(GeolookupError, match="invalid TOML"):
        parse_spec("country = ", "x.toml")
    with pytest.raises(GeolookupError, match="no source spec for XYZ"):
        load_specs("XYZ")  # not an ISO 3166-1 country: the global specs do not cover it
    assert {s.country for s in load_specs("FRA")} == {"FRA"}  # FRA has no spec of its own: the global ones


def test_coordinates_checked_on_kept_rows_with_file_rows(tmp_path):
    (tmp_path / "p.csv").write_text("code,name,lat,lon\n,skip me,999,x\n01,A,41.9,12.5\n02,B,41.9,200\n",
                                    encoding="utf-8")
    spec = parse_spec('country="ITA"\nsource="x"\nfile="p.csv"\nadmin_level=2\n[filter]\nrequire=["code"]\n'
                      '[columns]\nkey="code"\nname="name"\nlatitude="lat"\nlongitude="lon"\n', "x.toml")
    # row 2 is dropped by the filter, so its bad cells are not an error; row 4 is kept and is one
    with pytest.raises(InputError, match=r"p.csv, row 4, column 'lon': 200.0 is outside \[-180, 180\]"):
        read_provider(spec, tmp_path)


def test_duplicate_provider_key_names_the_row(tmp_path):
    (tmp_path / "p.csv").write_text("code,name\n01,A\n02,B\n01,C\n", encoding="utf-8")
    spec = parse_spec('country="ITA"\nsource="x"\nfile="p.csv"\nadmin_level=2\n[columns]\nkey="code"\nname="name"\n',
                      "x.toml")
    with pytest.raises(InputError, match="row 4, column 'code'.*'01'"):
        read_provider(spec, tmp_path)


def test_nyt_places_without_fips_get_the_data_hub_keys(data_root):
    """NYT publishes New York City, Kansas City and Joplin without FIPS; the spec's [keys] gives them
    the keys the Data Hub's USA table uses for them, and leaves every published key alone."""
    from geolookup.lookup.table import read_table

    spec = next(s for s in load_specs("USA") if s.source == "github.nytimes.covid19data" and s.admin_level == 3)
    rows, _, path = read_provider(spec, data_root)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    ref = read_table(data_root / "reference" / "covid19datahub" / "USA.csv")
    ref = ref[ref["administrative_area_level"] == "3"]
    for state, name, ref_name in [("New York", "New York City", "New York City"),
                                  ("Missouri", "Kansas City", "Kansas City"), ("Missouri", "Joplin", "City of Joplin")]:
        assert raw.loc[(raw["state"] == state) & (raw["county"] == name), "fips"].tolist() == [""]
        row = rows[(rows["_parent"] == state) & (rows["_name"] == name)].iloc[0]
        want = ref.loc[(ref["administrative_area_level_2"] == state) & (ref["administrative_area_level_3"] == ref_name),
                       "id_github.nytimes.covid19data"].tolist()
        assert [row["_key"]] == want and row["_key_local"] == row["_key"]
    published = raw["fips"] != ""
    assert rows.loc[rows["_key"].isin(raw.loc[published, "fips"]), "_key"].tolist() == raw.loc[published, "fips"].tolist()
