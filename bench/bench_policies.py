"""Benchmark: OxCGRT policies for USA Data Hub level 3 (~3,200 counties) x every day of the national series.

Target: about 3.5 million rows in under 10 s and under 2 GiB of memory. Prints wall-clock time per step
and peak resident memory (resource.getrusage), then the output writes measured in the same run: Parquet
(the anchor), CSV as ``geolookup policies`` writes it (the project's CSV writer, geolookup.core.csvio,
through lookup/policies/output.py) and their ratio (target: CSV < 2x Parquet), with the load average;
``--with-pandas`` adds the former pandas ``to_csv`` for comparison (same bytes).

Usage: GEOLOOKUP_DATA=/work/shared/data .venv/bin/python bench/bench_policies.py [--with-pandas]
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    data = Path(os.environ.get("GEOLOOKUP_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    lookup_csv = data / "reference" / "covid19datahub" / "USA.csv"
    oxcgrt = data / "oxcgrt" / "legacy_timeseries"
    if not lookup_csv.is_file() or not oxcgrt.is_dir():
        sys.exit(f"data not found under {data}; set GEOLOOKUP_DATA")

    from geolookup.lookup.policies import candidates, propagate, read_lookup, read_oxcgrt, source_table

    base = rss_mib()
    t0 = time.perf_counter()
    locs = candidates(read_lookup(lookup_csv), 3)
    t1 = time.perf_counter()
    long = read_oxcgrt([oxcgrt])
    t2 = time.perf_counter()
    sources = source_table(long)
    t3 = time.perf_counter()
    out = propagate(locs, sources, 3)
    t4 = time.perf_counter()
    peak = rss_mib()
    from geolookup.lookup.policies.output import write_csv

    with tempfile.TemporaryDirectory() as tmp:
        out.to_parquet(Path(tmp) / "usa_level3.parquet", index=False)
        t5 = time.perf_counter()
        size = (Path(tmp) / "usa_level3.parquet").stat().st_size
        write_csv(out, Path(tmp) / "usa_level3.csv")
        t6 = time.perf_counter()
        csv_size = (Path(tmp) / "usa_level3.csv").stat().st_size
        t_pandas = None
        if "--with-pandas" in sys.argv:
            out.to_csv(Path(tmp) / "pandas.csv", index=False, date_format="%Y-%m-%d", encoding="utf-8")
            t_pandas = time.perf_counter() - t6
            same = (Path(tmp) / "pandas.csv").read_bytes() == (Path(tmp) / "usa_level3.csv").read_bytes()

    total = t4 - t0
    print(f"locations (USA level 3)      : {len(locs):,}")
    print(f"days in national series      : {len(sources.dates):,}")
    print(f"output rows                  : {len(out):,} x {out.shape[1]} columns")
    print(f"read lookup                  : {t1 - t0:6.2f} s")
    print(f"read OxCGRT legacy folder    : {t2 - t1:6.2f} s  ({len(long):,} long rows)")
    print(f"build source arrays          : {t3 - t2:6.2f} s  ({len(sources.keys)} sources)")
    print(f"propagate to locations       : {t4 - t3:6.2f} s")
    print(f"TOTAL (read + propagate)     : {total:6.2f} s   target < 10 s   {'OK' if total < 10 else 'OVER'}")
    print(f"peak RSS                     : {peak:8.0f} MiB (after imports {base:.0f} MiB)   target < 2048 MiB   "
          f"{'OK' if peak < 2048 else 'OVER'}")
    print(f"write Parquet (anchor)       : {t5 - t4:6.2f} s  ({size / 2**20:.1f} MiB), peak RSS now {rss_mib():.0f} MiB")
    ratio = (t6 - t5) / (t5 - t4)
    print(f"write CSV (core.csvio)       : {t6 - t5:6.2f} s  ({csv_size / 2**20:.1f} MiB)   CSV/Parquet = {ratio:.2f}x   "
          f"target < 2x   {'OK' if ratio < 2 else 'OVER'}   load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if t_pandas is not None:
        print(f"write CSV (pandas to_csv)    : {t_pandas:6.2f} s   pandas/Parquet = {t_pandas / (t5 - t4):.2f}x   "
              f"same bytes as pyarrow: {same}")


if __name__ == "__main__":
    main()
