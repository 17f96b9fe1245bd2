"""No command writes over one of its inputs, and `match` never overwrites the input's own columns."""

from __future__ import annotations

import pandas as pd

from geolookup.core.paths import same_file
from clihelp import assert_one_line_error, run_cli


def test_same_file_sees_through_spellings_and_links(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(f)
    assert same_file(f, tmp_path / "." / "a.csv") and same_file(f, tmp_path / "link.csv")
    assert not same_file(f, tmp_path / "b.csv")


def test_match_refuses_output_equal_to_input(tmp_path, data_root, capsys):
    src = tmp_path / "regions.csv"
    src.write_text("name\nLombardia\nPuglia\n", encoding="utf-8")
    before = src.read_bytes()
    code, _, err = run_cli(capsys, "match", src, "--country", "ITA", "--gadm-level", "1", "--name-col", "name",
                           "--data-dir", data_root, "--state-dir", tmp_path / "s", "-o", tmp_path / "." / "regions.csv")
    assert_one_line_error(code, err, "names an input of this command")
    assert src.read_bytes() == before


def test_match_refuses_to_overwrite_input_columns_and_suffix_renames(tmp_path, data_root, capsys):
    src = tmp_path / "regions.csv"
    src.write_text("name,gid,match_score\nLombardia,mine,7\nPuglia,also mine,8\n", encoding="utf-8")
    common = ["--country", "ITA", "--gadm-level", "1", "--name-col", "name", "--data-dir", data_root,
              "--state-dir", tmp_path / "s"]
    code, _, err = run_cli(capsys, "match", src, *common, "-o", tmp_path / "out.csv")
    assert_one_line_error(code, err, "regions.csv", "gid, match_score", "--suffix")
    assert not (tmp_path / "out.csv").exists()
    code, _, err = run_cli(capsys, "match", src, *common, "--suffix", "_m", "-o", tmp_path / "out.csv")
    assert code == 0, err
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out["gid"].tolist() == ["mine", "also mine"] and out["match_score"].tolist() == ["7", "8"]
    assert out["gid_m"].str.startswith("ITA.").all() and "match_status_m" in out.columns


def test_enrich_refuses_output_equal_to_input(tmp_path, capsys):
    src = tmp_path / "points.csv"
    src.write_text("lat,lon\n45.46,9.19\n", encoding="utf-8")
    before = src.read_bytes()
    code, _, err = run_cli(capsys, "enrich", src, "--lat-col", "lat", "--lon-col", "lon", "--no-nuts", "-o", src)
    assert_one_line_error(code, err, "names an input of this command")
    assert src.read_bytes() == before
