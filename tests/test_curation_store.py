"""Decisions store, apply_decisions and spreadsheet cell encoding (no GADM needed), plus the CLI
and the review map on real data."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from geolookup.curation.apply import apply_decisions
from geolookup.curation.sheet import decode_cell, encode_code, guard_text, read_sheet, write_sheet
from geolookup.curation.store import Decision, load_decisions, load_log, record_decisions
from geolookup.core.errors import GeolookupError
from clihelp import run_cli


def _d(key, value, kind="gid", **kw):
    gid = "" if kind == "skip" else kw.pop("gid", value)
    return Decision(source="nyt", provider_key=key, iso3="USA", kind=kind, value=value, gid=gid, gadm_level="2", **kw)


def test_record_is_idempotent_and_conflicts_need_force(tmp_path):
    r = record_decisions([_d("01001", "USA.1.1_1"), _d("x", "skip", "skip")], reviewer="alice", state_dir=tmp_path)
    assert len(r.added) == 2
    log1 = (tmp_path / "decisions_log.csv").read_bytes()
    again = record_decisions([_d("01001", "USA.1.1_1")], reviewer="bob", state_dir=tmp_path)
    assert len(again.unchanged) == 1 and (tmp_path / "decisions_log.csv").read_bytes() == log1
    with pytest.raises(GeolookupError, match="already decided as USA.1.1_1 by alice"):
        record_decisions([_d("01001", "USA.1.2_1")], reviewer="bob", state_dir=tmp_path)
    assert load_decisions(tmp_path).set_index("provider_key").loc["01001", "gid"] == "USA.1.1_1"
    record_decisions([_d("01001", "USA.1.2_1", note="wrong county")], reviewer="bob", force=True, state_dir=tmp_path)
    log = load_log(tmp_path)
    assert list(log["action"]) == ["set", "set", "change"]
    assert (log.iloc[-1]["old_value"], log.iloc[-1]["new_value"], log.iloc[-1]["note"]) == ("USA.1.1_1", "USA.1.2_1", "wrong county")


def test_current_state_rebuilt_from_log_when_table_lost(tmp_path):
    record_decisions([_d("01001", "USA.1.1_1"), _d("01003", "USA.1.2_1")], reviewer="a", state_dir=tmp_path)
    record_decisions([_d("01001", "USA.1.5_1")], reviewer="b", force=True, state_dir=tmp_path)
    before = load_decisions(tmp_path)
    (tmp_path / "decisions.csv").unlink()
    after = load_decisions(tmp_path)
    pd.testing.assert_frame_equal(before.sort_values("provider_key").reset_index(drop=True),
                                  after.sort_values("provider_key").reset_index(drop=True))


def test_apply_decisions_overrides_automatic_results(tmp_path):
    record_decisions([_d("01001", "USA.1.2_1"), _d("99999", "skip", "skip"),
                      _d("nyc", "composite:USA.33.3_1|USA.33.32_1", "composite", gid="USA.33.32_1",
                         gid_parts="USA.33.3_1|USA.33.32_1")], reviewer="a", state_dir=tmp_path)
    m = pd.DataFrame({"source": "nyt", "provider_key": ["01001", "99999", "nyc", "01003"],
                      "gid": ["USA.1.1_1", "", "", "USA.1.2_1"], "gid_parts": ["USA.1.1_1", "", "", "USA.1.2_1"],
                      "match_status": ["accepted", "unmatched", "review", "accepted"],
                      "match_score": [100.0, 10.0, 80.0, 100.0], "match_method": ["exact", "fuzzy", "fuzzy", "code"]})
    before = m.copy(deep=True)
    out = apply_decisions(m, state_dir=tmp_path)
    assert list(out["gid"]) == ["USA.1.2_1", "", "USA.33.32_1", "USA.1.2_1"]
    assert list(out["match_method"]) == ["manual", "manual", "manual", "code"]
    assert list(out["match_status"]) == ["accepted", "unmatched", "accepted", "accepted"]
    assert list(out["skipped"]) == [False, True, False, False] and out["skipped"].dtype == bool
    assert out.loc[2, "gid_parts"] == "USA.33.3_1|USA.33.32_1" and out["match_score"].tolist()[:3] == [100.0] * 3
    pd.testing.assert_frame_equal(m, before)  # the caller's frame is not modified in place
    m2 = m.assign(provider_key=[1001, 99999, "nyc", 1003])  # keys that lost their zeros do not match "01001"
    assert apply_decisions(m2, state_dir=tmp_path)["match_method"].iloc[0] == "exact"


# Cell text: any characters, often starting with the ones spreadsheets treat specially (formula
# starters and the guard apostrophe itself), since that is where encoding can go wrong.
_any = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_cell = st.tuples(st.text(alphabet="'=+-@\t\r\"", max_size=3), _any).map(lambda t: (t[0] + t[1]).strip())


@given(_cell)
def test_code_cells_round_trip(value):
    assert decode_cell(encode_code(value)) == value
    assert decode_cell(guard_text(value)) == value
    # what a spreadsheet would run as a formula never leaves guard_text unguarded
    assert not guard_text(value).startswith(("=", "+", "-", "@"))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(_cell, _cell), min_size=1, max_size=5), st.sampled_from([",", ";"]))
def test_sheet_file_round_trip(tmp_path_factory, rows, sep):
    """write_sheet -> read_sheet gives every text cell back (BOM, CRLF, either separator)."""
    path = tmp_path_factory.mktemp("sheet") / "q.csv"
    df = pd.DataFrame({"provider_key": [r[0] for r in rows], "name": [r[1] for r in rows]}, dtype=object)
    write_sheet(df, path, sep=sep)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") >= len(rows) + 1
    back = read_sheet(path, required=["provider_key", "name"])
    assert back["provider_key"].tolist() == df["provider_key"].tolist()
    assert back["name"].tolist() == df["name"].tolist()


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)"])
def test_formula_injection_is_neutralised(name):
    assert guard_text(name).startswith("'") and decode_cell(guard_text(name)) == name


def test_cli_import_lists_every_row_error(tmp_path, data_root, capsys):
    q = tmp_path / "q.csv"
    q.write_text("iso3;source;provider_key;gadm_level;decision\r\nUSA;nyt;01001;2;USA.1.999_1\r\n"
                 "USA;nyt;01003;2;bogus\r\nUSA;nyt;01005;2;\r\n", encoding="utf-8-sig")
    code, _, _ = run_cli(capsys, "review", "import", q, "--state-dir", tmp_path / "s", "--data-dir", data_root)
    assert code == 1
    assert not (tmp_path / "s" / "decisions.csv").exists()


def test_cli_import_error_output(tmp_path, data_root, capsys):
    q = tmp_path / "q.csv"
    q.write_text("iso3,source,provider_key,gadm_level,decision\nUSA,nyt,01001,2,USA.1.999_1\nUSA,nyt,01003,2,bogus\n",
                 encoding="utf-8")
    code, _, err = run_cli(capsys, "review", "import", q, "--state-dir", tmp_path / "s", "--data-dir", data_root)
    assert code == 1 and "row 2, column 'decision': USA.1.999_1 is not a GADM 3.6 GID" in err and "row 3, column 'decision': decision 'bogus'" in err
    assert "header = row 1" in err and "Traceback" not in err


def test_damaged_decisions_file_is_rebuilt_from_the_log(tmp_path, caplog):
    record_decisions([_d("01001", "USA.1.1_1")], reviewer="a", state_dir=tmp_path)
    table = tmp_path / "decisions.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    table.write_text("".join(lines + lines[1:]), encoding="utf-8")  # the same entity twice
    with caplog.at_level("WARNING"):
        assert load_decisions(tmp_path)["gid"].tolist() == ["USA.1.1_1"]
    assert "rebuilt from the log" in caplog.text
    table.unlink()  # the log alone rebuilds the current state
    assert load_decisions(tmp_path)["gid"].tolist() == ["USA.1.1_1"]
