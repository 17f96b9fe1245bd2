"""Read-only access to the built lookup tables: ``lookup.sqlite`` (tables ``location`` and, when present,
``policy``).

:func:`lookup_file` is the one place that turns a ``--lookup`` argument into the database file and
:func:`generation` the one place that says whether it changed, so a new layout of the build outputs
only needs these two functions adapted. The database is opened read-only (SQLite URI ``mode=ro``);
the location rows are held in memory (one row per Data Hub id; a few MB for every country), policy
rows are read per request (they are large: one row per id and day).
"""

from __future__ import annotations

import math
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geolookup.core.errors import DataNotFoundError, InputError

DB_NAME = "lookup.sqlite"
#: Names accepted for the policy table (``geolookup policies`` output stored in the database).
POLICY_TABLES = ("policy", "policies")
#: Columns a location can be searched by with ``GET /v1/locations`` (besides every ``id_<source>``).
KEY_FILTERS = ("key_gadm", "key_nuts", "key_local")


def lookup_file(path) -> Path:
    """The SQLite lookup database named by ``--lookup``: the file itself, or ``<OUT>/lookup.sqlite``,
    with links resolved (``OUT/lookup.sqlite -> current/lookup.sqlite``, ``current -> generations/<n>``:
    lookup/generation.py), so one load reads one generation.

    Raises DataNotFoundError (one line, with the fix) when there is none.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / DB_NAME
    if not p.is_file():
        raise DataNotFoundError(f"{p}: no lookup database; run `geolookup build ISO3 -o OUT` first and give "
                                "--lookup OUT or --lookup OUT/lookup.sqlite")
    return p.resolve()


def generation(path) -> tuple:
    """A token that changes whenever a new generation is published (``current`` moves), the database is
    replaced (new inode) or updated in place (``geolookup policies -o``): (resolved file, inode, mtime
    in ns, size)."""
    p = lookup_file(path)
    st = os.stat(p)
    return str(p), st.st_ino, st.st_mtime_ns, st.st_size


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)


def _json_value(v):
    """A cell as JSON: None for NULL/NaN/"" (the Data Hub writes NA as an empty field)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
        return None
    return v.item() if hasattr(v, "item") else v


@dataclass
class LookupTables:
    """The location rows of one lookup generation, with indexes on ``id`` and the key columns.

    ``rows``: one dict per location (Data Hub columns plus ``iso3``; None = NA), in database order;
    ``countries``: ISO3 codes present; ``policy_table``: name of the policy table or None.
    """

    path: Path
    generation: tuple
    columns: list
    rows: list
    countries: tuple
    policy_table: str | None
    _index: dict = field(default_factory=dict, repr=False)

    def by_id(self, loc_id: str) -> dict | None:
        """The row of Data Hub id ``loc_id``, or None."""
        pos = self._index["id"].get(loc_id)
        return self.rows[pos[0]] if pos else None

    def searchable(self) -> list[str]:
        """Columns ``find`` accepts: key_gadm, key_nuts, key_local and every id_<source> column."""
        return [c for c in self.columns if c in KEY_FILTERS or c.startswith("id_")]

    def find(self, filters: dict[str, str]) -> list[dict]:
        """Rows whose columns equal every ``filters`` value (text comparison), in database order.
        Raises InputError naming a column that cannot be searched."""
        hits = None
        for col, value in filters.items():
            if col not in self._index:
                raise InputError(f"query parameter {col!r} is not a searchable column; use one of "
                                 f"{', '.join(self.searchable())}")
            found = set(self._index[col].get(str(value), ()))
            hits = found if hits is None else hits & found
        return [self.rows[i] for i in sorted(hits or ())]

    def policies(self, loc_id: str, start: str | None, end: str | None) -> list[dict] | None:
        """Policy rows of ``loc_id`` with ``start <= date <= end`` (ISO dates, inclusive, either may be
        None), ordered by date; None when the lookup holds no policy table."""
        if self.policy_table is None:
            return None
        sql = f'select * from "{self.policy_table}" where id = ?'
        args: list = [loc_id]
        if start:
            sql, args = sql + " and substr(date, 1, 10) >= ?", args + [start]
        if end:
            sql, args = sql + " and substr(date, 1, 10) <= ?", args + [end]
        con = _connect(self.path)
        try:
            cur = con.execute(sql + " order by date", args)
            names = [d[0] for d in cur.description]
            out = [{k: _json_value(v) for k, v in zip(names, row)} for row in cur.fetchall()]
        finally:
            con.close()
        for r in out:
            if isinstance(r.get("date"), str):
                r["date"] = r["date"][:10]
        return out


def load_lookup(path) -> LookupTables:
    """Load one generation of the lookup tables, read-only.

    Parameters
    ----------
    path : str or Path
        The ``--lookup`` value: build output folder OUT or its ``lookup.sqlite``.

    Returns
    -------
    LookupTables
        ``rows``: one dict per Data Hub id (table ``location``: the Data Hub's columns plus ``iso3``;
        None = NA; administrative_area_level and population int, latitude/longitude float degrees
        WGS84), indexes on ``id``, key_gadm, key_nuts, key_local and every ``id_<source>``.

    Raises
    ------
    DataNotFoundError
        No database at ``path``.
    InputError
        The database has no ``location`` table (not written by ``geolookup build``).
    """
    gen = generation(path)
    p = Path(gen[0])
    con = _connect(p)
    try:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
        if "location" not in tables:
            raise InputError(f"{p}: no table 'location'; is this a lookup.sqlite written by `geolookup build`?")
        df = pd.read_sql_query("select * from location", con)
    finally:
        con.close()
    policy = next((t for t in POLICY_TABLES if t in tables), None)
    cols = list(df.columns)
    obj = df.astype(object)
    rows = [{c: _json_value(v) for c, v in zip(cols, rec)} for rec in obj.itertuples(index=False, name=None)]
    index: dict = {}
    for c in ["id", *[c for c in cols if c in KEY_FILTERS or c.startswith("id_")]]:
        text = obj[c].map(lambda v: "" if _json_value(v) is None else str(_json_value(v)))
        groups = pd.Series(range(len(text))).groupby(text.to_numpy()).apply(list).to_dict()
        groups.pop("", None)
        index[c] = groups
    iso = sorted({str(r.get("iso3")) for r in rows if r.get("iso3")})
    return LookupTables(p, gen, cols, rows, tuple(iso), policy, index)
