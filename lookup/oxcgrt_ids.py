"""OxCGRT region codes of lookup rows: ``id_github.oxcgrt.covidpolicytracker``.

OxCGRT publishes sub-national data under a RegionCode ``<prefix>_<suffix>`` ("US_CA", "BR_SP",
"UK_ENG", "CAN_AB") beside the nation's CountryCode (USA, BRA, GBR, CAN). The suffix is the ISO
3166-2 subdivision code's suffix (US-CA, BR-SP, GB-ENG, CA-AB). The Data Hub stores the RegionCode
in its tables' ``id_github.oxcgrt.covidpolicytracker`` column, so that policies join on it (paper,
"Policy measures"); national rows carry the ISO3. Nothing here is typed by hand: the codes are
read from the OxCGRT files in the data folder (``oxcgrt/*.csv``, columns CountryCode, RegionCode,
RegionName) and linked to a Data Hub level-2 row when the RegionCode's suffix equals the row's
ISO 3166-2 suffix, found from (first hit wins):

1. the row's key_hasc (GADM's HASC_1, "US.CA" -> "CA");
2. the ISO 3166-2 subdivision (pycountry) whose name equals the row's name ("England" -> GB-ENG);
3. for a territory row (key_gadm an ISO3, "PRI"), its ISO 3166-1 alpha-2 ("PR": US-PR);
or else when the RegionName equals the row's name.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pycountry

from geolookup.core.datafiles import local_candidates
from geolookup.matching.normalize import fold

CODE_COLUMN = "id_github.oxcgrt.covidpolicytracker"
_COLS = ("CountryCode", "RegionCode", "RegionName")


def oxcgrt_folder(data_dir=None) -> Path | None:
    """The local ``oxcgrt`` folder (data folder, else cache), None when there is none."""
    for cand in local_candidates("oxcgrt", "x", data_dir):
        if cand.parent.is_dir():
            return cand.parent
    return None


@functools.lru_cache(maxsize=4)
def _regions(folder: str) -> pd.DataFrame:
    frames = []
    for f in sorted(Path(folder).glob("*.csv")):
        head = pd.read_csv(f, nrows=0).columns
        if set(_COLS) <= set(head):
            frames.append(pd.read_csv(f, usecols=list(_COLS), dtype=str, keep_default_na=False))
    if not frames:
        return pd.DataFrame(columns=list(_COLS))
    df = pd.concat(frames, ignore_index=True)
    df = df[df["RegionCode"].str.strip() != ""].drop_duplicates("RegionCode")
    return df.reset_index(drop=True)


def oxcgrt_regions(data_dir=None) -> pd.DataFrame:
    """Every OxCGRT region: one row per RegionCode, columns CountryCode, RegionCode, RegionName (str).
    Empty when no OxCGRT folder is local."""
    folder = oxcgrt_folder(data_dir)
    return _regions(str(folder)) if folder else pd.DataFrame(columns=list(_COLS))


def _suffixes(row: dict, iso2: str, by_name: dict) -> list[str]:
    out = []
    hasc = row.get("key_hasc", "")
    if hasc.count(".") == 1:
        out.append(hasc.split(".")[1])
    sub = by_name.get(fold(row.get("administrative_area_level_2", "")))
    if sub:
        out.append(sub)
    gid = row.get("key_gadm", "")
    if len(gid) == 3 and gid.isalpha():
        terr = pycountry.countries.get(alpha_3=gid)
        if terr:
            out.append(terr.alpha_2)
    return [s.upper() for s in out]


def region_codes(table: pd.DataFrame, iso3: str, data_dir=None) -> pd.Series:
    """OxCGRT RegionCode per row of a country's lookup table (module doc), "" where none.

    Input: Data Hub-layout table (text cells), the country's ISO3. Output: object Series aligned with
    ``table``; only Data Hub level-2 rows get a code.
    """
    out = pd.Series([""] * len(table), index=table.index, dtype=object)
    regions = oxcgrt_regions(data_dir)
    regions = regions[regions["CountryCode"] == iso3]
    country = pycountry.countries.get(alpha_3=iso3)
    if regions.empty or country is None:
        return out
    by_suffix = {c.split("_", 1)[1].upper(): c for c in regions["RegionCode"] if "_" in c}
    by_region_name = {fold(n): c for n, c in zip(regions["RegionName"], regions["RegionCode"])}
    subs = pycountry.subdivisions.get(country_code=country.alpha_2) or []
    by_name = {fold(s.name): s.code.split("-", 1)[1] for s in subs}
    for i, row in table.iterrows():  # a country has at most a few hundred level-2 rows
        if str(row.get("administrative_area_level", "")) != "2":
            continue
        hit = next((by_suffix[s] for s in _suffixes(row, country.alpha_2, by_name) if s in by_suffix), "")
        out[i] = hit or by_region_name.get(fold(row.get("administrative_area_level_2", "")), "")
    return out


def add_oxcgrt_ids(table: pd.DataFrame, iso3: str, data_dir=None) -> pd.DataFrame:
    """``table`` with :data:`CODE_COLUMN` filled for its Data Hub level-2 rows that OxCGRT covers
    (cells already filled are kept). The column is added only when some row gets a code."""
    codes = region_codes(table, iso3, data_dir)
    if not (codes != "").any() and CODE_COLUMN not in table.columns:
        return table
    out = table.copy()
    old = out[CODE_COLUMN] if CODE_COLUMN in out.columns else pd.Series("", index=out.index)
    out[CODE_COLUMN] = old.where(old.astype(str) != "", codes)
    return out
