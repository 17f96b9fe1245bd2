"""Readers for every OxCGRT layout, checked against the raw files read with the csv module."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from geolookup.core.errors import InputError
from geolookup.lookup.policies import read_oxcgrt, source_table


#: README: the legacy national timeseries run 01Jan2020-20Feb2023, one column per day.
README_DAYS = pd.date_range("2020-01-01", "2023-02-20", freq="D")


def _raw(path):
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def ox(data_root):
    return data_root / "oxcgrt"


@pytest.fixture(scope="module")
def legacy_folder(ox):
    return read_oxcgrt([ox / "legacy_timeseries"])


def _value(src, key, national, col, day):
    i = src.index_of([key], national)[0]
    assert i >= 0, key
    j = int(np.searchsorted(src.dates, np.datetime64(day, "ns")))
    return src.values[col][i, j]


def test_legacy_long_us(ox):
    long = read_oxcgrt([ox / "OxCGRT_US_subnational_05Aug2020.csv"])
    assert long["date"].dtype == "datetime64[ns]"
    assert set(long["jurisdiction"]) == {"NAT_GOV", "STATE_ALL"}
    nat = long[long["scope"] == "national"]
    assert set(nat["region_code"]) == {""} and set(nat["country_code"]) == {"USA"}
    raw = _raw(ox / "OxCGRT_US_subnational_05Aug2020.csv")
    src = source_table(long)
    assert src.national.sum() == 1
    assert sorted(src.keys[~src.national]) == sorted({r["RegionCode"] for r in raw if r["RegionCode"]})
    dates = sorted({r["Date"] for r in raw})
    assert len(src.dates) == len(dates) and str(src.dates[0])[:10].replace("-", "") == dates[0]


def test_legacy_wide_national_timeseries(ox, legacy_folder):
    long = legacy_folder
    assert set(long["scope"]) == {"national"} and long["country_code"].nunique() == 187  # README
    header = next(csv.reader(open(ox / "legacy_timeseries" / "c1_school_closing.csv", encoding="utf-8")))
    assert [c for c in header if c[:2].isdigit()] == [d.strftime("%d%b%Y") for d in README_DAYS]
    rows = {r["country_code"]: r for r in _raw(ox / "legacy_timeseries" / "c1_school_closing.csv")}
    flags = {r["country_code"]: r for r in _raw(ox / "legacy_timeseries" / "c1_flag.csv")}
    ita = long[(long["country_code"] == "ITA") & (long["date"] == pd.Timestamp("2020-11-15"))].iloc[0]
    assert ita["school_closing"] == float(rows["ITA"]["15Nov2020"])
    assert ita["school_closing_flag"] == float(flags["ITA"]["15Nov2020"])
    src = source_table(long)
    assert len(src.dates) == len(README_DAYS)
    sign = 1 if flags["ITA"]["15Nov2020"] == "1" else -1
    assert _value(src, "ITA", True, "school_closing", "2020-11-15") == sign * float(rows["ITA"]["15Nov2020"])


def test_v1_gbr_national_is_not_a_nation(ox):
    path = ox / "OxCGRT_fullwithnotes_GBR_v1.csv"
    src = source_table(read_oxcgrt([path]))
    assert sorted(src.keys[~src.national]) == ["UK_ENG", "UK_NIR", "UK_SCO", "UK_WAL"]
    assert list(src.keys[src.national]) == ["GBR"]
    raw = _raw(path)
    nat = next(r for r in raw if r["Jurisdiction"] == "NAT_TOTAL" and r["Date"] == "20210115")
    sco = next(r for r in raw if r["RegionCode"] == "UK_SCO" and r["Date"] == "20210115")
    sign = lambda r: 1 if r["C1M_Flag"] == "1" else -1  # noqa: E731
    assert _value(src, "GBR", True, "school_closing", "2021-01-15") == sign(nat) * float(nat["C1M_School closing"])
    assert _value(src, "UK_SCO", False, "school_closing", "2021-01-15") == sign(sco) * float(sco["C1M_School closing"])
    assert _value(src, "GBR", True, "stringency_index", "2021-01-15") == float(nat["StringencyIndex_WeightedAverage"])


def test_v1_raw_gbr_prefers_nat_total_and_derives_majority_columns(ox):
    path = ox / "OxCGRT_raw_GBR_v1.csv"
    long = read_oxcgrt([path])
    assert "NAT_TOTAL" not in set(long["region_code"])  # the RegionCode 'NAT_TOTAL' rows are national
    src = source_table(long)
    assert sorted(src.keys[~src.national]) == ["UK_ENG", "UK_NIR", "UK_SCO", "UK_WAL"]
    raw = _raw(path)
    by = {(r["Jurisdiction"], r["Date"]): r for r in raw if r["Jurisdiction"].startswith("NAT_")}
    day = next(d for (j, d), r in by.items() if j == "NAT_TOTAL"
               and r["StringencyIndex_WeightedAverage"] != by[("NAT_GOV", d)]["StringencyIndex_WeightedAverage"])
    iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    assert _value(src, "GBR", True, "stringency_index", iso) == float(by[("NAT_TOTAL", day)]["StringencyIndex_WeightedAverage"])
    r = by[("NAT_TOTAL", "20210115")]
    assert r["C1E_School closing"] != ""  # M derives from E when E is recorded
    assert abs(_value(src, "GBR", True, "school_closing", "2021-01-15")) == float(r["C1E_School closing"])


def test_brazil_states_from_state_gov_rows_cities_feed_nothing(ox):
    path = ox / "OxCGRT_Brazil_FullDataset_20200611.csv"
    long = read_oxcgrt([path])
    assert set(long.loc[long["scope"] == "city", "city_code"]) == {
        r["CityCode"] for r in _raw(path) if r["CityCode"] != "STATE_GOV"}
    src = source_table(long)
    states = {r["RegionCode"] for r in _raw(path) if r["CityCode"] in ("STATE_GOV", "")}
    assert sorted(src.keys) == sorted(states) and not src.national.any()
    sp = next(r for r in _raw(path) if r["RegionCode"] == "BR_SP" and r["CityCode"] == "STATE_GOV"
              and r["Date"] == "20200420")
    sign = 1 if sp["C6_Flag"] == "1" else -1
    assert _value(src, "BR_SP", False, "stay_home_restrictions", "2020-04-20") == sign * float(
        sp["C6_Stay at home requirements"])


def test_v1_stringency_timeseries_and_2023_china(ox):
    src = source_table(read_oxcgrt([ox / "OxCGRT_timeseries_StringencyIndex_v1.csv"]))
    assert "AUS_NSW" in set(src.keys[~src.national]) and "AUS_1GSYD" not in set(src.keys)
    raw = next(r for r in _raw(ox / "OxCGRT_timeseries_StringencyIndex_v1.csv")
               if r["RegionCode"] == "AUS_NSW" and r["Jurisdiction"] == "STATE_TOTAL")
    assert _value(src, "AUS_NSW", False, "stringency_index", "2021-08-01") == float(raw["01Aug2021"])
    chn = read_oxcgrt([ox / "OxCGRT_withnotes_2023.csv"])
    assert set(chn["jurisdiction"]) == {"NAT_TOTAL", "STATE_TOTAL"}
    raw_chn = _raw(ox / "OxCGRT_withnotes_2023.csv")
    assert (chn["scope"] == "region").sum() == sum(r["Jurisdiction"] == "STATE_TOTAL" for r in raw_chn)
    assert (chn["scope"] == "national").sum() == sum(r["Jurisdiction"] == "NAT_TOTAL" for r in raw_chn)


def test_later_rank_wins_and_files_combine(ox, legacy_folder):
    us = ox / "OxCGRT_US_subnational_05Aug2020.csv"
    both = source_table(read_oxcgrt([ox / "legacy_timeseries", us]))
    regions = {r["RegionCode"] for r in _raw(us) if r["RegionCode"]}
    assert both.national.sum() == 187 and (~both.national).sum() == len(regions)  # README: 187 countries
    assert len(both.dates) == len(README_DAYS)  # the US file's days all lie within the national series


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("20200415", "15/04/2020", 1), "not a date in a format OxCGRT published"),
    (lambda t: t.replace(",STATE_ALL,", ",PROVINCE,", 1), "unknown jurisdiction"),
    (lambda t: t.replace("Date", "Day", 1), "not an OxCGRT table"),
    (lambda t: t.splitlines()[0] + "\n" + t.splitlines()[1] + "\n" + t.splitlines()[1] + "\n", "duplicate row"),
    (lambda t: "", "empty"),
])
def test_bad_long_files_give_one_line_errors(ox, tmp_path, edit, message):
    text = (ox / "OxCGRT_US_subnational_05Aug2020.csv").read_text(encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(edit(text), encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        read_oxcgrt([bad])
    assert "\n" not in str(err.value) and "bad.csv" in str(err.value)


def test_bad_number_names_row_and_column(ox, tmp_path):
    lines = (ox / "OxCGRT_US_subnational_05Aug2020.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",STATE_ALL,20200103,0,", ",STATE_ALL,20200103,x,", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 4, column 'C1_School closing'.*not a number"):
        read_oxcgrt([bad])


def test_folder_without_oxcgrt_tables(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="no OxCGRT table found"):
        read_oxcgrt([tmp_path])
    with pytest.raises(InputError, match="not found"):
        read_oxcgrt([tmp_path / "missing.csv"])
