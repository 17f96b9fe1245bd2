"""Benchmark: NUTS 3 for 1,000,000 random points in Europe's bounding box, ours vs geopandas.sjoin.

Run: GEOLOOKUP_DATA=../shared/data .venv/bin/python bench/bench_nuts.py [--points N] [--repeat R]
(the held figure: ``--points 10000000 --repeat 1``).

Both start from the same lon/lat float arrays and the 10M NUTS 2021 level-3 layer (1,514 regions).
``nuts.assign_nuts`` with tolerance 0 has the same semantics as ``sjoin(predicate="within")``
(it also counts points on a boundary); the default run adds the 5 km nearest-region fallback, which
sjoin does not do. sjoin's time includes building the point geometries it needs as input. Best of
``--repeat`` runs. Point in polygon is the shared grid index (geolookup.core.pointindex), built
once per layer: the warm-up call builds it, as sjoin's spatial index is built before timing.
Targets (2-core machine): >= 1,000,000 points/s and, within only, >= 5x sjoin at 10 M points.
"""

from __future__ import annotations

import argparse
import os
import time

import geopandas as gpd
import numpy as np

from geolookup import nuts

EUROPE_BBOX = (-25.0, 34.0, 45.0, 72.0)  # lon min, lat min, lon max, lat max (degrees)


def best_of(repeat, func):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    n = args.points

    regions = nuts.load_nuts("10M", 2021, data_dir=args.data_dir)
    level3 = regions[regions["LEVL_CODE"] == 3].reset_index(drop=True)
    rng = np.random.default_rng(2021)
    lon = rng.uniform(EUROPE_BBOX[0], EUROPE_BBOX[2], n)
    lat = rng.uniform(EUROPE_BBOX[1], EUROPE_BBOX[3], n)
    nuts.assign_nuts(lon[:1000], lat[:1000], regions=regions, levels=(3,))  # warm-up: prepare geometries
    level3.sindex  # noqa: B018  sjoin gets its (cached) spatial index built before timing too

    t_ours, ours = best_of(args.repeat, lambda: nuts.assign_nuts(lon, lat, regions=regions, levels=(3,), tolerance_km=0))
    t_fallback, full = best_of(args.repeat, lambda: nuts.assign_nuts(lon, lat, regions=regions, levels=(3,)))

    def sjoin():
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
        return gpd.sjoin(pts, level3[["NUTS_ID", "geometry"]], predicate="within", how="left")

    t_sjoin, joined = best_of(args.repeat, sjoin)

    theirs = joined["NUTS_ID"].groupby(level=0).min().fillna("").to_numpy(dtype=object)
    agree = (ours["nuts_3"].to_numpy(dtype=object) == theirs).mean()
    methods = full["nuts_method"].value_counts()
    print(f"points: {n:,} uniform in lon {EUROPE_BBOX[0]}..{EUROPE_BBOX[2]}, lat {EUROPE_BBOX[1]}..{EUROPE_BBOX[3]}; "
          f"NUTS 2021 10M level 3: {len(level3):,} regions; cpus: {os.cpu_count()}; best of {args.repeat}; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"ours  assign_nuts within only      : {t_ours:7.3f} s  {n / t_ours:12,.0f} points/s  "
          f"(in a region: {(ours['nuts_method'] == 'within').sum():,})")
    print(f"ours  assign_nuts + 5 km fallback  : {t_fallback:7.3f} s  {n / t_fallback:12,.0f} points/s  "
          f"(nearest: {methods.get('nearest', 0):,})")
    print(f"geopandas.sjoin(predicate=within)  : {t_sjoin:7.3f} s  {n / t_sjoin:12,.0f} points/s")
    print(f"ratio ours/sjoin (within only)     : {t_sjoin / t_ours:7.2f}x   same NUTS 3 as sjoin: {agree:.4%}")
    print(f"ratio ours/sjoin (with fallback)   : {t_sjoin / t_fallback:7.2f}x")
    print(f"targets: >= 1,000,000 points/s -> {'met' if n / t_ours >= 1e6 else 'MISSED'}; "
          f">= 5x sjoin -> {'met' if t_sjoin / t_ours >= 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
