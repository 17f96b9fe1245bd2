"""Benchmark: ``geolookup enrich`` end to end against the ten-line geopandas script, and the Dask engine.

Run: GEOLOOKUP_DATA=../shared/data .venv/bin/python bench/bench_enrich.py [--points N] [--dask-points M]

1. N points (default 1,000,000; uniform over Europe's bounding box, so about half fall in the sea
   and take enrich's 5 km nearest-region fallback, which sjoin does not do) as CSV and as Parquet.
   Each command runs in its own process, end to end (start-up, reading NUTS, read, look up, write):
   ``geolookup enrich`` (NUTS levels 0-3, method, distance) against SCRIPT below (read, sjoin with
   NUTS 3, write). Target: >= 2x faster in both. enrich keeps the NUTS layer's built point index in
   the user cache (geolookup.core.indexcache), here a fresh temporary one: the first run on the NUTS
   file builds it and is reported apart ("first run"); the compared runs find it, as every later
   run of a user does.
2. M points (default 20,000,000) as a Parquet dataset of 20 files: ``--engine local`` against
   ``--engine dask --workers 2`` (LocalCluster on this machine), rows per second and identical output.
   ``--dask-points 0`` skips it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

EUROPE_BBOX = (-25.0, 34.0, 45.0, 72.0)
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = '''
import sys, pandas as pd, geopandas as gpd
src, dst, nuts_file = sys.argv[1:4]
df = pd.read_csv(src, dtype={"id": str}) if src.endswith(".csv") else pd.read_parquet(src)
pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)
regions = gpd.read_file(nuts_file)
nuts3 = regions[regions["LEVL_CODE"] == 3][["NUTS_ID", "geometry"]]
out = gpd.sjoin(pts, nuts3, predicate="within", how="left").drop(columns=["geometry", "index_right"])
out.to_csv(dst, index=False) if dst.endswith(".csv") else out.to_parquet(dst, index=False)
'''


def timed(cmd, env) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{res.stderr}")
    return time.perf_counter() - t0


def points(n, seed=2021) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"{i:08d}" for i in range(n)],
                         "lat": rng.uniform(EUROPE_BBOX[1], EUROPE_BBOX[3], n),
                         "lon": rng.uniform(EUROPE_BBOX[0], EUROPE_BBOX[2], n),
                         "value": rng.normal(size=n)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--dask-points", type=int, default=20_000_000)
    ap.add_argument("--data-dir", default=os.environ.get("GEOLOOKUP_DATA"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_enrich."))
    env = {**os.environ, "GEOLOOKUP_DATA": str(Path(args.data_dir).resolve()), "GEOLOOKUP_CACHE": str(work / "cache")}
    nuts_file = Path(args.data_dir) / "nuts" / "NUTS_RG_10M_2021_4326.geojson"
    geolookup = [sys.executable, "-P", "-m", "geolookup"]
    try:
        n = args.points
        df = points(n)
        df.to_csv(work / "pts.csv", index=False)
        df.to_parquet(work / "pts.parquet", index=False)
        (work / "script.py").write_text(SCRIPT, encoding="utf-8")
        print(f"points: {n:,} uniform in lon {EUROPE_BBOX[0]}..{EUROPE_BBOX[2]}, lat {EUROPE_BBOX[1]}..{EUROPE_BBOX[3]}; "
              f"NUTS 2021 10M; cpus: {os.cpu_count()}; each command end to end in its own process; "
              f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        t_first = timed([*geolookup, "enrich", work / "pts.parquet", "--lat-col", "lat", "--lon-col", "lon", "-o",
                         work / "first.parquet"], env)
        print(f"parquet -> parquet geolookup enrich, first run (reads the GeoJSON, builds and caches the index): "
              f"{t_first:6.2f} s")
        for ext in ("csv", "parquet"):
            src = work / f"pts.{ext}"
            t_ours = timed([*geolookup, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "-o",
                            work / f"ours.{ext}"], env)
            t_gpd = timed([sys.executable, work / "script.py", src, work / f"gpd.{ext}", nuts_file], env)
            ours = pd.read_csv(work / f"ours.{ext}", dtype=str, keep_default_na=False) if ext == "csv" else \
                pd.read_parquet(work / f"ours.{ext}")
            theirs = pd.read_csv(work / f"gpd.{ext}", dtype=str, keep_default_na=False) if ext == "csv" else \
                pd.read_parquet(work / f"gpd.{ext}")
            theirs = theirs.drop_duplicates("id").set_index("id")["NUTS_ID"].fillna("")
            within = (ours["nuts_method"] == "within").to_numpy()
            agree = (ours["nuts_3"].to_numpy()[within] == theirs.loc[ours["id"][within]].to_numpy()).mean()
            print(f"{ext:>7} -> {ext:<7} geolookup enrich: {t_ours:6.2f} s {n / t_ours:11,.0f} rows/s | "
                  f"geopandas script: {t_gpd:6.2f} s {n / t_gpd:11,.0f} rows/s | ratio {t_gpd / t_ours:5.2f}x "
                  f"(target >= 2x: {'met' if t_gpd / t_ours >= 2 else 'MISSED'}); within rows equal sjoin: {agree:.4%}; "
                  f"load {os.getloadavg()[0]:.2f}")
        if args.dask_points:
            m = args.dask_points
            ds = work / "ds"
            ds.mkdir()
            step = m // 20
            for k in range(20):
                points(step, seed=k).to_parquet(ds / f"part-{k:02d}.parquet", index=False)
            m = step * 20
            common = [ds, "--lat-col", "lat", "--lon-col", "lon"]
            t_local = timed([*geolookup, "enrich", *common, "-o", work / "local"], env)
            t_dask = timed([*geolookup, "enrich", *common, "--engine", "dask", "--workers", "2", "-o", work / "dask"],
                           env)
            same = all(pq.read_table(work / "local" / f.name).equals(pq.read_table(work / "dask" / f.name))
                       for f in sorted(ds.iterdir()))
            print(f"dataset: {m:,} points in 20 Parquet files, end to end")
            print(f"  engine local            : {t_local:6.2f} s {m / t_local:11,.0f} rows/s")
            print(f"  engine dask, 2 workers  : {t_dask:6.2f} s {m / t_dask:11,.0f} rows/s "
                  f"({m / t_dask / 2:,.0f} rows/s per worker); ratio dask/local {t_local / t_dask:4.2f}x; "
                  f"identical output: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
