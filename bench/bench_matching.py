"""Matching benchmark: quality figures and speed (issue 3 §10-11). Prints numbers; asserts nothing.

Usage: GEOLOOKUP_DATA=../shared/data python bench/bench_matching.py [--queries N] [--skip-speed] [--verbose]

Quality, per data set: share of rows accepted, precision of accepted rows (gid == truth), share of
the rest whose true GID is among the candidates. Inputs give names (and parents) only -- never
codes -- so the figures measure name matching. Truth never comes from this matcher:
- ITA/ESP/USA: the COVID-19 Data Hub's hand-made tables (key_gadm, joined on the provider's id);
- other countries: the provider's ISO 3166-2 code, linked to GADM by two independent sources
  (see :func:`iso_truth`): GADM's HASC_1 ("CN-HB" -> HASC "CN.HB") and pycountry's ISO name for the
  code equal to a GADM NAME/VARNAME/NL_NAME (alone or joined with TYPE/ENGTYPE) after plain
  unidecode+casefold. Where the two disagree (GADM HASC does not follow ISO for Henan/Hubei/Hebei,
  Tuva; GADM gives Copan and Santa Barbara the same HASC), where the JHU LUT's point for the code
  falls in another area (the LUT swaps RU-KDA/RU-KYA and RU-IN/RU-KR), where two codes link to one
  area, or where neither links, the row's truth is unknown: counted, printed with --verbose, left
  out of every figure. Google codes count as ISO only for keys whose Wikidata item is the
  same in its iso_3166_2_codes.csv and knowledge_graph.csv.
Rows whose truth is not in the GADM layer shipped in shared data are left out and counted too.

Each data set above is matched with a fresh state folder (no minted ids from the others). One more
line, "USA realistic build order", matches JHU counties, then JHU's COVID-19 LUT counties, then NYT
counties, then the Data Hub's
own county names with ONE shared state folder, as `geolookup build` does (ids minted for one
source, e.g. JHU's Kansas City USA.26.48.2_0, are candidates for the next); same truth and same
three figures, summed over the three steps (--verbose prints each step).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
import tracemalloc
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry
from unidecode import unidecode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from geolookup import gadm  # noqa: E402
from geolookup.core.tableio import read_csv_text  # noqa: E402
from geolookup.matching import match_places  # noqa: E402
from geolookup.matching.normalize import normalize_array  # noqa: E402
from geolookup.matching.score import topk  # noqa: E402

DATA = Path(os.environ.get("GEOLOOKUP_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
REF = DATA / "reference" / "covid19datahub"
STATE_ROOT = tempfile.mkdtemp(prefix="bench-state-")


def fresh_state():
    """A new empty state folder: every data set is matched like a first build (minted ids
    numbered from 1 under each parent, as in the Data Hub), not after the other data sets."""
    return tempfile.mkdtemp(dir=STATE_ROOT)
VERBOSE = False


def _cands(text):
    return [c.rsplit(":", 1)[0] for c in str(text).split("|") if c]


def quality(label, out, truth, known, name_col=None, why=None, show=True):
    """Print accepted share, precision and truth-among-candidates of the rest (truth "" = unknown);
    ``show=False`` prints nothing unless --verbose."""
    if not show and not VERBOSE:
        return _quality(out, truth, known)
    return _quality(out, truth, known, label, name_col, why)


def _quality(out, truth, known, label=None, name_col=None, why=None):
    truth = pd.Series(np.asarray(truth, dtype=object), index=out.index).fillna("").astype(str)
    unknown = truth == ""
    ok = ~unknown & (truth.isin(known) | truth.str.endswith("_0"))
    o, t = out[ok], truth[ok]
    acc = o["match_status"] == "accepted"
    good = o.loc[acc, "gid"] == t[acc]
    rest = ~acc
    among = np.array([tg in _cands(c) for tg, c in zip(t[rest], o.loc[rest, "candidates"])], dtype=bool)
    prec = good.mean() if acc.any() else float("nan")
    share = among.mean() if rest.any() else float("nan")
    if label is None:
        return len(o), int(acc.sum()), int(good.sum()), int(rest.sum()), int(among.sum()), int(unknown.sum())
    print(f"{label:<36} rows {len(o):>5} (truth unknown {int(unknown.sum()):>2}, not in GADM {int((~ok & ~unknown).sum()):>3})"
          f"  accepted {acc.mean():6.1%}  precision {prec:7.2%}  rest: truth in candidates {share:6.1%} of {int(rest.sum())}")
    if VERBOSE and name_col:
        for i in o.index[acc][~good.to_numpy()]:
            print(f"    WRONG   {o.at[i, name_col]!r:<34} -> {o.at[i, 'gid']} ({o.at[i, 'match_method']}), truth {t[i]}")
        for (i, hit) in zip(o.index[rest], among):
            print(f"    {'rest ok' if hit else 'MISSING'} {o.at[i, name_col]!r:<34} truth {t[i]:<16} {o.at[i, 'match_status']}: "
                  f"{o.at[i, 'candidates']}  [{o.at[i, 'match_reason']}]")
        if why is not None:
            for i in out.index[unknown.to_numpy()]:
                print(f"    unknown {out.at[i, name_col]!r:<34} {why[list(out.index).index(i)]}")
    return len(o), int(acc.sum()), int(good.sum()), int(rest.sum()), int(among.sum()), int(unknown.sum())


def known_gids(iso, levels):
    return set().union(*[set(gadm.load_areas(iso, lv)["gid"]) for lv in levels])


# --- reference countries: truth = the Data Hub's key_gadm -------------------------------------

def datahub(iso):
    ref = read_csv_text(REF / f"{iso}.csv")
    ref = ref[ref["key_gadm"] != ""]
    known = known_gids(iso, [x for x in gadm.available_levels(iso) if x >= 1])
    r2 = ref[ref["administrative_area_level"] == "2"]
    out2 = match_places(r2, iso, 1, "administrative_area_level_2", state_dir=fresh_state(), source=f"dh{iso}2")
    return [quality(f"{iso} Data Hub level 2 (GADM 1)", out2, r2["key_gadm"], known, "administrative_area_level_2"),
            datahub3(iso)]


def datahub3(iso, state=None, label=None, show=True):
    """The Data Hub's level-3 names (parent: its level-2 name) at GADM level 2; fresh state by default."""
    ref = read_csv_text(REF / f"{iso}.csv")
    ref = ref[ref["key_gadm"] != ""]
    known = known_gids(iso, [x for x in gadm.available_levels(iso) if x >= 1])
    r3 = ref[ref["administrative_area_level"] == "3"]
    out3 = match_places(r3, iso, 2, "administrative_area_level_3", parent_col="administrative_area_level_2",
                        state_dir=state or fresh_state(), source=f"dh{iso}3")
    return quality(label or f"{iso} Data Hub level 3 (GADM 2)", out3, r3["key_gadm"], known,
                   "administrative_area_level_3", show=show)


def pcm_dpc():
    df = read_csv_text(DATA / "providers/pcm_dpc/dpc-covid19-ita-province-latest.csv")
    ref = read_csv_text(REF / "ITA.csv")
    m = dict(zip(ref["id_github.pcmdpc.covid19"], ref["key_gadm"]))
    df = df[df["sigla_provincia"] != ""]
    out = match_places(df, "ITA", 2, "denominazione_provincia", parent_col="denominazione_regione",
                       lat_col="lat", lon_col="long", state_dir=fresh_state(), source="pcm-dpc")
    return quality("ITA pcm-dpc provinces + coords", out, df["sigla_provincia"].map(m).fillna(""),
                   known_gids("ITA", [1, 2]), "denominazione_provincia")


def nyt(timing=True, state=None, label="USA NYT counties (name+state)", show=True):
    df = read_csv_text(DATA / "providers/nyt/live_us-counties_20201013.csv")
    ref = read_csv_text(REF / "USA.csv")
    m = dict(zip(ref["id_github.nytimes.covid19data"], ref["key_gadm"]))
    gadm.load_areas("USA", 2), gadm.load_areas("USA", 1)
    st = state or fresh_state()
    t0 = time.perf_counter()
    out = match_places(df, "USA", 2, "county", parent_col="state", state_dir=st, source="nyt")
    t1 = time.perf_counter()
    if timing:
        out = match_places(df, "USA", 2, "county", parent_col="state", state_dir=st, source="nyt")
        t2 = time.perf_counter()
        print(f"speed: NYT {len(df)} counties: first call {t1 - t0:.2f} s (builds name index), "
              f"repeat {t2 - t1:.2f} s  [target < 1 s after GADM load]")
    elif state is not None:
        print(f"speed: NYT {len(df)} counties after JHU's minted ids (shared state): {t1 - t0:.2f} s  [target < 1 s]")
    truth = np.where(df["fips"] != "", df["fips"].map(m).fillna(""), "")
    return quality(label, out, truth, known_gids("USA", [1, 2]), "county", show=show)


def jhu_usa(state=None, label="USA JHU UID Admin2 + coords", show=True):
    """JHU UID table: US Admin2 names + state + JHU's own coordinates (spatial evidence, splits).
    Truth: the Data Hub's key_gadm joined on its JHU UID, else on key_jhu_csse = "US" + FIPS."""
    df = read_csv_text(DATA / "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv")
    df = df[(df["iso3"] == "USA") & (df["Admin2"] != "")].reset_index(drop=True)
    ref = read_csv_text(REF / "USA.csv")
    by_uid = {u: g for u, g in zip(ref["id_github.cssegisanddata.covid19"], ref["key_gadm"]) if u}
    by_key = {k: g for k, g in zip(ref["key_jhu_csse"], ref["key_gadm"]) if k}
    fips = df["FIPS"].str.split(".").str[0].str.zfill(5)
    truth = [by_uid.get(u) or (by_key.get("US" + f, "") if f.strip("0") else "") for u, f in zip(df["UID"], fips)]
    out = match_places(df, "USA", 2, "Admin2", parent_col="Province_State", lat_col="Lat", lon_col="Long_",
                       key_col="UID", state_dir=state or fresh_state(), source="jhu")
    return quality(label, out, truth, known_gids("USA", [1, 2]), "Admin2", show=show)


def lut_usa(state=None, label="USA JHU COVID-19 LUT Admin2 + coords", show=True):
    """JHU's unified lookup table (Nov 2020): US county rows, names + state + coordinates where
    given. Its IDs ("US29592") are the Data Hub's key_jhu_csse, so truth joins on them."""
    df = read_csv_text(DATA / "providers/COVID-19_LUT_20201111.csv")
    df = df[(df["ISO1_3C"] == "USA") & (df["Level"] == "County") & (df["Admin2"] != "")].reset_index(drop=True)
    ref = read_csv_text(REF / "USA.csv")
    by_key = {k: g for k, g in zip(ref["key_jhu_csse"], ref["key_gadm"]) if k}
    out = match_places(df, "USA", 2, "Admin2", parent_col="Admin1", lat_col="Latitude", lon_col="Longitude",
                       key_col="ID", state_dir=state or fresh_state(), source="jhu-lut")
    return quality(label, out, df["ID"].map(by_key).fillna(""), known_gids("USA", [1, 2]), "Admin2", show=show)


def build_order_usa():
    """JHU, then the JHU LUT, then NYT, then the Data Hub's county names, ONE shared state folder (as the build runs
    them): one summary line; each step's line with --verbose."""
    st = fresh_state()
    parts = [jhu_usa(st, "  build order 1: JHU Admin2 + coords", show=False),
             lut_usa(st, "  build order 2: JHU COVID-19 LUT + coords", show=False),
             nyt(False, st, "  build order 3: NYT counties", show=False),
             datahub3("USA", st, "  build order 4: Data Hub level 3 names", show=False)]
    summary("USA realistic build order (JHU -> JHU LUT -> NYT -> Data Hub names, ONE shared state)", parts)
    return parts


# --- other countries: truth = ISO 3166-2 code, confirmed by two independent links ------------

def pfold(s) -> str:
    """Plain comparison form (unidecode + casefold + punctuation to spaces); deliberately NOT the
    matcher's normalisation (no type words, no abbreviations)."""
    return re.sub(r"[^0-9a-z]+", " ", unidecode(unicodedata.normalize("NFKC", str(s))).casefold()).strip()


def _gadm_name_forms(areas):
    out = []
    for n, vs, nl, ty, en in zip(areas["name"], areas["varnames"], areas["nl_names"], areas["type"], areas["engtype"]):
        base = [pfold(x) for x in [n, *(vs or []), *(nl or [])] if x]
        types = [pfold(x) for x in (ty, en) if x]
        out.append(set(base) | {f"{b} {t}" for b in base for t in types} | {f"{t} {b}" for b in base for t in types})
    return out


def iso_truth(codes, areas, points=None):
    """ISO 3166-2 codes -> (truth GIDs, reasons); truth "" = unknown.

    Link 1 (HASC): GADM areas whose HASC equals the code with "." for "-".
    Link 2 (ISO name): pycountry's name for the code ("Altay, Respublika" also read as "Respublika
    Altay") equals one GADM name form (plain fold), else is a whole-word prefix of exactly one or
    has one as its prefix ("Beijing Shi" / "Beijing").
    Both found and consistent -> truth; one found alone -> truth; found but inconsistent, several
    areas, or none -> unknown. Two checks then make a truth unknown: ``points`` (dict code ->
    (lon, lat), the JHU LUT's point for the code) falling in another GADM area, and one GID being
    the truth of two different codes (GADM's RUS "Moskva" carries both Moscow and its oblast).
    """
    forms = _gadm_name_forms(areas)
    gids = areas["gid"].to_numpy()
    hasc: dict[str, list] = {}
    for g, h in zip(gids, areas["hasc"]):
        for part in str(h).split("|"):
            if part:
                hasc.setdefault(part.replace(".", "-"), []).append(g)
    codes = list(codes)
    truth, why = [], []
    for code in codes:
        sub = pycountry.subdivisions.get(code=code)
        H, N = hasc.get(code, []), []
        if sub is not None:
            isos = {pfold(sub.name)} | ({pfold(" ".join(reversed(sub.name.split(",", 1))))} if "," in sub.name else set())
            N = [g for g, s in zip(gids, forms) if isos & s] or \
                [g for g, s in zip(gids, forms) if any(i.startswith(x + " ") or x.startswith(i + " ") for x in s for i in isos)]
        N = N if len(N) == 1 else []
        if N and H and N[0] not in H:
            truth.append("")
            why.append(f"{code}: GADM HASC says {'/'.join(H)}, ISO name {sub.name!r} says {N[0]}")
        elif N or len(H) == 1:
            truth.append(N[0] if N else H[0])
            why.append("hasc+iso" if N and H else ("iso name" if N else "hasc only"))
        else:
            truth.append("")
            why.append(f"{code}: " + (f"HASC shared by {'/'.join(H)}" if H else "neither HASC nor ISO name links it"))
    if points:
        have = [i for i, c in enumerate(codes) if truth[i] and c in points]
        lon = np.array([points[codes[i]][0] for i in have], dtype=float)
        lat = np.array([points[codes[i]][1] for i in have], dtype=float)
        where = gadm.locate(lon, lat, areas) if have else []
        for i, w in zip(have, where):
            if w >= 0 and gids[w] != truth[i]:
                why[i] = f"{codes[i]}: links to {truth[i]} but the JHU LUT point for the code falls in {gids[w]}"
                truth[i] = ""
    seen: dict[str, set] = {}
    for c, t in zip(codes, truth):
        if t:
            seen.setdefault(t, set()).add(c)
    for i, (c, t) in enumerate(zip(codes, truth)):
        if t and len(seen[t]) > 1:
            truth[i], why[i] = "", f"{c}: {t} is also the link of {'/'.join(sorted(seen[t] - {c}))}"
    return truth, why


def _lut_points():
    lut = read_csv_text(DATA / "providers/COVID-19_LUT_20201111.csv")
    lut = lut[lut["ISO2_UID"].str.contains("-") & (lut["Longitude"] != "") & lut["Level"].isin(["Province", "State"])]
    return {c: (float(x), float(y)) for c, x, y in zip(lut["ISO2_UID"], lut["Longitude"], lut["Latitude"])}


def _other_country_sets():
    """(label, iso3, gadm_level, rows, name column, ISO 3166-2 code Series) for every provider list."""
    inv = pd.read_csv(DATA / "gadm36/INVENTORY.csv")
    isos = sorted(set(inv["iso"]) - {"ITA", "ESP", "USA"})
    meta = read_csv_text(DATA / "providers/google/metadata.csv")
    g1 = meta[(meta["subregion1_code"] != "") & (meta["subregion2_code"] == "") & (meta["locality_code"] == "")]
    # Google's subregion codes are ISO 3166-2 only for the keys its iso_3166_2_codes.csv lists
    # (Portugal's "PT_11" is NUTS PT11 Norte, not ISO PT-11 Lisboa): same key AND same Wikidata item
    iso_wd = read_csv_text(DATA / "providers/google/iso_3166_2_codes.csv")
    kg = read_csv_text(DATA / "providers/google/knowledge_graph.csv")
    wd = g1["key"].map(dict(zip(kg["key"], kg["wikidata"])))
    g1 = g1[(wd == g1["key"].map(dict(zip(iso_wd["key"], iso_wd["wikidata"])))) & wd.notna()]
    lut = read_csv_text(DATA / "providers/COVID-19_LUT_20201111.csv")
    lut = lut[lut["Level"].isin(["Province", "State"]) & lut["ISO2_UID"].str.contains("-")]
    for iso in isos:
        c = pycountry.countries.get(alpha_3=iso)
        if c is None or 1 not in gadm.available_levels(iso):
            continue
        rows = g1[g1["country_code"] == c.alpha_2]
        if len(rows):
            yield f"{iso} google subregion1", iso, 1, rows, "subregion1_name", rows["country_code"] + "-" + rows["subregion1_code"]
        rows = lut[lut["ISO1_3C"] == iso]
        if len(rows):
            yield f"{iso} JHU LUT Admin1", iso, 1, rows, "Admin1", rows["ISO2_UID"]
    mob = read_csv_text(DATA / "providers/google_mobility/Global_Mobility_Report_jacPeach.csv")
    mob = mob[(mob["sub_region_1"] != "") & (mob["sub_region_2"] == "") & (mob["iso_3166_2_code"] != "")]
    mob = mob.drop_duplicates(["sub_region_1", "iso_3166_2_code"])
    yield "GBR google mobility (GADM 2)", "GBR", 2, mob, "sub_region_1", mob["iso_3166_2_code"]


def other_countries():
    tot, points = [], _lut_points()
    for label, iso, level, rows, col, codes in _other_country_sets():
        areas = gadm.load_areas(iso, level)
        truth, why = iso_truth(codes, areas, points)
        if sum(1 for t in truth if t) < 0.5 * len(truth):  # codes here are not ISO 3166-2 (e.g. Google's COL, SWE)
            continue
        out = match_places(rows.reset_index(drop=True), iso, level, col, state_dir=fresh_state(), source=label)
        tot.append(quality(label, out, truth, set(areas["gid"]), col, why))
    return tot


def summary(label, parts):
    n, acc, good, rest, among, unk = (sum(p[i] for p in parts) for i in range(6))
    print(f"== {label}: rows {n} (+{unk} truth unknown), accepted {acc / n:.1%} [>= 95%], precision "
          f"{good / max(acc, 1):.2%} ({acc - good} wrong) [>= 99.5%], truth among candidates of the rest "
          f"{among / max(rest, 1):.1%} of {rest} [>= 99%]")


# --- speed ----------------------------------------------------------------------------------

def noisy(name, rng):
    s = list(name)
    op = rng.randrange(4)
    if op == 0 and len(s) > 3:
        del s[rng.randrange(len(s))]
    elif op == 1:
        s.insert(rng.randrange(len(s) + 1), rng.choice("aeiourstln"))
    elif op == 2 and len(s) > 3:
        i = rng.randrange(len(s) - 1)
        s[i], s[i + 1] = s[i + 1], s[i]
    else:
        s[rng.randrange(len(s))] = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(s)


def bulk_data(n_queries, seed=42):
    """50,000 area names (every real GADM name in shared data, padded with noisy variants) and
    ``n_queries`` noisy copies of them."""
    rng = random.Random(seed)
    inv = pd.read_csv(DATA / "gadm36/INVENTORY.csv")
    names = []
    for iso, lv in inv.groupby("iso")["level"].max().items():
        if lv >= 1:
            names += list(gadm.load_areas(iso, int(lv))["name"])
    base = list(dict.fromkeys(normalize_array(names)[1]))
    suffixes = ["north", "south", "east", "west", "upper", "lower", "new", "central", "saint", "port"]
    areas = list(base)
    while len(areas) < 50_000:
        areas.append(noisy(rng.choice(base), rng) + " " + rng.choice(suffixes))
    areas = areas[:50_000]
    return base, areas, [noisy(rng.choice(areas), rng) for _ in range(n_queries)]


def speed_bulk(n_queries, check=300):
    """Bulk top-5 speed with traced peak memory, and agreement of the blocked top-k with an
    exhaustive rapidfuzz cdist (token_sort_ratio, no token pre-sorting) on the first ``check`` names."""
    from rapidfuzz import fuzz, process

    base, areas, queries = bulk_data(n_queries)
    tracemalloc.start()
    t = time.perf_counter()
    idx, sc = topk(queries, areas, k=5, score_cutoff=45)
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"speed: {n_queries} noisy names x {len(areas)} areas ({len(base)} real GADM names), top-5: {dt:.1f} s, "
          f"{n_queries / dt:,.0f} names/s; peak traced memory {peak:.0f} MiB (no dense {n_queries}x{len(areas)} matrix)")
    full = process.cdist(queries[:check], areas, scorer=fuzz.token_sort_ratio, dtype=np.uint8, workers=-1,
                         score_cutoff=45).astype(np.int64)
    ref = -np.sort(-full, axis=1)[:, :5]
    top1 = full[np.arange(len(full)), np.maximum(idx[:check, 0], 0)] == ref[:, 0]
    print(f"       agreement with exhaustive cdist on {len(full)} names: top-5 scores identical "
          f"{(ref == sc[:check]).all(axis=1).mean():.1%}, top-1 is a best-scoring area {top1.mean():.1%}")


def main():
    global VERBOSE
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=100_000,
                    help="noisy names for the bulk speed test (100000 = the issue's full run, ~65 s on 2 cores)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="print wrong, non-accepted and truth-unknown rows")
    a = ap.parse_args()
    VERBOSE = a.verbose
    print(f"data: {DATA}; state folders (minted ids): {STATE_ROOT}")
    ref_parts = datahub("ITA") + datahub("ESP") + datahub("USA") + [pcm_dpc(), nyt(), jhu_usa(), lut_usa()]
    summary("ITA/ESP/USA", ref_parts)
    build_order_usa()
    summary("other countries", other_countries())
    if not a.skip_speed:
        speed_bulk(a.queries)


if __name__ == "__main__":
    main()
