"""`geolookup build` killed by SIGKILL at its write boundaries (a hook in the writers, not a timer).

After each kill: the output folder is one whole generation (the old one or the new one, every file
of it), the state folder is readable, and a rerun equals a clean build, with nothing left behind.
This test tries a few boundaries chosen where a mix used to appear (the shapefile's sibling files,
the SQLite commit, the publishing steps); bench/bench_kill.py tries every one. A command may publish
more than once (the country, then the national rows): each generation it publishes is whole.
"""

import shutil

import pandas as pd
import pytest

from killharness import (boundaries, data_without_a_province, generations, ita_specs, leftovers, mixed, rerun, run,
                         snapshot, state_snapshot)


@pytest.fixture(scope="module")
def world(data_root, tmp_path_factory):
    """Clean runs to compare with: a first build from data lacking one province, and a rebuild of it
    from the full data (the province is then new)."""
    base = tmp_path_factory.mktemp("kill")
    specs = ita_specs(base / "specs")
    v1, sigla = data_without_a_province(data_root, base / "data_v1")
    w = {"base": base, "specs": specs, "v1": v1, "v2": data_root, "sigla": sigla}
    w["argv"] = lambda data, d: ["build", "ITA", "--specs", specs, "--data-dir", data, "-o", d / "out",
                                 "--state-dir", d / "state", "--quiet", "--allow-review"]
    w["first_points"] = boundaries(w["argv"](v1, base / "first"), base)
    shutil.copytree(base / "first", base / "rebuilt", symlinks=True)
    w["rebuild_points"] = boundaries(w["argv"](data_root, base / "rebuilt"), base)
    snap = {d: (snapshot(base / d / "out"), state_snapshot(base / d / "state")) for d in ("first", "rebuilt")}
    # (generations a kill may leave, result of a rerun after a kill before the command's first publish;
    # after it a rerun is a second build, checked for every boundary by bench/bench_kill.py)
    w["first"] = [{}] + generations(base / "first" / "out"), snap["first"], None
    w["rebuilt"] = [snap["first"][0]] + generations(base / "rebuilt" / "out"), snap["rebuilt"], None
    return w


def pick(points, labels):
    """1-based boundary numbers of the first boundary whose label starts with each of ``labels``."""
    return [next(i + 1 for i, p in enumerate(points) if p.startswith(label)) for label in labels]


def kill_and_rerun(w, start, data, clean, kill_at, tmp_path):
    """Kill the command at boundary ``kill_at``, check what is left, rerun it; returns (folder, whether
    the kill came before the command's first publish)."""
    work = tmp_path / f"k{kill_at}"
    if start:
        shutil.copytree(w["base"] / start, work, symlinks=True)
    else:
        work.mkdir()
    allowed, before_publish, after_publish = w[clean]
    assert run(w["argv"](data, work), kill_at=kill_at) == -9  # the boundary was reached and the build killed
    problems = mixed(work / "out", allowed) if (work / "out").exists() else []
    assert problems == [], problems
    state_snapshot(work / "state")  # every state file still reads as a whole CSV
    unpublished = not (work / "out").exists() or snapshot(work / "out") == allowed[0]
    rerun(w["argv"](data, work))
    assert unpublished or after_publish is not None
    want_out, want_state = before_publish if unpublished else after_publish
    assert snapshot(work / "out") == want_out
    assert state_snapshot(work / "state") == want_state
    assert leftovers(work / "out", work / "state") == []
    return work, unpublished


def test_the_build_passes_many_write_boundaries(world):
    assert len(world["first_points"]) >= 30 and len(world["rebuild_points"]) >= 30
    assert any(p.startswith("link current") for p in world["first_points"])


@pytest.mark.parametrize("label", ["replace ITA_areas.dbf"])
def test_killed_first_build(world, tmp_path, label):
    [k] = pick(world["first_points"], [label])
    kill_and_rerun(world, None, world["v1"], "first", k, tmp_path)


@pytest.mark.parametrize("label", ["sqlite commit", "link current"])
def test_killed_rebuild_keeps_the_diff_against_the_last_complete_generation(world, tmp_path, label):
    [k] = pick(world["rebuild_points"], [label])
    work, unpublished = kill_and_rerun(world, "first", world["v2"], "rebuilt", k, tmp_path)
    assert unpublished  # killed before the publishing step: the old generation is what OUT shows
    # the province missing from the first generation is still reported as new after the kill and rerun
    table = pd.read_csv(work / "out" / "ITA.csv", dtype=str, keep_default_na=False)
    new_ids = set(table.loc[table["key_local"].isin(
        pd.read_csv(world["v2"] / "providers" / "pcm_dpc" / "dpc-covid19-ita-province-latest.csv", dtype=str,
                    keep_default_na=False).query("sigla_provincia == @world['sigla']")["codice_provincia"]), "id"])
    diff = pd.read_csv(work / "out" / "ITA_diff.csv", dtype=str, keep_default_na=False)
    prov = pd.read_csv(work / "out" / "ITA_provenance.csv", dtype=str, keep_default_na=False)
    assert set(diff.loc[diff["change"] == "added", "id"]) == new_ids and len(new_ids) == 1
    assert set(prov.loc[prov["row_status"] == "new", "id"]) == new_ids
