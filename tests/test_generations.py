"""Output generations (lookup.generation): one atomic publish, leftovers removed, no lost countries."""

import multiprocessing
import os
import sqlite3

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from geolookup.lookup.generation import CURRENT, GENERATIONS, Publisher, current_dir, read_manifest, verify
from geolookup.lookup.outputs import PROVENANCE_COLUMNS, write_sqlite


def country(iso, n, tag=""):
    table = pd.DataFrame({"id": [f"{iso.lower()}{i}" for i in range(n)], "administrative_area_level": "2",
                          "administrative_area_level_2": [f"{tag}R{i}" for i in range(n)],
                          "key_local": [str(i) for i in range(n)], "latitude": "1.5", "longitude": "2.5"})
    return table, pd.DataFrame({"id": table["id"], "iso3": iso, "source": "src"}).reindex(columns=PROVENANCE_COLUMNS)


def publish(out, iso, n, tag="", fail=False):
    """One build's writes: the country's CSV and sidecar plus its rows in lookup.sqlite."""
    table, prov = country(iso, n, tag)
    with Publisher(out, f"build {iso}") as gen:
        gen.clear(iso)
        table.to_csv(gen.dir / f"{iso}.csv", index=False)
        (gen.dir / f"{iso}_diff.csv").write_text(f"tag\n{tag}\n")
        write_sqlite(gen.dir / "lookup.sqlite", iso, table, prov, locked=True)
        if fail:
            raise RuntimeError("validation failed")
    return gen


def sqlite_ids(db):
    with sqlite3.connect(db) as con:
        return sorted(r[0] for r in con.execute("select id from location"))


def test_publish_links_and_keeps_one_previous_generation(tmp_path):
    out = tmp_path / "out"
    publish(out, "AAA", 2, "one")
    publish(out, "BBB", 1)
    publish(out, "AAA", 3, "two")
    assert os.readlink(out / CURRENT) == f"{GENERATIONS}/3"
    assert os.readlink(out / "AAA.csv") == f"{CURRENT}/AAA.csv"
    assert sorted(p.name for p in (out / GENERATIONS).iterdir() if p.is_dir()) == ["2", "3"]
    assert pd.read_csv(out / "AAA.csv")["id"].tolist() == ["aaa0", "aaa1", "aaa2"]
    assert (out / "AAA_diff.csv").read_text() == "tag\ntwo\n"
    assert sqlite_ids(out / "lookup.sqlite") == ["aaa0", "aaa1", "aaa2", "bbb0"]
    # the previous generation is untouched: a reader that resolved `current` before still reads it whole
    prev = out / GENERATIONS / "2"
    assert pd.read_csv(prev / "AAA.csv")["id"].tolist() == ["aaa0", "aaa1"] and verify(out) == []
    assert set(read_manifest(current_dir(out))["files"]) == {"AAA.csv", "AAA_diff.csv", "BBB.csv", "BBB_diff.csv",
                                                             "lookup.sqlite"}


def test_a_failed_build_publishes_nothing(tmp_path):
    out = tmp_path / "out"
    publish(out, "AAA", 2, "one")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(RuntimeError):
        publish(out, "AAA", 5, "two", fail=True)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in (out / GENERATIONS).iterdir()) == ["1", "publish.lock"]


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    out = tmp_path / "out"
    publish(out, "AAA", 2)
    root = out / GENERATIONS
    (root / "staging-999-dead").mkdir()
    (root / "staging-999-dead" / "AAA.csv").write_text("half")
    (root / "2").mkdir()  # renamed from staging, killed before `current` moved: never published
    (root / "2" / "AAA.csv").write_text("never seen")
    os.symlink("generations/2", root / "link-abc")
    publish(out, "BBB", 1)
    assert sorted(p.name for p in root.iterdir()) == ["1", "2", "publish.lock"]
    assert (root / "2" / "AAA.csv").read_text() != "never seen" and verify(out) == []


def test_outputs_of_an_older_layout_are_adopted(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "AAA.csv").write_text("id\nold\n")
    (out / "notes.txt").write_text("mine")
    publish(out, "BBB", 1)
    assert (out / "AAA.csv").is_symlink() and (out / "AAA.csv").read_text() == "id\nold\n"
    assert not (out / "notes.txt").is_symlink()  # not an output name: left alone
    assert verify(out) == []


def test_verify_finds_a_changed_file(tmp_path):
    out = tmp_path / "out"
    publish(out, "AAA", 2)
    (current_dir(out) / "AAA_diff.csv").write_text("tag\nedited\n")
    assert verify(out) and "AAA_diff.csv" in verify(out)[0]


def _in_processes(target, arg_tuples) -> list:
    """Run ``target(*args)`` for each args tuple in its own forked process, all at once; their exit codes."""
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=target, args=args) for args in arg_tuples]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    return [p.exitcode for p in procs]


def _publisher(out, iso, rounds):
    for r in range(rounds):
        publish(out, iso, 3 + r, f"r{r}")


def test_concurrent_builds_of_different_countries_lose_nothing(tmp_path):
    out = tmp_path / "out"
    isos = ["AAA", "BBB", "CCC", "DDD"]
    assert _in_processes(_publisher, [(out, iso, 3) for iso in isos]) == [0] * len(isos)
    assert verify(out) == []
    assert sqlite_ids(out / "lookup.sqlite") == sorted(f"{i.lower()}{k}" for i in isos for k in range(5))
    for iso in isos:
        assert len(pd.read_csv(out / f"{iso}.csv")) == 5


def _write_sqlite_many(db, iso, rounds):
    for r in range(rounds):
        table, prov = country(iso, 2 + r)
        write_sqlite(db, iso, table, prov)


def test_concurrent_sqlite_updates_lose_no_country(tmp_path):
    """Several processes updating one lookup.sqlite directly (its own lock, one transaction each)."""
    db = tmp_path / "lookup.sqlite"
    isos = ["AAA", "BBB", "CCC", "DDD"]
    assert _in_processes(_write_sqlite_many, [(db, iso, 4) for iso in isos]) == [0] * len(isos)
    assert sqlite_ids(db) == sorted(f"{i.lower()}{k}" for i in isos for k in range(5))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["AAA", "BBB", "CCC"]), st.integers(1, 4), st.booleans()),
                min_size=1, max_size=6))
def test_any_sequence_of_builds_and_failures_shows_the_last_good_one(tmp_path_factory, steps):
    """Property: whatever builds succeed or fail, OUT shows, per country, the last successful build."""
    out = tmp_path_factory.mktemp("prop") / "out"
    model = {}
    for iso, n, fail in steps:
        try:
            publish(out, iso, n, fail=fail)
            model[iso] = n
        except RuntimeError:
            pass
    assert verify(out) == []
    for iso, n in model.items():
        assert len(pd.read_csv(out / f"{iso}.csv")) == n
    ids = sqlite_ids(out / "lookup.sqlite") if model else []
    assert ids == sorted(f"{i.lower()}{k}" for i, n in model.items() for k in range(n))
    assert not [p for p in (out / GENERATIONS).iterdir() if p.name.startswith("staging-")]


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    """A writer killed between its temporary file and the rename (e.g. the state's matches file)."""
    from geolookup.core.tableio import write_text_atomic

    child = multiprocessing.get_context("fork").Process(target=os.getpid)
    child.start()
    child.join()
    dead = child.pid  # exited and reaped: no such process any more
    (tmp_path / f".ITA.{dead}-abc.csv").write_text("half")
    (tmp_path / f".ITA_areas.{dead}-xyz").mkdir()  # a killed shapefile writer's folder
    live = tmp_path / f".ITA.{os.getppid()}-def.csv"  # a live process's: maybe writing right now
    live.write_text("busy")
    write_text_atomic(tmp_path / "ITA.csv", "id\n")
    write_text_atomic(tmp_path / "ITA_areas.shp", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ITA.csv", "ITA_areas.shp", live.name])
