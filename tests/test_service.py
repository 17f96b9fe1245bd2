"""`geolookup serve` over real HTTP: a server process on a free loopback port, answers compared with the CLI.

The lookup is built by the pipeline in a temporary folder (Italy from pcm-dpc); the server serves ITA
and USA. Points are 1,000 real provider coordinates (JHU US counties, pcm-dpc Italian provinces),
names are NYT county names; the reference answers come from `geolookup enrich`, `geolookup match` and
`geolookup policies` on the same inputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from geolookup.cli import main as cli_main

COUNTRIES = "ITA,USA"


def run_cli(*argv) -> None:
    try:
        cli_main([str(a) for a in argv])
    except SystemExit as exc:
        assert exc.code in (0, None), f"geolookup {' '.join(map(str, argv))} exited {exc.code}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(tmp, env: dict, *args, timeout=180):
    """Start `python -m geolookup serve ARGS` on a free port; yield (base URL, process, log path)."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    with open(log, "w") as fh:
        cmd = [sys.executable, "-P", "-m", "geolookup", "serve", "--port", str(port), *map(str, args)]
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, f"server exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"server not ready: {log.read_text()[-3000:]}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield base, proc, log
    finally:
        proc.terminate()
        proc.wait(20)


def build_lookup(data_root, tmp):
    """Italy's lookup built by the pipeline into tmp/out, its state into tmp/state."""
    from geolookup.pipeline import build

    build("ITA", data_dir=str(data_root), out_dir=str(tmp / "out"), state_dir=str(tmp / "state"))
    return tmp / "out"


def server_env(data_root, tmp, **service):
    cfg = tmp / "geolookup.toml"
    cfg.write_text("[service]\n" + "".join(f"{k} = {v!r}\n" for k, v in service.items()))
    return {"GEOLOOKUP_DATA": str(data_root), "GEOLOOKUP_CONFIG": str(cfg), "GEOLOOKUP_STATE": str(tmp / "state"),
            "GEOLOOKUP_CACHE": str(tmp / "cache")}


@pytest.fixture(scope="module")
def world(data_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("service")
    out = build_lookup(data_root, tmp)
    env = server_env(data_root, tmp, reload_poll_s=0.3, max_body_mib=1, max_batch=5000)
    with serve(tmp, env, "--lookup", out, "--countries", COUNTRIES, "--cors-origin", "https://maps.example.org") as \
            (base, proc, log):
        with httpx.Client(base_url=base, timeout=60) as client:
            yield {"tmp": tmp, "out": out, "client": client, "base": base, "proc": proc, "log": log,
                   "data": data_root}


@pytest.fixture(scope="module")
def points(world):
    """1,000 provider coordinates: 893 JHU US counties and 107 pcm-dpc provinces, with the CLI's answers."""
    data, tmp = world["data"], world["tmp"]
    jhu = pd.read_csv(data / "providers/jhu/UID_ISO_FIPS_LookUp_Table_20200519.csv", dtype=str, keep_default_na=False)
    jhu = jhu[(jhu["iso3"] == "USA") & (jhu["Admin2"] != "") & (jhu["Lat"] != "") & (jhu["Lat"] != "0.0")]
    ita = pd.read_csv(data / "providers/pcm_dpc/dpc-covid19-ita-province-latest.csv", dtype=str, keep_default_na=False)
    ita = ita[ita["lat"] != ""]
    frames = []
    for iso, df, la, lo, n in (("ITA", ita, "lat", "long", len(ita)), ("USA", jhu, "Lat", "Long_", 1000 - len(ita))):
        pts = df.iloc[:n][[la, lo]].set_axis(["lat", "lon"], axis=1)
        src, dst = tmp / f"pts_{iso}.csv", tmp / f"enriched_{iso}.csv"
        pts.to_csv(src, index=False)
        run_cli("enrich", src, "--lat-col", "lat", "--lon-col", "lon", "--country", iso, "-o", dst)
        frames.append(pd.read_csv(dst, dtype=str, keep_default_na=False).assign(country=iso))
    return pd.concat(frames, ignore_index=True)


def _get_all(client, paths):
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(client.get, paths))


def test_locate_get_and_post_agree_with_enrich(world, points):
    client = world["client"]
    assert len(points) == 1000
    answers = _get_all(client, [f"/v1/locate?lat={r.lat}&lon={r.lon}&country={r.country}" for r in points.itertuples()])
    assert all(a.status_code == 200 for a in answers)
    got = [a.json() for a in answers]
    for row, ans in zip(points.itertuples(), got):
        g, n = ans["gadm"], ans["nuts"]
        if row.gid:  # the CLI found the area holding the point: same area, same hierarchy
            assert (g["method"], g["gid"]) == ("within", row.gid), (row, ans)
            assert [lv["gadm_level"] for lv in g["levels"]] == list(range(g["gadm_level"] + 1))
            assert g["levels"][0]["gid"] == row.country
        else:
            assert g["method"] != "within", (row, ans)
        assert n["method"] == row.nuts_method and (n["nuts_3"] or "") == row.nuts_3, (row, ans)
        assert (n["nuts_2"] or "") == row.nuts_2 and (n["nuts_0"] or "") == row.nuts_0
    assert sum(a["gadm"]["method"] == "within" for a in got) > 950
    # POST, per country, keeps the input order and gives the GET answers exactly
    for iso, sub in points.groupby("country", sort=False):
        body = [{"lat": float(r.lat), "lon": float(r.lon)} for r in sub.itertuples()]
        res = client.post(f"/v1/locate?country={iso}", json=body)
        assert res.status_code == 200
        assert res.json()["results"] == [got[i] for i in sub.index]
        # the columns layout holds the same answers, under the CLI's (geolookup.locate's) column names
        cols = client.post(f"/v1/locate?country={iso}&layout=columns", json=body).json()
        assert cols["count"] == len(sub)
        c = cols["columns"]
        for j, i in enumerate(sub.index):
            g, n = got[i]["gadm"], got[i]["nuts"]
            assert (c["gid"][j], c["gadm_method"][j], c["gadm_level"][j]) == (g["gid"], g["method"], g["gadm_level"])
            assert [(c[f"GID_{lv['gadm_level']}"][j], c[f"NAME_{lv['gadm_level']}"][j]) for lv in g["levels"]] == \
                [(lv["gid"], lv["name"]) for lv in g["levels"]]
            assert [c[f"nuts_{k}"][j] for k in range(4)] == [n[f"nuts_{k}"] for k in range(4)]
            assert (c["lat"][j], c["lon"][j], c["nuts_method"][j]) == (body[j]["lat"], body[j]["lon"], n["method"])
    # a GeoJSON FeatureCollection gives the same answers, and without country the combined layer agrees
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Point", "coordinates": [float(r.lon), float(r.lat)]}}
        for r in points.itertuples()]}
    res = client.post("/v1/locate", json=fc).json()["results"]
    assert [r["gadm"]["gid"] for r in res if r["gadm"]["method"] == "within"] == \
        [a["gadm"]["gid"] for a in got if a["gadm"]["method"] == "within"]
    one = client.get(f"/v1/locate?lat={points.lat[0]}&lon={points.lon[0]}&gadm_level=1").json()
    assert one["gadm"]["gadm_level"] == 1 and one["gadm"]["gid"] == got[0]["gadm"]["levels"][1]["gid"]


@pytest.mark.parametrize("query, field", [
    ("lat=91&lon=12", "lat"), ("lat=nan&lon=12", "lat"), ("lat=41&lon=-181", "lon"), ("lon=12", "lat"),
    ("lat=41&lon=12&country=XXX", "country"), ("lat=41&lon=12&country=FRA", "country"),
    ("lat=41&lon=12&country=ITA&gadm_level=3", "gadm_level"), ("lat=41&lon=12&gadm_level=9", "gadm_level"),
])
def test_locate_bad_query_is_a_4xx_naming_the_field(world, query, field):
    res = world["client"].get("/v1/locate?" + query)
    assert 400 <= res.status_code < 500, res.text
    body = res.json()
    assert body["field"] == field and body["fix"] and body["error"], body


@pytest.mark.parametrize("content, status, field", [
    (b"[{\"lat\": 41, \"lon\": 12}", 422, "body"),  # malformed JSON
    (b"{\"lat\": 41}", 422, "body"),
    (b"[{\"lat\": 41, \"lon\": \"12\"}]", 422, "body[0].lon"),
    (b"[{\"lat\": 41, \"lon\": 12}, {\"lat\": 95, \"lon\": 12}]", 422, "body[1]"),
    (b"[{\"lat\": 41}]", 422, "body[0]"),
    (b"{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"geometry\": null}]}", 422,
     "features[0].geometry"),
    (b"[" + b",".join([b"{\"lat\": 41, \"lon\": 12}"] * 5001) + b"]", 413, "body"),  # over max_batch
    (b"[" + b" " * (1 << 20) + b"]", 413, "body"),  # over max_body_mib
])
def test_locate_bad_body_is_a_4xx_naming_the_field(world, content, status, field):
    res = world["client"].post("/v1/locate", content=content, headers={"content-type": "application/json"})
    assert res.status_code == status, res.text
    assert res.json()["field"] == field and res.json()["fix"]


def _tree_digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_match_is_the_cli_answer_and_writes_no_state(world):
    data, tmp, client = world["data"], world["tmp"], world["client"]
    state = tmp / "state"
    before = _tree_digest(state)
    nyt = pd.read_csv(data / "providers/nyt/live_us-counties_20201013.csv", dtype=str, keep_default_na=False)
    sample = pd.concat([nyt.iloc[::250], nyt[nyt["county"].isin(["New York City", "Kansas City", "Unknown"])]])
    sample = sample.drop_duplicates(["county", "state"])[["county", "state"]]
    # the CLI on a one-row file per name, on a copy of the state (the service's answers are those of a name alone)
    cli_state = tmp / "cli_state"
    shutil.copytree(state, cli_state, dirs_exist_ok=True)
    expected = []
    for i, row in enumerate(sample.itertuples()):
        src, dst = tmp / f"m{i}.csv", tmp / f"m{i}_out.csv"
        pd.DataFrame({"county": [row.county], "state": [row.state]}).to_csv(src, index=False)
        run_cli("match", src, "--country", "USA", "--gadm-level", 2, "--name-col", "county", "--parent-col", "state",
                "--source", "api", "--state-dir", cli_state, "-o", dst)
        expected.append(pd.read_csv(dst, dtype=str, keep_default_na=False).iloc[0])
    # all at once, so the service batches them
    got = _get_all(client, [httpx.URL("/v1/match", params={"name": r.county, "parent": r.state, "country": "usa",
                                                            "gadm_level": 2}) for r in sample.itertuples()])
    assert len(expected) > 12
    for exp, res in zip(expected, got):
        assert res.status_code == 200, res.text
        ans = res.json()
        assert ans["decision"] == exp["match_status"] and (ans["gid"] or "") == exp["gid"], (exp.to_dict(), ans)
        assert "|".join(ans["gid_parts"]) == exp["gid_parts"] and ans["method"] == exp["match_method"]
        assert ans["score"] == float(exp["match_score"])
        assert "|".join(f"{c['gid']}:{c['score']:g}" for c in ans["candidates"]) == exp["candidates"]
        assert ans["reason"]
    assert _tree_digest(state) == before
    bad = client.get("/v1/match", params={"name": "Roma", "country": "ITA", "gadm_level": 4})
    assert bad.status_code == 422 and bad.json()["field"] == "gadm_level"
    assert client.get("/v1/match", params={"name": "", "country": "ITA", "gadm_level": 2}).json()["field"] == "name"


def test_locations_are_the_lookup_rows(world):
    from geolookup.lookup.table import read_table

    client = world["client"]
    table = read_table(world["out"] / "ITA.csv")
    rows = table.to_dict("records")
    got = _get_all(client, [f"/v1/locations/{r['id']}" for r in rows])
    for exp, res in zip(rows, got):
        loc = res.json()["location"]
        for col, value in exp.items():
            if col in ("latitude", "longitude") and value:
                assert loc[col] == pytest.approx(float(value), abs=1e-12)
            elif col in ("administrative_area_level", "population") and value:
                assert loc[col] == int(value)
            else:
                assert (loc[col] if loc[col] is not None else "") == value, (col, exp, loc)
    some = rows[5]
    for col in ("key_gadm", "key_nuts", "key_local", "id_github.pcmdpc.covid19"):
        res = client.get("/v1/locations", params={col: some[col]}).json()
        assert sorted(r["id"] for r in res["locations"]) == sorted(table.loc[table[col] == some[col], "id"])
    assert client.get("/v1/locations/nope").status_code == 404
    bad = client.get("/v1/locations", params={"key_foo": "x"})
    assert bad.status_code == 422 and "key_foo" in bad.json()["error"] and "key_gadm" in bad.json()["fix"]
    assert client.get("/v1/locations").status_code == 422


def test_policies_and_reload_without_dropping_requests(world):
    client, out, tmp, data = world["client"], world["out"], world["tmp"], world["data"]
    some = client.get("/v1/locations", params={"key_gadm": "ITA.8_1"}).json()["locations"][0]["id"]
    res = client.get(f"/v1/policies/{some}")
    assert res.status_code == 404 and res.json()["fix"]
    gen0 = client.get("/readyz").json()["generation"]
    failures, stop = [], threading.Event()

    def hammer():
        with httpx.Client(base_url=world["base"], timeout=30) as c:
            while not stop.is_set():
                r = c.get("/v1/locate?lat=41.9&lon=12.5")
                if r.status_code != 200:
                    failures.append(r.status_code)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    # while the server answers, `geolookup policies -o` adds table 'policy' to the served lookup.sqlite
    # (school closing and the stringency index from OxCGRT's national files; the rest published empty)
    ts = data / "oxcgrt/legacy_timeseries"
    empty = [x for k in ("C2 C3 C4 C5 C6 C7 C8 H1 H2 H3 H6 H7 H8 government_response_index containment_health_index "
                         "economic_support_index").split() for x in ("--allow-missing", k)]
    run_cli("policies", "--level", 2, "--lookup", out / "lookup.sqlite", "--oxcgrt", ts / "c1_school_closing.csv",
            ts / "c1_flag.csv", ts / "stringency_index.csv", *empty, "-o", out / "lookup.sqlite")
    deadline = time.monotonic() + 60
    while client.get("/readyz").json()["generation"] == gen0 or client.get(f"/v1/policies/{some}").status_code != 200:
        assert time.monotonic() < deadline, "new generation not loaded"
        time.sleep(0.2)

    def reloads():
        return int(next(ln for ln in client.get("/metrics").text.splitlines()
                        if ln.startswith("geolookup_reloads_total ")).split()[1])

    before = reloads()
    world["proc"].send_signal(signal.SIGHUP)  # and a reload on request
    deadline = time.monotonic() + 60
    while reloads() == before:
        assert time.monotonic() < deadline, "SIGHUP did not reload"
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert not failures
    res = client.get(f"/v1/policies/{some}", params={"from": "2020-03-01", "to": "2020-03-31"}).json()
    with sqlite3.connect(out / "lookup.sqlite") as con:
        cur = con.execute("select * from policy where id = ? and date between '2020-03-01' and '2020-03-31' "
                          "order by date", (some,))
        names, exp = [d[0] for d in cur.description], cur.fetchall()
    assert res["count"] == len(exp) == 31
    assert [tuple(g[k] for k in names) for g in res["policies"]] == exp
    assert any(g["school_closing"] for g in res["policies"])
    assert client.get(f"/v1/policies/{some}", params={"from": "2020-04-01", "to": "2020-03-01"}).status_code == 422


def test_metrics_and_access_log(world):
    client = world["client"]
    for _ in range(3):
        client.get("/v1/locate?lat=45.07&lon=7.69")
    text = client.get("/metrics").text
    count = [ln for ln in text.splitlines()
             if ln.startswith('geolookup_http_requests_total{method="GET",route="/v1/locate",status="200"}')]
    assert count and int(count[0].rsplit(" ", 1)[1]) >= 3
    assert 'geolookup_http_request_duration_seconds_bucket{method="GET",route="/v1/locate",le="+Inf"}' in text
    lines = [json.loads(ln) for ln in world["log"].read_text().splitlines() if ln.startswith("{")]
    assert any(ln["route"] == "/v1/locate" and ln["status"] == 200 and ln["ms"] >= 0 for ln in lines)


def test_no_server_error_and_schema_conformance(world):
    """Every operation, 25 generated requests each (valid and invalid ones, fixed seed)."""
    openapi = schemathesis.openapi.from_url(f"{world['base']}/openapi.json")
    ops = [r.ok() for r in openapi.get_all_operations()]
    assert {op.path for op in ops} >= {"/v1/locate", "/v1/match", "/v1/locations", "/v1/locations/{id}",
                                       "/v1/policies/{id}", "/healthz", "/readyz", "/metrics"}
    for op in ops:
        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def check(case):
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance, status_code_conformance,
                                           content_type_conformance])

        check()
    seen = {}
    for line in world["client"].get("/metrics").text.splitlines():
        if line.startswith("geolookup_http_requests_total{"):
            labels, n = line.rsplit(" ", 1)
            key = (labels.split('method="')[1].split('"')[0], labels.split('route="')[1].split('"')[0])
            seen[key] = seen.get(key, 0) + int(n)
    assert seen[("POST", "/v1/locate")] >= 20 and seen[("GET", "/v1/match")] >= 20, seen


def test_cors_only_for_configured_origins(world):
    italy = world["base"]
    pre = {"Access-Control-Request-Method": "GET"}
    ok = httpx.options(f"{italy}/v1/locate", headers={"Origin": "https://maps.example.org", **pre})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://maps.example.org"
    other = httpx.get(f"{italy}/v1/locate", params={"lat": 41.9, "lon": 12.5},
                      headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
