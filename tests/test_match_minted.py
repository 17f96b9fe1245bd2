"""Minted .n_0 ids are candidates of later runs: one shared state folder across sources (the build's
order: JHU, then NYT), stability, old minted_ids.csv files, GADM names never shadowed."""

import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from geolookup.core.tableio import read_csv_text

warnings.filterwarnings("ignore", module="geolookup.gadm")

JHU = "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv"
NYT = "providers/nyt/live_us-counties_20201013.csv"


def _jhu(data_root, states=None):
    df = read_csv_text(data_root / JHU)
    df = df[(df["iso3"] == "USA") & (df["Admin2"] != "")]
    if states:
        df = df[df["Province_State"].isin(states)]
    return df.reset_index(drop=True)


def _match_jhu(df, state):
    from geolookup.matching import match_places

    return match_places(df, "USA", 2, "Admin2", parent_col="Province_State", lat_col="Lat", lon_col="Long_",
                        key_col="UID", state_dir=state, source="jhu")


def _match_nyt(df, state):
    from geolookup.matching import match_places

    return match_places(df, "USA", 2, "county", parent_col="state", state_dir=state, source="nyt")


@pytest.fixture(scope="module")
def chain(data_root, tmp_path_factory):
    """JHU US counties (names, states, coordinates), then NYT counties, ONE state folder."""
    state = tmp_path_factory.mktemp("shared-state")
    jhu = _match_jhu(_jhu(data_root), state)
    minted_after_jhu = read_csv_text(state / "minted_ids.csv")
    nyt = _match_nyt(read_csv_text(data_root / NYT), state)
    ref = read_csv_text(data_root / "reference/covid19datahub/USA.csv")
    return state, jhu, minted_after_jhu, nyt, ref


def _row(df, name_col, name, parent_col, parent):
    hit = df[(df[name_col] == name) & (df[parent_col] == parent)]
    assert len(hit) == 1, (name, parent)
    return hit.iloc[0]


def test_nyt_kansas_city_gets_the_id_jhu_minted(chain):
    state, jhu, minted, nyt, ref = chain
    truth = _row(ref, "administrative_area_level_3", "Kansas City", "administrative_area_level_2", "Missouri")["key_gadm"]
    assert truth == "USA.26.48.2_0"
    j = _row(jhu, "Admin2", "Kansas City", "Province_State", "Missouri")
    n = _row(nyt, "county", "Kansas City", "state", "Missouri")
    assert j["gid"] == truth and j["match_method"] == "minted"
    assert n["fips"] == "" and n["gid"] == truth  # no FIPS, no coordinates: found by the minted name
    assert (n["match_status"], n["match_method"], n["match_gadm_level"]) == ("accepted", "minted", 3)
    # NYT's "Jackson" next to its "Kansas City" is the rest of Jackson County, as in the Data Hub
    jackson = _row(ref, "administrative_area_level_3", "Jackson", "administrative_area_level_2", "Missouri")["key_gadm"]
    assert _row(nyt, "county", "Jackson", "state", "Missouri")["gid"] == jackson == "USA.26.48.1_0"
    # the same holds for every place JHU split that NYT also names (St. Louis City, Baltimore City...)
    by_fips = dict(zip(ref["id_github.nytimes.covid19data"], ref["key_gadm"]))
    rows = nyt[nyt["gid"].str.endswith("_0") & (nyt["fips"] != "")]
    assert len(rows) >= 8 and (rows["gid"] == rows["fips"].str.lstrip("0").map(by_fips)).all()


def test_rows_matched_to_a_minted_id_mint_nothing(chain):
    state, jhu, minted, nyt, ref = chain
    after = read_csv_text(state / "minted_ids.csv")
    assert (after["source"] != "nyt").all() and len(after) == len(minted)
    assert set(after["gid"]) >= set(nyt.loc[nyt["match_method"] == "minted", "gid"])
    kc = after[after["gid"] == "USA.26.48.2_0"].iloc[0]
    assert (kc["name"], kc["parent_name"], kc["parent_gid"]) == ("Kansas City", "Missouri", "USA.26.48_1")


def test_rerun_keeps_every_minted_id(chain, data_root, tmp_path):
    """A later JHU run sees its own minted ids as candidates: every id stays, nothing new is minted."""
    state, jhu, minted, nyt, ref = chain
    again = _match_jhu(_jhu(data_root), state)
    assert list(again["gid"]) == list(jhu["gid"])
    assert len(read_csv_text(state / "minted_ids.csv")) == len(minted)


def test_parent_column_scopes_minted_ids(chain):
    from geolookup.matching import match_places

    state = chain[0]
    df = pd.DataFrame({"name": ["Kansas City", "Kansas Cty"], "state": ["Kansas", "Missouri"]})
    out = match_places(df, "USA", 2, "name", parent_col="state", state_dir=state, source="t")
    assert out["gid"].iloc[0] == "" and "USA.26.48.2_0" not in out["candidates"].iloc[0]  # not in Kansas
    assert out["gid"].iloc[1] == "USA.26.48.2_0" and out["match_method"].iloc[1] == "minted"  # fuzzy name


def test_old_minted_file_without_names_still_loads(tmp_path, data_root):
    """A minted_ids.csv written before ``name``/``parent_name`` existed: same ids, no row or column
    lost, names filled in when the same provider key is minted again, then matchable by others."""
    from geolookup.matching.minting import load_minted

    old = ("source,provider_key,parent_gid,gid,note\n"
           "jhu,84029095,USA.26.48_1,USA.26.48.1_0,kept by a curator\n"
           "jhu,84070003,USA.26.48_1,USA.26.48.2_0,\n"
           "pcm-dpc,SU,ITA.14_1,ITA.14.5_0,\n")
    (tmp_path / "minted_ids.csv").write_text(old, encoding="utf-8")
    t = load_minted(tmp_path)
    assert list(t.columns) == ["source", "provider_key", "parent_gid", "gid", "name", "parent_name", "note"]
    assert len(t) == 3 and (t["name"] == "").all()
    mo = _jhu(data_root, ["Missouri"])
    out = _match_jhu(mo, tmp_path)
    got = dict(zip(out["Admin2"], out["gid"]))
    assert (got["Jackson"], got["Kansas City"]) == ("USA.26.48.1_0", "USA.26.48.2_0")
    t = read_csv_text(tmp_path / "minted_ids.csv")
    assert list(t["gid"][:3]) == ["USA.26.48.1_0", "USA.26.48.2_0", "ITA.14.5_0"]
    assert t["note"].iloc[0] == "kept by a curator" and t["provider_key"].iloc[2] == "SU"
    assert dict(zip(t["gid"], t["name"]))["USA.26.48.2_0"] == "Kansas City"
    nyt = read_csv_text(data_root / NYT)
    out = _match_nyt(nyt[nyt["state"] == "Missouri"].reset_index(drop=True), tmp_path)
    assert _row(out, "county", "Kansas City", "state", "Missouri")["gid"] == "USA.26.48.2_0"


def test_old_file_missing_a_required_column_is_a_one_line_error(tmp_path):
    from geolookup.core.errors import InputError
    from geolookup.matching.minting import load_minted

    (tmp_path / "minted_ids.csv").write_text("source,provider_key,gid\njhu,1,USA.1.1.1_0\n", encoding="utf-8")
    with pytest.raises(InputError, match="parent_gid"):
        load_minted(tmp_path)


def test_gadm_area_wins_over_minted_id_of_the_same_name(tmp_path):
    """A minted id named like a GADM area of the same parent scope never takes its matches."""
    from geolookup.matching import match_places, mint

    shadow = mint("USA.26.48_1", "other", "x1", tmp_path, name="Jasper", parent_name="Missouri")
    kc = mint("USA.26.48_1", "other", "x2", tmp_path, name="Kansas City", parent_name="Missouri")
    got = []
    for name in ["Jasper", "Jasper County", "Jaspr", "Kansas City"]:  # one provider row each: no split claims
        df = pd.DataFrame({"name": [name], "state": ["Missouri"]})
        got.append(match_places(df, "USA", 2, "name", parent_col="state", state_dir=tmp_path, source="t").iloc[0])
    out = pd.DataFrame(got)
    assert list(out["gid"]) == ["USA.26.49_1", "USA.26.49_1", "USA.26.49_1", kc]
    assert list(out["match_method"]) == ["exact", "alias", "fuzzy", "minted"]
    assert not out["candidates"].str.contains(shadow, regex=False).any()
    # the tie rule inside the exact stage too, for a minted name the index keeps (equal only once
    # type words are stripped): GADM's "Jasper" beats a minted "Jasper Parish" for "Jasper Borough" (both tier 2)
    from geolookup.matching.levelmatch import LevelMatcher
    from geolookup.matching.minted import candidates_for, minted_of_country

    mint("USA.26.48_1", "other", "x3", tmp_path, name="Jasper Parish", parent_name="Missouri")
    base = LevelMatcher("USA", 2)
    M = base.with_minted(candidates_for(base, minted_of_country(tmp_path, "USA")))
    assert M.n_base == base.n_base and len(M.gids) == base.n_base + 2  # Jasper is shadowed, not indexed
    hit = M.exact(["jasper borough"], ["jasper"], ["USA.26_1"], [1])
    assert [M.gids[p] for p in hit["pos"]] == ["USA.26.49_1"]


def test_minted_part_is_a_composite_part_with_its_parents_geometry(tmp_path, data_root):
    from geolookup import gadm
    from geolookup.matching import mint, resolve_composite
    from geolookup.matching.minted import geometry_areas, minted_of_country

    g = mint("USA.26.48_1", "t", "kc", tmp_path, name="Kansas City")
    areas = geometry_areas([g, "USA.26.24_1"], "USA", minted_of_country(tmp_path, "USA"), data_root)
    usa = gadm.load_areas("USA", 2, data_root).set_index("gid")
    assert areas.set_index("gid").geometry[g].equals(usa.geometry["USA.26.48_1"])
    gid, lon, lat = resolve_composite([g, "USA.26.24_1"], areas)  # Jackson (minted part) + Clay
    assert gid in (g, "USA.26.24_1") and -95 < lon < -94 and 38.8 < lat < 39.5


names = st.text(st.characters(whitelist_categories=("L", "N", "P", "Zs", "S")), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(names, names, st.text("0123456789", min_size=1, max_size=6)), min_size=1, max_size=6,
                unique_by=lambda t: t[2]))
def test_minted_names_round_trip_exactly(tmp_path_factory, rows):
    """Names and parent names as written (commas, quotes, accents, leading zeros, "NA") come back
    unchanged, and every key keeps its id."""
    from geolookup.matching.minting import load_minted, mint

    state = tmp_path_factory.mktemp("rt")
    ids = [mint("ITA.14_1", "src", key, state, name=n, parent_name=p) for n, p, key in rows]
    t = load_minted(state)
    assert list(t["name"]) == [n for n, _, _ in rows] and list(t["parent_name"]) == [p for _, p, _ in rows]
    assert list(t["provider_key"]) == [k for _, _, k in rows] and list(t["gid"]) == ids
    assert [mint("ITA.14_1", "src", k, state) for _, _, k in rows] == ids
