"""`geolookup policies` end to end, lookup readers (CSV folder, SQLite) and per-day fallback."""

from __future__ import annotations

import csv
import shutil
import sqlite3

import pandas as pd
import pytest

from geolookup.core.errors import InputError
from geolookup.lookup.policies import build_policies, candidates, read_lookup
from clihelp import assert_one_line_error, run_cli

US_FILE = "OxCGRT_US_subnational_05Aug2020.csv"
# raw columns of the 14 policies and 4 indices we output (C1-C8, H1-H3, H6-H8; no E*, H4, H5; the
# indices themselves, not their *ForDisplay smoothing)
MEASURE_PREFIXES = (*(f"C{i}_" for i in range(1, 9)), "H1_", "H2_", "H3_", "H6_", "H7_", "H8_")
INDEX_COLUMNS = ("StringencyIndex", "GovernmentResponseIndex", "ContainmentHealthIndex", "EconomicSupportIndex")


def _rows(path):
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


#: the US 2020 file predates H6, H7 and H8: published empty on purpose
ALLOW = ["--allow-missing", "H6", "--allow-missing", "h7", "--allow-missing", "elderly_people_protection"]


@pytest.fixture
def ref(data_root):
    return data_root / "reference" / "covid19datahub"


def test_cli_csv_level2(ref, data_root, tmp_path, capsys):
    lookup = tmp_path / "lookup"
    lookup.mkdir()
    shutil.copy(ref / "USA.csv", lookup / "USA.csv")
    out = tmp_path / "out.csv"
    code, _, err = run_cli(capsys, "policies", "--level", "2", "--lookup", str(lookup), "--oxcgrt",
                           str(data_root / "oxcgrt" / US_FILE), *ALLOW, "-o", str(out))
    assert code == 0, err
    level2 = [r for r in _rows(ref / "USA.csv") if r["administrative_area_level"] == "2"]
    assert f"of {len(level2)} level-2 locations" in err
    df = pd.read_csv(out, dtype={"id": str})
    # a state gets a row for every day on which its own OxCGRT row or, failing that, the national
    # row records any of the 18 output measures (days with neither are left out)
    recorded = {(r["RegionCode"], r["Date"]) for r in _rows(data_root / "oxcgrt" / US_FILE)
                if any(r[c] != "" for c in r if c in INDEX_COLUMNS
                       or (c.startswith(MEASURE_PREFIXES) and not c.endswith(("_Flag", "_Notes"))))}
    nation_days = {d for code, d in recorded if code == ""}
    expected = {r["id"]: len(nation_days | {d for code, d in recorded if code == r["id_github.oxcgrt.covidpolicytracker"]})
                for r in level2}
    assert df.groupby("id").size().to_dict() == expected
    ca = df[(df["policy_source"] == "US_CA") & (df["date"] == "2020-04-15")].iloc[0]
    assert ca["school_closing"] == -3.0 and ca["school_closing_targeted"] == True  # noqa: E712
    assert not (df.select_dtypes("number").astype(str) == "-0.0").any().any()


def test_cli_parquet_from_sqlite_lookup_level3(ref, data_root, tmp_path, capsys):
    db = tmp_path / "lookup.sqlite"
    with sqlite3.connect(db) as con:
        pd.read_csv(ref / "USA.csv", dtype=str, keep_default_na=False).to_sql("location", con, index=False)
    out = tmp_path / "out.parquet"
    code, _, err = run_cli(capsys, "policies", "--level", "3", "--lookup", str(db), "--oxcgrt",
                           str(data_root / "oxcgrt" / US_FILE), *ALLOW, "-o", str(out))
    assert code == 0, err
    df = pd.read_parquet(out)
    level3 = {r["id"] for r in _rows(ref / "USA.csv") if r["administrative_area_level"] == "3"}
    assert set(df["id"]) == level3 and df["policy_inherited"].all()  # every county reaches the nation
    assert (df["stringency_index"].dropna() <= 0).all()


def test_cli_errors_are_one_line(ref, data_root, tmp_path, capsys):
    code, _, err = run_cli(capsys, "policies", "--level", "2", "--lookup", str(ref), "--oxcgrt",
                           str(data_root / "oxcgrt" / US_FILE), *ALLOW, "-o", str(tmp_path / "out.xlsx"))
    assert_one_line_error(code, err)
    code, _, err = run_cli(capsys, "policies", "--level", "2", "--lookup", str(ref), "--oxcgrt",
                           str(ref / "USA.csv"), "-o", str(tmp_path / "out.csv"))
    assert code == 1 and "not an OxCGRT table" in err and not (tmp_path / "out.csv").exists()


def test_level1_gbr_from_iso_csv_keeps_indices(ref, data_root, tmp_path):
    shutil.copy(ref / "ISO.csv", tmp_path / "ISO.csv")
    path = data_root / "oxcgrt" / "OxCGRT_fullwithnotes_GBR_v1.csv"
    df = build_policies(tmp_path, [path], 1)
    gbr = next(r["id"] for r in _rows(ref / "ISO.csv") if r["iso_alpha_3"] == "GBR")
    assert set(df["id"]) == {gbr} and set(df["policy_source"]) == {"GBR"}
    raw = next(r for r in _rows(path)
               if r["Jurisdiction"] == "NAT_TOTAL" and r["Date"] == "20210115")
    row = df[df["date"] == pd.Timestamp("2021-01-15")].iloc[0]
    assert row["stringency_index"] == float(raw["StringencyIndex_WeightedAverage"]) > 0
    assert not row["policy_inherited"]


def test_region_falls_back_to_nation_day_by_day(ref, data_root):
    df = build_policies(ref / "USA.csv", [data_root / "oxcgrt" / "legacy_timeseries",
                                          data_root / "oxcgrt" / US_FILE], 2)
    ca = df[df["id"] == next(r["id"] for r in _rows(ref / "USA.csv")
                             if r["id_github.oxcgrt.covidpolicytracker"] == "US_CA"
                             and r["administrative_area_level"] == "2")].set_index("date")
    # OxCGRT's US_CA row of 2020-08-05 records no value at all (every indicator cell empty): the nation's is used
    raw = next(r for r in _rows(data_root / "oxcgrt" / US_FILE)
               if r["RegionCode"] == "US_CA" and r["Date"] == "20200805")
    assert raw["C1_School closing"] == raw["StringencyIndex"] == ""
    assert ca.loc["2020-08-04", "policy_source"] == "US_CA" and not ca.loc["2020-08-04", "policy_inherited"]
    for day in ("2020-08-05", "2020-08-06", "2022-06-01"):
        assert ca.loc[day, "policy_source"] == "USA" and ca.loc[day, "policy_inherited"]
    assert ca.loc["2020-08-06", "stringency_index"] < 0 < ca.loc["2020-08-04", "stringency_index"]


def test_level3_region_found_by_level2_name_when_code_missing(ref, tmp_path):
    df = pd.read_csv(ref / "USA.csv", dtype=str, keep_default_na=False)
    lvl3 = df["administrative_area_level"] == "3"
    df.loc[lvl3, "id_github.oxcgrt.covidpolicytracker"] = ""
    df.to_csv(tmp_path / "USA.csv", index=False)
    locs = candidates(read_lookup(tmp_path), 3)
    la = df.loc[lvl3 & (df["administrative_area_level_3"] == "Los Angeles"), "id"].iloc[0]
    assert locs.set_index("id").loc[la, "region_code"] == "US_CA"


def test_lookup_errors(ref, tmp_path):
    df = pd.read_csv(ref / "USA.csv", dtype=str, keep_default_na=False)
    df.iloc[[1, 2, 2]].to_csv(tmp_path / "USA.csv", index=False)
    with pytest.raises(InputError, match=r"USA.csv, row 4, column 'id'.*twice"):
        candidates(read_lookup(tmp_path), 2)
    with pytest.raises(InputError, match="no row with administrative_area_level 3"):
        candidates(read_lookup(tmp_path), 3)
    df.drop(columns=["administrative_area_level"]).to_csv(tmp_path / "USA.csv", index=False)
    with pytest.raises(InputError, match="missing column.*administrative_area_level"):
        read_lookup(tmp_path)


def test_cli_bad_lookup_and_oxcgrt_files_are_one_line(ref, data_root, tmp_path, capsys):
    usa = pd.read_csv(ref / "USA.csv", dtype=str, keep_default_na=False)
    lookup = tmp_path / "lookup"
    lookup.mkdir()
    us = str(data_root / "oxcgrt" / US_FILE)
    out = tmp_path / "out.csv"
    run = lambda oxcgrt=us: run_cli(capsys, "policies", "--level", "2", "--lookup", lookup, "--oxcgrt", oxcgrt,  # noqa: E731
                                    *ALLOW, "-o", out)

    # a level that is not a Data Hub administrative_area_level; the placeholder row (row 2, after the header) counts
    bad = usa.copy()
    bad.loc[5, "administrative_area_level"] = "7"
    bad.to_csv(lookup / "USA.csv", index=False)
    code, _, err = run()
    assert_one_line_error(code, err, "USA.csv, row 7, column 'administrative_area_level'", "outside [1, 3]")
    bad.loc[5, "administrative_area_level"] = "2.5"
    bad.to_csv(lookup / "USA.csv", index=False)
    code, _, err = run()
    assert_one_line_error(code, err, "USA.csv, row 7", "not 1, 2 or 3")

    # a duplicate id at the requested level
    dup = usa[usa["administrative_area_level"].isin(["", "2"])]
    pd.concat([dup, dup.iloc[[3]]]).to_csv(lookup / "USA.csv", index=False)
    code, _, err = run()
    assert_one_line_error(code, err, f"row {len(dup) + 2}, column 'id'", "appears twice")

    # an empty lookup table and an empty OxCGRT file
    (lookup / "USA.csv").write_text("", encoding="utf-8")
    code, _, err = run()
    assert_one_line_error(code, err, "USA.csv", "file is empty")
    usa.to_csv(lookup / "USA.csv", index=False)
    empty = tmp_path / "ox.csv"
    empty.write_text("", encoding="utf-8")
    code, _, err = run(empty)
    assert_one_line_error(code, err, "ox.csv", "empty")
    assert not out.exists()


def test_cli_lookup_saved_by_excel(ref, data_root, tmp_path, capsys):
    """A lookup CSV re-saved by Excel (cp1252 or UTF-8 with BOM, ';', CRLF) gives the same policies."""
    usa = pd.read_csv(ref / "USA.csv", dtype=str, keep_default_na=False)
    level2 = usa[usa["administrative_area_level"].isin(["", "2"])]
    for name, enc, sep, nl in (("plain", "utf-8", ",", "\n"), ("excel", "cp1252", ";", "\r\n"),
                               ("bom", "utf-8-sig", ";", "\r\n")):
        folder = tmp_path / name
        folder.mkdir()
        level2.to_csv(folder / "USA.csv", index=False, sep=sep, encoding=enc, lineterminator=nl)
        code, _, err = run_cli(capsys, "policies", "--level", "2", "--lookup", str(folder), "--oxcgrt",
                               str(data_root / "oxcgrt" / US_FILE), *ALLOW, "-o", str(tmp_path / f"{name}.csv"))
        assert code == 0, err
    plain = (tmp_path / "plain.csv").read_bytes()
    assert plain == (tmp_path / "excel.csv").read_bytes() == (tmp_path / "bom.csv").read_bytes()
