"""Writing CSV with the text of ``pandas.DataFrame.to_csv(index=False)``, fast and in streamed chunks.

One writer serves the project's large CSV outputs (``geolookup enrich``, ``geolookup policies``).
Each cell is written as pandas writes it, so any CSV reader gets the same values back:

- text as is, quoted (quotes doubled) only when it holds a comma, a quote or a line break
  (Python's ``csv.QUOTE_MINIMAL``, RFC 4180): ``007`` keeps its leading zeros; a carriage return is
  quoted too (pandas leaves it bare, and CSV readers take a bare one for the end of the line);
- booleans ``True`` / ``False``; dates ``YYYY-MM-DD`` (timestamps all at midnight too, other
  timestamps ``YYYY-MM-DD HH:MM:SS``);
- missing values (null, NaN, NaT) as empty cells; a one-column row whose cell is empty as ``""``
  (pandas' way of keeping the line from being blank);
- floats: ``floats="repr"`` writes Python's ``repr`` (``3.0``, ``1e-05``), pandas' text byte for
  byte; ``floats="shortest"`` writes Arrow's shortest round-trip text (``3``, ``0.00001``): the same
  number for every reader, and much faster on columns of distinct values.

How (pandas formats each cell in Python, about 3 s per million rows): every column becomes either
codes into a small table of distinct texts (booleans, dates, categories and Arrow dictionaries,
repeating floats), each text formatted once, or a text array built by an Arrow kernel. Adjacent
coded columns are merged while their distinct combinations stay few (a policy table's 30 columns of
levels and flags repeat day after day), so a line is assembled from a few pieces, joined by one Arrow
kernel and written from its buffer.
"""

from __future__ import annotations

import collections
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CHUNK_ROWS = 250_000
#: Adjacent coded columns are merged while their combinations can be numbered in an int64.
MERGE_COMBINATIONS = 1 << 62
_NEEDS_QUOTES = r'[",\r\n]'
_DAY_NS = 86_400 * 10**9
_BOOL_TEXT = ("False", "True", "")


class _Coded(NamedTuple):
    """Cells as ``texts[codes]``: integer codes (N,) into a string array without nulls."""

    codes: np.ndarray
    texts: pa.Array


def quote(text: pa.Array) -> pa.Array:
    """Text cells as this module writes them.

    Parameters
    ----------
    text : pyarrow.Array of string, shape (N,)
        Cells; null allowed.

    Returns
    -------
    pyarrow.Array of string, shape (N,)
        Null as "", a cell holding a comma, a quote, CR or LF in quotes with its quotes doubled (RFC
        4180), any other cell as it is.
    """
    text = pc.fill_null(text, "")
    needs = pc.match_substring_regex(text, _NEEDS_QUOTES)
    if pc.any(needs).as_py():
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(needs, quoted, text)
    return text


def _texts(values) -> pa.Array:
    return pa.array(values, pa.string())


def _plain(cells) -> pa.Array:
    """The text array of a column's cells (coded cells taken from their table)."""
    if isinstance(cells, _Coded):
        return pc.take(cells.texts, pa.array(cells.codes))
    return cells


def _days(days: np.ndarray, valid: np.ndarray | None = None):
    """Cells of day numbers since 1970-01-01 as YYYY-MM-DD (``valid`` False: empty; None: all valid),
    each distinct day formatted once."""
    if valid is not None and valid.all():
        valid = None
    present = days if valid is None else days[valid]
    if not len(present):
        return _Coded(np.zeros(len(days), np.int32), _texts([""]))
    lo, hi = int(present.min()), int(present.max())
    if hi - lo > 1 << 22:  # millennia of distinct days: format each cell
        mask = None if valid is None else ~valid
        return quote(pc.strftime(pa.array(days.astype(np.int32), pa.date32(), mask=mask), format="%Y-%m-%d"))
    seen = np.zeros(hi - lo + 2, bool)
    rel = days - lo
    seen[rel if valid is None else rel[valid]] = True
    used = np.flatnonzero(seen)
    seen[-1] = True  # the missing day, "", after the used ones
    number = np.cumsum(seen, dtype=np.int32) - 1
    codes = number[rel if valid is None else np.where(valid, rel, len(seen) - 1)]
    text = pc.strftime(pa.array((used + lo).astype(np.int32), pa.date32()), format="%Y-%m-%d")
    return _Coded(codes, pa.concat_arrays([text, _texts([""])]))


def _timestamps(arr: pa.Array):
    t = arr.type
    if t.tz is not None:
        return quote(pc.strftime(arr, format="%Y-%m-%d %H:%M:%S%z"))
    ns = arr.cast(pa.timestamp("ns")) if t.unit != "ns" else arr
    valid = ~arr.is_null().to_numpy(zero_copy_only=False)
    return _ns_times(pc.fill_null(ns.cast(pa.int64()), 0).to_numpy(), valid)


def _ns_times(iv: np.ndarray, valid: np.ndarray):
    """Cells of naive timestamps given as int64 nanoseconds since 1970."""
    if not valid.all():
        iv = np.where(valid, iv, 0)
    days = iv // _DAY_NS  # (numpy's // is several times faster than its % on int64)
    if (days * _DAY_NS == iv).all():  # pandas writes a column of midnights as dates
        return _days(days, valid)
    unit = "s" if (iv // 10**9 * 10**9 == iv).all() else "ns"  # Arrow's %S prints the unit's fractions
    arr = pa.array(iv // (10**9 if unit == "s" else 1), pa.timestamp(unit), mask=~valid)
    return quote(pc.strftime(arr, format="%Y-%m-%d %H:%M:%S"))


def _repr_floats(arr: pa.Array) -> _Coded:
    """float64 cells as Python's repr (pandas' to_csv), null and NaN as "", each distinct value formatted
    once (hashed by Arrow, which tells -0.0 from 0.0 as repr does)."""
    enc = pc.dictionary_encode(arr)
    uniques = enc.dictionary.to_numpy(zero_copy_only=False)
    codes = pc.fill_null(enc.indices, len(uniques)).to_numpy().astype(np.int32, copy=False)
    return _Coded(codes, _texts(["" if x != x else repr(float(x)) for x in uniques] + [""]))


_SMALL = [repr(float(x)) for x in range(-128, 128)]


def _small_floats(v: np.ndarray) -> _Coded | None:
    """Cells of a float column holding only whole numbers -128..127 and NaN (policy levels and flags)
    coded with numpy alone (a table of the range used, so that merged columns stay few), or None for
    any other column."""
    with np.errstate(invalid="ignore"):
        whole = v.astype(np.int8)  # NaN and out of range give some number, caught below
    same = whole.astype(np.float64).view(np.int64) == v.view(np.int64)  # bit for bit: -0.0 is not 0
    nan = None
    if not same.all():
        nan = np.isnan(v)
        if not (same | nan).all():
            return None
    present = whole if nan is None else whole[~nan]
    lo, hi = (int(present.min()), int(present.max())) if len(present) else (0, -1)
    codes = whole.astype(np.int16) - lo
    if nan is not None:
        codes[nan] = hi - lo + 1
    return _Coded(codes, _texts(_SMALL[lo + 128:hi + 129] + [""]))


def _cells(arr: pa.Array, floats: str):
    """One column's cells as text: a :class:`_Coded` table or a string array (quoted, no nulls)."""
    t = arr.type
    if pa.types.is_null(t):
        return _Coded(np.zeros(len(arr), np.int32), _texts([""]))
    if pa.types.is_dictionary(t):  # categories: format the values once, cells by code
        values = _plain(_cells(arr.dictionary, floats)).cast(pa.string())
        codes = pc.fill_null(arr.indices, len(values)).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        return _Coded(codes, pa.concat_arrays([values, _texts([""])]))
    if pa.types.is_boolean(t):
        return _Coded(pc.fill_null(arr.cast(pa.int8()), 2).to_numpy(), _texts(_BOOL_TEXT))
    if pa.types.is_timestamp(t):
        return _timestamps(arr)
    if pa.types.is_date(t):
        valid = ~arr.is_null().to_numpy(zero_copy_only=False)
        days = pc.fill_null(arr.cast(pa.date32()).cast(pa.int32()), 0).to_numpy().astype(np.int32, copy=False)
        return _days(days, valid)
    if pa.types.is_floating(t):
        arr = arr.cast(pa.float64())
        if floats == "repr":
            return _repr_floats(arr)
        return pc.if_else(pc.fill_null(pc.is_nan(arr), True), "", arr.cast(pa.string()))
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return pc.fill_null(arr.cast(pa.string()), "")
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return quote(arr.cast(pa.string()))
    try:
        text = arr.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested, binary...: Python's str
        text = _texts([None if v is None else str(v) for v in arr.to_pylist()])
    return quote(text)


def _series_cells(col, floats: str):
    """Cells of a pandas column read straight from its numpy data, cheaper than through Arrow: floats
    (repr), booleans, categories and naive datetimes; None for any other column."""
    dtype = col.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f" and floats == "repr":
            values = col.to_numpy(dtype="float64")
            small = _small_floats(values)
            return small if small is not None else _repr_floats(pa.array(values))  # NaN: its own code, written ""
        if dtype.kind == "b":
            return _Coded(col.to_numpy().view(np.int8), _texts(_BOOL_TEXT))
        if dtype == np.dtype("datetime64[ns]"):
            iv = col.to_numpy().view(np.int64)
            return _ns_times(iv, iv != np.iinfo(np.int64).min)  # NaT
        return None
    if dtype.name == "boolean":
        missing = col.isna().to_numpy()
        return _Coded(np.where(missing, 2, col.to_numpy(dtype=bool, na_value=False).view(np.int8)), _texts(_BOOL_TEXT))
    if dtype.name == "category":
        values = _plain(_cells(pa.Array.from_pandas(dtype.categories), floats)).cast(pa.string())
        codes = col.cat.codes.to_numpy()
        return _Coded(np.where(codes < 0, len(values), codes), pa.concat_arrays([values, _texts([""])]))
    return None


def _combinations(group: list[_Coded], rows=slice(None)) -> np.ndarray:
    """The mixed-radix number (int64) of each row's combination of the group's codes."""
    combo = group[0].codes[rows].astype(np.int64)
    for g in group[1:]:
        combo *= len(g.texts)
        combo += g.codes[rows]
    return combo


def _merged(group: list[_Coded]) -> _Coded | None:
    """Adjacent coded columns as one coded column of their joined texts ("a,b,c"), or None when their
    distinct combinations are about as many as the rows (merging would then save nothing)."""
    n = len(group[0].codes)
    sample = _combinations(group, slice(None, None, max(n // 4096, 1)))
    if len(np.unique(sample)) > max(len(sample) // 2, 16):  # about one per row: tell from 4096 rows
        return None
    combo = _combinations(group)
    enc = pc.dictionary_encode(pa.array(combo))  # one hash pass finds the combinations present
    if len(enc.dictionary) > max(n // 4, 16):
        return None
    pieces, rest = [], enc.dictionary.to_numpy()
    for g in reversed(group):
        pieces.append(pc.take(g.texts, pa.array(rest % len(g.texts))))
        rest = rest // len(g.texts)
    return _Coded(enc.indices.to_numpy(), pc.binary_join_element_wise(*reversed(pieces), ","))


def _merge_run(run: list[_Coded]) -> list[_Coded]:
    """A run of adjacent coded columns merged greedily: each group takes as many next columns as
    their combinations can be numbered in int64 and, while the combinations present are too many,
    half as many, down to one."""
    out, i = [], 0
    while i < len(run):
        acc, i = run[i], i + 1
        while i < len(run):
            size, j = len(acc.texts), i
            while j < len(run) and size * len(run[j].texts) < MERGE_COMBINATIONS:
                size, j = size * len(run[j].texts), j + 1
            both = None
            while j > i and both is None:
                both = _merged([acc, *run[i:j]])
                if both is None:
                    j = i if j == i + 1 else i + (j - i) // 2
            if both is None:
                break
            acc, i = both, j
        out.append(acc)
    return out


def _lines(columns: list) -> pa.Array:
    """The CSV lines ("...\\n") of one chunk from its columns' cells."""
    parts, run = [], []
    for cells in [*columns, None]:
        if isinstance(cells, _Coded):
            run.append(cells)
            continue
        parts += _merge_run(run)
        run = []
        if cells is not None:
            parts.append(cells)
    last = parts[-1]
    if len(columns) == 1:  # pandas writes a lone empty cell as "" so that the line is not blank
        fix = lambda s: pc.if_else(pc.equal(s, ""), '""', s)  # noqa: E731
        last = _Coded(last.codes, fix(last.texts)) if isinstance(last, _Coded) else fix(last)
    if isinstance(last, _Coded):  # the line end goes on the last piece (on its distinct texts when coded)
        parts[-1] = _Coded(last.codes, pc.binary_join_element_wise(last.texts, "\n", ""))
    else:
        parts[-1] = pc.binary_join_element_wise(last, "\n", "")
    cols = [_plain(p) for p in parts]
    return cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, ",")


def _columns_cells(part, floats: str) -> list:
    """Cells of every column of a pyarrow Table or pandas DataFrame slice (see :func:`_cells`)."""
    if isinstance(part, pa.Table):
        return [_cells(c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c, floats) for c in part.columns]
    out = []
    for _, col in part.items():
        cells = _series_cells(col, floats)
        if cells is None:
            try:
                arr = pa.Array.from_pandas(col)  # NaN and None become null
                cells = _cells(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr, floats)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):  # mixed objects: str()
                cells = quote(_texts([None if v is None or v != v else str(v) for v in col.astype(object)]))
        out.append(cells)
    return out


class CsvWriter:
    """Stream tables into one CSV file: the header once, then each chunk's lines.

    Parameters
    ----------
    path : path-like or writable binary file
        Destination (callers write to a temporary path and rename it, see
        ``geolookup.core.tableio.atomic_path``).
    floats : {"shortest", "repr"}
        Float text: Arrow's shortest round-trip form, or Python's repr as pandas writes it (module
        docstring).

    Use as a context manager; :meth:`write` takes a pyarrow Table or a pandas DataFrame (without its
    index) whose columns are those of the first one written. UTF-8, ``,`` separator, ``\\n`` line ends.
    Raises ValueError when a later table's columns differ from the first's.
    """

    def __init__(self, path, floats: str = "shortest"):
        if floats not in ("shortest", "repr"):
            raise ValueError(f"floats must be 'shortest' or 'repr', not {floats!r}")
        self.path, self.floats = path, floats
        self._fh = self._names = None
        self._own = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def write(self, table) -> None:
        """Append the rows of ``table`` (pyarrow Table or pandas DataFrame; the header before the first).

        Large tables are formatted in chunks of :data:`CHUNK_ROWS` rows on up to two worker threads
        while the previous chunk is written. Raises ValueError for columns other than the first table's.
        """
        names = [str(c) for c in (table.column_names if isinstance(table, pa.Table) else table.columns)]
        if self._fh is None:
            self._own = isinstance(self.path, (str, Path))
            self._fh = open(self.path, "wb") if self._own else self.path
            self._names = names
            header = quote(_texts(names)).to_pylist()
            if len(names) == 1 and header[0] == "":
                header = ['""']
            self._fh.write((",".join(header) + "\n").encode("utf-8"))
        elif names != self._names:
            if sorted(names) != sorted(self._names):
                raise ValueError(f"columns {names[:10]} differ from the first table's {self._names[:10]}")
            table = table.select(self._names) if isinstance(table, pa.Table) else table[self._names]
        if not self._names:
            return
        starts = range(0, len(table), CHUNK_ROWS)
        slices = (table.slice(i, CHUNK_ROWS) if isinstance(table, pa.Table) else table.iloc[i:i + CHUNK_ROWS]
                  for i in starts)
        for lines in _ahead(self._format, slices, len(starts)):
            self._fh.write(_payload(lines))

    def _format(self, part) -> pa.Array:
        return _lines(_columns_cells(part, self.floats))

    def close(self) -> None:
        if self._own and self._fh is not None:
            self._fh.close()
        self._fh = None


def _ahead(func, items, count: int):
    """``func`` over ``items`` in order; with several items, on worker threads a few items ahead (Arrow
    and numpy release the GIL), so that formatting the next chunks overlaps with writing this one."""
    if count <= 1:
        yield from map(func, items)
        return
    workers = min(2, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = collections.deque()
        for item in items:
            pending.append(pool.submit(func, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _payload(lines: pa.Array) -> memoryview:
    """The bytes of a null-free string array, one element after another (a view of its data buffer)."""
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    if len(lines) == 0:
        return memoryview(b"")
    off = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return memoryview(lines.buffers()[2])[off[0]:off[-1]]


def write_csv(table, path, floats: str = "shortest") -> None:
    """Write a whole table as CSV.

    Parameters
    ----------
    table : pyarrow.Table or pandas.DataFrame
        The rows (a DataFrame without its index).
    path : path-like or writable binary file
        Destination (use an atomic path, ``geolookup.core.tableio.atomic_path``).
    floats : {"shortest", "repr"}
        Float text (see the module docstring); "repr" writes pandas' ``to_csv`` text byte for byte.
    """
    with CsvWriter(path, floats=floats) as w:
        w.write(table)
