"""Provider place lists of the development set, read as the providers publish them (../shared/data/providers).

Each reader returns one row per provider place outside ITA/ESP/USA (those three keep the Data Hub's
own truth in bench_matching.py), columns: ``provider``, ``country`` (ISO3), ``name`` (as written),
``alt`` (list of the provider's other names for the same place, Apple only), ``parent`` (the
provider's parent name, "" = none), ``code`` (the provider's ISO 3166-2 code, "" = names only) and
``points`` (list of (lon, lat) degrees WGS84 the provider gives, possibly empty).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pycountry

from geolookup.core.tableio import read_csv_text

from .truth import pfold

SKIP = {"ITA", "ESP", "USA"}
COLS = ["provider", "country", "name", "alt", "parent", "code", "points"]


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLS)


def _pt(lon, lat):
    try:
        x, y = float(lon), float(lat)
    except ValueError:
        return []
    return [] if (x, y) == (0.0, 0.0) else [(x, y)]


def _iso3(alpha2: str) -> str:
    c = pycountry.countries.get(alpha_2=alpha2)
    return c.alpha_3 if c is not None else ""


def google(data: Path) -> pd.DataFrame:
    """Google's open-data index (metadata.csv): subregion rows whose key has an ISO 3166-2 code in its
    iso_3166_2_codes.csv with the SAME Wikidata item as its knowledge_graph.csv (Portugal's "PT_11"
    is NUTS PT11 Norte there, not ISO PT-11 Lisboa, and is left out this way)."""
    meta = read_csv_text(data / "providers/google/metadata.csv")
    iso = read_csv_text(data / "providers/google/iso_3166_2_codes.csv")
    kg = read_csv_text(data / "providers/google/knowledge_graph.csv")
    wd = dict(zip(kg["key"], kg["wikidata"]))
    iso = iso[[wd.get(k) == w and w != "" for k, w in zip(iso["key"], iso["wikidata"])]]
    code = dict(zip(iso["key"], iso["country_code"] + "-" + iso["subregion1_code"]))
    meta = meta[meta["key"].isin(code) & (meta["locality_code"] == "")]
    rows = []
    for k, cc, n1, n2 in zip(meta["key"], meta["country_code"], meta["subregion1_name"], meta["subregion2_name"]):
        iso3 = _iso3(cc)
        if iso3 and iso3 not in SKIP:
            rows.append(("google", iso3, n2 or n1, [], n1 if n2 else "", code[k], []))
    return _frame(rows)


def lut(data: Path) -> pd.DataFrame:
    """JHU CSSE's COVID-19 LUT: Province/State rows with an ISO 3166-2 code (ISO2_UID) and a point."""
    df = read_csv_text(data / "providers/COVID-19_LUT_20201111.csv")
    df = df[df["Level"].isin(["Province", "State"]) & df["ISO2_UID"].str.contains("-") & ~df["ISO1_3C"].isin(SKIP)]
    return _frame([("jhu-lut", c, n, [], "", code, _pt(x, y))
                   for c, n, code, x, y in zip(df["ISO1_3C"], df["Admin1"], df["ISO2_UID"], df["Longitude"], df["Latitude"])])


def mobility(data: Path) -> pd.DataFrame:
    """Google's Global Mobility Report: sub_region_1 rows with their iso_3166_2_code (one per place)."""
    df = read_csv_text(data / "providers/google_mobility/Global_Mobility_Report_jacPeach.csv")
    df = df[(df["sub_region_1"] != "") & (df["sub_region_2"] == "") & (df["metro_area"] == "") & (df["iso_3166_2_code"] != "")]
    df = df.drop_duplicates(["country_region_code", "sub_region_1", "iso_3166_2_code"])
    return _frame([("google-mobility", _iso3(cc), n, [], "", code, [])
                   for cc, n, code in zip(df["country_region_code"], df["sub_region_1"], df["iso_3166_2_code"])
                   if _iso3(cc) not in SKIP | {""}])


def country_names(data: Path) -> dict:
    """Folded country name -> ISO3, exactly as pycountry (name, official and common name, and the
    comma-reversed "Korea, Republic of" -> "Republic of Korea"), JHU's UID table and Google's index write them."""
    out = {}
    for c in pycountry.countries:
        for n in {getattr(c, a, "") for a in ("name", "official_name", "common_name")} - {""}:
            out[pfold(n)] = c.alpha_3
            if "," in n:
                out[pfold(" ".join(p.strip() for p in reversed(n.split(",", 1))))] = c.alpha_3
    uid = read_csv_text(data / "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv")
    uid = uid[uid["Province_State"] == ""]
    out.update({pfold(n): i for n, i in zip(uid["Country_Region"], uid["iso3"]) if i})
    meta = read_csv_text(data / "providers/google/metadata.csv")
    meta = meta[meta["subregion1_code"] == ""]
    out.update({pfold(n): _iso3(c) for n, c in zip(meta["country_name"], meta["country_code"]) if _iso3(c)})
    return out


def apple(data: Path, countries: dict) -> pd.DataFrame:
    """Apple's mobility trends: "sub-region" rows (names only) with their ``alternative_name`` list."""
    df = read_csv_text(data / "providers/apple/applemobilitytrends_20200519.csv")
    df = df[df["geo_type"] == "sub-region"].drop_duplicates(["region", "country"])
    rows = []
    for n, alt, c in zip(df["region"], df["alternative_name"], df["country"]):
        iso3 = countries.get(pfold(c), "")
        if iso3 and iso3 not in SKIP:
            rows.append(("apple", iso3, n, [a for a in alt.split("|") if a.strip()], "", "", []))
    return _frame(rows)


def jhu_uid(data: Path) -> pd.DataFrame:
    """JHU CSSE's UID lookup table: Province_State rows without Admin2 (names and a point, no ISO code)."""
    df = read_csv_text(data / "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv")
    df = df[(df["Province_State"] != "") & (df["Admin2"] == "") & ~df["iso3"].isin(SKIP) & (df["iso3"] != "")]
    return _frame([("jhu-uid", c, n, [], "", "", _pt(x, y))
                   for c, n, x, y in zip(df["iso3"], df["Province_State"], df["Long_"], df["Lat"])])
