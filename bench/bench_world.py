"""World build figures (prints them): `geolookup build --all`, ISO.csv, USA from NYT, policies, warnings.

Run: GEOLOOKUP_DATA=../shared/data .venv/bin/python bench/bench_world.py [--skip-all]
Targets: `build --all` over ../shared/data < 10 minutes and < 4 GiB peak memory, ending with the world
summary; OUT/ISO.csv: >= 99% of the Data Hub's ISO.csv rows have a row with the same id and key_gadm;
USA from NYT: >= 99% of counties with a FIPS code agree with the Data Hub on id and key_gadm;
`policies --level 2` on the build's USA output equals the Data Hub's USA table cell by cell for the
states (100%), and at level 1 for the countries in both ISO.csv files; `geolookup build ITA` prints at
most 10 warning lines. The anchor, measured in the same run, is `geolookup build ITA`: the world build
is also reported as a multiple of it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_build import usa  # noqa: E402  (the NYT agreement figure, shared with bench_build)

from geolookup.lookup.policies import candidates, propagate, read_lookup, read_oxcgrt, source_table  # noqa: E402
from geolookup.lookup.table import read_table  # noqa: E402


def run(args: list[str], env: dict) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run the CLI; (seconds, peak RSS of the child in GiB, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "geolookup", *args], env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 2**20  # KiB -> GiB on Linux
    return dt, peak, res


def policies_equal(ours_lookup: Path, ref_lookup: Path, level: int, ids, ox) -> tuple[int, int]:
    """(equal cells, compared cells) of the level-``level`` policy tables of ``ids`` from both lookups."""
    src = source_table(ox)
    tabs = []
    for lk in (ours_lookup, ref_lookup):
        locs = candidates(read_lookup(lk), level)
        locs = locs[locs["id"].isin(ids)]
        t = propagate(locs, src, level)
        t = t.assign(id=t["id"].astype(str), policy_source=t["policy_source"].astype(str))  # categoricals: own order
        tabs.append(t.sort_values(["id", "date"], kind="stable").reset_index(drop=True))
    a, b = tabs
    if a.shape != b.shape:
        return 0, max(a.size, b.size)
    eq = ((a == b).fillna(False) | (a.isna() & b.isna())).to_numpy(dtype=bool)  # NA equals NA
    return int(eq.sum()), eq.size


def main() -> None:
    root = Path(os.environ.get("GEOLOOKUP_DATA", "")) if os.environ.get("GEOLOOKUP_DATA") else None
    if root is None:
        sys.exit("set GEOLOOKUP_DATA to the shared data folder")
    ref_dir = root / "reference" / "covid19datahub"
    env = {**os.environ, "GEOLOOKUP_DATA": str(root)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_ita, _, res = run(["build", "ITA", "-o", str(tmp / "ita"), "--state-dir", str(tmp / "s1"),
                             "--allow-review"], env)
        warn = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
        print(f"anchor `geolookup build ITA`: {t_ita:.1f} s, exit {res.returncode}; "
              f"{len(warn)} warning lines (target <= 10)")
        for ln in warn:
            print("   ", ln)
        out = tmp / "world"
        if "--skip-all" in sys.argv:
            _, _, res = run(["build", "USA", "-o", str(out), "--state-dir", str(tmp / "s2"), "--allow-review"], env)
            print(f"`build USA` exit {res.returncode} (--skip-all: no world build)")
        else:
            t_all, peak, res = run(["build", "--all", "-o", str(out), "--state-dir", str(tmp / "s2")], env)
            print(f"`geolookup build --all`: {t_all / 60:.1f} min (target < 10), {t_all / t_ita:.0f} x the ITA "
                  f"anchor; peak memory {peak:.2f} GiB (target < 4); exit {res.returncode}")
            print("\n".join(ln for ln in res.stderr.splitlines() if not ln.startswith("warning:")))
        ours = read_table(out / "ISO.csv")
        ref = read_table(ref_dir / "ISO.csv")
        m = ref.merge(ours, on="id", how="left", suffixes=("_ref", ""))
        ok = m["key_gadm"].fillna("__") == m["key_gadm_ref"]
        print(f"ISO.csv: {ok.sum()}/{len(ref)} Data Hub rows have a row with the same id and key_gadm = "
              f"{ok.mean():.1%} (target >= 99%); missing: {', '.join(m.loc[~ok, 'id_covid19datahub.io_ref'])}")
        nyt = pd.read_csv(root / "providers" / "nyt" / "live_us-counties_20201013.csv", dtype=str,
                          keep_default_na=False)
        usa(out, read_table(ref_dir / "USA.csv"), nyt)
        ox = read_oxcgrt([root / "oxcgrt" / "legacy_timeseries", root / "oxcgrt" / "OxCGRT_US_subnational_05Aug2020.csv"])
        ref_usa = read_table(ref_dir / "USA.csv")
        states = set(ref_usa.loc[ref_usa["administrative_area_level"] == "2", "id"])
        mine = read_table(out / "USA.csv")
        both = states & set(mine.loc[mine["administrative_area_level"] == "2", "id"])
        eq, n = policies_equal(out, ref_dir, 2, both, ox)
        print(f"policies --level 2, USA states: {len(both)}/{len(states)} Data Hub states in our build; "
              f"{eq}/{n} cells equal = {eq / max(n, 1):.2%} (target 100%)")
        countries = set(ref["id"]) & set(ours["id"])
        eq, n = policies_equal(out, ref_dir, 1, countries, ox)
        print(f"policies --level 1, {len(countries)} countries in both ISO.csv: {eq}/{n} cells equal = "
              f"{eq / max(n, 1):.2%} (target 100%)")


if __name__ == "__main__":
    main()
