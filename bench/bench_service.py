"""Figures of `geolookup serve`: a server process and a load generator in another process, on loopback.

Prints, each beside its anchor measured in the same run (ratios, not absolute times alone):

1. GET /v1/locate, one real point per request, open loop at 200 and 1,000 req/s for --duration s:
   p50/p99 latency and errors (target p99 <= 20 ms at 200 req/s, no errors); anchor: GET /healthz at the
   same rate (the HTTP floor of this machine).
2. POST /v1/locate with 100,000 real points, end to end with the client's JSON parse (target <= 1 s), in both
   layouts (rows: an object per point; columns: an array per column); anchor: the same answer body built in
   process (service.indexes.Indexes.locate_body, no HTTP, no JSON parsing).
3. GET /v1/match for the NYT county names, closed loop, --match-inflight requests in flight (default 64;
   target >= 500 req/s);
   anchor: matching one name in process, as `geolookup match` does (1 / its latency).
4. Server memory (RSS) after a mixed soak of --soak s versus after warm-up (target within 10%).

Usage: GEOLOOKUP_DATA=../shared/data .venv/bin/python bench/bench_service.py [--quick] [--lookup OUT]
(--quick: 10 s per rate, 60 s soak). Without --lookup, Italy's lookup is built by the pipeline in a
temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(os.environ.get("GEOLOOKUP_DATA", "../shared/data"))


def real_points() -> pd.DataFrame:
    """JHU US county and pcm-dpc Italian province coordinates (degrees WGS84)."""
    jhu = pd.read_csv(DATA / "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv", dtype=str, keep_default_na=False)
    jhu = jhu[(jhu["iso3"] == "USA") & (jhu["Admin2"] != "") & (jhu["Lat"] != "") & (jhu["Lat"] != "0.0")]
    ita = pd.read_csv(DATA / "providers/pcm_dpc/dpc-covid19-ita-province-latest.csv", dtype=str, keep_default_na=False)
    ita = ita[ita["lat"] != ""]
    return pd.DataFrame({"lat": np.r_[jhu["Lat"].astype(float), ita["lat"].astype(float)],
                         "lon": np.r_[jhu["Long_"].astype(float), ita["long"].astype(float)]})


def batch_points(n: int) -> pd.DataFrame:
    """``n`` points: the real points repeated, each moved by up to 0.02 degrees (fixed seed)."""
    base = real_points()
    rng = np.random.default_rng(1)
    pick = base.iloc[np.arange(n) % len(base)].reset_index(drop=True)
    return pick + rng.uniform(-0.02, 0.02, size=(n, 2))


def nyt_names() -> list[dict]:
    nyt = pd.read_csv(DATA / "providers/nyt/live_us-counties_20201013.csv", dtype=str, keep_default_na=False)
    return [{"name": c, "parent": s, "country": "USA", "gadm_level": 2} for c, s in zip(nyt["county"], nyt["state"])]


# -- load generator (runs in its own process) ----------------------------------------------------
# Plain HTTP/1.1 over persistent asyncio connections: light enough for 1,000 req/s on a small machine.
async def _request(reader, writer, path) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status


async def _connections(base, n):
    host, port = base.rsplit("//", 1)[1].split(":")
    return [await asyncio.open_connection(host, int(port)) for _ in range(n)]


async def _open_loop(base, paths, rate, seconds, conns=64):
    """Requests started at fixed times (rate per second) on ``conns`` connections; latency from the
    scheduled time, so a slow answer delays the measure of the ones queued behind it (no coordinated
    omission)."""
    queue: asyncio.Queue = asyncio.Queue()
    lat, errors = [], [0]

    async def worker(reader, writer):
        while (item := await queue.get()) is not None:
            path, due = item
            try:
                ok = await _request(reader, writer, path) == 200
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                ok = False
            lat.append(time.perf_counter() - due)
            errors[0] += not ok

    workers = [asyncio.create_task(worker(r, w)) for r, w in await _connections(base, conns)]
    t0 = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((paths[i % len(paths)], due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return np.array(lat), errors[0]


async def _closed_loop(base, paths, inflight, seconds):
    """``inflight`` connections each sending its next request as soon as the last is answered."""
    done, errors = [0], [0]
    t_end = time.perf_counter() + seconds

    async def worker(k, reader, writer):
        i = k
        while time.perf_counter() < t_end:
            errors[0] += await _request(reader, writer, paths[i % len(paths)]) != 200
            done[0] += 1
            i += inflight

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k, r, w) for k, (r, w) in enumerate(await _connections(base, inflight))))
    return done[0] / (time.perf_counter() - t0), errors[0]


def load(kind, *args):
    """Entry point of the load-generator process."""
    return asyncio.run(_open_loop(*args) if kind == "open" else _closed_loop(*args))


# -- server ----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(lookup, countries, log):
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-P", "-m", "geolookup", "serve", "--port", str(port),
                             "--lookup", str(lookup), "--countries", countries], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        if proc.poll() is not None:
            raise SystemExit("server exited; see its log")
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit("server not ready after 300 s")


def rss_mib(pid) -> float:
    import psutil

    p = psutil.Process(pid)
    return sum(c.memory_info().rss for c in [p, *p.children(recursive=True)]) / 2**20


def pct(a, q) -> float:
    return float(np.percentile(a, q) * 1000) if len(a) else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lookup", help="build output folder (default: build Italy into a temporary folder)")
    ap.add_argument("--countries", default="ITA,USA")
    ap.add_argument("--duration", type=float, default=60, help="seconds per open-loop rate (60)")
    ap.add_argument("--match-seconds", type=float, default=30, help="seconds of the match throughput run (30)")
    ap.add_argument("--soak", type=float, default=300, help="seconds of the mixed soak (300)")
    ap.add_argument("--match-inflight", type=int, default=64, help="match requests in flight (64)")
    ap.add_argument("--quick", action="store_true", help="10 s per rate, 10 s match run, 60 s soak")
    ap.add_argument("--only", default="get,post,match,soak", help="figures to run, comma-separated (all four)")
    a = ap.parse_args()
    want = set(a.only.split(","))
    if a.quick:
        a.duration, a.match_seconds, a.soak = 10, 10, 60
    tmp = Path(tempfile.mkdtemp(prefix="bench-service-"))
    os.environ.setdefault("GEOLOOKUP_STATE", str(tmp / "state"))
    lookup = a.lookup
    if not lookup:
        from geolookup.pipeline import build

        build("ITA", data_dir=str(DATA), out_dir=str(tmp / "out"), state_dir=str(tmp / "state"))
        lookup = tmp / "out"
    pts = real_points()
    gets = [f"/v1/locate?lat={y}&lon={x}" for y, x in zip(pts["lat"], pts["lon"])]
    names = nyt_names()
    from urllib.parse import urlencode

    matches = ["/v1/match?" + urlencode(q) for q in names]
    big = batch_points(100_000)
    body = json.dumps([{"lat": y, "lon": x} for y, x in zip(big["lat"], big["lon"])]).encode()
    log = open(tmp / "server.log", "w")
    proc, base = start_server(lookup, a.countries, log)
    rows = []
    try:
        with ProcessPoolExecutor(1) as gen:
            gen.submit(load, "open", base, gets, 200, 3).result()  # warm-up
            for rate in (200, 1000) if "get" in want else ():
                h, he = gen.submit(load, "open", base, ["/healthz"], rate, a.duration).result()
                g, ge = gen.submit(load, "open", base, gets, rate, a.duration).result()
                rows.append((f"GET /v1/locate @ {rate} req/s, {a.duration:g} s", f"p50 {pct(g, 50):.1f} ms, "
                             f"p99 {pct(g, 99):.1f} ms, {ge} errors of {len(g)}", f"/healthz p50 {pct(h, 50):.1f} ms, "
                             f"p99 {pct(h, 99):.1f} ms, {he} errors", f"p99 x{pct(g, 99) / pct(h, 99):.1f}"))
            import httpx

            from geolookup.service.indexes import Indexes

            ix = Indexes(a.countries.split(","))
            for layout in ("rows", "columns") if "post" in want else ():
                with httpx.Client(base_url=base, timeout=60) as c:
                    times = []
                    for _ in range(5):
                        t = time.perf_counter()
                        r = c.post(f"/v1/locate?layout={layout}", content=body,
                                   headers={"content-type": "application/json"})
                        got = r.json()  # the client's parse is part of end to end
                        times.append(time.perf_counter() - t)
                        assert r.status_code == 200 and got["count"] == 100_000
                ix.locate_body(big["lon"].to_numpy(), big["lat"].to_numpy(), layout=layout)
                t = time.perf_counter()
                ix.locate_body(big["lon"].to_numpy(), big["lat"].to_numpy(), layout=layout)
                anchor = time.perf_counter() - t
                post = float(np.median(times))
                rows.append((f"POST /v1/locate?layout={layout}, 100,000 points, end to end ({len(r.content) / 2**20:.0f} MiB)",
                             f"median {post:.2f} s of 5 (max {max(times):.2f} s)", f"in process {anchor:.2f} s",
                             f"x{post / anchor:.1f}"))
            if 'match' in want:
                from geolookup.service.matcher import Matcher

                m = Matcher({k: c.levels for k, c in ix.countries.items()}, state_dir=tmp / "state")
                m.match("USA", 2, "api", [("Autauga", "Alabama", "")])
                t = time.perf_counter()
                for q in names[:20]:
                    m.match("USA", 2, "api", [(q["name"], q["parent"], "")])
                one = (time.perf_counter() - t) / 20
                m.close()
                rps, me = gen.submit(load, "closed", base, matches, a.match_inflight, a.match_seconds).result()
                rows.append((f"GET /v1/match, NYT names, {a.match_inflight} in flight, {a.match_seconds:g} s", f"{rps:.0f} req/s, {me} errors",
                             f"one name in process {1 / one:.0f} names/s", f"x{rps * one:.1f}"))
            if 'soak' in want:
                # soak: mixed load, memory after warm-up vs at the end
                gen.submit(load, "open", base, gets, 200, 5).result()
                before = rss_mib(proc.pid)
                mixed = gets + matches[: len(gets) // 4]  # one match per four points
                soak = gen.submit(load, "open", base, list(np.random.default_rng(2).permutation(mixed)), 200, a.soak)
                with httpx.Client(base_url=base, timeout=60) as c:
                    small = json.dumps([{"lat": y, "lon": x} for y, x in zip(big["lat"][:1000], big["lon"][:1000])])
                    while not soak.done():
                        c.post("/v1/locate", content=small, headers={"content-type": "application/json"})
                        time.sleep(1)
                s_lat, s_err = soak.result()
                after = rss_mib(proc.pid)
                rows.append((f"server RSS, mixed soak {a.soak:g} s", f"{after:.0f} MiB after ({s_err} errors)",
                             f"{before:.0f} MiB after warm-up", f"x{after / before:.3f}"))
    finally:
        proc.terminate()
        proc.wait(30)
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    print(f"{'figure':<{w[0]}}  {'measured':<{w[1]}}  {'anchor (same run)':<{w[2]}}  ratio")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}")


if __name__ == "__main__":
    main()
