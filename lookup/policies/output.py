"""Writing the policy table: CSV (the same text pandas wrote), Parquet, or a table in lookup.sqlite.

CSV text is exactly what ``DataFrame.to_csv(index=False, date_format="%Y-%m-%d")`` writes (the format
published so far), written by the project's one CSV writer, :mod:`geolookup.core.csvio` (each distinct
value formatted once, cells taken by code, with Arrow kernels instead of pandas' per-cell Python
formatting):

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

import pandas as pd

from geolookup.core import csvio
from geolookup.core.errors import InputError

CHUNK_ROWS = 250_000
POLICY_TABLE = "policy"


def write_csv(df: pd.DataFrame, path) -> None:
    """Write ``df`` as pandas' ``to_csv(index=False, date_format="%Y-%m-%d")`` would (module docstring),
    UTF-8, LF line ends, to ``path`` (use an atomic path): the project's CSV writer
    (:mod:`geolookup.core.csvio`) with floats as Python's repr. The table's dates are days, which that
    writer formats ``YYYY-MM-DD`` like ``date_format`` does."""
    csvio.write_csv(df, path, floats="repr")


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
