"""The development set's truth derivation (bench/devset) on real provider lists and GADM 3.6.

The truth must hold for places whose ISO 3166-2 code is common knowledge, and must be "unknown"
wherever the evidence disagrees. Expected names below are the places' official names (ISO 3166-2
and GADM's own NAME), not output of a previous run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import devset  # noqa: E402
from devset import sources  # noqa: E402
from devset.truth import current_code, link_codes, pfold, truth_name  # noqa: E402
from geolookup.core.datafiles import cache_dir  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def _data_env(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


def _one(df, code):
    return df.set_index("code").loc[code]


@pytest.mark.parametrize("iso3, code, name", [("DEU", "DE-BY", "Bayern"), ("JPN", "JP-23", "Aichi"),
                                              ("BRA", "BR-SP", "São Paulo"), ("CAN", "CA-QC", "Québec")])
def test_well_known_codes_link_to_their_gadm_area(iso3, code, name):
    r = _one(link_codes(iso3, [code]), code)
    assert r["why"] == "ok" and r["gadm_level"] == 1
    assert truth_name(r["truth"]) == name
    assert len(r["evidence"].split("+")) >= 2  # never a single piece of evidence


def test_second_tier_iso_codes_link_one_gadm_level_down():
    # GB-KEN (Kent) has ISO parent GB-ENG; GADM keeps English counties at GADM level 2
    lk = link_codes("GBR", ["GB-ENG", "GB-KEN"])
    assert (_one(lk, "GB-ENG")["gadm_level"], truth_name(_one(lk, "GB-ENG")["truth"])) == (1, "England")
    assert (_one(lk, "GB-KEN")["gadm_level"], truth_name(_one(lk, "GB-KEN")["truth"])) == (2, "Kent")


def test_hasc_and_iso_name_disagreeing_leave_the_truth_unknown():
    # GADM 3.6's HASC codes for Henan / Hubei / Hebei do not follow ISO 3166-2
    lk = link_codes("CHN", ["CN-HA", "CN-HB", "CN-HE", "CN-GD"])
    for code in ("CN-HA", "CN-HB", "CN-HE"):
        assert _one(lk, code)["truth"] == "" and "HASC says" in _one(lk, code)["why"]
    assert truth_name(_one(lk, "CN-GD")["truth"]) == "Guangdong"


def test_a_provider_point_in_another_area_leaves_the_truth_unknown(data_root):
    lut = sources.lut(data_root)
    pts = {c: p for c, p in zip(lut["code"], lut["points"]) if c in ("RU-KDA", "RU-KYA")}
    lk = link_codes("RUS", ["RU-KDA", "RU-KYA"], pts)
    # the JHU LUT swaps the points of Krasnodar Krai (RU-KDA) and Krasnoyarsk Krai (RU-KYA)
    for code in ("RU-KDA", "RU-KYA"):
        assert _one(lk, code)["truth"] == "" and "provider point falls in" in _one(lk, code)["why"]
    without = link_codes("RUS", ["RU-KDA", "RU-KYA"])
    assert [truth_name(_one(without, c)["truth"]) for c in ("RU-KDA", "RU-KYA")] == ["Krasnodar", "Krasnoyarsk"]


def test_one_gid_linked_by_several_codes_is_unknown_for_all():
    # GADM 3.6 has Corsica only as a region; its two departments' names start with "Corse"
    lk = link_codes("FRA", ["FR-COR", "FR-2A", "FR-2B", "FR-IDF"])
    assert (lk.set_index("code").loc[["FR-COR", "FR-2A", "FR-2B"], "truth"] == "").all()
    assert truth_name(_one(lk, "FR-IDF")["truth"]) == "Île-de-France"


def test_former_codes_are_read_through_the_change_history():
    assert current_code("GT-AV") == "GT-16"  # ISO changed Guatemala's codes on 2021-11-25
    r = _one(link_codes("GTM", ["GT-AV"]), "GT-AV")
    assert truth_name(r["truth"]) == "Alta Verapaz" and "hasc" in r["evidence"]


def test_names_only_rows_take_the_truth_of_the_coded_row_of_the_same_name(data_root):
    dev = devset.build(data_root, countries={"JPN", "CHN"})
    names, codes = dev[dev["kind"] == "names"], dev[dev["kind"] == "codes"]
    coded = names[names["provider"].isin(["google", "jhu-lut"]) & (names["truth"] != "")]
    by_code = dict(zip(coded["code"], coded["truth"]))
    apple = names[names["provider"] == "apple"].set_index("name")
    # Apple writes "Aichi Prefecture" (ISO's type word), Google "Aichi" with code JP-23
    assert apple.loc["Aichi Prefecture", "code"] == "JP-23"
    assert apple.loc["Aichi Prefecture", "truth"] == by_code["JP-23"]
    joined = names[names["evidence"] == "name join"]
    assert len(joined) > 40 and (joined["truth"] == joined["code"].map(by_code)).all()
    # JHU's "Shanxi" is both Shanxi (CN-SX) and Shaanxi (CN-SN) without tone marks: unknown
    shanxi = names[(names["provider"] == "jhu-uid") & (names["name"] == "Shanxi")]
    assert (shanxi["truth"] == "").all() and shanxi["why"].str.contains("joins codes").all()
    # inputs of the names kind are never the code; the codes kind is exactly the code or its part
    assert not (names["name"] == names["code"]).any()
    assert not any(c and pfold(n) == pfold(c.split("-", 1)[1]) for n, c in zip(names["name"], names["code"]))
    assert all(n in (c, c.split("-", 1)[1]) for n, c in zip(codes["name"], codes["code"]))
    assert (codes["truth"] != "").all() and set(codes["truth"]) <= set(by_code.values()) | set(coded["truth"])


def test_the_cache_lives_in_the_user_cache_not_in_the_repository(data_root):
    p = devset.cache_path(data_root)
    assert p.is_relative_to(cache_dir()) and not p.is_relative_to(Path(__file__).resolve().parents[1])


def test_found_counts_new_ids_under_the_right_parent_and_one_territory_at_two_levels():
    from devset.measure import found

    # the Data Hub's hand-minted Kansas City USA.26.48.2_0: any new id under Jackson County is found
    assert found("USA.26.48.1_0", "USA.26.48.2_0") and not found("USA.26.49.1_0", "USA.26.48.2_0")
    assert not found("USA.26.48_1", "USA.26.48.2_0")  # the whole county is not the part
    # Najaf district (GADM level 2) is one of several districts of An-Najaf province: another area
    assert not found("IRQ.5.3_1", "IRQ.5_1")
    assert found("IRQ.5_1", "IRQ.5_1") and not found("", "IRQ.5_1")


def test_an_area_gadm_does_not_split_is_the_same_territory_one_level_down():
    from devset.measure import same_area
    from geolookup import gadm

    kids = gadm.load_areas("TWN", 2).groupby("parent_gid")["gid"].agg(list)
    single = {p: k[0] for p, k in kids.items() if len(k) == 1}
    several = {p: k[0] for p, k in kids.items() if len(k) > 1}
    assert single and several
    assert all(same_area(p, k) and same_area(k, p) for p, k in single.items())
    assert not any(same_area(p, k) for p, k in several.items())
