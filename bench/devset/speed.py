"""Bulk fuzzy top-5 speed: 100,000 noisy names x 50,000 area names, bounded memory (no dense matrix)."""

from __future__ import annotations

import os
import random
import time
import tracemalloc

import numpy as np
import pandas as pd

from geolookup import gadm
from geolookup.matching.normalize import normalize_array
from geolookup.matching.score import topk


def noisy(name, rng):
    """One random edit (delete, insert, swap or replace a letter)."""
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


def bulk_data(n_queries, data, seed=42):
    """50,000 area names (every real GADM name of the finest level of each country in ``data``,
    padded with noisy variants) and ``n_queries`` noisy copies of them."""
    rng = random.Random(seed)
    inv = pd.read_csv(data / "gadm36/INVENTORY.csv")
    names = []
    for iso, lv in inv.groupby("iso")["level"].max().items():
        if lv >= 1:
            names += list(gadm.load_areas(iso, int(lv))["name"])
    base = [b for b in dict.fromkeys(normalize_array(names)[1]) if b]  # a name of type words only folds to ""
    suffixes = ["north", "south", "east", "west", "upper", "lower", "new", "central", "saint", "port"]
    areas = list(base)
    while len(areas) < 50_000:
        areas.append(noisy(rng.choice(base), rng) + " " + rng.choice(suffixes))
    areas = areas[:50_000]
    return base, areas, [noisy(rng.choice(areas), rng) for _ in range(n_queries)]


def speed_bulk(n_queries, data, check=300):
    """Print the bulk top-5 time with traced peak memory, and the agreement of the blocked top-k with
    an exhaustive rapidfuzz cdist (token_sort_ratio) on the first ``check`` names (the anchor)."""
    from rapidfuzz import fuzz, process

    base, areas, queries = bulk_data(n_queries, data)  # not timed: only the topk call is
    load = os.getloadavg()[0]
    tracemalloc.start()
    t, cpu = time.perf_counter(), time.process_time()
    idx, sc = topk(queries, areas, k=5, score_cutoff=45)
    dt, cpu = time.perf_counter() - t, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"speed: {n_queries} noisy names x {len(areas)} areas ({len(base)} real GADM names), top-5: {dt:.1f} s "
          f"[target < 60 s], {n_queries / dt:,.0f} names/s, CPU {cpu:.1f} s; peak traced memory {peak:.0f} MiB "
          f"(no dense matrix); load average {load:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} cores)")
    t = time.perf_counter()
    full = process.cdist(queries[:check], areas, scorer=fuzz.token_sort_ratio, dtype=np.uint8, workers=-1,
                         score_cutoff=45).astype(np.int64)
    dc = time.perf_counter() - t
    ref = -np.sort(-full, axis=1)[:, :5]
    top1 = full[np.arange(len(full)), np.maximum(idx[:check, 0], 0)] == ref[:, 0]
    print(f"       anchor: exhaustive cdist on {len(full)} names {dc:.2f} s ({len(full) / dc:,.0f} names/s); top-5 scores "
          f"identical {(ref == sc[:check]).all(axis=1).mean():.1%}, top-1 is a best-scoring area {top1.mean():.1%}")
