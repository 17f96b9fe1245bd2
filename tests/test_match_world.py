"""World-ready matching on real data: the knowledge layer (ISO 3166-2 crosswalk, exonyms, codes,
successions, groupings), codes and native scripts in the name column, mojibake, spelling duplicates
that must never mint, cross-level matches and bad input."""

import pandas as pd
import pytest
from hypothesis import given, strategies as st

from geolookup.matching.normalize import equivalence_key, fold, normalize


def _run(names, country, level, tmp_path, **cols):
    from geolookup.matching import match_places

    df = pd.DataFrame({"name": names, **cols})
    return match_places(df, country, level, "name", state_dir=tmp_path,
                        parent_col="parent" if "parent" in cols else None).set_index("name", drop=False)


@pytest.fixture(autouse=True)
def _data(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


def test_crosswalk_links_carry_their_evidence():
    from geolookup.matching import load_knowledge as knowledge

    k = knowledge("ESP")
    code = k[(k["kind"] == "code") & (k["value"] == "ES-AN")]
    assert list(code["gid"]) == ["ESP.1_1"] and "hasc" in code["evidence"].iat[0] and "point" in code["evidence"].iat[0]
    names = k[(k["gid"] == "ESP.6_1") & (k["kind"] == "name")]
    assert {"Catalonia", "Catalunya", "Каталония"} <= set(names["value"])  # iso3166-2 names, pycountry ru
    assert names["evidence"].str.contains("crosswalk ES-CT").all()


def test_knowledge_is_cached_per_country(tmp_path, monkeypatch):
    from geolookup.matching import knowledge as kn

    monkeypatch.setenv("GEOLOOKUP_CACHE", str(tmp_path))
    kn._knowledge.cache_clear()
    first = kn.knowledge("NOR")
    files = list((tmp_path / "knowledge").glob("NOR-*.parquet"))
    assert len(files) == 1
    kn._knowledge.cache_clear()
    monkeypatch.setattr(kn, "build", lambda *a, **k: pytest.fail("rebuilt although cached"))
    pd.testing.assert_frame_equal(kn.knowledge("NOR"), first)
    kn._knowledge.cache_clear()


def test_codes_in_the_name_column(tmp_path):
    out = _run(["ES-AN", "AN", "ES-CT", "FR-IDF", "ES-ZZ"], "ESP", 1, tmp_path)
    assert out.loc["ES-AN", "gid"] == out.loc["AN", "gid"] == "ESP.1_1"
    assert out.loc["ES-CT", "gid"] == "ESP.6_1" and "ES-CT" in out.loc["ES-CT", "match_reason"]
    assert out.loc["FR-IDF", "match_status"] == "unmatched" and "France" in out.loc["FR-IDF", "match_reason"]
    assert out.loc["ES-ZZ", "match_status"] != "accepted"


def test_former_code_from_the_library_history(tmp_path):
    out = _run(["NO-16", "NO-17"], "NOR", 1, tmp_path)  # Sør- and Nord-Trøndelag, merged in 2018
    assert list(out["gid"]) == ["NOR.15_1", "NOR.9_1"] and out["match_reason"].str.contains("former").all()


def test_successions_and_groupings_are_composites(tmp_path):
    out = _run(["Viken", "Trøndelag"], "NOR", 1, tmp_path)
    assert set(out.loc["Viken", "gid_parts"].split("|")) == {"NOR.1_1", "NOR.2_1", "NOR.4_1"}
    assert set(out.loc["Trøndelag", "gid_parts"].split("|")) == {"NOR.9_1", "NOR.15_1"}
    assert out["match_method"].eq("composite").all() and out["match_reason"].str.contains("succession").all()
    # a statistical region (ISO 3166-2 parent of provinces) as the parent column
    ph = _run(["Abra", "Ilocos Norte"], "PHL", 1, tmp_path, parent=["Cordillera Administrative Region"] * 2)
    assert ph.loc["Abra", "gid"] == "PHL.1_1" and "grouping" in ph.loc["Abra", "match_reason"]
    assert ph.loc["Ilocos Norte", "match_status"] == "review"  # Ilocos Norte is not in the Cordillera


def test_exonyms_native_scripts_and_mojibake(tmp_path):
    out = _run(["Catalonia", "Andalusien", "CataluÃ±a"], "ESP", 1, tmp_path)
    assert list(out["gid"]) == ["ESP.6_1", "ESP.1_1", "ESP.6_1"]
    assert "mojibake repaired" in out.loc["CataluÃ±a", "match_reason"]
    tha = _run(["จังหวัดกระบี่", "กระบี่"], "THA", 1, tmp_path / "t")
    assert set(tha["gid"]) == {"THA.18_1"} and "minted" not in set(tha["match_method"])
    kor = _run(["서울특별시"], "KOR", 1, tmp_path / "k")
    assert kor["gid"].iat[0] == "KOR.16_1"


def test_spelling_variants_are_duplicates_never_minted(tmp_path):
    out = _run(["Emilia-Romagna", "Emilia Romagna", "Puglia", "Apulia", "Lombardia", "Lombardy", "IT-25"],
               "ITA", 1, tmp_path)
    assert "minted" not in set(out["match_method"]) and (out["match_status"] == "accepted").all()
    assert list(out["gid"]) == ["ITA.6_1", "ITA.6_1", "ITA.2_1", "ITA.2_1", "ITA.10_1", "ITA.10_1", "ITA.10_1"]
    assert out.loc["Emilia Romagna", "match_reason"].count("duplicate_of row 2") == 1
    gbr = _run(["Highland", "NHS Highland"], "GBR", 2, tmp_path / "g")
    assert list(gbr["gid"]) == ["GBR.3.17_1"] * 2 and "duplicate_of" in gbr.loc["NHS Highland", "match_reason"]
    assert not (tmp_path / "minted_ids.csv").exists() and not (tmp_path / "g" / "minted_ids.csv").exists()


def test_real_sub_place_still_splits(tmp_path):
    """The Data Hub's St. Louis County / St. Louis city split survives the duplicate rule."""
    out = _run(["St. Louis", "St. Louis City"], "USA", 2, tmp_path, parent=["Missouri"] * 2)
    assert set(out["match_method"]) == {"minted"} and out["gid"].nunique() == 2


def test_cross_level_only_when_nothing_fits_at_the_level(tmp_path):
    out = _run(["P.A. Bolzano", "AN"], "ITA", 1, tmp_path)  # nothing at GADM level 1 fits either
    assert list(out["gid"]) == ["ITA.17.1_1", "ITA.11.1_1"]
    assert out["match_reason"].str.contains("nothing at GADM level 1 fits").all()


def test_bad_input_gets_one_line_reasons(tmp_path):
    out = _run(["", "--", "Unknown", "DE-BY"], "ITA", 1, tmp_path)
    assert (out["match_status"] == "unmatched").all() and (out["gid"] == "").all()
    reasons = list(out["match_reason"])
    assert "empty" in reasons[0] and "no letters" in reasons[1] and "Germany" in reasons[3]
    assert all("\n" not in r for r in reasons)


def test_review_rows_always_have_candidates(tmp_path):
    out = _run(["Zzyzx Qwerty"], "ESP", 1, tmp_path)
    assert out["match_status"].iat[0] != "accepted" and out["candidates"].iat[0] != ""


words = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8), min_size=1, max_size=4)


@given(words)
def test_equivalence_key_ignores_spelling(ws):
    name = " ".join(ws)
    key = equivalence_key(normalize(name, "GBR"), "GBR")
    assert equivalence_key(normalize("-".join(ws), "GBR"), "GBR") == key
    assert equivalence_key(normalize("NHS " + name, "GBR"), "GBR") == key or not key
    assert equivalence_key(normalize(name.replace(" and ", " & "), "GBR"), "GBR") == key


@given(st.text())
def test_fold_handles_every_script(s):
    f = fold(s)
    assert f == fold(f) and f.isascii()


def test_country_no_library_lists_warns_and_matches_with_gadm(tmp_path, caplog):
    """The Faroe Islands: in GADM, but neither iso3166-2 nor pycountry lists subdivisions."""
    from geolookup import gadm
    from geolookup.matching import knowledge as kn

    name = gadm.load_areas("FRO", 1)["name"].iat[0]
    kn._warn_once.cache_clear()  # one warning per country and process
    with caplog.at_level("WARNING", logger="geolookup.matching.knowledge"):
        out = _run([name], "FRO", 1, tmp_path)
    assert out["match_status"].iat[0] == "accepted"
    assert [r.getMessage() for r in caplog.records if "FRO" in r.getMessage()] == [
        "FRO: neither iso3166-2 nor pycountry lists its subdivisions; matching with GADM alone"]


def test_a_place_gadm_lacks_is_proposed_as_a_new_id_under_its_area(tmp_path):
    """JHU's "Joplin" (a city the Data Hub hand-minted as USA.26.49.1_0) lies in Jasper County."""
    from geolookup.matching import match_places

    df = pd.DataFrame({"name": ["Joplin"], "state": ["Missouri"], "lat": ["37.0842"], "lon": ["-94.5133"]})
    out = match_places(df, "USA", 2, "name", parent_col="state", lat_col="lat", lon_col="lon", state_dir=tmp_path)
    assert out["match_status"].iat[0] == "review" and out["candidates"].iat[0].startswith("USA.26.49_1:")
    assert "proposed: new id under USA.26.49_1" in out["match_reason"].iat[0]
