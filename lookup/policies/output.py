"""Writing the policy table: CSV (pyarrow, the same text pandas wrote), Parquet, or a table in lookup.sqlite.

CSV text is exactly what ``DataFrame.to_csv(index=False, date_format="%Y-%m-%d")`` writes (the format
published so far), built column by column with pyarrow compute kernels instead of pandas' per-cell Python
formatting (each distinct value formatted once, cells taken by code):

- floats as Python's ``repr`` (``3.0``, ``-2.0``, ``45.37``, ``1e-05``), NaN as an empty cell;
- booleans ``True`` / ``False``, a missing nullable boolean as an empty cell;
- dates ``YYYY-MM-DD``;
- text as is, quoted (with doubled quotes) only when it holds a comma, a quote or a line break.

SQLite: the table ``policy`` (id, date, indicators...) beside ``location`` in a lookup.sqlite, keyed
(id, date), joining ``location`` on ``id`` (the paper's two-table layout), replaced in one transaction.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geolookup.core.errors import InputError

CHUNK_ROWS = 250_000
POLICY_TABLE = "policy"
_NEEDS_QUOTES = r'[",\r\n]'


def _by_value(codes: np.ndarray, texts: list[str]) -> pa.Array:
    """Cells from per-value texts: ``codes`` index ``texts`` (-1 = empty cell)."""
    table = pa.array(texts + [""], pa.string())
    return pc.take(table, pa.array(np.where(codes < 0, len(texts), codes)))


_SMALL = np.arange(-128, 128, dtype=float)
_SMALL_TEXT = [repr(float(x)) for x in _SMALL]


def _floats(v: np.ndarray) -> pa.Array:
    """float64 -> text as repr() writes it (pandas' to_csv), NaN -> "". Each distinct value is formatted
    once (policy levels and index values repeat millions of times), then cells are taken by code."""
    nan = np.isnan(v)
    small = np.where(nan, 0.0, v)
    if ((small == np.round(small)) & (np.abs(small) < 128)).all() and not (np.signbit(small) & (small == 0)).any():
        codes = np.where(nan, -1, small.astype(np.int16) + 128)  # OxCGRT levels: no hashing needed
        return _by_value(codes, _SMALL_TEXT)
    codes, uniques = pd.factorize(v, use_na_sentinel=True)
    texts = [repr(float(x)) for x in uniques]
    negzero = (v == 0) & np.signbit(v)  # factorize counts -0.0 as 0.0; repr does not
    if negzero.any():
        codes = np.where(negzero, len(texts), codes)
        texts.append("-0.0")
    return _by_value(codes, texts)


def _quote(s: pa.Array) -> pa.Array:
    """Text cells as CSV writes them: quoted, quotes doubled, only when they hold , " or a line break."""
    s = pc.fill_null(s, "")
    needs = pc.match_substring_regex(s, _NEEDS_QUOTES)
    if pc.any(needs).as_py():
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(s, '"', '""'), '"', "")
        s = pc.if_else(needs, quoted, s)
    return s


def _text(col: pd.Series) -> pa.Array:
    if isinstance(col.dtype, pd.CategoricalDtype):  # format the categories once, then take by code
        cats = _quote(pa.array(col.cat.categories.astype(str).to_numpy(object), pa.string()))
        codes = col.cat.codes.to_numpy()
        return pc.fill_null(pc.take(cats, pa.array(codes, mask=codes < 0)), "")
    values = col.to_numpy(dtype=object)
    return _quote(pa.array(values, pa.string(), from_pandas=True) if len(values) else pa.array([], pa.string()))


def _column(col: pd.Series) -> pa.Array:
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        return _by_value(codes, list(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d")))
    if pd.api.types.is_bool_dtype(col.dtype):
        if isinstance(col.dtype, pd.BooleanDtype):
            arr = col.array
            codes = np.where(arr._mask, -1, arr._data.view(np.int8))  # BooleanArray's own data and mask
        else:
            codes = col.to_numpy(dtype=bool).view(np.int8)
        return _by_value(codes, ["False", "True"])
    if pd.api.types.is_float_dtype(col.dtype):
        return _floats(col.to_numpy(dtype=float))
    if pd.api.types.is_integer_dtype(col.dtype) and not col.hasnans:
        return pc.cast(pa.array(col.to_numpy()), pa.string())
    return _text(col)


def write_csv(df: pd.DataFrame, path) -> None:
    """Write ``df`` as pandas' ``to_csv(index=False, date_format="%Y-%m-%d")`` would (module docstring),
    in chunks of :data:`CHUNK_ROWS` rows, UTF-8, LF line ends. Writes to ``path`` (use an atomic path).
    Cells are formatted here, columns in parallel threads (Arrow kernels release the GIL); pyarrow.csv
    joins them (``quoting_style="none"``: the quoting is already done)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.csv as pacsv

    header = ",".join(_quote(pa.array(list(map(str, df.columns)), pa.string())).to_pylist()) + "\n"
    names = [f"c{i}" for i in range(df.shape[1])]
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    text_cols = [i for i, c in enumerate(df.columns) if not _formatted_plain(df[c].dtype)]
    with open(path, "wb") as fh, ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        fh.write(header.encode("utf-8"))
        def fmt(start):
            part = df.iloc[start:start + CHUNK_ROWS]
            return [pool.submit(_column, part[c]) for c in part.columns]

        starts = list(range(0, len(df), CHUNK_ROWS))
        pending = fmt(starts[0]) if starts else []
        for k in range(len(starts)):
            cols = [f.result() for f in pending]
            pending = fmt(starts[k + 1]) if k + 1 < len(starts) else []  # the next chunk formats while this one is written
            if len(cols) == 1:  # pandas writes an empty single cell as "" so that the line is not blank
                cols = [pc.if_else(pc.equal(cols[0], ""), '""', cols[0])]
            if any(pc.any(pc.match_substring(cols[i], '"')).as_py() for i in text_cols):  # quoted text: join here
                lines = pc.binary_join_element_wise(*cols, ",")
                fh.write(_payload(pc.binary_join_element_wise(lines, "\n", "")))
            else:
                pacsv.write_csv(pa.table(cols, names=names), fh, options)


def _formatted_plain(dtype) -> bool:
    """True for columns whose cells never need quotes (numbers, booleans, dates)."""
    return (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_float_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_integer_dtype(dtype))


def _payload(lines: pa.Array) -> bytes:
    """The bytes of a null-free string array, one element after another (its data buffer, sliced)."""
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return lines.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]


def write_sqlite(df: pd.DataFrame, db) -> None:
    """Replace table ``policy`` in the lookup database ``db`` in one transaction.

    Input: the table of :func:`~lookup.policies.propagate.propagate` (id, date, indicators, ...) and an
    existing lookup.sqlite with table ``location``. Output: table ``policy`` with columns id (TEXT,
    references ``location(id)``), date (TEXT, YYYY-MM-DD), the indicator columns (REAL, NULL when not
    recorded), policy_source (TEXT), policy_inherited and ``<policy>_targeted`` (INTEGER 0/1, NULL when
    not recorded), PRIMARY KEY (id, date). Raises InputError when ``db`` has no ``location`` table.
    """
    con = sqlite3.connect(str(db), timeout=60)
    try:
        has = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='location'").fetchone()
        if not has:
            raise InputError(f"{db}: no table 'location'; write policies into a lookup.sqlite built by geolookup build")
        types = {c: ("TEXT" if c in ("id", "date", "policy_source") else
                     "INTEGER" if c == "policy_inherited" or c.endswith("_targeted") else "REAL") for c in df.columns}
        cols = ", ".join(f'"{c}" {t}' for c, t in types.items())
        placeholders = ", ".join("?" for _ in df.columns)
        with con:  # one transaction: a reader sees the old policy table or the whole new one
            con.execute(f'DROP TABLE IF EXISTS "{POLICY_TABLE}"')
            con.execute(f'CREATE TABLE "{POLICY_TABLE}" ({cols}, PRIMARY KEY (id, date), '
                        'FOREIGN KEY (id) REFERENCES location(id))')
            for start in range(0, len(df), CHUNK_ROWS):
                con.executemany(f'INSERT INTO "{POLICY_TABLE}" VALUES ({placeholders})',
                                _records(df.iloc[start:start + CHUNK_ROWS]))
            con.execute(f'CREATE INDEX IF NOT EXISTS "{POLICY_TABLE}_date" ON "{POLICY_TABLE}" (date)')
    finally:
        con.close()


def _records(part: pd.DataFrame):
    out = {}
    for c in part.columns:
        col = part[c]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[c] = col.dt.strftime("%Y-%m-%d").astype(object)
        elif pd.api.types.is_bool_dtype(col.dtype):
            out[c] = col.astype("Int64").astype(object).where(col.notna(), None)
        elif pd.api.types.is_float_dtype(col.dtype):
            out[c] = col.astype(object).where(col.notna(), None)
        else:
            out[c] = col.astype(str).astype(object)
    return zip(*(out[c].to_numpy() for c in part.columns))


def is_sqlite(path) -> bool:
    """True for an existing SQLite database file or a ``.sqlite`` / ``.db`` / ``.sqlite3`` name."""
    p = Path(path)
    if p.is_file():
        with open(p, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    return p.suffix.lower() in (".sqlite", ".sqlite3", ".db")
