"""Crash tests by SIGKILL at write boundaries (geolookup.core.tableio.write_boundary), shared by
tests/test_kill_build.py (a sample of the boundaries) and bench/bench_kill.py (all of them).

A command runs in a subprocess with ``GEOLOOKUP_KILL_AT=n``: its n-th write boundary kills it. Then
- the output folder must show ONE whole generation, the one before the command or the one a clean
  run makes (``snapshot`` equal to one of them, and :func:`geolookup.lookup.generation.verify` clean);
- the state folder must be whole (every CSV readable);
- a rerun must equal a clean run, and leave no temporary file behind.

The build is Italy's from the pcm-dpc source specs shipped in lookup/sources (about 2 s). The
"rebuild" starts from a generation built from a provider file lacking one province, so the clean
rebuild's diff and provenance record that province as new: after a kill before the publishing step
and a rerun they must still. A kill after it leaves the new generation complete; the rerun is then a
rebuild without changes (an empty diff), the same as running the command twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio

from geolookup.lookup import generation
from geolookup.lookup.specs import __file__ as _specs_file

SHIPPED_SPECS = Path(_specs_file).parent / "sources"
PCM = Path("providers") / "pcm_dpc"
PROVINCES = "dpc-covid19-ita-province-latest.csv"


def ita_specs(dest: Path) -> Path:
    """A --specs folder with the shipped pcm-dpc specs of Italy only (no global providers: fast)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in SHIPPED_SPECS.glob("ita_pcmdpc_*.toml"):
        shutil.copyfile(f, dest / f.name)
    return dest


def data_without_a_province(data_root: Path, dest: Path) -> tuple[Path, str]:
    """A data folder linking to ``data_root`` whose pcm-dpc province file lacks its first province.

    Returns (folder, the province's sigla). Links, not copies (GADM's licence).
    """
    dest.mkdir(parents=True, exist_ok=True)
    for entry in data_root.iterdir():
        if entry.name != "providers":
            (dest / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    for entry in (data_root / "providers").iterdir():
        if entry.name != PCM.name:
            (dest / "providers").mkdir(exist_ok=True)
            (dest / "providers" / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (dest / PCM).mkdir(parents=True)
    for f in (data_root / PCM).iterdir():
        if f.name != PROVINCES:
            (dest / PCM / f.name).symlink_to(f)
    prov = pd.read_csv(data_root / PCM / PROVINCES, dtype=str, keep_default_na=False)
    sigla = prov.loc[prov["sigla_provincia"] != "", "sigla_provincia"].iloc[0]
    prov[prov["sigla_provincia"] != sigla].to_csv(dest / PCM / PROVINCES, index=False)
    return dest, sigla


def run(argv: list, kill_at: int | None = None, trace: Path | None = None) -> int:
    """Run ``geolookup ARGV`` in a subprocess (optionally killed at a boundary); returns its exit status."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOLOOKUP_KILL_")}
    if kill_at is not None:
        env["GEOLOOKUP_KILL_AT"] = str(kill_at)
    if trace is not None:
        env["GEOLOOKUP_KILL_TRACE"] = str(trace)
    res = subprocess.run([sys.executable, "-m", "geolookup", *map(str, argv)], env=env, capture_output=True,
                         text=True, timeout=300)
    if res.returncode not in (0, 3, -9):
        raise AssertionError(f"geolookup {' '.join(map(str, argv))} exited {res.returncode}: {res.stderr[-2000:]}")
    return res.returncode


def boundaries(argv: list, workdir: Path) -> list[str]:
    """Labels of every write boundary a full run of ``argv`` passes, in order (one traced run, in this
    process: the counting is the same as in a subprocess)."""
    from geolookup.core import tableio

    trace = workdir / "trace.txt"
    trace.unlink(missing_ok=True)
    os.environ["GEOLOOKUP_KILL_TRACE"] = str(trace)
    tableio._boundaries["n"] = 0
    try:
        rerun(argv)
    finally:
        del os.environ["GEOLOOKUP_KILL_TRACE"]
    return [line.split(" ", 1)[1] for line in trace.read_text(encoding="utf-8").splitlines()]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _frame_text(df: pd.DataFrame) -> str:
    df = df.drop(columns=[c for c in ("build_time",) if c in df.columns])  # the run's own clock
    return df.to_csv(index=False)


def snapshot(out: Path) -> dict[str, str]:
    """What a reader of ``out`` sees, file by file through the top-level names (or the files of one
    generation folder), as digests of the content (clock-dependent cells left out: build_time,
    GeoPackage and dBase timestamps)."""
    snap = {}
    for top in sorted(out.iterdir()):
        name = top.name
        if name in (generation.GENERATIONS, generation.CURRENT, generation.MANIFEST) or not top.exists():
            continue
        if name.endswith(".csv"):
            snap[name] = _digest(_frame_text(pd.read_csv(top, dtype=str, keep_default_na=False)))
        elif name.endswith((".gpkg", ".shp")):
            g = pyogrio.read_dataframe(top)
            snap[name] = _digest(_frame_text(pd.DataFrame(g.drop(columns="geometry"))) + "".join(
                g.geometry.to_wkb(hex=True).fillna("")))
        elif name == "lookup.sqlite":
            with sqlite3.connect(f"file:{top}?mode=ro", uri=True) as con:
                text = "".join(_frame_text(pd.read_sql_query(f"select * from {t} order by id, rowid", con))
                               for t in ("location", "provenance"))
                text += "".join(r[0] or "" for r in con.execute("select sql from sqlite_master order by name"))
            snap[name] = _digest(text)
        elif name.endswith(".dbf"):
            continue  # its header holds the write date; its records are read through the .shp
        else:
            snap[name] = hashlib.sha256(top.read_bytes()).hexdigest()[:16]
    return snap


def state_snapshot(state: Path) -> dict[str, str]:
    """The state folder's CSV files (minted ids, decisions, matches) as content digests; raises if one is unreadable."""
    return {str(p.relative_to(state)): _digest(_frame_text(pd.read_csv(p, dtype=str, keep_default_na=False)))
            for p in sorted(state.rglob("*.csv")) if not p.name.startswith(".")}


def leftovers(*folders: Path) -> list[str]:
    """Temporary files, staging folders and temporary links left in the folders (lock files excepted)."""
    return [str(p) for folder in folders for p in folder.rglob("*")
            if p.name.startswith((".", "staging-", "link-")) and not p.name.endswith(".lock")]


def generations(out: Path) -> list[dict[str, str]]:
    """Snapshots of every generation folder a run left in ``out`` (each publish of a command)."""
    root = out / generation.GENERATIONS
    return [snapshot(g) for g in sorted(root.iterdir()) if g.is_dir() and g.name.isdigit()] if root.is_dir() else []


def mixed(out: Path, allowed: list[dict]) -> list[str]:
    """Problems if ``out`` does not show exactly one of the ``allowed`` generations: the one before the
    command, or one that a clean run of it published (a command may publish more than once)."""
    problems = generation.verify(out)
    now = snapshot(out)
    if now not in allowed:
        names = sorted(set(now).union(*allowed))
        problems.append(f"{out}: a mixed generation: " + "; ".join(
            f"{n} from {[i for i, a in enumerate(allowed) if a.get(n) == now.get(n)] or 'none'}" for n in names))
    return problems


def rerun(argv: list) -> int:
    """Run ``geolookup ARGV`` in this process (no kill hook); returns its exit status (0 or 3)."""
    from geolookup.cli import main

    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code
    if code not in (0, 3):
        raise AssertionError(f"geolookup {' '.join(map(str, argv))} exited {code}")
    return code
