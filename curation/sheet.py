"""Spreadsheet-safe CSV cells for review queues (Excel and LibreOffice round trips).

Conventions (Excel and LibreOffice round trips):

- Files are written UTF-8 **with BOM** (Excel otherwise reads UTF-8 as cp1252) and CRLF line ends.
- **Code columns** (:data:`CODE_COLUMNS`, e.g. ``provider_key`` "01001") are written in the formula
  form ``="01001"``. Excel shows the text 01001 (leading zero kept, no 1E+05 or date conversion)
  and saves it back as ``01001``; LibreOffice, which by default does not evaluate formulas in CSV
  files, shows and saves ``="01001"``. :func:`decode_cell` accepts both forms. A leading
  apostrophe does not work in CSV files (Excel shows it), so it is not used for codes. Values
  longer than 255 characters (Excel's limit for a formula string) are written plain.
- **Formula injection**: any other text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR
  (e.g. a provider name "=HYPERLINK(...)") gets a leading apostrophe, which spreadsheets display
  and keep as text (OWASP "CSV injection"); :func:`decode_cell` removes exactly that apostrophe.
  Numeric columns (scores, coordinates, distances) are written as plain numbers.
"""

from __future__ import annotations

import re

import pandas as pd

from geolookup.core.tableio import read_csv_text, write_text_atomic

CODE_COLUMNS = ("provider_key",)
NUMERIC_COLUMNS_RE = re.compile(r"^(latitude|longitude|score|cand\d+_score|cand\d+_distance_km|cand\d+_gadm_level|"
                                r"admin_level|gadm_level)$")
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_RE = re.compile(r'^="(.*)"$', re.DOTALL)
MAX_FORMULA_TEXT = 255


def encode_code(value: str) -> str:
    """``01001`` -> ``="01001"`` (quotes inside doubled); "" stays ""."""
    value = str(value)
    if value == "" or len(value) > MAX_FORMULA_TEXT:
        return guard_text(value)
    return '="' + value.replace('"', '""') + '"'


def guard_text(value: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would run as a formula (``=1`` -> ``'=1``).

    Text that already starts with an apostrophe followed by such a character or another
    apostrophe (``'=x``, ``''``) is prefixed too, so that :func:`decode_cell` (which removes
    exactly one apostrophe there) gives the original back. Rule: OWASP "CSV injection".
    """
    value = str(value)
    return "'" + value if value.startswith(_DANGEROUS) or _escaped(value) else value


def _escaped(value: str) -> bool:
    """True for text a guard apostrophe precedes: ``'`` then a dangerous character or ``'``."""
    return value.startswith("'") and value[1:].startswith((*_DANGEROUS, "'"))


def decode_cell(value: str) -> str:
    """Undo :func:`encode_code` / :func:`guard_text` and trim spaces: ``="01001"`` -> ``01001``,
    ``'=x`` -> ``=x``, ``''=x`` -> ``'=x``; anything else is returned stripped. Input: one cell
    as read from a queue CSV (ours, Excel's or LibreOffice's save); output: the text value."""
    value = str(value).strip()
    m = _FORMULA_RE.match(value)
    if m:
        return m.group(1).replace('""', '"')
    if _escaped(value):
        return value[1:]
    return value


def encode_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` as text cells: code columns in formula form, other text guarded, numbers
    formatted plainly (NaN -> "")."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        if col in CODE_COLUMNS:
            out[col] = s.astype(str).map(encode_code)
        elif NUMERIC_COLUMNS_RE.match(col) or pd.api.types.is_numeric_dtype(s):
            out[col] = s.map(_format_number)
        else:
            out[col] = s.fillna("").astype(str).map(guard_text)
    return out


def _format_number(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v) or (isinstance(v, str) and v == ""):
        return ""
    if isinstance(v, str):
        try:
            float(v)
            return v
        except ValueError:
            return guard_text(v)
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:.6f}".rstrip("0").rstrip(".")


def write_sheet(df: pd.DataFrame, path, sep: str = ",") -> None:
    """Write a queue for spreadsheets: encoded cells, UTF-8 with BOM, CRLF, atomically."""
    text = encode_frame(df).to_csv(index=False, sep=sep, lineterminator="\r\n")
    write_text_atomic(path, "\ufeff" + text, encoding="utf-8")


def read_sheet(path, required=()) -> pd.DataFrame:
    """Read a queue saved by us, Excel or LibreOffice (BOM, ``;``/``,``, CRLF, cp1252), every cell
    decoded with :func:`decode_cell`. Output: DataFrame of str; raises InputError (file-level)."""
    df = read_csv_text(path, required=required, label=str(path))
    return df.apply(lambda s: s.map(decode_cell)) if len(df) else df
