"""``geolookup enrich --engine dask`` on a real LocalCluster (2 worker processes) against the local engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from clihelp import assert_one_line_error, run_cli

EUROPE = (-12.0, 35.0, 32.0, 62.0)


@pytest.fixture(autouse=True)
def _data_env(data_root, monkeypatch):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))


def make_dataset(folder, n, parts, seed=0):
    """A Parquet dataset of ``n`` points (uniform over western Europe, with a few missing) in ``parts`` files."""
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(EUROPE[0], EUROPE[2], n), rng.uniform(EUROPE[1], EUROPE[3], n)
    lat[::997] = np.nan
    df = pd.DataFrame({"key": [f"p{i:07d}" for i in range(n)], "lat": lat, "lon": lon})
    folder.mkdir()
    for k, part in enumerate(np.array_split(np.arange(n), parts)):
        df.iloc[part].to_parquet(folder / f"part-{k:02d}.parquet", index=False)
    return df


def test_dask_equals_local_every_row(tmp_path, capsys):
    make_dataset(tmp_path / "in", 100_000, 4)
    args = ["--lat-col", "lat", "--lon-col", "lon", "--country", "ITA", "--gadm-level", "1"]
    code, _, err = run_cli(capsys, "enrich", tmp_path / "in", *args, "-o", tmp_path / "local")
    assert code == 0, err
    code, _, err = run_cli(capsys, "enrich", tmp_path / "in", *args, "--engine", "dask", "--workers", "2",
                           "-o", tmp_path / "dask")
    assert code == 0, err
    assert "100000 rows" in err
    names = sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert names == ["_SUCCESS"] + [f"part-{k:02d}.parquet" for k in range(4)]
    for name in names[1:]:
        a = pq.read_table(tmp_path / "local" / name)
        b = pq.read_table(tmp_path / "dask" / name)
        assert a.equals(b), name
    out = pq.read_table(tmp_path / "dask").to_pandas()
    assert len(out) == 100_000 and (out["nuts_method"] == "within").sum() > 30_000
    assert out["gid"].str.startswith("ITA.").sum() > 1000
    assert not list(tmp_path.glob(".*"))  # no staging folder left


def test_unreachable_scheduler_one_line_within_timeout(tmp_path, capsys):
    make_dataset(tmp_path / "in", 100, 1)
    t0 = time.monotonic()
    code, _, err = run_cli(capsys, "enrich", tmp_path / "in", "--lat-col", "lat", "--lon-col", "lon", "--no-nuts",
                           "--country", "ITA", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9",
                           "--timeout", "2", "-o", tmp_path / "out")
    assert time.monotonic() - t0 < 15
    assert_one_line_error(code, err, "tcp://127.0.0.1:9", "within 2 s")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_killed_dask_run_leaves_no_complete_output(tmp_path, data_root):
    """SIGKILL the whole run (CLI and its workers) once a partition is written: nothing at OUT, no _SUCCESS."""
    make_dataset(tmp_path / "in", 200_000, 8)
    out = tmp_path / "out"
    env = {**os.environ, "GEOLOOKUP_DATA": str(data_root)}
    proc = subprocess.Popen([sys.executable, "-P", "-m", "geolookup", "enrich", str(tmp_path / "in"), "--lat-col",
                             "lat", "--lon-col", "lon", "--engine", "dask", "--workers", "2", "--chunk-size", "5000",
                             "-o", str(out)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any(tmp_path.glob(".out.staging-*/part-*.parquet")):
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not out.exists()
    assert not list(tmp_path.rglob("_SUCCESS"))
    assert [p.name.startswith(".out.staging-") for p in tmp_path.iterdir() if p.name != "in"] == [True]
