"""match_places on real data: codes, names, hierarchy, cross-level, composites, minting, spatial."""

import warnings

import numpy as np
import pandas as pd
import pytest

from geolookup.core.errors import GeolookupError, InputError
from geolookup.core.tableio import read_csv_text

warnings.filterwarnings("ignore", module="geolookup.gadm")


@pytest.fixture(autouse=True)
def _data(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


def run(rows, country, level, state, **kw):
    from geolookup.matching import match_places

    return match_places(pd.DataFrame(rows), country, level, "name", state_dir=state, **kw)


def test_issue_examples_names_and_codes(tmp_path):
    out = run({"name": ["Puglia", "P.A. Bolzano", "Lombardia", "IT-21"]}, "ITA", 1, tmp_path)
    assert list(out["gid"]) == ["ITA.2_1", "ITA.17.1_1", "ITA.10_1", "ITA.13_1"]
    assert list(out["match_method"]) == ["alias", "exact", "exact", "code"]
    assert list(out["match_gadm_level"]) == [1, 2, 1, 1]  # P.A. Bolzano found one level down
    assert set(out["match_status"]) == {"accepted"}
    out = run({"name": ["Bayern", "Bavaria", "DE-BW", "DE.BE"]}, "DEU", 1, tmp_path)
    assert list(out["gid"]) == ["DEU.2_1", "DEU.2_1", "DEU.1_1", "DEU.3_1"] or out["match_status"].tolist()[:2] == ["review", "review"]
    assert list(out["gid"])[2:] == ["DEU.1_1", "DEU.3_1"]
    out = run({"name": ["Région 84", "E92000001"]}, "FRA", 1, tmp_path)
    assert out["gid"].iloc[0] == "FRA.1_1" and out["match_method"].iloc[0] == "code"
    out = run({"name": ["E92000001", "Scotland"]}, "GBR", 1, tmp_path)
    assert list(out["gid"]) == ["GBR.1_1", "GBR.3_1"]


def test_code_outranks_name_and_cc_codes(tmp_path):
    # ISTAT code 066 (L'Aquila) given with a misleading name: the code wins
    out = run({"name": ["Teramo", "Chieti"], "code": ["066", "IT.CH"]}, "ITA", 2, tmp_path, code_col="code")
    assert list(out["gid"]) == ["ITA.1.2_1", "ITA.1.1_1"] and set(out["match_method"]) == {"code"}
    # GADM ships CC_2 "72" for both Bari and Barletta: the code alone is not decisive, the name decides
    out = run({"name": ["Barletta-Andria-Trani"], "code": ["072"]}, "ITA", 2, tmp_path, code_col="code")
    assert out["gid"].iloc[0] == "ITA.2.2_1"


def test_shared_name_goes_to_review_with_all_candidates(tmp_path):
    out = run({"name": ["Washington"]}, "USA", 2, tmp_path)
    assert out["match_status"].iloc[0] == "review" and out["gid"].iloc[0] == ""
    cands = out["candidates"].iloc[0].split("|")
    assert len(cands) == 5 and all(c.endswith(":100") for c in cands)
    # the parent column disambiguates
    out = run({"name": ["Washington County", "St. Louis"], "state": ["Oregon", "Minnesota"]}, "USA", 2, tmp_path,
              parent_col="state")
    assert list(out["match_status"]) == ["accepted", "accepted"]
    assert out["gid"].str.startswith("USA.38.").iloc[0] and out["gid"].str.startswith("USA.24.").iloc[1]


def test_unknown_parent_never_accepts(tmp_path):
    out = run({"name": ["San Juan", "Unknown"], "state": ["Puerto Rico", "Texas"]}, "USA", 2, tmp_path,
              parent_col="state")
    assert list(out["match_status"]) == ["review", "unmatched"]


def test_composite_new_york_city(tmp_path):
    from geolookup.matching import resolve_composite
    from geolookup import gadm

    out = run({"name": ["New York City"], "state": ["New York"]}, "USA", 2, tmp_path, parent_col="state")
    assert out["gid"].iloc[0] == "USA.33.32_1" and out["match_method"].iloc[0] == "composite"
    assert sorted(out["gid_parts"].iloc[0].split("|")) == sorted(
        ["USA.33.3_1", "USA.33.24_1", "USA.33.32_1", "USA.33.42_1", "USA.33.44_1"])
    areas = gadm.load_areas("USA", 2)
    gid, lon, lat = resolve_composite(out["gid_parts"].iloc[0].split("|"), areas)
    assert gid == "USA.33.32_1" and -74.3 < lon < -73.7 and 40.4 < lat < 40.95
    with pytest.raises(GeolookupError):
        resolve_composite(["USA.99.99_1"], areas)


def test_mint_is_stable_and_counts_per_parent(tmp_path):
    from geolookup.matching import mint

    a = mint("USA.26.48_1", "jhu", "29095", tmp_path)
    b = mint("USA.26.48_1", "jhu", "84070003", tmp_path)
    assert (a, b) == ("USA.26.48.1_0", "USA.26.48.2_0")
    assert mint("USA.26.48_1", "jhu", "84070003", tmp_path) == b
    assert mint("USA.26.49_1", "jhu", "x", tmp_path) == "USA.26.49.1_0"
    assert len(read_csv_text(tmp_path / "minted_ids.csv")) == 3
    with pytest.raises(InputError):
        mint("USA.26.49_1", "jhu", "29095", tmp_path)
    with pytest.raises(GeolookupError):
        mint("not a gid", "jhu", "y", tmp_path)


def test_kansas_city_split_by_coordinates(tmp_path, data_root):
    jhu = read_csv_text(data_root / "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv")
    mo = jhu[(jhu["Province_State"] == "Missouri") & (jhu["Admin2"].isin(["Jackson", "Kansas City", "Jasper", "Clay"]))]
    from geolookup.matching import match_places

    out = match_places(mo, "USA", 2, "Admin2", parent_col="Province_State", lat_col="Lat", lon_col="Long_",
                       state_dir=tmp_path, source="jhu", key_col="UID")
    got = dict(zip(out["Admin2"], out["gid"]))
    assert got["Jackson"] == "USA.26.48.1_0" and got["Kansas City"] == "USA.26.48.2_0"
    assert got["Jasper"] == "USA.26.49_1" and got["Clay"].startswith("USA.26.")
    assert set(out.loc[out["Admin2"].isin(["Jackson", "Kansas City"]), "match_method"]) == {"minted"}
    # a second run keeps the ids
    again = match_places(mo, "USA", 2, "Admin2", parent_col="Province_State", lat_col="Lat", lon_col="Long_",
                         state_dir=tmp_path, source="jhu", key_col="UID")
    assert list(again["gid"]) == list(out["gid"])


def test_pcm_dpc_provinces_with_coordinates(tmp_path, data_root):
    from geolookup.matching import match_places

    df = read_csv_text(data_root / "providers/pcm_dpc/dpc-covid19-ita-province-latest.csv")
    ref = read_csv_text(data_root / "reference/covid19datahub/ITA.csv")
    truth = dict(zip(ref["id_github.pcmdpc.covid19"], ref["key_gadm"]))
    out = match_places(df, "ITA", 2, "denominazione_provincia", parent_col="denominazione_regione",
                       lat_col="lat", lon_col="long", state_dir=tmp_path)
    real = out["sigla_provincia"] != ""
    assert (out.loc[real, "gid"] == out.loc[real, "sigla_provincia"].map(truth)).all()
    assert (out.loc[~real, "match_status"] == "unmatched").all()  # "Fuori Regione", "In fase di definizione"
    assert list(out.columns[: len(df.columns)]) == list(df.columns) and len(out) == len(df)


def test_nyt_counties_precision(tmp_path, data_root):
    from geolookup.matching import match_places

    df = read_csv_text(data_root / "providers/nyt/live_us-counties_20201013.csv")
    ref = read_csv_text(data_root / "reference/covid19datahub/USA.csv")
    truth = df["fips"].map(dict(zip(ref["id_github.nytimes.covid19data"], ref["key_gadm"])))
    out = match_places(df, "USA", 2, "county", parent_col="state", state_dir=tmp_path)
    acc = (out["match_status"] == "accepted") & truth.notna()
    assert acc.sum() > 2700
    assert (out.loc[acc, "gid"] == truth[acc]).mean() > 0.995
    assert (out.loc[df["county"] == "Unknown", "match_status"] == "unmatched").all()


def _confirmed_iso_truth(codes, areas):
    """ISO 3166-2 code -> GID only where two independent links agree: GADM HASC_1 ("DE-BW" ->
    "DE.BW") and pycountry's ISO name equal to the area's NAME_1 or a VARNAME_1, alone or followed
    by TYPE_1/ENGTYPE_1 ("Anhui Sheng"), after plain unidecode + casefold. Anything else is "truth unknown" (None) and left out."""
    import re

    import pycountry
    from unidecode import unidecode

    f = lambda s: re.sub(r"[^0-9a-z]+", " ", unidecode(str(s)).casefold()).strip()  # noqa: E731
    hasc = {}
    for h, g in zip(areas["hasc"], areas["gid"]):
        hasc.setdefault(h.replace(".", "-"), []).append(g)
    names = {g: {f(x) + s for x in [n, *v] for s in ("", *(" " + f(t) for t in (ty, en) if t))}
             for g, n, v, ty, en in zip(areas["gid"], areas["name"], areas["varnames"], areas["type"], areas["engtype"])}
    out = []
    for c in codes:
        sub, h = pycountry.subdivisions.get(code=c), hasc.get(c, [])
        ok = len(h) == 1 and sub is not None and f(sub.name) in names[h[0]]
        out.append(h[0] if ok else None)
    return pd.Series(out, index=codes.index)


@pytest.mark.parametrize("iso", ["DEU", "BRA", "ROU", "CHE", "CHN", "HND"])
def test_other_countries_google_names_vs_iso_codes(tmp_path, data_root, iso):
    """Names from Google's list; truth from the ISO 3166-2 code, confirmed by HASC and ISO name (CHN
    Henan/Hubei/Hebei and HND Copan, where GADM's HASC does not follow ISO, drop out as unknown)."""
    from geolookup import gadm
    import pycountry
    from geolookup.matching import match_places

    meta = read_csv_text(data_root / "providers/google/metadata.csv")
    a2 = pycountry.countries.get(alpha_3=iso).alpha_2
    rows = meta[(meta["country_code"] == a2) & (meta["subregion1_code"] != "") & (meta["subregion2_code"] == "")
                & (meta["locality_code"] == "")]
    areas = gadm.load_areas(iso, 1)
    truth = _confirmed_iso_truth(rows["country_code"] + "-" + rows["subregion1_code"], areas)
    rows, truth = rows[truth.notna()], truth[truth.notna()]
    assert len(rows) >= 4
    out = match_places(rows, iso, 1, "subregion1_name", state_dir=tmp_path)
    acc = out["match_status"] == "accepted"
    assert acc.mean() >= 0.9 and (out.loc[acc, "gid"] == truth[acc]).all()
    rest = ~acc  # the truth is offered to the curator
    assert all(t in c for t, c in zip(truth[rest], out.loc[rest, "candidates"]))


def test_fuzzy_thresholds_and_candidates(tmp_path):
    out = run({"name": ["Lombrdia", "Zzzzqqq", "Emilia"]}, "ITA", 1, tmp_path)
    assert out["gid"].iloc[0] == "ITA.10_1" and out["match_method"].iloc[0] == "fuzzy"
    assert out["match_status"].iloc[1] == "unmatched" and out["gid"].iloc[1] == ""
    assert out["candidates"].iloc[2].split("|")[0].startswith("ITA.6_1:")
    scores = out["match_score"]
    assert ((scores >= 0) & (scores <= 100)).all()


def test_bad_input_errors(tmp_path):
    with pytest.raises(InputError, match="missing column"):
        run({"name": ["x"]}, "ITA", 1, tmp_path, parent_col="nope")
    with pytest.raises(InputError, match="outside"):
        run({"name": ["x"], "lat": ["200"], "lon": ["10"]}, "ITA", 1, tmp_path, lat_col="lat", lon_col="lon")
    with pytest.raises(InputError, match="both"):
        run({"name": ["x"], "lat": ["1"]}, "ITA", 1, tmp_path, lat_col="lat")
    with pytest.raises(GeolookupError, match="level"):
        run({"name": ["x"]}, "ITA", 4, tmp_path)


def test_crosswalk_file_composite_and_errors(tmp_path):
    from geolookup.matching.codes import read_crosswalk

    cw = tmp_path / "cw.csv"
    cw.write_text("code;gid\n36061;USA.33.32_1\n99999;USA.33.3_1|USA.33.24_1\n", encoding="utf-8")
    out = run({"name": ["Manhattan", "Somewhere"], "fips": ["36061", "99999"]}, "USA", 2, tmp_path,
              code_col="fips", crosswalk=str(cw))
    assert out["gid"].iloc[0] == "USA.33.32_1" and out["match_method"].iloc[0] == "code"
    assert out["match_method"].iloc[1] == "composite" and out["gid_parts"].iloc[1] == "USA.33.3_1|USA.33.24_1"
    bad = tmp_path / "bad.csv"
    bad.write_text("code,gid\n1,USA.1_1\n1,USA.2_1\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 3"):
        read_crosswalk(bad)


def test_topk_bounded_blocks_equal_full():
    from geolookup.matching.score import topk

    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefgh"), 6)) for _ in range(300)]
    q = words[:50]
    i1, s1 = topk(q, words, k=5, block_bytes=10**9)
    i2, s2 = topk(q, words, k=5, block_bytes=300 * 7)  # 7 rows per block
    assert (s1 == s2).all() and (i1[:, 0] == np.arange(50)).all() and (s1[:, 0] == 100).all()
    g = np.arange(300) // 2  # two strings per entity -> distinct entities returned
    ig, sg = topk(q, words, k=5, choice_groups=g)
    assert all(len(set(r[r >= 0])) == len(r[r >= 0]) for r in ig)


def test_minting_skips_numbers_of_existing_gadm_children(tmp_path, data_root):
    from geolookup import gadm
    from geolookup import matching

    provinces = gadm.load_areas("ITA", 2, data_root)
    children = list(provinces.loc[provinces["parent_gid"] == "ITA.14_1", "gid"])
    top = max(int(g.rsplit("_", 1)[0].rsplit(".", 1)[1]) for g in children)
    gid = matching.mint("ITA.14_1", "pcm-dpc", "SU", state_dir=tmp_path, existing_gids=children)
    assert gid == f"ITA.14.{top + 1}_0"
    assert gid.rsplit("_", 1)[0] not in {c.rsplit("_", 1)[0] for c in children}
    # stable: the same entity keeps its id whatever children are passed later
    assert matching.mint("ITA.14_1", "pcm-dpc", "SU", state_dir=tmp_path) == gid
