"""The kill matrix: `geolookup build` and `geolookup review import` killed (SIGKILL) at EVERY write boundary.

Run: GEOLOOKUP_DATA=../shared/data .venv/bin/python bench/bench_kill.py [--every N]

For each boundary n of a full run (GEOLOOKUP_KILL_TRACE), the command is run again with
GEOLOOKUP_KILL_AT=n, then checked (tests/killharness.py):
- build: the output folder is exactly the old generation or one the command publishes ("mixed"
  otherwise), the state folder reads whole, and a rerun equals a clean run (a kill before the publishing
  step) or a clean run done twice (after it: the new generation was complete), with no leftovers;
- review import: every decision the log holds after the kill is in the decisions the build loads
  ("lost" otherwise), and after a rerun of the import every decision of the sheet is stored, equal
  to a clean import's.
Scenarios: a first build of Italy (pcm-dpc), a rebuild that adds a province, and an import of the
decisions confirming the first build's matches (one per accepted entity). Needed: >= 50 points, 0 mixed, 0 lost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from killharness import (boundaries, data_without_a_province, generations, ita_specs, leftovers, mixed,  # noqa: E402
                         rerun, run, snapshot, state_snapshot)

from geolookup.curation.store import load_decisions, load_log  # noqa: E402
from geolookup.gadm.gids import gid_level  # noqa: E402


def build_scenario(name, base, start, data, specs, every):
    """Kill a build at each boundary; returns (points, mixed, reruns differing, failures)."""
    argv = lambda d: ["build", "ITA", "--specs", specs, "--data-dir", data, "-o", d / "out",  # noqa: E731
                      "--state-dir", d / "state", "--quiet", "--allow-review"]
    clean, twice = base / f"{name}-clean", base / f"{name}-twice"
    shutil.copytree(start, clean, symlinks=True) if start else clean.mkdir()
    before = snapshot(clean / "out") if (clean / "out").exists() else {}
    points = boundaries(argv(clean), base)
    shutil.copytree(clean, twice, symlinks=True)
    rerun(argv(twice))
    allowed = [before] + generations(clean / "out")  # the old generation or one the command publishes
    want = {True: (snapshot(clean / "out"), state_snapshot(clean / "state")),  # killed before publishing
            False: (snapshot(twice / "out"), state_snapshot(twice / "state"))}  # after: a second run
    n_mixed = n_differs = tried = 0
    failures = []
    for k in range(1, len(points) + 1, every):
        work = base / f"{name}-{k}"
        shutil.copytree(start, work, symlinks=True) if start else work.mkdir()
        code = run(argv(work), kill_at=k)
        tried += 1
        problems = mixed(work / "out", allowed) if (work / "out").exists() else []
        try:
            state_snapshot(work / "state")
        except Exception as exc:  # noqa: BLE001 - any unreadable state file counts
            problems.append(f"state unreadable: {exc}")
        if problems or code != -9:
            n_mixed += 1
            failures.append(f"{name} #{k} ({points[k - 1]}): exit {code}; {problems}")
        unpublished = not (work / "out").exists() or snapshot(work / "out") == before
        rerun(argv(work))
        if (snapshot(work / "out"), state_snapshot(work / "state")) != want[unpublished] or leftovers(
                work / "out", work / "state"):
            n_differs += 1
            failures.append(f"{name} #{k} ({points[k - 1]}): rerun differs from a clean run")
        shutil.rmtree(work)
    return tried, n_mixed, n_differs, failures


def _decision_keys(df: pd.DataFrame) -> set:
    return set(zip(df["source"], df["provider_key"])) if len(df) else set()


def import_scenario(base, state0, every):
    """Kill `review import` at each boundary; returns (points, lost, rerun_differs, failures)."""
    queue = base / "queue.csv"
    rerun(["review", "export", "ITA", "--all", "-o", queue, "--state-dir", state0, "--quiet"])
    q = pd.read_csv(queue, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    q = q[[g != "" and str(gid_level(g)) == lv for g, lv in zip(q["current_gid"], q["gadm_level"])]].copy()
    q["decision"] = q["current_gid"]  # confirm the build's own matches (those at the entity's level: valid)
    q.to_csv(queue, index=False, encoding="utf-8-sig")
    argv = lambda s: ["review", "import", queue, "--reviewer", "bench", "--state-dir", s, "--quiet"]  # noqa: E731
    clean = base / "import-clean"
    shutil.copytree(state0, clean)
    points = boundaries(argv(clean), base)
    keep = ["source", "provider_key", "kind", "value", "gid"]
    want = load_decisions(clean)[keep].sort_values(keep).reset_index(drop=True)
    n_lost = n_differs = tried = 0
    failures = []
    for k in range(1, len(points) + 1, every):
        work = base / f"import-{k}"
        shutil.copytree(state0, work)
        run(argv(work), kill_at=k)
        tried += 1
        logged = _decision_keys(load_log(work)) if (work / "decisions_log.csv").exists() else set()
        loaded = _decision_keys(load_decisions(work))
        if logged - loaded:
            n_lost += 1
            failures.append(f"import #{k} ({points[k - 1]}): {len(logged - loaded)} logged decisions not loaded")
        rerun(argv(work))
        got = load_decisions(work)[keep].sort_values(keep).reset_index(drop=True)
        if not got.equals(want):
            n_differs += 1
            failures.append(f"import #{k} ({points[k - 1]}): decisions after the rerun differ from a clean import")
        shutil.rmtree(work)
    return tried, n_lost, n_differs, failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=1, help="try every N-th boundary only (default: all)")
    ap.add_argument("--import-only", action="store_true", help="only the review import scenario")
    args = ap.parse_args()
    data_root = Path(os.environ.get("GEOLOOKUP_DATA", "../shared/data")).resolve()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_kill_") as tmp:
        base = Path(tmp)
        specs = ita_specs(base / "specs")
        v1, _ = data_without_a_province(data_root, base / "data_v1")
        first = build_scenario("first build", base, None, v1, specs, 10**6 if args.import_only else args.every)
        start = base / "first build-clean"
        rebuild = (0, 0, 0, []) if args.import_only else build_scenario("rebuild", base, start, data_root, specs,
                                                                         args.every)
        imp = import_scenario(base, start / "state", args.every)
    rows = [("build ITA (first)", *first[:3]), ("build ITA (rebuild, +1 province)", *rebuild[:3]),
            ("review import", *imp[:3])]
    print(f"{'scenario':34} {'kill points':>11} {'mixed/lost':>10} {'rerun differs':>13}")
    for name, tried, bad, differs in rows:
        print(f"{name:34} {tried:11d} {bad:10d} {differs:13d}")
    total = sum(r[1] for r in rows)
    n_mixed, n_lost = first[1] + rebuild[1], imp[1]
    print(f"{'total':34} {total:11d}   mixed generations {n_mixed}, lost decisions {n_lost}, "
          f"reruns differing {sum(r[3] for r in rows)}")
    met = total >= 50 and n_mixed == 0 and n_lost == 0
    print(f"needed: >= 50 points, 0 mixed, 0 lost -> {'met' if met else 'NOT met'} ({time.perf_counter() - t0:.0f} s)")
    for f in first[3] + rebuild[3] + imp[3]:
        print("  " + f)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
