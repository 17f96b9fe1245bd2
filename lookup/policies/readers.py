"""Readers for every OxCGRT layout, all mapped into ONE long table with a typed date.

Layouts (detected from the header, never from the file name):

- ``legacy``: the long CSV of 2020-2022 (``C1_School closing``, ``C1_Flag``, ..., ``StringencyIndex``),
  with ``RegionCode`` and optionally ``Jurisdiction`` / ``CityCode`` (US and Brazil subnational files,
  ``OxCGRT_withnotes_2023.csv``);
- ``v1``: the long CSV of OxCGRT v1 (``C1M_School closing``, ``C1M_Flag``, ``C8EV_...``,
  ``StringencyIndex_WeightedAverage``). Files without the ``M``/``EV`` columns (``OxCGRT_raw_*``) get them
  derived as OxCGRT does: the ``E`` (everyone) value when recorded, else the ``V`` value where
  ``MajorityVaccinated`` is ``V`` and the ``NV`` value elsewhere;
- ``wide``: one file per indicator or flag, one column per day (``01Jan2020``), e.g. the legacy national
  timeseries folder (``c1_school_closing.csv`` + ``c1_flag.csv``, ``stringency_index.csv``) and
  ``OxCGRT_timeseries_StringencyIndex_v1.csv``. The indicator comes from the file name.

Jurisdiction vocabularies and the ``scope`` each row gets:

- ``NAT_GOV`` (2020 files; national rows have an empty RegionCode) and ``NAT_TOTAL`` (later files; in
  ``OxCGRT_raw_GBR_v1.csv`` its RegionCode even reads ``NAT_TOTAL``) -> ``national``. National rows are
  keyed by CountryCode only, whatever their RegionCode says, so the UK's national rows can never be taken
  for one of its four nations (UK_ENG, UK_NIR, UK_SCO, UK_WAL);
- ``STATE_ALL`` (2020), ``STATE_TOTAL`` (later), ``STATE_WIDE`` / ``STATE_GOV`` -> ``region``;
- ``CITY_*`` and Brazilian city rows (CityCode ``BR_<IBGE>``) -> ``city`` (they feed no level: the Data
  Hub treats OxCGRT as having no municipal data);
- no Jurisdiction column: an empty RegionCode is ``national``; a RegionCode with an empty CityCode or
  CityCode ``STATE_GOV`` (Brazil) is ``region`` (jurisdiction set to ``STATE_GOV``); other cities ``city``.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from geolookup.core.errors import InputError, where
from geolookup.core.tableio import check_columns, decode, read_csv_text, sniff_separator

from .scope import KEY_COLUMNS, _scope, long_columns
from .table import CODEBOOK_MAX, indicators
from .values import WIDE_DAY as _WIDE_DATE
from .values import parse_long_dates, parse_values
from .wide import read_wide, wide_indicator

_V1_DERIVED = re.compile(r"^([A-Z]\d)(M|EV)_(.+)$")
_V1_MARK = re.compile(r"^[A-Z]\d(E|NV|V|M|EV)_")


def detect_layout(columns) -> str | None:
    """``"wide"``, ``"v1"``, ``"legacy"`` or None (not an OxCGRT table) from the header names."""
    columns = [str(c) for c in columns]
    if any(_WIDE_DATE.match(c) for c in columns):
        return "wide"
    if "Date" not in columns:
        return None
    if any(_V1_MARK.match(c) for c in columns):
        return "v1"
    known = {a for ind in indicators() for a in ind["long_value"]}
    return "legacy" if known & set(columns) else None


# ----------------------------------------------------------------------------- long layouts
def _v1_derive(df: pd.DataFrame, alias: str, flag_alias: str | None):
    m = _V1_DERIVED.match(alias)
    if not m or "MajorityVaccinated" not in df.columns:
        return None
    code, _, rest = m.groups()
    parts = [f"{code}{s}_{rest}" for s in ("E", "NV", "V")]
    if not all(p in df.columns for p in parts):
        return None
    use_e = (df[parts[0]] != "").to_numpy()
    use_v = (df["MajorityVaccinated"] == "V").to_numpy()

    def pick(cols):
        e, nv, v = (df[c].to_numpy(dtype=object) if c in df.columns else np.full(len(df), "", object) for c in cols)
        return pd.Series(np.where(use_e, e, np.where(use_v, v, nv)), index=df.index, dtype=object)

    value = pick(parts)
    flag = pick([f"{code}{s}_Flag" for s in ("E", "NV", "V")]) if flag_alias else None
    return value, flag


def _pick_columns(df: pd.DataFrame, ind: dict):
    """(value text Series | None, flag text Series | None) for one indicator of a long file."""
    flags = ind["long_flag"]
    for i, alias in enumerate(ind["long_value"]):
        if alias in df.columns:
            f = flags[i] if i < len(flags) else None
            return df[alias], (df[f] if f and f in df.columns else None)
    for i, alias in enumerate(ind["long_value"]):
        got = _v1_derive(df, alias, flags[i] if i < len(flags) else None)
        if got is not None:
            return got
    return None, None


def read_long(path, file_order: int = 0) -> pd.DataFrame:
    """Read one long OxCGRT CSV (legacy or v1 layout) into the long table (see :func:`read_oxcgrt`).

    Raises InputError (file, row, column, fix) for: a missing CountryCode/Date column, no known
    indicator column, a Date that is not YYYYMMDD, a non-numeric or out-of-range value (policies 0-10,
    flags 0-1, indices 0-100), an unknown Jurisdiction, or a duplicated (place, jurisdiction, date) row.
    """
    label = str(path)
    df = read_csv_text(path, label=label)
    layout = detect_layout(df.columns)
    if layout not in ("legacy", "v1"):
        raise InputError(f"{label}: not a long OxCGRT table (needs Date and columns like 'C1_School closing' "
                         f"or 'C1M_School closing'); columns found: {', '.join(map(str, df.columns[:12]))}")
    check_columns(df, ["CountryCode", "Date"], label)
    n = len(df)
    if n == 0:
        raise InputError(f"{label}: a header and no data rows; give an OxCGRT file with data (nothing was written)")
    col = {c: (df[c].str.strip() if c in df.columns else pd.Series([""] * n, dtype=object))
           for c in ("CountryCode", "RegionCode", "CityCode", "Jurisdiction")}
    country = col["CountryCode"].str.upper().to_numpy(dtype=object)
    region, city, jur, scope = _scope(country, col["RegionCode"].to_numpy(dtype=object),
                                      col["CityCode"].to_numpy(dtype=object),
                                      col["Jurisdiction"].to_numpy(dtype=object), label)
    out = {"country_code": country, "region_code": region, "city_code": city, "jurisdiction": jur,
           "scope": scope, "date": parse_long_dates(df["Date"], label)}
    found = 0
    for ind in indicators():
        value, flag = _pick_columns(df, ind)
        name = ind["column"]
        out[name] = _numeric(df, value, label, ind["long_value"][0], CODEBOOK_MAX[name], ind["kind"] == "policy")
        found += value is not None
        if ind["kind"] == "policy":
            out[f"{name}_flag"] = _numeric(df, flag, label, (ind["long_flag"] or ("flag",))[0], 1.0, True)
    if not found:
        raise InputError(f"{label}: no OxCGRT indicator column found; expected e.g. 'C1_School closing'")
    table = pd.DataFrame(out)
    _check_duplicates(table, label)
    table.insert(6, "file_order", np.int32(file_order))
    table.insert(7, "source_file", os.path.basename(label))
    return table


def _numeric(df, series, label, fallback_name, hi, integer) -> np.ndarray:
    """Codebook-checked values of one column (:func:`.values.parse_values`); NaN when the file lacks it."""
    if series is None:
        return np.full(len(df), np.nan)
    return parse_values(series, label, series.name or fallback_name, hi, integer)


def _check_duplicates(table: pd.DataFrame, label) -> None:
    dup = table.duplicated(["country_code", "region_code", "city_code", "jurisdiction", "date"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"{where(label, i + 2)}: duplicate row for {table['country_code'].iat[i]} "
                         f"{table['region_code'].iat[i] or '(national)'} {table['jurisdiction'].iat[i]} on "
                         f"{table['date'].iat[i]:%Y-%m-%d}; keep one row per place and date")


# ----------------------------------------------------------------------------- entry point
def _header(path: Path) -> list[str]:
    """The column names of a CSV from its first line (any encoding / separator); [] if unreadable."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(1 << 16)
        text, _ = decode(raw, path)
        line = text.splitlines()[0] if text.strip() else ""
        return [c.strip() for c in next(csv.reader([line], delimiter=sniff_separator(line)))] if line else []
    except (OSError, InputError, csv.Error, StopIteration):
        return []


def _expand(paths) -> list[tuple[Path, bool]]:
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += [(f, False) for f in sorted(p.glob("*.csv"))]
        elif p.exists():
            out.append((p, True))
        else:
            raise InputError(f"{p}: OxCGRT file or folder not found; check the --oxcgrt path")
    return out


def read_oxcgrt(paths) -> pd.DataFrame:
    """Read OxCGRT files and folders of any layout into ONE long table.

    Input: files and/or folders (every ``*.csv`` in a folder; wide files whose name is not an indicator
    we use, e.g. ``confirmed_cases.csv``, are skipped there, but rejected when named explicitly).
    Output: one row per (file or wide set, place, jurisdiction, day); columns ``country_code`` (ISO3),
    ``region_code`` (OxCGRT RegionCode, "" for national rows), ``city_code``, ``jurisdiction`` (as given,
    "" when the file has none), ``scope`` (``national`` | ``region`` | ``city``, see module docstring),
    ``date`` (datetime64[ns], a calendar day), ``file_order`` (int32, position of the file in ``paths``
    order, later = higher), ``source_file`` (str), then each indicator's raw value (float64, NaN when not
    recorded; the 14 policies then the 4 indices of :mod:`~lookup.policies.table`) and each policy's raw
    flag ``<policy>_flag`` (float64, NaN when missing). No sign is applied here.
    Raises InputError for missing paths, unreadable or malformed files (see :func:`read_long`), or when no
    OxCGRT table is found at all.
    """
    frames, wide = [], []
    for order, (path, explicit) in enumerate(_expand(paths)):
        header = _header(path)
        layout = detect_layout(header)
        if layout is None and not explicit and wide_indicator(path) is not None and header:
            raise InputError(f"{path}: named like an OxCGRT indicator file, but no column is a day in a format "
                             f"OxCGRT published (01Jan2020 or 2020-01-01); columns found: {', '.join(header[:6])}")
        if layout == "wide":
            if explicit or wide_indicator(path) is not None:
                wide.append((order, path))
        elif layout in ("legacy", "v1"):
            frames.append(read_long(path, order))
        elif explicit:
            if path.stat().st_size == 0 or not _header(path):
                raise InputError(f"{path}: file is empty or unreadable; give an OxCGRT CSV with a header line")
            raise InputError(f"{path}: not an OxCGRT table (no Date column with indicator columns, and no day "
                             "columns like 01Jan2020); give an OxCGRT CSV or folder")
    if wide:
        frames.append(read_wide([p for _, p in wide], file_order=max(o for o, _ in wide)))
    if not frames:
        raise InputError(f"{', '.join(map(str, paths))}: no OxCGRT table found; give OxCGRT CSV files or the "
                         "legacy_timeseries folder")
    table = pd.concat(frames, ignore_index=True)
    return table[long_columns()]
