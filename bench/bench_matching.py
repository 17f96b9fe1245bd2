"""Matching benchmark: quality figures and speed (issue 3 §10-11). Prints numbers; asserts nothing.

Usage: GEOLOOKUP_DATA=../shared/data python bench/bench_matching.py [--queries N] [--skip-speed]

Quality, per data set: share of rows accepted, precision of accepted rows (gid == truth), share of
the rest whose true GID is among the candidates. Truth comes from the COVID-19 Data Hub tables
(key_gadm) or, for other countries, from codes (google ISO 3166-2 subdivision code == GADM HASC_1
with "-" for "."); never from this matcher. Rows whose truth is not in the GADM layer shipped in
shared data (e.g. 35 US counties missing from the simplified USA layer) are left out and counted.
Inputs give names (and parents) only -- no codes -- so the figures measure name matching.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

import gadm  # noqa: E402
from geolookup.tableio import read_csv_text  # noqa: E402
from matching import match_places  # noqa: E402
from matching.normalize import normalize_array  # noqa: E402
from matching.score import topk  # noqa: E402

DATA = Path(os.environ.get("GEOLOOKUP_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
REF = DATA / "reference" / "covid19datahub"
STATE = tempfile.mkdtemp(prefix="bench-state-")


def quality(label, out, truth, known):
    """Print accepted share, precision, and truth-among-candidates of the rest."""
    truth = pd.Series(truth, index=out.index).astype(str)
    ok = truth.isin(known) | truth.str.endswith("_0")
    o, t = out[ok], truth[ok]
    acc = o["match_status"] == "accepted"
    prec = (o.loc[acc, "gid"] == t[acc]).mean() if acc.any() else float("nan")
    rest = ~acc
    among = [tg in c for tg, c in zip(t[rest], o.loc[rest, "candidates"].str.split("|").apply(lambda x: [y.split(":")[0] for y in x]))]
    share = np.mean(among) if rest.any() else float("nan")
    print(f"{label:<34} rows {len(o):>5} (left out {int((~ok).sum()):>3})  accepted {acc.mean():6.1%}  "
          f"precision {prec:7.2%}  rest with truth in candidates {share:7.1%} of {int(rest.sum())}")
    return len(o), int(acc.sum()), int((o.loc[acc, 'gid'] == t[acc]).sum()), int(rest.sum()), int(np.sum(among))


def known_gids(iso, levels):
    return set().union(*[set(gadm.load_areas(iso, lv)["gid"]) for lv in levels])


def datahub(iso):
    ref = read_csv_text(REF / f"{iso}.csv")
    ref = ref[ref["key_gadm"] != ""]
    res = []
    lv = gadm.available_levels(iso)
    known = known_gids(iso, [x for x in lv if x >= 1])
    r2 = ref[ref["administrative_area_level"] == "2"]
    res.append(quality(f"{iso} Data Hub level 2 (GADM 1)", match_places(r2, iso, 1, "administrative_area_level_2",
                                                                         state_dir=STATE, source=f"dh{iso}2"), r2["key_gadm"], known))
    r3 = ref[ref["administrative_area_level"] == "3"]
    res.append(quality(f"{iso} Data Hub level 3 (GADM 2)", match_places(
        r3, iso, 2, "administrative_area_level_3", parent_col="administrative_area_level_2", state_dir=STATE,
        source=f"dh{iso}3"), r3["key_gadm"], known))
    return res


def pcm_dpc():
    df = read_csv_text(DATA / "providers/pcm_dpc/dpc-covid19-ita-province-latest.csv")
    ref = read_csv_text(REF / "ITA.csv")
    m = dict(zip(ref["id_github.pcmdpc.covid19"], ref["key_gadm"]))
    df = df[df["sigla_provincia"] != ""]
    out = match_places(df, "ITA", 2, "denominazione_provincia", parent_col="denominazione_regione",
                       lat_col="lat", lon_col="long", state_dir=STATE, source="pcm-dpc")
    return quality("ITA pcm-dpc provinces + coords", out, df["sigla_provincia"].map(m).fillna(""), known_gids("ITA", [1, 2]))


def nyt(timing=True):
    df = read_csv_text(DATA / "providers/nyt/live_us-counties_20201013.csv")
    ref = read_csv_text(REF / "USA.csv")
    m = dict(zip(ref["id_github.nytimes.covid19data"], ref["key_gadm"]))
    gadm.load_areas("USA", 2), gadm.load_areas("USA", 1)
    t0 = time.perf_counter()
    out = match_places(df, "USA", 2, "county", parent_col="state", state_dir=STATE, source="nyt")
    t1 = time.perf_counter()
    out = match_places(df, "USA", 2, "county", parent_col="state", state_dir=STATE, source="nyt")
    t2 = time.perf_counter()
    if timing:
        print(f"speed: NYT {len(df)} counties: first call {t1 - t0:.2f} s (builds name index), "
              f"repeat {t2 - t1:.2f} s  [target < 1 s after GADM load]")
    truth = np.where(df["fips"] != "", df["fips"].map(m).fillna(""), "")
    return quality("USA NYT counties (name+state)", out, truth, known_gids("USA", [1, 2]))


def google_other():
    meta = read_csv_text(DATA / "providers/google/metadata.csv")
    sub1 = meta[(meta["subregion1_code"] != "") & (meta["subregion2_code"] == "") & (meta["locality_code"] == "")]
    inv = pd.read_csv(DATA / "gadm36/INVENTORY.csv")
    tot = []
    import pycountry
    for iso in sorted(set(inv["iso"]) - {"ITA", "ESP", "USA"}):
        c = pycountry.countries.get(alpha_3=iso)
        if c is None or 1 not in gadm.available_levels(iso):
            continue
        rows = sub1[sub1["country_code"] == c.alpha_2]
        if rows.empty:
            continue
        areas = gadm.load_areas(iso, 1)
        hasc = {h.replace(".", "-"): g for h, g in zip(areas["hasc"], areas["gid"]) if h}
        truth = (rows["country_code"] + "-" + rows["subregion1_code"]).map(hasc).fillna("")
        if (truth != "").mean() < 0.8:  # no objective code link for this country
            continue
        rows = rows[truth != ""]
        out = match_places(rows, iso, 1, "subregion1_name", state_dir=STATE, source="google")
        tot.append(quality(f"{iso} google subregion1 (GADM 1)", out, truth[truth != ""], set(areas["gid"])))
    return tot


def summary(label, parts):
    n, acc, good, rest, among = (sum(p[i] for p in parts) for i in range(5))
    print(f"== {label}: rows {n}, accepted {acc / n:.1%} [>= 95%], precision {good / max(acc, 1):.2%} [>= 99.5%], "
          f"truth among candidates of the rest {among / max(rest, 1):.1%} of {rest} [>= 99%]")


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


def speed_bulk(n_queries):
    rng = random.Random(42)
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
    queries = [noisy(rng.choice(areas), rng) for _ in range(n_queries)]
    tracemalloc.start()
    t = time.perf_counter()
    idx, sc = topk(queries, areas, k=5, score_cutoff=45)
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"speed: {n_queries} noisy names x {len(areas)} areas ({len(base)} real GADM names), top-5: {dt:.1f} s, "
          f"{n_queries / dt:,.0f} names/s; peak traced memory {peak:.0f} MiB (score block 8 MiB uint8 + 64 MiB indices); "
          f"projected for 100,000 names: {100_000 / (n_queries / dt):.0f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=5000, help="noisy names for the bulk speed test (100000 = full)")
    ap.add_argument("--skip-speed", action="store_true")
    a = ap.parse_args()
    print(f"data: {DATA}; state (minted ids): {STATE}")
    ref_parts = datahub("ITA") + datahub("ESP") + datahub("USA") + [pcm_dpc(), nyt()]
    summary("ITA/ESP/USA", ref_parts)
    other = google_other()
    summary("other countries", other)
    if not a.skip_speed:
        speed_bulk(a.queries)


if __name__ == "__main__":
    main()
