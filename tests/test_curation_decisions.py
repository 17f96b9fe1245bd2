"""The decisions store keeps one source of truth: the append-only log. Crashes between the log append
and the table rename, truncated tables and half-written log lines lose no logged decision and load no
half decision."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from geolookup.curation import decisionlog
from geolookup.curation.store import Decision, load_decisions, load_log, record_decisions


class Crash(Exception):
    pass


def _d(key, gid):
    return Decision(source="nyt", provider_key=key, iso3="USA", kind="gid", value=gid, gid=gid, gadm_level="2")


@pytest.fixture
def crash_at(monkeypatch):
    """crash_at(stage): the next write raises Crash at that boundary (as a kill there would stop it)."""
    def arm(stage):
        def hook(s):
            if s == stage:
                raise Crash(s)
        monkeypatch.setattr(decisionlog, "checkpoint", hook)
    yield arm


def _last_logged(folder) -> dict:
    log = load_log(folder)
    return dict(zip(log["provider_key"], log["new_value"]))


def test_crash_between_log_append_and_table_rename_loses_nothing(tmp_path, crash_at, caplog):
    record_decisions([_d(f"0100{i}", f"USA.1.{i + 1}_1") for i in range(6)], reviewer="a", state_dir=tmp_path)
    crash_at("log-appended")
    with pytest.raises(Crash):
        record_decisions([_d("01007", "USA.1.8_1"), _d("01009", "USA.1.9_1")], reviewer="a", state_dir=tmp_path)
    assert len(load_log(tmp_path)) == 8 and len(pd.read_csv(tmp_path / "decisions.csv")) == 6  # the case
    with caplog.at_level("WARNING"):
        got = load_decisions(tmp_path)
    assert len(got) == 8 and set(got["gid"]) >= {"USA.1.8_1", "USA.1.9_1"}
    assert "rebuilt from the log" in caplog.text
    assert len(pd.read_csv(tmp_path / "decisions.csv")) == 8  # repaired on disk too


def test_truncated_table_is_rebuilt_not_half_loaded(tmp_path, caplog):
    record_decisions([_d(f"0100{i}", f"USA.1.{i + 1}_1") for i in range(5)], reviewer="a", state_dir=tmp_path)
    table = tmp_path / "decisions.csv"
    raw = table.read_bytes()
    table.write_bytes(raw[: len(raw) * 2 // 3])  # cut in the middle of a row
    with caplog.at_level("WARNING"):
        got = load_decisions(tmp_path)
    assert sorted(got["gid"]) == [f"USA.1.{i + 1}_1" for i in range(5)]
    assert "rebuilt from the log" in caplog.text


def test_half_written_log_line_is_reported_and_never_a_decision(tmp_path, caplog):
    record_decisions([_d("01001", "USA.1.1_1")], reviewer="a", state_dir=tmp_path)
    log = tmp_path / "decisions_log.csv"
    with open(log, "ab") as fh:  # a kill in the middle of an append
        fh.write(b"2024-05-01T09:30:00Z,a,nyt,01003,USA,set,,USA.1.")
    with caplog.at_level("WARNING"):
        got = load_decisions(tmp_path)
    assert got["provider_key"].tolist() == ["01001"]
    warned = [r.getMessage() for r in caplog.records if "half-written" in r.getMessage()]
    assert warned and "\n" not in warned[0]
    record_decisions([_d("01005", "USA.1.3_1")], reviewer="a", state_dir=tmp_path)  # the next import cuts it off
    assert load_log(tmp_path)["provider_key"].tolist() == ["01001", "01005"]
    assert b"USA.1." in (tmp_path / "decisions_log.torn").read_bytes()
    assert sorted(load_decisions(tmp_path)["provider_key"]) == ["01001", "01005"]


def test_killed_import_loses_no_logged_decision(tmp_path):
    """A real SIGKILL at the boundary between the log append and the table rename."""
    state = tmp_path / "state"
    record_decisions([_d("01001", "USA.1.1_1")], reviewer="a", state_dir=state)
    code = textwrap.dedent(f"""
        import os, signal
        from geolookup.curation import decisionlog
        from geolookup.curation.store import Decision, record_decisions
        decisionlog.checkpoint = lambda s: os.kill(os.getpid(), signal.SIGKILL) if s == "log-appended" else None
        record_decisions([Decision(source="nyt", provider_key="01003", iso3="USA", kind="gid", value="USA.1.2_1",
                                   gid="USA.1.2_1", gadm_level="2")], reviewer="b", state_dir={str(state)!r})
    """)
    proc = subprocess.run([sys.executable, "-P", "-c", code], env=os.environ.copy())
    assert proc.returncode == -9
    assert sorted(load_decisions(state)["provider_key"]) == ["01001", "01003"]


# An interleaving: each step records a batch of decisions (keys from a small pool, so later steps
# replace earlier ones with force) and may crash after the log append, after the table write, or in the
# middle of the append (a torn last line), or may truncate the table afterwards.
_step = st.tuples(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 9), min_size=1, max_size=3),
    st.sampled_from([None, "log-appended", "table-written", "torn", "cut-table"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_step, min_size=1, max_size=6))
def test_any_interleaving_of_imports_and_crashes_loses_no_logged_decision(tmp_path_factory, steps):
    folder = tmp_path_factory.mktemp("state")
    model: dict[str, str] = {}  # every crash point lies after the fsynced log append: each batch is logged
    try:
        for batch, crash in steps:
            decisionlog.checkpoint = (lambda s, c=crash: (_ for _ in ()).throw(Crash(s)) if s == c else None)
            try:
                record_decisions([_d(k, f"USA.1.{v}_1") for k, v in batch.items()], reviewer="r", force=True,
                                 state_dir=folder)
            except Crash:
                pass
            decisionlog.checkpoint = None
            if crash == "torn":
                with open(folder / "decisions_log.csv", "ab") as fh:
                    fh.write(b"2024-01-01T00:00:00Z,r,nyt,z,USA,set,,USA.9")
            if crash == "cut-table" and (folder / "decisions.csv").is_file():
                raw = (folder / "decisions.csv").read_bytes()
                (folder / "decisions.csv").write_bytes(raw[: max(1, len(raw) - 7)])
            model.update({k: f"USA.1.{v}_1" for k, v in batch.items()})
            got = load_decisions(folder)
            assert dict(zip(got["provider_key"], got["value"])) == model == _last_logged(folder)
            assert "z" not in set(got["provider_key"])  # a torn line is never a decision
    finally:
        decisionlog.checkpoint = None


def test_concurrent_imports_under_the_lock_lose_nothing(tmp_path):
    """Two processes recording at once: the filelock serialises them, every decision is kept."""
    state = tmp_path / "state"
    code = textwrap.dedent("""
        import sys
        from geolookup.curation.store import Decision, record_decisions
        who = sys.argv[1]
        for i in range(8):
            record_decisions([Decision(source=who, provider_key=str(i), iso3="USA", kind="gid", value="USA.1.1_1",
                                       gid="USA.1.1_1", gadm_level="2")], reviewer=who, state_dir=sys.argv[2])
    """)
    procs = [subprocess.Popen([sys.executable, "-P", "-c", code, who, str(state)]) for who in ("a", "b")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    got = load_decisions(state)
    assert len(got) == 16 and len(load_log(state)) == 16
