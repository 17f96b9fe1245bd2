"""Benchmark: gadm.locate on GADM 3.6 US counties (GADM level 2) against geopandas.sjoin, time and peak memory.

Run: GEOLOOKUP_DATA=../shared/data .venv/bin/python bench/bench_locate.py [--points 1000000 10000000]

For each size N, points uniform over the contiguous United States' bounding box are located by
``gadm.locate`` (the shared grid index, geolookup.core.pointindex) and by
``geopandas.sjoin(predicate="within")`` (lowest index kept per point), each in a fresh child
process that generates the same points, loads the counties, and reports its time (locate/sjoin
only, including building the index and, for sjoin, the point geometries) and its peak resident
memory (``ru_maxrss``) above the memory held before the timed step. Targets: >= 3x sjoin and a
lower peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

US_BBOX = (-125.0, 24.0, -66.0, 50.0)


def child(kind: str, n: int) -> dict:
    import geopandas as gpd

    from geolookup import gadm

    warnings.simplefilter("ignore")
    areas = gadm.load_areas("USA", 2)
    rng = np.random.default_rng(2024)
    lon, lat = rng.uniform(US_BBOX[0], US_BBOX[2], n), rng.uniform(US_BBOX[1], US_BBOX[3], n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if kind == "ours":
        idx = gadm.locate(lon, lat, areas)
    else:
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
        joined = gpd.sjoin(pts, areas[["geometry"]], predicate="within", how="left")
        idx = joined["index_right"].fillna(-1).astype("int64").groupby(level=0).min().to_numpy()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.save(os.environ["BENCH_OUT"], idx)
    return {"seconds": seconds, "peak_mb": (peak - before) / 1024, "areas": len(areas)}


def run(kind: str, n: int, out: str) -> dict:
    env = {**os.environ, "BENCH_OUT": out}
    res = subprocess.run([sys.executable, "-P", __file__, "--child", kind, str(n)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    print(f"GADM 3.6 USA level 2 (US counties); points uniform in lon {US_BBOX[0]}..{US_BBOX[2]}, "
          f"lat {US_BBOX[1]}..{US_BBOX[3]}; cpus: {os.cpu_count()}; each run in its own process; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for n in args.points:
        ours = run("ours", n, "/tmp/bench_locate_ours.npy")
        theirs = run("sjoin", n, "/tmp/bench_locate_sjoin.npy")
        same = (np.load("/tmp/bench_locate_ours.npy") == np.load("/tmp/bench_locate_sjoin.npy")).mean()
        ratio = theirs["seconds"] / ours["seconds"]
        print(f"{n:>11,} points | gadm.locate {ours['seconds']:7.2f} s {n / ours['seconds']:11,.0f} pts/s, "
              f"peak +{ours['peak_mb']:7,.0f} MB | sjoin {theirs['seconds']:7.2f} s {n / theirs['seconds']:11,.0f} pts/s, "
              f"peak +{theirs['peak_mb']:7,.0f} MB | ratio {ratio:5.2f}x (target >= 3x: {'met' if ratio >= 3 else 'MISSED'}; "
              f"lower peak: {'met' if ours['peak_mb'] < theirs['peak_mb'] else 'MISSED'}) | same answer: {same:.4%} | "
              f"load {os.getloadavg()[0]:.2f}")
    for f in ("/tmp/bench_locate_ours.npy", "/tmp/bench_locate_sjoin.npy"):
        if os.path.exists(f):
            os.unlink(f)


if __name__ == "__main__":
    main()
