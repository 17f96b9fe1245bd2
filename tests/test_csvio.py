"""The project's CSV writer (geolookup.core.csvio): pandas' to_csv text, byte for byte with floats="repr",
minimal quoting, coded and merged columns, chunking, and values that read back the same."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geolookup.core import csvio


def ours(table, floats="repr") -> bytes:
    buf = io.BytesIO()
    csvio.write_csv(table, buf, floats=floats)
    return buf.getvalue()


def pandas_text(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, date_format="%Y-%m-%d").encode("utf-8")


def crafted() -> pd.DataFrame:
    return pd.DataFrame({
        "id": pd.Categorical(["a", "b,c", 'd"e', "f\ng", None, "a"]),
        "text": ["007", "", None, "x y", " lead", "tab\there"],
        "date": pd.to_datetime(["2020-01-01", "2020-02-29", None, "2021-12-31", "1969-07-20", "2020-01-01"]),
        "level": [3.0, -2.0, np.nan, 0.0, -0.0, 127.0],
        "index": [45.37, 1e-05, 1e16, np.inf, np.nan, 0.1 + 0.2],
        "flag": [True, False, True, False, True, True],
        "maybe": pd.array([True, None, False, None, True, False], dtype="boolean"),
        "n": [1, 2, 3, 4, 5, -6],
        "nullable": pd.array([1, None, 3, None, 5, 6], dtype="Int64"),
        "mixed": [1, "two", 3.5, None, True, "7"],
    })


def test_repr_floats_is_pandas_text_byte_for_byte():
    df = crafted()
    assert ours(df) == pandas_text(df)


def test_chunks_and_merged_columns_give_the_same_bytes(monkeypatch):
    """Many chunks (each coding and merging its own columns) write what one call of pandas writes."""
    rng = np.random.default_rng(4)
    n = 5000
    df = pd.DataFrame({
        "id": pd.Categorical(rng.choice(["US.1_1", "US.2_1", "IT,3"], n)),
        "date": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
        **{f"c{k}": rng.choice([0.0, 1.0, 2.0, -1.0, np.nan], n) for k in range(12)},
        "stringency": rng.choice([12.5, 33.33, 71.3, np.nan], n),
        **{f"t{k}": pd.array(rng.choice([True, False, None], n), dtype="boolean") for k in range(10)},
        "unique": rng.normal(size=n),
    })
    whole = pandas_text(df)
    monkeypatch.setattr(csvio, "CHUNK_ROWS", 997)
    assert ours(df) == whole


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_coded_columns_equal_pandas(data):
    """Property: columns of repeating values (merged into joined texts) still write pandas' bytes."""
    n = data.draw(st.integers(1, 60))
    ncols = data.draw(st.integers(1, 6))
    cols = {}
    for k in range(ncols):
        kind = data.draw(st.sampled_from(["bool", "level", "cat", "float", "date"]))
        if kind == "bool":
            cols[f"b{k}"] = pd.array(data.draw(st.lists(st.sampled_from([True, False, None]), min_size=n, max_size=n)),
                                     dtype="boolean")
        elif kind == "level":
            cols[f"l{k}"] = data.draw(st.lists(st.sampled_from([0.0, 1.0, -3.0, np.nan]), min_size=n, max_size=n))
        elif kind == "cat":
            cols[f"c{k}"] = pd.Categorical(data.draw(st.lists(st.sampled_from(["x", "y,z", None, ""]), min_size=n,
                                                             max_size=n)))
        elif kind == "float":
            cols[f"f{k}"] = data.draw(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=n,
                                               max_size=n))
        else:
            days = data.draw(st.lists(st.integers(-30000, 30000) | st.none(), min_size=n, max_size=n))
            cols[f"d{k}"] = pd.to_datetime([None if d is None else dt.date(2000, 1, 1) + dt.timedelta(days=d)
                                            for d in days])
    df = pd.DataFrame(cols)
    assert ours(df) == pandas_text(df)


def test_minimal_quoting_and_a_lone_empty_cell():
    df = pd.DataFrame({"a,b": ["plain", "with,comma", 'with"quote', "two\nlines", ""]})
    text = ours(df).decode()
    assert text == pandas_text(df).decode()
    assert text.splitlines()[0] == '"a,b"'
    assert '\n""\n' in text  # one empty cell alone on its line is written "" (not a blank line)
    assert "\nplain\n" in text  # text without separators is not quoted
    # a carriage return is quoted too (pandas leaves it bare, which CSV readers take for a line end)
    assert ours(pd.DataFrame({"t": ["a\rb"]})) == b't\n"a\rb"\n'


def test_non_midnight_timestamps_as_pandas_writes_them():
    df = pd.DataFrame({"at": pd.to_datetime(["2020-03-01 10:30:05", None, "1999-12-31 23:59:59"])})
    assert ours(df) == df.to_csv(index=False).encode()


def test_arrow_tables_with_shortest_floats_read_back_the_same_values():
    table = pa.table({
        "code": pa.array(["007", "a,b", None, 'q"q'], pa.large_string()),
        "nuts": pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 0], pa.int32()), pa.array(["ITC4", ""])),
        "x": pa.array([1.5, None, float("nan"), 1e-7]),
        "day": pa.array([dt.date(2021, 1, 1), None, dt.date(1900, 3, 1), dt.date(2021, 1, 2)], pa.date32()),
        "flag": pa.array([True, None, False, True]),
        "none": pa.nulls(4),
        "n": pa.array([1, None, 3, 4], pa.int64()),
    })
    back = pd.read_csv(io.BytesIO(ours(table, floats="shortest")), dtype=str, keep_default_na=False)
    assert back["code"].tolist() == ["007", "a,b", "", 'q"q']
    assert back["nuts"].tolist() == ["ITC4", "", "", "ITC4"]
    assert back["day"].tolist() == ["2021-01-01", "", "1900-03-01", "2021-01-02"]
    assert back["flag"].tolist() == ["True", "", "False", "True"]
    assert back["none"].tolist() == [""] * 4 and back["n"].tolist() == ["1", "", "3", "4"]
    assert back["x"].tolist()[1:3] == ["", ""]
    assert float(back["x"][0]) == 1.5 and float(back["x"][3]) == 1e-7


def test_later_tables_must_have_the_first_ones_columns():
    buf = io.BytesIO()
    with csvio.CsvWriter(buf) as w:
        w.write(pa.table({"a": [1], "b": ["x"]}))
        w.write(pa.table({"b": ["y"], "a": [2]}))  # same columns, another order: written in the first order
        with pytest.raises(ValueError, match="differ"):
            w.write(pa.table({"a": [3]}))
    assert buf.getvalue() == b"a,b\n1,x\n2,y\n"
    with pytest.raises(ValueError, match="floats"):
        csvio.CsvWriter(io.BytesIO(), floats="fixed")
