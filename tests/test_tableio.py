"""Reading spreadsheet-saved CSVs and writing atomically (geolookup.core.tableio)."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from geolookup.core.errors import InputError
from geolookup.core.tableio import (
    atomic_path,
    numeric_column,
    read_csv_text,
    write_csv_atomic,
    write_text_atomic,
)


def test_real_provider_file_keeps_leading_zeros(data_root):
    df = read_csv_text(data_root / "providers/nyt/live_us-counties_20201013.csv", required=["fips", "county"])
    assert df.loc[df["county"] == "Autauga", "fips"].iloc[0] == "01001"
    assert (df["fips"].str.len().isin([0, 5])).all()


@pytest.mark.parametrize(
    "encoding,sep,newline",
    [("utf-8-sig", ";", "\r\n"), ("utf-8", ",", "\n"), ("cp1252", ";", "\r\n"), ("latin-1", "\t", "\n")],
)
def test_excel_variants_read_the_same(tmp_path, encoding, sep, newline):
    rows = [["codice", "nome"], ["066", "L'Aquila"], ["001", "Forlì-Cesena"], ["002", "Bolzano; Bozen"]]
    text = newline.join(sep.join(f'"{c}"' if sep in c else c for c in r) for r in rows) + newline
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode(encoding))
    df = read_csv_text(path, required=["codice", "nome"])
    assert list(df["codice"]) == ["066", "001", "002"]
    assert list(df["nome"]) == ["L'Aquila", "Forlì-Cesena", "Bolzano; Bozen"]


def test_missing_column_names_file_and_columns(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError) as err:
        read_csv_text(path, required=["name"])
    msg = str(err.value)
    assert "x.csv" in msg and "name" in msg and "a, b" in msg and "\n" not in msg


@pytest.mark.parametrize("content", ["", "\n\n", "\ufeff"])
def test_empty_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_csv_text(path)


def test_duplicate_header_is_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("name,name\nx,y\n")
    with pytest.raises(InputError, match="duplicate column"):
        read_csv_text(path)


def test_numeric_column_errors_name_row_and_column():
    df = pd.DataFrame({"lat": ["45.1", "", "4O.2"]}, dtype=object)
    with pytest.raises(InputError) as err:
        numeric_column(df, "lat", "pts.csv", -90, 90)
    assert "pts.csv, row 4, column 'lat'" in str(err.value)
    df = pd.DataFrame({"lat": ["45,5", "", "91"]}, dtype=object)
    with pytest.raises(InputError, match="row 4.*outside"):
        numeric_column(df, "lat", "pts.csv", -90, 90)
    ok = numeric_column(df.iloc[:2], "lat", "pts.csv", -90, 90)
    assert ok.iloc[0] == 45.5 and pd.isna(ok.iloc[1])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-90, 90, allow_nan=False), min_size=1, max_size=20))
def test_numeric_column_round_trips_text(values):
    df = pd.DataFrame({"v": [repr(v) for v in values]}, dtype=object)
    assert list(numeric_column(df, "v", "f", -90, 90)) == values


def test_atomic_write_leaves_old_file_whole_on_crash(tmp_path):
    dest = tmp_path / "table.csv"
    dest.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert dest.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["table.csv"]
    write_csv_atomic(pd.DataFrame({"a": ["001"]}), dest)
    assert dest.read_text() == "a\n001\n"


# cells as curators type them: any printable text including separators, quotes and accents, and
# codes with leading zeros (never surrounding spaces: header names and cells are not trimmed equally)
_cell = st.one_of(st.from_regex(r"0[0-9]{1,5}", fullmatch=True),
                  st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="\x7f"),
                          max_size=12).map(str.strip))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(_cell, _cell), min_size=1, max_size=6),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]), sep=st.sampled_from([",", ";", "\t"]),
       newline=st.sampled_from(["\n", "\r\n"]))
def test_read_csv_text_round_trips_any_spreadsheet_save(tmp_path_factory, rows, encoding, sep, newline):
    """Property: what a spreadsheet saves (csv quoting, any of our encodings/separators/line ends)
    reads back as exactly the typed text, leading zeros included."""
    import csv
    import io

    text = io.StringIO()
    csv.writer(text, delimiter=sep, lineterminator=newline).writerows([("code", "name"), *rows])
    try:
        raw = text.getvalue().encode(encoding)
    except UnicodeEncodeError:  # cp1252 lacks a few Latin-1 code points (0x80-0x9f): not saveable
        return
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_bytes(raw)
    df = read_csv_text(path, required=["code", "name"])
    assert list(df.itertuples(index=False, name=None)) == rows


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=40, deadline=None)
@given(old=_text, new=_text, crash=st.booleans())
def test_atomic_writes_are_all_or_nothing(tmp_path_factory, old, new, crash):
    """Property: after write_text_atomic the file holds exactly the new text (bytes, line ends kept);
    after a crash inside atomic_path it holds exactly the old bytes; no temporary file is left."""
    folder = tmp_path_factory.mktemp("atomic")
    dest = folder / "t.csv"
    dest.write_bytes(old.encode("utf-8"))
    if crash:
        with pytest.raises(RuntimeError):
            with atomic_path(dest) as tmp:
                tmp.write_bytes(new.encode("utf-8"))
                raise RuntimeError("crash")
        assert dest.read_bytes() == old.encode("utf-8")
    else:
        assert write_text_atomic(dest, new) == dest
        assert dest.read_bytes() == new.encode("utf-8")
    assert [p.name for p in folder.iterdir()] == ["t.csv"]
