"""Matching benchmark: quality on the world development set and on ITA/ESP/USA, side by side with two
naive baselines measured on the same rows, and speed. Prints numbers; asserts nothing.

Usage: GEOLOOKUP_DATA=../shared/data python bench/bench_matching.py [--skip-speed] [--verbose]
       [--queries N] [--refresh-devset] [--errors PATH]

Figures per group of rows (only rows with a known truth; truth-unknown rows are counted apart):
accepted share; precision of accepted (gid == truth; a hand-minted ``.n_0`` truth counts as found
when the row gets a new ``.n_0`` id under the truth's parent); truth among the top 5 candidates of
the rows not accepted; ids minted for rows whose truth is a GADM area, and how many of those rows
bear a spelling variant of the area's name (should be 0). Baselines on the same rows: exact
plain-folded NAME/VARNAME/NL_NAME within the parent (accepted %, right % of accepted) and rapidfuzz
WRatio top-1 (right % of all rows).
Groups:
- dev names / dev codes: the development set (bench/devset: five provider lists, ~55 countries outside
  ITA/ESP/USA, truth from ISO 3166-2 codes linked to GADM by agreeing evidence, never from the
  matcher). Inputs are names (and the provider's parent name) only; "dev codes" gives the ISO code
  ("JP-23") or its subdivision part ("23") as the name, to measure code recognition. "dev names, no ISO"
  is the part of dev names whose input is not a name pycountry/iso3166-2 give the place (a library
  lookup alone cannot solve it).
- ITA/ESP/USA: the COVID-19 Data Hub's hand-made tables (truth = key_gadm joined on the provider's
  id) with pcm-dpc, NYT, JHU and the JHU LUT lists; rows whose truth is not in the shipped GADM
  layer are counted apart.
Every data set is matched with a fresh state folder; one more line runs the USA lists in build
order with ONE shared state folder (ids minted for JHU are candidates for the next list).
--verbose adds per provider, per country and per ITA/ESP/USA part lines. Every run writes the
worst error kinds with examples to --errors (default /tmp/devset_errors.txt).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore")

import devset  # noqa: E402
from devset import errors  # noqa: E402
from devset.measure import baselines, figures  # noqa: E402
from geolookup import gadm  # noqa: E402
from geolookup.core.tableio import read_csv_text  # noqa: E402
from geolookup.gadm.gids import gid_level  # noqa: E402
from geolookup.matching import match_places  # noqa: E402
from devset.speed import speed_bulk  # noqa: E402

DATA = Path(os.environ.get("GEOLOOKUP_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
REF = DATA / "reference" / "covid19datahub"
STATE_ROOT = tempfile.mkdtemp(prefix="bench-state-")


def fresh_state():
    """A new empty state folder: every data set is matched like a first build."""
    return tempfile.mkdtemp(dir=STATE_ROOT)


def _col(df, col):
    return df[col].astype(str).to_numpy(dtype=object) if col else np.full(len(df), "", dtype=object)


def run(group, part, provider, df, country, level, name_col, truth, parent_col=None, state=None, known=None, **kw):
    """Match ``df`` and return one result row per input row: group, part, provider, country, gadm_level,
    name, parent, truth, why, in_gadm, iso_name and the matcher's output columns."""
    df = df.reset_index(drop=True)
    try:
        out = match_places(df, country, level, name_col, parent_col=parent_col, state_dir=state or fresh_state(),
                           source=kw.pop("source", part), **kw)
    except Exception as e:  # a crash is a finding: every row counts as unmatched with the error as reason
        out = df.assign(gid="", match_status="unmatched", match_method="", candidates="", match_score=0.0,
                        match_reason=f"CRASH {type(e).__name__}: {e}")
    truth = pd.Series(np.asarray(truth, dtype=object)).fillna("").astype(str)
    res = pd.DataFrame({"group": group, "part": part, "provider": provider, "country": country, "gadm_level": level,
                        "name": _col(df, name_col), "parent": _col(df, parent_col), "truth": truth.to_numpy(),
                        "why": "", "iso_name": ""})
    res["in_gadm"] = [t == "" or (t in known if known is not None else True) or t.endswith("_0") for t in truth]
    for c in ("match_status", "gid", "match_method", "candidates", "match_reason", "match_score"):
        res[c] = out[c].to_numpy()
    return res


# --- the development set ----------------------------------------------------------------------

def dev_rows(refresh=False):
    dev = devset.load(DATA, refresh=refresh)
    parts = []
    # country by country: the matcher and GADM caches hold a few countries only
    for (_, _, name), g in dev.groupby(["country", "gadm_level", "dataset"], sort=True):
        g = g.reset_index(drop=True)
        has_parent = (g["parent"] != "").any()
        r = run("dev " + g["kind"].iat[0], name, g["provider"].iat[0], g, g["country"].iat[0], int(g["gadm_level"].iat[0]),
                "name", g["truth"], parent_col="parent" if has_parent else None)
        r["why"] = g["why"].to_numpy()
        r["iso_name"] = g["iso_name"].to_numpy()
        parts.append(r)
    return pd.concat(parts, ignore_index=True)


# --- ITA/ESP/USA: truth = the Data Hub's key_gadm ---------------------------------------------

def known_gids(iso):
    return set().union(*[set(gadm.load_areas(iso, lv)["gid"]) for lv in gadm.available_levels(iso) if lv >= 1])


def datahub(iso, level, state=None, part=None, coords=True):
    """The Data Hub's own rows of one level as a provider list: names, parent names and, with ``coords``,
    the table's latitude/longitude (a curator matching such a table passes them; a place that no GADM
    level or ISO 3166-2 name holds, like a city split from its county, is found by them alone)."""
    ref = read_csv_text(REF / f"{iso}.csv")
    ref = ref[(ref["key_gadm"] != "") & (ref["administrative_area_level"] == str(level + 1))]
    col, parent = f"administrative_area_level_{level + 1}", (f"administrative_area_level_{level}" if level >= 2 else None)
    xy = {"lat_col": "latitude", "lon_col": "longitude"} if coords else {}
    return run("ITA/ESP/USA", part or f"{iso} Data Hub GADM {level}{' + coords' if coords else ''}", "datahub", ref,
               iso, level, col, ref["key_gadm"], parent_col=parent, state=state, known=known_gids(iso),
               source=f"dh{iso}{level + 1}", **xy)


def pcm_dpc():
    df = read_csv_text(DATA / "providers/pcm_dpc/dpc-covid19-ita-province-latest.csv")
    ref = read_csv_text(REF / "ITA.csv")
    df = df[df["sigla_provincia"] != ""]
    truth = df["sigla_provincia"].map(dict(zip(ref["id_github.pcmdpc.covid19"], ref["key_gadm"])))
    return run("ITA/ESP/USA", "ITA pcm-dpc provinces + coords", "pcm-dpc", df, "ITA", 2, "denominazione_provincia", truth,
               parent_col="denominazione_regione", lat_col="lat", lon_col="long", known=known_gids("ITA"))


def nyt(state=None, part="USA NYT counties", timing=False):
    df = read_csv_text(DATA / "providers/nyt/live_us-counties_20201013.csv")
    ref = read_csv_text(REF / "USA.csv")
    m = dict(zip(ref["id_github.nytimes.covid19data"], ref["key_gadm"]))
    truth = np.where(df["fips"] != "", df["fips"].map(m).fillna(""), "")
    if timing:
        gadm.load_areas("USA", 2), gadm.load_areas("USA", 1)
        st = fresh_state()
        t0 = time.perf_counter()
        match_places(df, "USA", 2, "county", parent_col="state", state_dir=st, source="nyt")
        t1 = time.perf_counter()
        match_places(df, "USA", 2, "county", parent_col="state", state_dir=st, source="nyt")
        t2 = time.perf_counter()
        print(f"speed: NYT {len(df)} counties: first call {t1 - t0:.2f} s (builds name index), repeat {t2 - t1:.2f} s"
              f"  [target < 1 s after GADM load]")
    return run("ITA/ESP/USA", part, "nyt", df, "USA", 2, "county", truth, parent_col="state", state=state,
               known=known_gids("USA"), source="nyt")


def jhu_usa(state=None, part="USA JHU UID Admin2 + coords"):
    df = read_csv_text(DATA / "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv")
    df = df[(df["iso3"] == "USA") & (df["Admin2"] != "")].reset_index(drop=True)
    ref = read_csv_text(REF / "USA.csv")
    by_uid = {u: g for u, g in zip(ref["id_github.cssegisanddata.covid19"], ref["key_gadm"]) if u}
    by_key = {k: g for k, g in zip(ref["key_jhu_csse"], ref["key_gadm"]) if k}
    fips = df["FIPS"].str.split(".").str[0].str.zfill(5)
    truth = [by_uid.get(u) or (by_key.get("US" + f, "") if f.strip("0") else "") for u, f in zip(df["UID"], fips)]
    return run("ITA/ESP/USA", part, "jhu", df, "USA", 2, "Admin2", truth, parent_col="Province_State", lat_col="Lat",
               lon_col="Long_", key_col="UID", state=state, known=known_gids("USA"), source="jhu")


def lut_usa(state=None, part="USA JHU COVID-19 LUT Admin2 + coords"):
    df = read_csv_text(DATA / "providers/COVID-19_LUT_20201111.csv")
    df = df[(df["ISO1_3C"] == "USA") & (df["Level"] == "County") & (df["Admin2"] != "")].reset_index(drop=True)
    ref = read_csv_text(REF / "USA.csv")
    truth = df["ID"].map({k: g for k, g in zip(ref["key_jhu_csse"], ref["key_gadm"]) if k}).fillna("")
    return run("ITA/ESP/USA", part, "jhu-lut", df, "USA", 2, "Admin2", truth, parent_col="Admin1", lat_col="Latitude",
               lon_col="Longitude", key_col="ID", state=state, known=known_gids("USA"), source="jhu-lut")


def reference_rows():
    return pd.concat([datahub("ITA", 1), datahub("ITA", 2), datahub("ESP", 1), datahub("ESP", 2), datahub("USA", 1),
                      datahub("USA", 2), pcm_dpc(), nyt(timing=True), jhu_usa(), lut_usa()], ignore_index=True)


def build_order_usa():
    st = fresh_state()
    t0 = time.perf_counter()
    rows = pd.concat([jhu_usa(st, "build order 1: JHU"), lut_usa(st, "build order 2: JHU LUT"),
                      nyt(st, "build order 3: NYT"), datahub("USA", 2, st, "build order 4: Data Hub names", coords=False)], ignore_index=True)
    rows["group"] = "USA build order"
    print(f"(USA build order, one shared state: {time.perf_counter() - t0:.1f} s)")
    return rows


# --- figures ----------------------------------------------------------------------------------

def _pct(a, b, d=1):
    return f"{a / b:6.{d}%}" if b else "   n/a"


def scored(rows):
    """Rows with a truth in GADM (or .n_0), with baselines and the truth's GADM level."""
    ok = rows[(rows["truth"] != "") & rows["in_gadm"]].copy()
    ok["truth_level"] = [gid_level(t) for t in ok["truth"]]
    return ok.join(baselines(ok))


def table(groups: dict, unknown: dict, out_of_gadm: dict):
    """Figures of each group side by side (one column per group) with the targets."""
    F = {k: figures(v) for k, v in groups.items()}
    w = 16
    lines = [("rows with a truth", lambda f, k: f"{f['rows']:>6}", ""),
             ("  truth unknown (left out)", lambda f, k: f"{unknown[k]:>6}", ""),
             ("  truth not in GADM (left out)", lambda f, k: f"{out_of_gadm[k]:>6}", ""),
             ("accepted", lambda f, k: _pct(f["accepted"], f["rows"]), ">= 95%"),
             ("precision of accepted", lambda f, k: _pct(f["right"], f["accepted"], 2) + f" ({f['accepted'] - f['right']} wrong)", ">= 99.5%"),
             ("truth in top 5 of the rest", lambda f, k: _pct(f["rest_top5"], f["rest"]) + f" of {f['rest']}", ">= 90%"),
             ("minted id, truth is GADM area", lambda f, k: f"{f['minted_gadm']:>6}", ""),
             ("  ... name is a variant of it", lambda f, k: f"{f['minted_variant']:>6}", "0"),
             ("baseline exact name: accepted", lambda f, k: _pct(f["exact_acc"], f["rows"]), ""),
             ("baseline exact name: right", lambda f, k: _pct(f["exact_right"], f["exact_acc"], 2), "(of accepted)"),
             ("baseline WRatio top-1: right", lambda f, k: _pct(f["wratio_right"], f["rows"]), "(of all)")]
    print(f"{'':<34}" + "".join(f"{k:>{w + 6}}" for k in F) + "   target")
    for label, fn, target in lines:
        print(f"{label:<34}" + "".join(f"{fn(f, k):>{w + 6}}" for k, f in F.items()) + f"   {target}")
    return F


def breakdown(rows, by, title):
    print(f"-- {title}")
    for key, g in rows.groupby(by, sort=True):
        f = figures(g)
        print(f"   {key!s:<38} rows {f['rows']:>5}  accepted {_pct(f['accepted'], f['rows'])}  precision "
              f"{_pct(f['right'], f['accepted'], 2)}  rest top5 {_pct(f['rest_top5'], f['rest'])} of {f['rest']:<4} "
              f"minted-variant {f['minted_variant']}  exact {_pct(f['exact_acc'], f['rows'])}/{_pct(f['exact_right'], f['exact_acc'])}"
              f"  WRatio {_pct(f['wratio_right'], f['rows'])}")


def knowledge_speed(country="FRA"):
    """Loading the knowledge layer of one country once cached, in a fresh process, beside GADM's level-1 load."""
    from geolookup import matching
    f = getattr(matching, "knowledge", None) or getattr(matching, "load_knowledge", None)
    if f is not None and not callable(f):
        f = getattr(f, "knowledge", None) or getattr(f, "load_knowledge", None)
    if f is None:
        print("speed: knowledge layer load: n/a (geolookup.matching exposes no knowledge loader)")
        return
    f(country)  # builds the cache when needed
    name = f.__name__

    def timed(call):  # seconds of ``call`` in a fresh process, after the imports
        code = ("import time, warnings; warnings.filterwarnings('ignore'); from geolookup import matching, gadm\n"
                f"f = getattr(matching, {name!r}, None)\nf = f if callable(f) else getattr(f, {name!r})\n"
                f"t = time.perf_counter(); r = {call}; print(time.perf_counter() - t, len(r))")
        p = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError(p.stderr.strip().splitlines()[-1])
        return p.stdout.split()[-2:]

    try:
        (a, n), (b, _) = timed(f"f({country!r})"), timed(f"gadm.load_areas({country!r}, 1)")
    except RuntimeError as e:
        print(f"speed: knowledge layer load: failed: {e}")
        return
    print(f"speed: knowledge layer of {country} ({n} rows) from the cache, fresh process: {float(a):.3f} s  "
          f"[target < 1 s]; anchor: GADM level 1 of {country} in a fresh process {float(b):.3f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=100_000, help="noisy names for the bulk speed test (100000 = the target's size)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="per provider, country and part lines")
    ap.add_argument("--refresh-devset", action="store_true", help="rebuild the cached development set")
    ap.add_argument("--errors", default="/tmp/devset_errors.txt", help="where the error examples are written")
    a = ap.parse_args()
    t0 = time.perf_counter()
    print(f"data: {DATA}; development set cache: {devset.cache_path(DATA)}; state folders: {STATE_ROOT}")
    dev = dev_rows(a.refresh_devset)
    ref = reference_rows()
    order = build_order_usa()
    allrows = pd.concat([dev, ref, order], ignore_index=True)
    unknown = (allrows["truth"] == "").groupby(allrows["group"]).sum()
    out_gadm = (~allrows["in_gadm"]).groupby(allrows["group"]).sum()
    s = scored(allrows)
    groups = {k: s[s["group"] == k] for k in ("dev names", "dev codes", "ITA/ESP/USA", "USA build order")}
    # names no ISO 3166-2 library lists for the place: the part of the set a library lookup cannot solve
    groups = {"dev names": groups["dev names"], "dev names, no ISO": s[(s["group"] == "dev names") & (s["iso_name"] == "0")],
              **{k: v for k, v in groups.items() if k != "dev names"}}
    unknown["dev names, no ISO"] = ((allrows["group"] == "dev names") & (allrows["truth"] == "") & (allrows["iso_name"] == "0")).sum()
    out_gadm["dev names, no ISO"] = 0
    n_countries = s.loc[s["group"] == "dev names", "country"].nunique()
    n_prov = s.loc[s["group"] == "dev names", "provider"].str.replace("-alt", "").nunique()
    print(f"development set: {n_countries} countries outside ITA/ESP/USA, {n_prov} provider lists "
          f"(matching and baselines: {time.perf_counter() - t0:.0f} s)")
    table(groups, unknown, out_gadm)
    if a.verbose:
        dn = groups["dev names"]
        breakdown(dn, "provider", "dev names per provider")
        breakdown(dn, "country", "dev names per country")
        breakdown(groups["dev codes"], "provider", "dev codes per provider")
        breakdown(groups["dev codes"], "country", "dev codes per country")
        breakdown(groups["ITA/ESP/USA"], "part", "ITA/ESP/USA per part")
        breakdown(groups["USA build order"], "part", "USA build order per step")
    errors.write(s[s["group"] != "USA build order"], allrows, a.errors)
    print(f"error kinds with examples: {a.errors}")
    if not a.skip_speed:
        knowledge_speed()
        speed_bulk(a.queries, DATA)


if __name__ == "__main__":
    main()
