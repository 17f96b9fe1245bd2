"""The labelled development set for world matching: provider names outside ITA/ESP/USA with a truth GID.

Rows come from five provider lists in ../shared/data/providers (sources.py): Google's open-data index,
Google's mobility report (ISO 3166-2 codes beside the names), JHU's COVID-19 LUT (codes and points),
Apple's mobility regions and JHU's UID table (names only). Truth (truth.py) never comes from
geolookup.matching:
- coded rows: the provider's ISO 3166-2 code linked to GADM by agreeing evidence (:func:`truth.link_codes`);
- names-only rows (Apple, JHU UID): joined to the coded rows of the same country whose name, as a
  coded provider or ISO writes it (alone, or with ISO's subdivision type word: "Aichi" + "Prefecture",
  "Canton of Bern"), equals the row's name or one of its alternative names after :func:`truth.pfold`;
  never by fuzzy matching. Names joining two codes, or a provider point outside the joined area,
  make the truth unknown.
Kinds: ``names`` (input = the provider's name, and parent name where the provider gives one; never a
code) and ``codes`` (input = the ISO code "JP-23" or its subdivision part "23", to measure code
recognition). Rows with truth "" are kept with the reason in ``why``: counted, left out of figures.

The set is cached as CSV in ``<geolookup cache>/bench/devset-<key>.csv`` (the key changes with
pycountry/iso3166-2 versions, this package's code and the input files), never in the repository.
"""

from __future__ import annotations

import hashlib
import os
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from geolookup import gadm
from geolookup.core.datafiles import cache_dir
from geolookup.core.tableio import read_csv_text, write_csv_atomic

from . import sources
from .truth import iso_names, iso_types, link_codes, pfold

COLUMNS = ["dataset", "provider", "country", "gadm_level", "kind", "name", "parent", "code", "truth", "evidence", "why",
           "iso_name"]
INPUTS = ["providers/google/metadata.csv", "providers/google/iso_3166_2_codes.csv", "providers/google/knowledge_graph.csv",
          "providers/COVID-19_LUT_20201111.csv", "providers/google_mobility/Global_Mobility_Report_jacPeach.csv",
          "providers/apple/applemobilitytrends_20200519.csv", "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv",
          "gadm36/INVENTORY.csv"]


def _key(data: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        h.update(p.read_bytes())
    for lib in ("pycountry", "iso3166-2"):
        h.update(version(lib).encode())
    for f in INPUTS:
        st = (data / f).stat()
        h.update(f"{f}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def cache_path(data: Path) -> Path:
    return cache_dir() / "bench" / f"devset-{_key(data)}.csv"


def load(data=None, refresh: bool = False) -> pd.DataFrame:
    """The development set, built once and then read from the cache.

    Input: ``data`` the shared data folder (default ``$GEOLOOKUP_DATA``), ``refresh`` rebuild anyway.
    Output: DataFrame, one row per matcher input, columns COLUMNS (str; ``gadm_level`` int64): the
    data set label (provider + country + kind), provider, ISO3, the GADM level the data set is matched
    at, kind (names|codes), the input name and parent, the provider's code (truth derivation only;
    never given to the matcher), truth GID ("" = unknown), evidence, the reason when unknown, and
    ``iso_name`` ("1" when the input equals a name pycountry/iso3166-2 give the code, else "0").
    """
    data = Path(data or os.environ["GEOLOOKUP_DATA"])
    path = cache_path(data)
    if path.is_file() and not refresh:
        df = read_csv_text(path)
    else:
        df = build(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_csv_atomic(df, path, index=False)
        df = read_csv_text(path)
    df["gadm_level"] = df["gadm_level"].astype("int64")
    return df


def _name_keys(code: str, names) -> set:
    """Folded forms under which a coded place is known: its names, alone and with ISO's type word."""
    types = [pfold(t) for t in iso_types(code)]
    out = set()
    for n in names:
        f = pfold(n)
        if f:
            out |= {f} | {g for t in types for g in (f"{f} {t}", f"{t} {f}", f"{t} of {f}")}
    return out


def _join(named: pd.DataFrame, coded: pd.DataFrame, truths: pd.DataFrame) -> list[tuple]:
    """Truth for names-only rows: the one coded place of the same country bearing one of their names.
    One (row, code, truth, why, GADM level) per row of ``named``; truth "" when unknown."""
    keys: dict = {}
    for (c, code), names in coded.groupby(["country", "code"])["name"]:
        for k in _name_keys(code, list(names) + iso_names(code)):
            keys.setdefault((c, k), set()).add(code)
    t = truths.set_index(["country", "code"])
    out = []
    for r in named.itertuples(index=False):
        codes = set().union(*[keys.get((r.country, pfold(n)), set()) for n in [r.name, *r.alt]])
        if len(codes) != 1:
            why = f"{r.name!r}: " + ("joins codes " + "/".join(sorted(codes)) if codes else "no coded row of this name")
            out.append((r, "", "", why, 0))
            continue
        code = codes.pop()
        tr = t.loc[(r.country, code)]
        truth, why, lv = tr["truth"], tr["why"], int(tr["gadm_level"])
        if truth and r.points:
            areas = gadm.load_areas(r.country, lv)
            w = gadm.locate([p[0] for p in r.points], [p[1] for p in r.points], areas)
            bad = [areas["gid"].iat[i] for i in w if i >= 0 and areas["gid"].iat[i] != truth]
            if bad:
                truth, why = "", f"{r.name!r} joins {code} -> {truth}, but its own point falls in {bad[0]}"
        out.append((r, code, truth, why if not truth else f"joined by name to {code}", lv if truth else 0))
    return out


def build(data: Path, countries=None) -> pd.DataFrame:
    """Derive the development set from the provider lists (slow: loads GADM of ~60 countries);
    ``countries`` (ISO3 codes) limits it to those countries. Output as :func:`load`."""
    coded = pd.concat([sources.google(data), sources.lut(data), sources.mobility(data)], ignore_index=True)
    named = pd.concat([sources.apple(data, sources.country_names(data)), sources.jhu_uid(data)], ignore_index=True)
    inv = pd.read_csv(data / "gadm36/INVENTORY.csv")
    have = set(inv.loc[inv["level"] >= 1, "iso"])  # GADM has subdivisions of these countries
    have &= set(countries) if countries is not None else have
    coded, named = coded[coded["country"].isin(have)], named[named["country"].isin(have)]
    truths = []
    for c, g in coded.groupby("country"):
        pts: dict = {}
        for code, p in zip(g["code"], g["points"]):
            pts.setdefault(code, []).extend(p)
        lk = link_codes(c, g["code"].unique(), pts)
        lk.insert(0, "country", c)
        truths.append(lk)
    truths = pd.concat(truths, ignore_index=True)
    t = truths.set_index(["country", "code"])
    rows = []  # (provider, list suffix, country, kind, name, parent, code, truth, evidence, why, level)
    for r in coded.itertuples(index=False):
        tr = t.loc[(r.country, r.code)]
        rows.append((r.provider, "", r.country, "names", r.name, r.parent, r.code, tr["truth"], tr["evidence"], tr["why"],
                     tr["gadm_level"]))
    for r, code, truth, why, lv in _join(named, coded, truths):
        ev = "name join" if truth else ""
        rows.append((r.provider, "", r.country, "names", r.name, "", code, truth, ev, why, lv))
        # one list per position in Apple's alternative_name: a list names each place once, as providers do
        alts = [a for a in r.alt if pfold(a) != pfold(r.name)]
        rows += [(r.provider + "-alt", f" #{j}", r.country, "names", a, "", code, truth, ev, why, lv) for j, a in enumerate(alts, 1)]
    for tr in truths[truths["truth"] != ""].itertuples(index=False):
        # two lists per country and level: full codes ("JP-23") and subdivision parts ("23")
        for prov, name in (("iso-codes", tr.code), ("iso-code-parts", tr.code.split("-", 1)[1])):
            rows.append((prov, f" L{tr.gadm_level}", tr.country, "codes", name, "", tr.code, tr.truth, tr.evidence, tr.why,
                         tr.gadm_level))
    df = pd.DataFrame(rows, columns=["provider", "sub", "country", "kind", "name", "parent", "code", "truth", "evidence",
                                     "why", "lv"])
    # a provider "name" that is the code's subdivision part (Apple's "QLD", "NSW") and no ISO name of the
    # place (Peru's "Ica", PE-ICA, is a name) is a code: such rows make lists of their own
    coded_name = pd.Series([k == "names" and c != "" and pfold(n) == pfold(c.split("-", 1)[-1])
                            and pfold(n) not in {pfold(x) for x in iso_names(c)}
                            for k, n, c in zip(df["kind"], df["name"], df["code"])], index=df.index)
    df.loc[coded_name, "kind"] = "codes"
    df.loc[coded_name, "sub"] += " codes"
    df["dataset"] = df["provider"] + " " + df["country"] + df["sub"]
    # "1" when the input is a name the ISO 3166-2 libraries give the code (the matcher may know it from
    # there); the rest measures names no library lists
    df["iso_name"] = ["1" if c and pfold(n) in {pfold(x) for x in iso_names(c)} else "0" for n, c in zip(df["name"], df["code"])]
    # a data set is matched at the GADM level most of its truths sit at (level 1 when none is known)
    known = df[df["truth"] != ""]
    level = known.groupby("dataset")["lv"].agg(lambda s: int(s.mode().iloc[0]))
    df["gadm_level"] = df["dataset"].map(level).fillna(1).astype("int64")
    return df[COLUMNS].sort_values(["kind", "dataset", "name"], kind="stable").reset_index(drop=True)
