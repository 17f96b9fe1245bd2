"""Sign convention, inheritance and index negation, hand-checked against REAL rows of the OxCGRT US file.

Expected values are read from the raw CSV with the csv module inside each test (never from our output);
the literal values quoted in comments were read by hand from OxCGRT_US_subnational_05Aug2020.csv.
"""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geolookup.lookup.policies import build_policies, signed_values

US_FILE = "OxCGRT_US_subnational_05Aug2020.csv"
US_LACKS = ("H6", "H7", "H8")  # the 2020 file predates these indicators
# our column -> the raw OxCGRT column, written out here independently of lookup/policies/indicators.csv
RAW = {
    "school_closing": "C1_School closing", "workplace_closing": "C2_Workplace closing",
    "cancel_events": "C3_Cancel public events", "gatherings_restrictions": "C4_Restrictions on gatherings",
    "transport_closing": "C5_Close public transport", "stay_home_restrictions": "C6_Stay at home requirements",
    "internal_movement_restrictions": "C7_Restrictions on internal movement",
    "international_movement_restrictions": "C8_International travel controls",
    "information_campaigns": "H1_Public information campaigns", "testing_policy": "H2_Testing policy",
    "contact_tracing": "H3_Contact tracing", "stringency_index": "StringencyIndex",
    "government_response_index": "GovernmentResponseIndex", "containment_health_index": "ContainmentHealthIndex",
    "economic_support_index": "EconomicSupportIndex",
}


@pytest.fixture(scope="module")
def raw_us(data_root):
    with open(data_root / "oxcgrt" / US_FILE, encoding="utf-8") as fh:
        return {(r["RegionCode"], r["Date"]): r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def usa_csv(data_root):
    return data_root / "reference" / "covid19datahub" / "USA.csv"


@pytest.fixture(scope="module")
def level2(data_root, usa_csv):
    return build_policies(usa_csv, [data_root / "oxcgrt" / US_FILE], 2, allow_missing=US_LACKS)


@pytest.fixture(scope="module")
def level3(data_root, usa_csv):
    return build_policies(usa_csv, [data_root / "oxcgrt" / US_FILE], 3, allow_missing=US_LACKS)


@pytest.fixture(scope="module")
def lookup_rows(usa_csv):
    with open(usa_csv, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _id(rows, level, **match):
    hits = [r["id"] for r in rows if r["administrative_area_level"] == str(level)
            and all(r[k] == v for k, v in match.items())]
    assert len(hits) == 1, match
    return hits[0]


def _row(table, loc_id, day):
    got = table[(table["id"] == loc_id) & (table["date"] == pd.Timestamp(day))]
    assert len(got) == 1
    return got.iloc[0]


def test_state_with_own_targeted_measure(level2, raw_us, lookup_rows):
    raw = raw_us[("US_CA", "20200415")]
    assert raw["C1_School closing"] == "3" and raw["C1_Flag"] == "0"  # targeted school closing, by hand
    row = _row(level2, _id(lookup_rows, 2, **{"id_github.oxcgrt.covidpolicytracker": "US_CA"}), "2020-04-15")
    assert row["school_closing"] == -float(raw["C1_School closing"])
    assert bool(row["school_closing_targeted"]) is True
    assert raw["C6_Flag"] == "1"
    assert row["stay_home_restrictions"] == float(raw["C6_Stay at home requirements"])
    assert bool(row["stay_home_restrictions_targeted"]) is False
    # own rows at level 2: indices kept as they are
    assert row["stringency_index"] == float(raw["StringencyIndex"]) == 75.0
    assert row["policy_source"] == "US_CA" and bool(row["policy_inherited"]) is False


def test_state_inheriting_general_national_measure(level2, raw_us, lookup_rows):
    assert not any(k[0] == "US_PR" for k in raw_us)  # OxCGRT has no Puerto Rico rows in this file
    nat = raw_us[("", "20200415")]
    assert nat["Jurisdiction"] == "NAT_GOV"
    assert nat["C1_School closing"] == "1" and nat["C1_Flag"] == "1"  # general national measure
    row = _row(level2, _id(lookup_rows, 2, administrative_area_level_2="Puerto Rico"), "2020-04-15")
    assert row["school_closing"] == float(nat["C1_School closing"]) > 0
    assert row["information_campaigns"] == float(nat["H1_Public information campaigns"])
    assert row["policy_source"] == "USA" and bool(row["policy_inherited"]) is True
    # inherited from the nation at level 2: indices negated
    assert row["stringency_index"] == -float(nat["StringencyIndex"]) == -41.67


def test_level3_indices_always_negated(level3, raw_us, lookup_rows):
    raw = raw_us[("US_CA", "20200415")]
    loc = _id(lookup_rows, 3, administrative_area_level_2="California", administrative_area_level_3="Los Angeles")
    row = _row(level3, loc, "2020-04-15")
    assert row["policy_source"] == "US_CA" and bool(row["policy_inherited"]) is True
    for col in ("stringency_index", "government_response_index", "containment_health_index"):
        assert row[col] == -float(raw[RAW[col]])
    assert row["school_closing"] == -3.0  # the state's targeted measure reaches the county, sign kept
    assert ((level3["stringency_index"] <= 0) | level3["stringency_index"].isna()).all()
    assert level3["policy_inherited"].all()


def test_missing_flag_counts_as_targeted_and_zero_stays_zero(level2, raw_us, lookup_rows, data_root, usa_csv, tmp_path):
    nat = raw_us[("", "20200415")]
    assert nat["C4_Restrictions on gatherings"] == "0" and nat["C4_Flag"] == ""  # real missing flag on a 0
    row = _row(level2, _id(lookup_rows, 2, administrative_area_level_2="Puerto Rico"), "2020-04-15")
    assert row["gatherings_restrictions"] == 0.0 and not np.signbit(row["gatherings_restrictions"])
    assert bool(row["gatherings_restrictions_targeted"]) is False
    # the same real file with one real flag blanked: a general measure (C6 = 2, flag 1) becomes targeted
    src = data_root / "oxcgrt" / US_FILE
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    fpos = header.index("C6_Flag")
    for i, line in enumerate(lines):
        cells = next(csv.reader([line]))
        if cells[header.index("RegionCode")] == "US_CA" and cells[header.index("Date")] == "20200415":
            assert cells[fpos] == "1"
            cells[fpos] = ""
            out = []
            csv.writer(_Sink(out), lineterminator="\n").writerow(cells)
            lines[i] = out[0]
    edited = tmp_path / "us_blank_flag.csv"
    edited.write_text("".join(lines), encoding="utf-8")
    got = _row(build_policies(usa_csv, [edited], 2, allow_missing=US_LACKS),
               _id(lookup_rows, 2, **{"id_github.oxcgrt.covidpolicytracker": "US_CA"}), "2020-04-15")
    assert got["stay_home_restrictions"] == -2.0 and bool(got["stay_home_restrictions_targeted"]) is True


class _Sink:
    def __init__(self, out):
        self.out = out

    def write(self, s):
        self.out.append(s)


def test_policy_without_flag_is_general(level2, raw_us, lookup_rows):
    raw = raw_us[("US_CA", "20200415")]
    assert "H2_Flag" not in raw and "C8_Flag" not in raw  # OxCGRT ships no flag for H2 and C8
    assert raw["H2_Testing policy"] == "1" and raw["C8_International travel controls"] == "1"
    row = _row(level2, _id(lookup_rows, 2, **{"id_github.oxcgrt.covidpolicytracker": "US_CA"}), "2020-04-15")
    assert row["testing_policy"] == 1.0 and row["international_movement_restrictions"] == 1.0
    assert bool(row["testing_policy_targeted"]) is False


def test_no_negative_zero_anywhere(level3):
    numeric = level3.select_dtypes("float64").to_numpy()
    assert not np.signbit(numeric[numeric == 0]).any()


def test_h7_flag_is_ignored(data_root, tmp_path):
    """H7's flag is a cost flag (0 = at cost), not a scope flag: vaccination_policy is never negative."""
    from geolookup.lookup.policies import read_oxcgrt, source_table

    folder = data_root / "oxcgrt" / "legacy_timeseries"
    for name in ("h7_vaccination_policy.csv", "h7_flag.csv"):
        shutil.copy(folder / name, tmp_path / name)
    long = read_oxcgrt([tmp_path])
    paid = (long["vaccination_policy"] > 0) & (long["vaccination_policy_flag"] == 0)
    assert paid.sum() > 0  # real rows where OxCGRT says the vaccine costs the individual
    src = source_table(long)
    assert np.nanmin(src.values["vaccination_policy"]) >= 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, np.nan]),
                          st.sampled_from([0.0, 1.0, np.nan]), st.booleans()), min_size=1, max_size=40))
def test_signed_value_property(cells):
    values, flags, scoped = (np.array(x) for x in zip(*cells))
    for scope_flag in (True, False):
        out = signed_values(values, flags, scope_flag)
        np.testing.assert_array_equal(np.abs(out), values)  # |value| is always OxCGRT's raw value
        assert not np.signbit(out[out == 0]).any()
        negative = (values > 0) & (np.nan_to_num(flags) == 0) & scope_flag
        np.testing.assert_array_equal(out < 0, negative)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_abs_value_equals_raw_oxcgrt_value(level3, raw_us, data):
    """Any output row, any column: |value| equals the raw OxCGRT cell of its policy_source and date."""
    i = data.draw(st.integers(0, len(level3) - 1))
    col = data.draw(st.sampled_from(sorted(RAW)))
    row = level3.iloc[i]
    src = "" if row["policy_source"] == "USA" else row["policy_source"]
    raw = raw_us[(src, row["date"].strftime("%Y%m%d"))][RAW[col]]
    if raw == "":
        assert np.isnan(row[col])
    else:
        assert abs(row[col]) == float(raw)
