"""Composite centroid rule (hypothesis), split/mint safeguards and bulk top-k exactness."""

import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings, strategies as st

warnings.filterwarnings("ignore", module="geolookup.gadm")

NY = ["USA.33.3_1", "USA.33.24_1", "USA.33.32_1", "USA.33.42_1", "USA.33.44_1"]


@pytest.fixture(scope="module")
def usa2(data_root):
    from geolookup import gadm

    return gadm.load_areas("USA", 2, data_root)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(NY + ["USA.33.59_1", "USA.33.27_1", "USA.31.12_1"]), min_size=1, max_size=5,
                unique=True), st.randoms(use_true_random=False))
def test_resolve_composite_properties(usa2, parts, rnd):
    from geolookup.matching import resolve_composite

    gid, lon, lat = resolve_composite(parts, usa2)
    assert gid in parts
    geoms = usa2.set_index("gid").loc[parts, "geometry"].to_numpy()
    union = shapely.union_all(geoms)
    assert shapely.intersects(union, shapely.points(lon, lat))  # interior point lies in the union
    shuffled = list(parts)
    rnd.shuffle(shuffled)
    gid2, lon2, lat2 = resolve_composite(shuffled, usa2)
    assert (lon2, lat2) == pytest.approx((lon, lat))
    if gid2 != gid:  # only a tie may depend on the order: both parts at the same distance
        x0, y0, x1, y1 = shapely.bounds(union)
        centre = shapely.points((x0 + x1) / 2, (y0 + y1) / 2)
        d = dict(zip(parts, shapely.distance(geoms, centre)))
        assert d[gid] == pytest.approx(d[gid2])


def _run(rows, country, level, state, **kw):
    from geolookup.matching import match_places

    return match_places(pd.DataFrame(rows), country, level, "name", state_dir=state, **kw)


def test_compound_gadm_name_is_split_among_its_parts(tmp_path, data_root):
    """GADM's USA.2.25_1 "Wrangell-Petersburg": the Data Hub has Petersburg .1_0 and Wrangell .2_0."""
    out = _run({"name": ["Wrangell", "Petersburg"], "state": ["Alaska", "Alaska"]}, "USA", 2, tmp_path,
               parent_col="state")
    assert list(out["gid"]) == ["USA.2.25.2_0", "USA.2.25.1_0"] and set(out["match_method"]) == {"minted"}


def test_name_listing_gadm_areas_is_their_composite(tmp_path, data_root):
    """The Data Hub's "Bristol Bay plus Lake and Peninsula" is USA.2.14_1 (the centroid-rule part)."""
    out = _run({"name": ["Bristol Bay plus Lake and Peninsula", "Bristol Bay & Nowhere"], "state": ["Alaska"] * 2},
               "USA", 2, tmp_path, parent_col="state")
    assert out["gid"].iloc[0] == "USA.2.14_1" and out["match_method"].iloc[0] == "composite"
    assert set(out["gid_parts"].iloc[0].split("|")) == {"USA.2.5_1", "USA.2.14_1"}
    # one piece unknown: never a composite, the known area is offered first
    assert out["match_status"].iloc[1] != "accepted" and out["candidates"].iloc[1].startswith("USA.2.5_1:")


def test_pieces_of_one_compound_area_are_split_claims(tmp_path, data_root):
    """GADM's "Skagway-Yakutat-Angoon" (USA.2.21_1): "Hoonah-Angoon" shares the word "Angoon" and
    "Yakutat plus Hoonah-Angoon" lists two of its parts; with "Skagway" they split the area."""
    rows = {"name": ["Skagway", "Yakutat plus Hoonah-Angoon"], "state": ["Alaska"] * 2}
    out = _run(rows, "USA", 2, tmp_path / "a", parent_col="state")
    assert sorted(out["gid"]) == ["USA.2.21.1_0", "USA.2.21.2_0"] and set(out["match_method"]) == {"minted"}
    alone = _run({"name": ["Hoonah-Angoon"], "state": ["Alaska"]}, "USA", 2, tmp_path / "b", parent_col="state")
    assert alone["match_status"].iloc[0] == "review" and alone["candidates"].iloc[0].startswith("USA.2.21_1:")
    # after JHU minted Yakutat and Hoonah-Angoon separately, a row naming both is for a curator
    jhu = {"name": ["Skagway", "Yakutat", "Hoonah-Angoon"], "state": ["Alaska"] * 3}
    _run(jhu, "USA", 2, tmp_path / "c", parent_col="state")
    both = _run({"name": ["Yakutat plus Hoonah-Angoon"], "state": ["Alaska"]}, "USA", 2, tmp_path / "c",
                parent_col="state")
    assert both["match_status"].iloc[0] == "review"
    assert {c.split(":")[0] for c in both["candidates"].iloc[0].split("|")[:2]} == {"USA.2.21.1_0", "USA.2.21.3_0"}


def test_lone_part_claim_with_its_point_inside_is_accepted(tmp_path, data_root):
    """JHU's "Prince of Wales-Hyder" shares "Prince of Wales" with GADM's truncated "Prince of
    Wales-Outer Ketchi" (USA.2.19_1) and its point is inside: the Data Hub's key_gadm."""
    from geolookup.core.tableio import read_csv_text
    from geolookup.matching import match_places

    jhu = read_csv_text(data_root / "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv")
    ak = jhu[(jhu["Province_State"] == "Alaska") & (jhu["Admin2"] == "Prince of Wales-Hyder")]
    kw = dict(parent_col="Province_State", key_col="UID", state_dir=tmp_path, source="jhu")
    out = match_places(ak, "USA", 2, "Admin2", lat_col="Lat", lon_col="Long_", **kw)
    assert (out["gid"].iloc[0], out["match_method"].iloc[0]) == ("USA.2.19_1", "spatial")
    names_only = match_places(ak, "USA", 2, "Admin2", **kw)
    assert names_only["match_status"].iloc[0] == "review" and names_only["candidates"].iloc[0].startswith("USA.2.19_1:")


def test_layer_gap_blocks_minting_but_not_elsewhere(tmp_path):
    # the simplified layer lacks GADM's "Fairfax City" (USA.47.41_1): no split of Fairfax
    out = _run({"name": ["Fairfax", "Fairfax City"], "state": ["Virginia"] * 2}, "USA", 2, tmp_path,
               parent_col="state")
    assert set(out["match_status"]) == {"review"} and "gap" in out["match_reason"].iloc[1]
    assert out["candidates"].str.startswith("USA.47.40_1").all()
    # Franklin .46 / Frederick .47 leave no room for a GADM "Franklin City": split as in the Data Hub
    out = _run({"name": ["Franklin", "Franklin City"], "state": ["Virginia"] * 2}, "USA", 2, tmp_path,
               parent_col="state")
    assert list(out["gid"]) == ["USA.47.46.1_0", "USA.47.46.2_0"]


def test_sibling_bearing_the_name_prevents_a_split(tmp_path):
    # GADM RUS "Moskva" (oblast) lists "Moscow" as VARNAME; "Moscow City" is another area
    out = _run({"name": ["Moscow", "Moscow Oblast", "Saint Petersburg", "Leningrad Oblast"]}, "RUS", 1, tmp_path)
    assert list(out["match_status"][:3]) == ["review"] * 3 and "minted" not in set(out["match_method"])
    assert "RUS.43_1" in out["candidates"].iloc[0] and "RUS.14_1" in out["candidates"].iloc[2]
    assert out["gid"].iloc[3] == "RUS.38_1"


def test_point_without_type_word_is_no_split_claim(tmp_path, data_root):
    """JHU's Utah health districts (Bear River...) hold points inside counties: review, no minting."""
    from geolookup.core.tableio import read_csv_text
    from geolookup.matching import match_places

    jhu = read_csv_text(data_root / "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv")
    ut = jhu[(jhu["Province_State"] == "Utah") & jhu["Admin2"].isin(["Bear River", "Box Elder"])]
    out = match_places(ut, "USA", 2, "Admin2", parent_col="Province_State", lat_col="Lat", lon_col="Long_",
                       key_col="UID", state_dir=tmp_path, source="jhu")
    got = dict(zip(out["Admin2"], zip(out["gid"], out["match_status"])))
    assert got["Box Elder"] == ("USA.45.2_1", "accepted") and got["Bear River"][1] == "review"


def test_word_equivalents_and_despaced_names(tmp_path):
    out = _run({"name": ["Southeast Sulawesi", "West Java"]}, "IDN", 1, tmp_path)
    assert out["gid"].iloc[0] == "IDN.28_1" and out["candidates"].iloc[1].startswith("IDN.9_1:")
    out = _run({"name": ["Chonburi", "Prachinburi"]}, "THA", 1, tmp_path)  # GADM: "Chon Buri", "Prachin Buri"
    assert list(out["gid"]) == ["THA.12_1", "THA.49_1"]


def test_topk_blocked_equals_exhaustive_cdist():
    from rapidfuzz import fuzz, process

    from geolookup.matching.score import topk

    rng = np.random.default_rng(1)
    words = [" ".join("".join(rng.choice(list("abcdeilnorst"), rng.integers(3, 9))) for _ in range(rng.integers(1, 4)))
             for _ in range(2000)]
    q = [w[:-1] + "x" for w in words[:200]]
    idx, sc = topk(q, words, k=5, score_cutoff=30, block_bytes=2000 * 17)
    full = process.cdist(q, words, scorer=fuzz.token_sort_ratio, dtype=np.uint8, score_cutoff=30).astype(np.int64)
    assert (sc == -np.sort(-full, axis=1)[:, :5]).all()
    got = np.take_along_axis(full, np.maximum(idx, 0), axis=1)
    assert (np.where(idx >= 0, got, 0) == sc).all()  # each returned index has the returned score
