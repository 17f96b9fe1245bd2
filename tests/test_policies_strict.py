"""`geolookup policies` refuses inputs that would publish a wrong or empty value, never writes over its
inputs, writes CSV identical to pandas' text, and adds a `policy` table to a lookup.sqlite."""

from __future__ import annotations

import csv
import sqlite3

import numpy as np
import pandas as pd
import pytest

from geolookup.lookup.policies import read_oxcgrt
from geolookup.lookup.policies.output import write_csv
from geolookup.core.errors import InputError
from clihelp import assert_one_line_error, run_cli

US_FILE = "OxCGRT_US_subnational_05Aug2020.csv"
ALLOW = ["--allow-missing", "H6", "--allow-missing", "H7", "--allow-missing", "H8"]


@pytest.fixture(scope="module")
def us_rows(data_root):
    """The real US file as rows of cells; ``[0]`` is the header. Only the first 400 data rows (Rhode Island,
    national rows follow later) keep the tests fast."""
    with open(data_root / "oxcgrt" / US_FILE, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    nat = [r for r in rows[1:] if r[3] == ""][:60]
    return [rows[0]] + rows[1:300] + nat


@pytest.fixture
def lookup(data_root, tmp_path):
    ref = pd.read_csv(data_root / "reference/covid19datahub/USA.csv", dtype=str, keep_default_na=False)
    folder = tmp_path / "lookup"
    folder.mkdir()
    ref[ref["administrative_area_level"].isin(["", "1", "2"])].to_csv(folder / "USA.csv", index=False)
    return folder


def _write(rows, path, sep=","):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=sep, lineterminator="\n").writerows(rows)
    return path


def _edit(rows, column, value, row=1):
    out = [list(r) for r in rows]
    out[row][rows[0].index(column)] = value
    return out


def _run(capsys, lookup, oxcgrt, out, *extra):
    return run_cli(capsys, "policies", "--level", "2", "--lookup", lookup, "--oxcgrt", oxcgrt, *extra, "-o", out)


def test_missing_indicator_column_is_refused_unless_allowed(capsys, lookup, us_rows, tmp_path):
    src = _write(us_rows, tmp_path / "us.csv")
    code, _, err = _run(capsys, lookup, src, tmp_path / "o.csv")
    assert_one_line_error(code, err, "H6", "facial_coverings", "--allow-missing H6")
    assert not (tmp_path / "o.csv").exists()
    code, _, err = _run(capsys, lookup, src, tmp_path / "o.csv", *ALLOW)
    assert code == 0, err
    out = pd.read_csv(tmp_path / "o.csv")
    assert out["facial_coverings"].isna().all() and out["school_closing"].notna().any()


def test_missing_legacy_indicator_file_or_flag_file_is_refused(data_root, tmp_path):
    from geolookup.lookup.policies.table import indicators
    from geolookup.lookup.policies.values import require_indicators

    legacy = data_root / "oxcgrt" / "legacy_timeseries"
    others = [i["code"] or i["column"] for i in indicators() if i["code"] not in ("C1", "C2")]
    folder = tmp_path / "legacy"
    folder.mkdir()
    for name in ("c1_school_closing.csv", "c1_flag.csv"):  # c2_workplace_closing.csv left out
        (folder / name).symlink_to(legacy / name)
    long = read_oxcgrt([folder])
    with pytest.raises(InputError, match=r"indicator C2 \(workplace_closing\) is missing: no input file has this "
                                         r"indicator; .*--allow-missing C2"):
        require_indicators(long, others)
    assert "workplace_closing" in require_indicators(long, [*others, "c2"])
    (folder / "c1_flag.csv").unlink()  # the values without their flags would all read as targeted
    with pytest.raises(InputError, match=r"indicator C1_Flag \(school_closing_flag\) is missing: "
                                         r"c1_school_closing.csv records school_closing but none of its flags"):
        require_indicators(read_oxcgrt([folder]), [*others, "C2"])


@pytest.mark.parametrize("column, value, fragment", [
    ("C1_School closing", "7", "'7' is outside OxCGRT's codebook for this column (whole numbers 0-3)"),
    ("C3_Cancel public events", "3", "(whole numbers 0-2)"),
    ("C1_Flag", "2", "(whole numbers 0-1)"),
    ("C1_School closing", "1,5", "'1,5' is outside OxCGRT's codebook"),  # a decimal comma is no policy level
    ("StringencyIndex", "1,234.5", "not a number with one decimal comma or point"),
    ("StringencyIndex", "101", "(numbers 0-100)"),
])
def test_values_outside_the_codebook_name_file_row_column(capsys, lookup, us_rows, tmp_path, column, value, fragment):
    src = _write(_edit(us_rows, column, value, row=5), tmp_path / "us.csv", sep=";")
    code, _, err = _run(capsys, lookup, src, tmp_path / "o.csv", *ALLOW)
    assert_one_line_error(code, err, f"us.csv, row 6, column '{column}'", fragment)
    assert not (tmp_path / "o.csv").exists()


def test_unambiguous_decimal_comma_is_read(us_rows, tmp_path):
    src = _write(_edit(us_rows, "StringencyIndex", "45,5", row=5), tmp_path / "us.csv", sep=";")
    long = read_oxcgrt([src])
    assert long["stringency_index"].iat[4] == 45.5


def test_dates_in_published_formats_only(us_rows, tmp_path, data_root):
    iso = [list(r) for r in us_rows]
    d = us_rows[0].index("Date")
    for r in iso[1:]:
        r[d] = f"{r[d][:4]}-{r[d][4:6]}-{r[d][6:]}"
    a = read_oxcgrt([_write(us_rows, tmp_path / "a.csv")]).drop(columns="source_file")
    b = read_oxcgrt([_write(iso, tmp_path / "b.csv")]).drop(columns="source_file")
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(InputError, match=r"row 3, column 'Date'.*'2020/01/02' is not a date"):
        read_oxcgrt([_write(_edit(us_rows, "Date", "2020/01/02", row=2), tmp_path / "c.csv")])
    # wide files: 01Jan2020 or ISO day headers; another format is refused, not dropped
    with open(data_root / "oxcgrt/legacy_timeseries/c1_school_closing.csv", encoding="utf-8", newline="") as fh:
        wide = [r[:40] for r in list(csv.reader(fh))[:21]]
    iso_wide = [[pd.to_datetime(c, format="%d%b%Y").strftime("%Y-%m-%d") if c[:2].isdigit() else c
                 for c in wide[0]]] + wide[1:]
    us_style = [[("1/4/2020" if c == "04Jan2020" else c) for c in wide[0]]] + wide[1:]
    for name, rows in (("w1", wide), ("w2", iso_wide), ("w3", us_style)):
        (tmp_path / name).mkdir()
        _write(rows, tmp_path / name / "c1_school_closing.csv")
    got1, got2 = read_oxcgrt([tmp_path / "w1"]), read_oxcgrt([tmp_path / "w2"])
    assert len(got1) == len(got2) > 0 and (got1["date"].to_numpy() == got2["date"].to_numpy()).all()
    with pytest.raises(InputError, match=r"row 1, column '1/4/2020'.*not a day in a format OxCGRT published"):
        read_oxcgrt([tmp_path / "w3"])


def test_header_without_rows_is_refused(capsys, lookup, us_rows, tmp_path):
    src = _write(us_rows[:1], tmp_path / "us.csv")
    code, _, err = _run(capsys, lookup, src, tmp_path / "o.csv", *ALLOW)
    assert_one_line_error(code, err, "us.csv", "a header and no data rows")
    assert not (tmp_path / "o.csv").exists()


def test_output_equal_to_an_input_is_refused(capsys, lookup, us_rows, tmp_path):
    src = _write(us_rows, tmp_path / "us.csv")
    before = src.read_bytes()
    code, _, err = _run(capsys, lookup, src, tmp_path / "." / "us.csv", *ALLOW)
    assert_one_line_error(code, err, "names an input of this command")
    assert src.read_bytes() == before
    lookup_csv = lookup / "USA.csv"
    before = lookup_csv.read_bytes()
    code, _, err = _run(capsys, lookup, src, lookup_csv, *ALLOW)  # the lookup folder's own table
    assert_one_line_error(code, err, "names an input of this command", "USA.csv")
    assert lookup_csv.read_bytes() == before


def test_csv_text_is_what_pandas_wrote(us_rows, lookup, tmp_path):
    """The pyarrow writer's text equals DataFrame.to_csv's: quoting, empty values, dates, booleans, floats."""
    from geolookup.lookup.policies import build_policies

    real = build_policies(lookup, [_write(us_rows, tmp_path / "us.csv")], 2, allow_missing=["H6", "H7", "H8"])
    crafted = pd.DataFrame({
        "id": pd.Categorical(["a", "b,c", 'd"e', "f\ng"]),
        "date": pd.to_datetime(["2020-01-01", "2020-02-29", "2021-12-31", "2022-06-30"]),
        "value": [3.0, -2.0, np.nan, 45.37], "tiny": [1e-5, 1e20, 0.0, 1e15],
        "flag": [True, False, True, False], "targeted": pd.array([True, None, False, None], dtype="boolean"),
        "source": pd.Categorical(["US_CA", "USA", None, "US_CA"]), "n": [1, 2, 3, 4],
    })
    for df in (real, crafted):
        write_csv(df, tmp_path / "arrow.csv")
        df.to_csv(tmp_path / "pandas.csv", index=False, date_format="%Y-%m-%d", encoding="utf-8")
        assert (tmp_path / "arrow.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    assert len(real) > 100


def test_sqlite_output_adds_a_policy_table_joining_location(capsys, data_root, us_rows, tmp_path):
    ref = pd.read_csv(data_root / "reference/covid19datahub/USA.csv", dtype=str, keep_default_na=False)
    db = tmp_path / "lookup.sqlite"
    with sqlite3.connect(db) as con:
        ref.to_sql("location", con, index=False)
    src = _write(us_rows, tmp_path / "us.csv")
    for _ in range(2):  # a second run replaces the table, it does not add rows
        code, _, err = run_cli(capsys, "policies", "--level", "2", "--lookup", db, "--oxcgrt", src, *ALLOW, "-o", db)
        assert code == 0, err
    with sqlite3.connect(db) as con:
        n_loc = con.execute("SELECT count(*) FROM location").fetchone()[0]
        pol = pd.read_sql_query("SELECT * FROM policy", con)
        joined = pd.read_sql_query("SELECT l.administrative_area_level_2 AS state, p.date, p.school_closing "
                                   "FROM policy p JOIN location l ON l.id = p.id "
                                   "WHERE l.\"id_github.oxcgrt.covidpolicytracker\" = 'US_RI'", con)
    assert n_loc == len(ref)
    assert not pol.duplicated(["id", "date"]).any() and set(pol["id"]) <= set(ref["id"])
    assert len(joined) and set(joined["state"]) == {"Rhode Island"}
    assert pol["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
