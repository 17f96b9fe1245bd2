"""The COVID-19 Data Hub lookup-table layout: columns, row order, quoting, the ``"-"`` row.

The Data Hub's R package keeps one CSV per country (``ITA.csv``, ``USA.csv``, ...) written by R's
``write.csv(x, row.names = FALSE, na = "")`` and read back by ``read.csv`` with type conversion.
What this module reproduces, verified byte for byte on the reference ``ITA.csv`` and ``USA.csv``:

- **Columns.** ``id``; the ``id_<source>`` columns sorted; ``administrative_area_level``,
  ``administrative_area_level_2``, ``administrative_area_level_3``; the ``key_*`` columns sorted
  (``key_apple_mobility, key_gadm, key_google_mobility, key_hasc, key_jhu_csse, key_local,
  key_nuts``); ``latitude, longitude, population, population_data_source,
  population_data_source_url``. Only columns present are written; any other column comes after
  the keys, sorted.
- **The first data row** is empty except ``key_local = "-"``. R's ``read.csv`` converts a column
  whose every value looks numeric to numbers; that one ``"-"`` keeps ``key_local`` text, so
  ``"069"`` and ``"01001"`` keep their leading zeros. We drop it on read and write it first.
- **Rows** are ordered by ``administrative_area_level`` then ``administrative_area_level_2`` then
  ``administrative_area_level_3`` (empty first) in a locale-like collation: accents and case
  ignored (unidecode + casefold), spaces and punctuation kept, ties by the raw text, stable.
  (The reference ESP.csv is the one exception seen: "Castilla-La Mancha" precedes "Castilla y
  León", so it round-trips only with ``sort=False``.)
- **Quoting** follows R's column types: text columns quoted (embedded ``"`` doubled), numeric
  columns bare, NA as an empty bare field. ``administrative_area_level``, ``latitude``,
  ``longitude`` and ``population`` are numeric; ``id``, ``key_*``, names and population sources
  are text; an ``id_<source>`` column is numeric when every non-empty value is an R number (as
  ``type.convert`` decides, e.g. NYT FIPS ``1001``), else text. Numbers are printed as R prints
  them with 15 significant digits (:func:`r_format_number`). UTF-8, ``\\n`` line ends.

In memory a table is a DataFrame of ``str`` (``""`` = NA), one row per place, columns as above.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
from unidecode import unidecode

from geolookup.core.errors import InputError
from geolookup.core.tableio import read_csv_text, write_text_atomic

LEVEL_COLUMNS = ["administrative_area_level", "administrative_area_level_2", "administrative_area_level_3"]
KEY_COLUMNS = [
    "key_apple_mobility", "key_gadm", "key_google_mobility", "key_hasc", "key_jhu_csse", "key_local", "key_nuts",
]
TAIL_COLUMNS = ["latitude", "longitude", "population", "population_data_source", "population_data_source_url"]
NUMERIC_COLUMNS = ("administrative_area_level", "latitude", "longitude", "population")
PLACEHOLDER_KEY = "-"

# R's type.convert: optional sign, digits with optional decimals/exponent, or hex, Inf, NaN.
_R_NUMBER = re.compile(r"^\s*[-+]?((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|0[xX][0-9a-fA-F]+|Inf|inf|NaN)\s*$")
_R_INT = re.compile(r"^\s*[-+]?\d+\s*$")


def id_columns(columns) -> list[str]:
    """The ``id_<source>`` columns among ``columns``, sorted as the Data Hub writes them."""
    return sorted(c for c in columns if c.startswith("id_"))


def column_order(columns, standard: bool = False) -> list[str]:
    """The Data Hub column order of ``columns`` (see module doc).

    With ``standard=True`` every level, key and tail column is included even when absent
    (our own tables always carry all seven keys). Output: list of column names.
    """
    cols = set(columns)
    if standard:
        cols |= {"id", *LEVEL_COLUMNS, *KEY_COLUMNS, *TAIL_COLUMNS}
    known = {"id", *LEVEL_COLUMNS, *KEY_COLUMNS, *TAIL_COLUMNS}
    out = ["id"] if "id" in cols else []
    out += id_columns(cols)
    out += [c for c in LEVEL_COLUMNS if c in cols]
    out += [c for c in KEY_COLUMNS if c in cols]
    out += sorted(c for c in cols if c not in known and not c.startswith("id_"))
    out += [c for c in TAIL_COLUMNS if c in cols]
    return out


def read_table(path, label: str | None = None) -> pd.DataFrame:
    """Read a Data Hub-layout lookup CSV (ours or the Data Hub's).

    Output: DataFrame of str (``""`` = NA), one row per place, the ``"-"`` placeholder row
    dropped, columns in file order, RangeIndex. Raises InputError (file, fix) when the file is
    missing/empty or lacks ``id`` / ``administrative_area_level``.
    """
    label = label or str(path)
    df = read_csv_text(path, required=("id", "administrative_area_level"), label=label)
    if len(df) and "key_local" in df.columns:
        keep = ~((df["key_local"] == PLACEHOLDER_KEY) & (df.drop(columns="key_local") == "").all(axis=1))
        df = df[keep]
    return df.reset_index(drop=True)


def collation_key(text: str) -> tuple[str, str]:
    """Sort key for names: accents and case ignored, spaces/punctuation kept, raw text breaks ties."""
    return unidecode(text).casefold(), text


def sort_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in Data Hub order: admin level (numeric), then admin-2 and admin-3 names (see module doc).

    Stable; returns a new DataFrame with a RangeIndex.
    """
    if df.empty:
        return df.reset_index(drop=True)
    lvl = pd.to_numeric(df["administrative_area_level"], errors="coerce").fillna(math.inf).tolist()
    names = [df[c].tolist() if c in df else [""] * len(df) for c in LEVEL_COLUMNS[1:]]
    keys = [(v, collation_key(a2), collation_key(a3)) for v, a2, a3 in zip(lvl, *names)]
    order = sorted(range(len(df)), key=keys.__getitem__)
    return df.iloc[order].reset_index(drop=True)


def r_format_number(value) -> str:
    """Print a number as R's ``write.csv`` does (15 significant digits, fixed unless wider than sci).

    Input: int, float or numeric text. Output: text, ``""`` for NA/NaN/empty. Integers print
    plainly ("1315196"); doubles with the fewest significant digits (<= 15) that give the
    15-digit value, in fixed notation unless the scientific form is shorter (R's formatReal
    with scipen 0): ``42.658334735``, ``13.6997140475971``, ``1e-04``, ``1e+05``.
    """
    if value is None or (isinstance(value, str) and value.strip() in ("", "NA")):
        return ""
    if isinstance(value, str):
        if _R_INT.match(value):
            return str(int(value))
        value = float(value)
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    x = float(value)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    target = float("%.14e" % x)
    for digits in range(1, 16):
        sci = "%.*e" % (digits - 1, x)
        if float(sci) == target:
            break
    mantissa, exp = sci.split("e")
    exp_i = int(exp)
    sci_text = f"{mantissa}e{'-' if exp_i < 0 else '+'}{abs(exp_i):02d}"
    decimals = max(0, digits - 1 - exp_i)
    fixed_text = "%.*f" % (decimals, x)
    return fixed_text if len(fixed_text) <= len(sci_text) else sci_text


def is_r_numeric(values) -> bool:
    """True when every non-empty value would be read by R's ``type.convert`` as a number."""
    vals = [v for v in values if v != ""]
    return all(_R_NUMBER.match(v) for v in vals)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def numeric_kind(df: pd.DataFrame, column: str) -> bool:
    """Whether ``column`` is written bare (numeric, as R would type it) rather than quoted."""
    if column in NUMERIC_COLUMNS:
        return True
    if column.startswith("id_") or column == "iso_numeric":
        return is_r_numeric(df[column].astype(str))
    return False


def format_table(df: pd.DataFrame, sort: bool = True, standard: bool = False, label: str = "table",
                 columns: list | None = None) -> str:
    """The CSV text of a lookup table exactly as the Data Hub's R code writes it.

    Input: DataFrame of text or numbers (NaN/None/"" = NA), one row per place, with at least
    ``id`` and ``administrative_area_level``. Output: the file text (header, ``"-"`` row when
    ``key_local`` is a column, rows in Data Hub order unless ``sort=False``). Raises InputError
    when a numeric column holds text that is not a number (names the column and the value).
    ``columns`` gives the column order as is (the Data Hub's ISO.csv has its own layout).
    """
    cols = list(columns) if columns is not None else column_order(df.columns, standard=standard)
    df = df.reindex(columns=cols).astype(object)
    df = df.where(df.notna(), "").map(lambda v: v if isinstance(v, str) else r_format_number(v))
    if sort:
        df = sort_rows(df)
    lines = [",".join(_quote(c) for c in cols)]
    if "key_local" in cols:
        lines.append(",".join(_quote(PLACEHOLDER_KEY) if c == "key_local" else "" for c in cols))
    encoded = {}
    for c in cols:
        values = df[c].tolist()
        if numeric_kind(df, c):
            bad = [v for v in values if v != "" and not _R_NUMBER.match(v)]
            if bad:
                raise InputError(f"{label}: column {c!r} must be numeric but holds {bad[0]!r}; fix or empty the cell")
            encoded[c] = [r_format_number(v) for v in values]
        else:
            encoded[c] = [_quote(v) if v != "" else "" for v in values]
    lines += [",".join(row) for row in zip(*(encoded[c] for c in cols))] if len(df) else []
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, path, sort: bool = True, standard: bool = False, columns: list | None = None) -> Path:
    """Write a lookup table atomically (temporary file + rename) in the Data Hub layout.

    See :func:`format_table` for the layout; returns ``path``. The old file stays whole on error.
    """
    text = format_table(df, sort=sort, standard=standard, label=str(path), columns=columns)
    return write_text_atomic(path, text, encoding="utf-8")
