"""`geolookup policies` end to end, lookup readers (CSV folder, SQLite) and per-day fallback."""

from __future__ import annotations

import csv
import shutil
import sqlite3

import pandas as pd
import pytest

from geolookup.cli import main
from geolookup.errors import InputError
from lookup.policies import build_policies, candidates, read_lookup

US_FILE = "OxCGRT_US_subnational_05Aug2020.csv"


def _rows(path):
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
        raise SystemExit(0)
    return exc.value.code, capsys.readouterr()


@pytest.fixture
def ref(data_root):
    return data_root / "reference" / "covid19datahub"


def test_cli_csv_level2(ref, data_root, tmp_path, capsys):
    lookup = tmp_path / "lookup"
    lookup.mkdir()
    shutil.copy(ref / "USA.csv", lookup / "USA.csv")
    out = tmp_path / "out.csv"
    code, io = _run(["policies", "--level", "2", "--lookup", str(lookup), "--oxcgrt",
                     str(data_root / "oxcgrt" / US_FILE), "-o", str(out)], capsys)
    assert code == 0, io.err
    assert "of 56 level-2 locations" in io.err
    df = pd.read_csv(out, dtype={"id": str})
    assert df.groupby("id").size().max() == 218
    ca = df[(df["policy_source"] == "US_CA") & (df["date"] == "2020-04-15")].iloc[0]
    assert ca["school_closing"] == -3.0 and ca["school_closing_targeted"] == True  # noqa: E712
    assert not (df.select_dtypes("number").astype(str) == "-0.0").any().any()


def test_cli_parquet_from_sqlite_lookup_level3(ref, data_root, tmp_path, capsys):
    db = tmp_path / "lookup.sqlite"
    with sqlite3.connect(db) as con:
        pd.read_csv(ref / "USA.csv", dtype=str, keep_default_na=False).to_sql("location", con, index=False)
    out = tmp_path / "out.parquet"
    code, io = _run(["policies", "--level", "3", "--lookup", str(db), "--oxcgrt",
                     str(data_root / "oxcgrt" / US_FILE), "-o", str(out)], capsys)
    assert code == 0, io.err
    df = pd.read_parquet(out)
    assert df["id"].nunique() == 3221 and df["policy_inherited"].all()
    assert (df["stringency_index"].dropna() <= 0).all()


def test_cli_errors_are_one_line(ref, data_root, tmp_path, capsys):
    code, io = _run(["policies", "--level", "2", "--lookup", str(ref), "--oxcgrt",
                     str(data_root / "oxcgrt" / US_FILE), "-o", str(tmp_path / "out.xlsx")], capsys)
    assert code == 1 and io.err.startswith("error: ") and io.err.count("\n") == 1
    code, io = _run(["policies", "--level", "2", "--lookup", str(ref), "--oxcgrt",
                     str(ref / "USA.csv"), "-o", str(tmp_path / "out.csv")], capsys)
    assert code == 1 and "not an OxCGRT table" in io.err and not (tmp_path / "out.csv").exists()


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
    with pytest.raises(InputError, match=r"USA.csv, row 3, column 'id'.*twice"):
        candidates(read_lookup(tmp_path), 2)
    with pytest.raises(InputError, match="no row with administrative_area_level 3"):
        candidates(read_lookup(tmp_path), 3)
    df.drop(columns=["administrative_area_level"]).to_csv(tmp_path / "USA.csv", index=False)
    with pytest.raises(InputError, match="missing column.*administrative_area_level"):
        read_lookup(tmp_path)
