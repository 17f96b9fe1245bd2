"""OxCGRT cell values and dates, read strictly: a value outside the codebook is refused, never published.

Values (OxCGRT codebook, github.com/OxCGRT/covid-policy-tracker, documentation/codebook.md):

- policies are whole numbers from 0 to the indicator's maximum (``max`` in ``indicators.csv``: C1 0-3,
  C3 0-2, C8 0-4, H7 0-5, ...); flags are 0 or 1; indices are numbers from 0 to 100;
- a decimal comma is read only where it is unambiguous: one comma between digits and no point
  (``"45,5"`` -> 45.5); anything else with a comma (``"1,234.5"``, ``"1,2,3"``) is refused. A policy or
  flag that is not a whole number ("1,5") is refused as outside the codebook;
- empty cells and R's ``NA`` mean "not recorded" (NaN).

Dates: the formats OxCGRT has published: ``YYYYMMDD`` (the long files' ``Date`` column), ``01Jan2020``
(the wide files' day headers) and ISO ``YYYY-MM-DD``; anything else is refused.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geolookup.core.errors import InputError, where

NA_TOKENS = ("", "NA", "NaN", "nan", "None")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
WIDE_DAY = re.compile(r"^(\d{2}[A-Z][a-z]{2}\d{4}|\d{4}-\d{2}-\d{2})$")
_LONG_DAY = re.compile(r"^(\d{8}|\d{4}-\d{2}-\d{2})$")


def parse_values(cells, label, column: str, hi: float, integer: bool, first_row: int = 2) -> np.ndarray:
    """Parse one column of OxCGRT cells (text or numbers) into float64 (NaN = not recorded).

    ``hi`` is the codebook maximum, ``integer`` True for policies and flags. ``first_row`` is the
    spreadsheet row of the first cell (header = row 1). Raises InputError naming file, row, column and
    the accepted range for a cell that is not a number, is ambiguous, or lies outside the codebook.
    """
    s = pd.Series(cells, dtype=object) if not isinstance(cells, pd.Series) else cells.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(s.dtype):
        values = s.to_numpy(dtype=float)
        text = None
    else:
        text = s.astype(str).str.strip().where(s.notna(), "")
        na = text.isin(NA_TOKENS)
        comma = text.str.contains(",", regex=False)
        decimal = comma & text.str.match(_DECIMAL_COMMA)
        ambiguous = comma & ~decimal
        if ambiguous.any():
            i = int(np.flatnonzero(ambiguous.to_numpy())[0])
            raise InputError(f"{where(label, first_row + i, column)}: {text.iat[i]!r} is not a number with one decimal "
                             "comma or point; write it like 45.5")
        clean = text.mask(decimal, text.str.replace(",", ".", regex=False)).mask(na)
        values = pd.to_numeric(clean, errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(values) & ~na.to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{where(label, first_row + i, column)}: {text.iat[i]!r} is not a number; fix or empty the cell")
    outside = (values < 0) | (values > hi)
    if integer:
        outside |= np.isfinite(values) & (values != np.round(values))
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        shown = text.iat[i] if text is not None else values[i]
        kind = f"whole numbers 0-{hi:g}" if integer else f"numbers 0-{hi:g}"
        raise InputError(f"{where(label, first_row + i, column)}: {shown!r} is outside OxCGRT's codebook for this "
                         f"column ({kind}); fix the value or leave the file out")
    return values


def parse_long_dates(cells: pd.Series, label, column: str = "Date") -> np.ndarray:
    """``YYYYMMDD`` or ``YYYY-MM-DD`` text -> datetime64[ns]; InputError naming the row otherwise."""
    text = cells.astype(str).str.strip().reset_index(drop=True)
    ok = text.str.match(_LONG_DAY)
    compact = text.str.fullmatch(r"\d{8}")
    dates = pd.to_datetime(text.where(~compact, text.str[:4] + "-" + text.str[4:6] + "-" + text.str[6:8]),
                           format="%Y-%m-%d", errors="coerce")
    bad = ~ok | dates.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{where(label, i + 2, column)}: {text.iat[i]!r} is not a date in a format OxCGRT published "
                         "(YYYYMMDD such as 20200315, or 2020-03-15); fix it")
    return dates.to_numpy(dtype="datetime64[ns]")


def parse_day_headers(headers: list[str], label) -> pd.DatetimeIndex:
    """Wide day headers (``01Jan2020`` or ``2020-01-01``) -> dates; InputError naming the column otherwise."""
    h = pd.Index([str(x) for x in headers], dtype=object)
    iso = h.str.contains("-", regex=False)
    days = pd.Series(pd.NaT, index=range(len(h)), dtype="datetime64[ns]")
    if iso.any():
        days[iso] = pd.to_datetime(h[iso], format="%Y-%m-%d", errors="coerce")
    if (~iso).any():
        days[~iso] = pd.to_datetime(h[~iso], format="%d%b%Y", errors="coerce")
    if days.isna().any():
        bad = h[int(np.flatnonzero(days.isna().to_numpy())[0])]
        raise InputError(f"{where(label, 1, bad)}: {bad!r} is not a day in a format OxCGRT published "
                         "(01Jan2020 or 2020-01-01); rename the column")
    return pd.DatetimeIndex(days)


def missing_indicators(long: pd.DataFrame) -> list[tuple[str, str]]:
    """Indicators the OxCGRT inputs do not provide, as (column, why) pairs.

    Input: the long table of :func:`~lookup.policies.readers.read_oxcgrt`. An indicator is missing when
    no input row records it (no file has its column, or its wide file is absent): every output row would
    be empty. A policy's flag is missing when a file records the policy above 0 but none of its flags:
    without the flag the Data Hub's sign convention would call every measure targeted.
    """
    from .table import FLAGGED_POLICIES, INDEX_COLUMNS, POLICY_COLUMNS

    out = []
    for col in (*POLICY_COLUMNS, *INDEX_COLUMNS):
        if long[col].isna().all():
            out.append((col, "no input file has this indicator"))
    if len(long):
        files = long["source_file"].astype(str)
        for col in FLAGGED_POLICIES:
            has_value = (long[col] > 0).groupby(files).any()
            has_flag = long[f"{col}_flag"].notna().groupby(files).any()
            lacking = has_value & ~has_flag
            if lacking.any():
                out.append((f"{col}_flag", f"{lacking[lacking].index[0]} records {col} but none of its flags"))
    return out


def require_indicators(long: pd.DataFrame, allow_missing=()) -> list[str]:
    """Raise InputError (one line, naming the indicator and ``--allow-missing``) for the first missing
    indicator (:func:`missing_indicators`) not named in ``allow_missing`` (codes like C1 or H7, output
    columns like school_closing, flags like C1_Flag; case-insensitive). Returns the missing columns the
    caller allowed."""
    from .table import indicator_names

    allowed = {str(a).strip().lower() for a in allow_missing}
    missing = missing_indicators(long)
    refused = [(c, why) for c, why in missing if not indicator_names(c) & allowed]
    if refused:
        col, why = refused[0]
        name = min(indicator_names(col), key=len)
        name = name if name == col else name.upper().replace("_FLAG", "_Flag")  # C1, C1_Flag as OxCGRT writes them
        more = f" (and {len(refused) - 1} more: {', '.join(c for c, _ in refused[1:6])})" if len(refused) > 1 else ""
        raise InputError(f"OxCGRT inputs: indicator {name} ({col}) is missing: {why}{more}; add the file or column, "
                         f"or pass --allow-missing {name} to publish it empty")
    return [c for c, _ in missing]
