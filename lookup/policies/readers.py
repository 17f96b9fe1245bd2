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
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from geolookup.errors import InputError, where
from geolookup.tableio import check_columns, decode, numeric_column, read_csv_text, sniff_separator

from .table import MAX_RAW, POLICY_COLUMNS, indicators, norm_stem

KEY_COLUMNS = ("country_code", "region_code", "city_code", "jurisdiction", "scope")
_WIDE_DATE = re.compile(r"^\d{2}[A-Z][a-z]{2}\d{4}$")
_V1_DERIVED = re.compile(r"^([A-Z]\d)(M|EV)_(.+)$")
_NA_TOKENS = ("", "NA", "NaN", "nan", "None")  # R's write.csv writes NA for a missing value
_V1_MARK = re.compile(r"^[A-Z]\d(E|NV|V|M|EV)_")


def long_columns() -> list[str]:
    """Columns of the long table, in order (see :func:`read_oxcgrt`)."""
    cols = [*KEY_COLUMNS, "date", "file_order", "source_file"]
    for ind in indicators():
        cols.append(ind["column"])
        if ind["kind"] == "policy":
            cols.append(f"{ind['column']}_flag")
    return cols


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


# ----------------------------------------------------------------------------- scope
def _scope(country, region, city, jur, label) -> tuple[np.ndarray, ...]:
    """Vectorised scope rules (module docstring). Returns (region, city, jurisdiction, scope) arrays."""
    region, city, jur = (np.asarray(a, dtype=object) for a in (region, city, jur))
    brazil_state = (jur == "") & (city == "STATE_GOV")
    jur = np.where(brazil_state, "STATE_GOV", jur).astype(object)
    city = np.where(brazil_state, "", city).astype(object)
    j = pd.Series(jur, dtype=object)
    nat = j.str.startswith("NAT_").to_numpy() | ((jur == "") & (region == "") & (city == ""))
    reg = j.str.startswith("STATE_").to_numpy() | ((jur == "") & (region != "") & (city == ""))
    cit = j.str.startswith("CITY_").to_numpy() | ((jur == "") & (city != ""))
    unknown = ~(nat | reg | cit)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputError(f"{where(label, i + 2, 'Jurisdiction')}: unknown jurisdiction {jur[i]!r}; "
                         "expected NAT_GOV, NAT_TOTAL, STATE_ALL, STATE_TOTAL, STATE_WIDE, STATE_GOV or CITY_*")
    bad = reg & (region == "")
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where(label, i + 2, 'RegionCode')}: sub-national row without a RegionCode; fill it in")
    empty = np.asarray(country, dtype=object) == ""
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(f"{where(label, i + 2, 'CountryCode')}: empty country code; fill in the ISO3 code")
    scope = np.where(nat, "national", np.where(reg, "region", "city")).astype(object)
    region = np.where(nat, "", region).astype(object)
    return region, city, jur, scope


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
    col = {c: (df[c].str.strip() if c in df.columns else pd.Series([""] * n, dtype=object))
           for c in ("CountryCode", "RegionCode", "CityCode", "Jurisdiction")}
    country = col["CountryCode"].str.upper().to_numpy(dtype=object)
    region, city, jur, scope = _scope(country, col["RegionCode"].to_numpy(dtype=object),
                                      col["CityCode"].to_numpy(dtype=object),
                                      col["Jurisdiction"].to_numpy(dtype=object), label)
    dates = pd.to_datetime(df["Date"].str.strip(), format="%Y%m%d", errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise InputError(f"{where(label, i + 2, 'Date')}: {df['Date'].iloc[i]!r} is not a date YYYYMMDD; fix it")
    out = {"country_code": country, "region_code": region, "city_code": city, "jurisdiction": jur,
           "scope": scope, "date": dates.to_numpy(dtype="datetime64[ns]")}
    found = 0
    for ind in indicators():
        value, flag = _pick_columns(df, ind)
        name = ind["column"]
        out[name] = _numeric(df, value, label, MAX_RAW[ind["kind"]])
        found += value is not None
        if ind["kind"] == "policy":
            out[f"{name}_flag"] = _numeric(df, flag, label, 1.0)
    if not found:
        raise InputError(f"{label}: no OxCGRT indicator column found; expected e.g. 'C1_School closing'")
    table = pd.DataFrame(out)
    _check_duplicates(table, label)
    table.insert(6, "file_order", np.int32(file_order))
    table.insert(7, "source_file", os.path.basename(label))
    return table


def _numeric(df, series, label, hi) -> np.ndarray:
    if series is None:
        return np.full(len(df), np.nan)
    tmp = pd.DataFrame({series.name or "derived": series.reset_index(drop=True)})
    return numeric_column(tmp, tmp.columns[0], label, 0.0, hi).to_numpy()


def _check_duplicates(table: pd.DataFrame, label) -> None:
    dup = table.duplicated(["country_code", "region_code", "city_code", "jurisdiction", "date"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"{where(label, i + 2)}: duplicate row for {table['country_code'].iat[i]} "
                         f"{table['region_code'].iat[i] or '(national)'} {table['jurisdiction'].iat[i]} on "
                         f"{table['date'].iat[i]:%Y-%m-%d}; keep one row per place and date")


# ----------------------------------------------------------------------------- wide layout
def wide_indicator(path) -> tuple[str, str] | None:
    """(output column, "value" | "flag") named by a wide file, or None if we do not use it."""
    stem = norm_stem(Path(path).stem)
    for ind in indicators():
        if stem in ind["wide_value"]:
            return ind["column"], "value"
        if stem in ind["wide_flag"]:
            return ind["column"], "flag"
    return None


def _read_wide_table(path):
    """Parse a wide CSV with pyarrow (fast for ~1,150 day columns): key columns as text, days as numbers."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    label = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError:
        raise InputError(f"{label}: cannot read the file; check the path and permissions") from None
    text, _ = decode(raw, label)
    if not text.strip():
        raise InputError(f"{label}: file is empty; it needs a header line and at least one row")
    text_keys = {"CountryCode", "country_code", "RegionCode", "CityCode", "Jurisdiction", "CountryName",
                 "country_name", "RegionName", "CityName", ""}
    try:
        return pacsv.read_csv(
            pa.BufferReader(text.encode("utf-8")),
            parse_options=pacsv.ParseOptions(delimiter=sniff_separator(text[:65536])),
            convert_options=pacsv.ConvertOptions(column_types={k: pa.string() for k in text_keys},
                                                 null_values=list(_NA_TOKENS), strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise InputError(f"{label}: not a valid CSV ({str(exc).splitlines()[0]}); check quotes and separators") from None


def _read_wide_matrix(path):
    import pyarrow as pa

    label = str(path)
    tbl = _read_wide_table(path)
    header = [str(c).strip() for c in tbl.column_names]
    dpos = [i for i, c in enumerate(header) if _WIDE_DATE.match(c)]
    dcols = [header[i] for i in dpos]
    cc = next((c for c in ("CountryCode", "country_code") if c in header), None)
    if cc is None or not dcols or tbl.num_rows == 0:
        raise InputError(f"{label}: wide OxCGRT table needs a country_code (or CountryCode) column, day "
                         "columns like 01Jan2020 and at least one row")
    n = tbl.num_rows

    def get(c):
        if c not in header:
            return np.full(n, "", object)
        return np.array([(v or "").strip() for v in tbl.column(header.index(c)).to_pylist()], dtype=object)

    country = np.array([v.upper() for v in get(cc)], dtype=object)
    region, city, jur, scope = _scope(country, get("RegionCode"), get("CityCode"), get("Jurisdiction"), label)
    keys = pd.MultiIndex.from_arrays([country, region, city, jur, scope], names=KEY_COLUMNS)
    if keys.duplicated().any():
        i = int(np.flatnonzero(keys.duplicated())[0])
        raise InputError(f"{where(label, i + 2)}: duplicate row for {country[i]} {region[i]}; keep one row per place")
    try:
        dates = pd.to_datetime(pd.Index(dcols), format="%d%b%Y")
    except ValueError:
        raise InputError(f"{label}: day columns must read like 01Jan2020") from None
    values = np.empty((n, len(dpos)))
    for j, i in enumerate(dpos):
        col = tbl.column(i)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_null(col.type)):
            num = pd.to_numeric(pd.Series(col.to_pylist(), dtype=object).str.strip(), errors="coerce")
            bad = num.isna().to_numpy() & np.array([v not in (None, *_NA_TOKENS) for v in col.to_pylist()])
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                raise InputError(f"{where(label, r + 2, dcols[j])}: {col[r].as_py()!r} is not a number; fix or "
                                 "empty the cell")
            values[:, j] = num.to_numpy(dtype=float)
        else:
            values[:, j] = col.to_numpy(zero_copy_only=False)
    return pd.DataFrame(values, index=keys, columns=dates)


def read_wide(paths, file_order: int = 0) -> pd.DataFrame:
    """Read a set of wide OxCGRT files (one indicator or flag each) into ONE long table.

    Input: paths whose names :func:`wide_indicator` recognises (others raise InputError). Output: one
    row per (place, day) of the union of all files' places and days; columns as :func:`read_oxcgrt`.
    Values must lie in 0-10 (policies), 0-1 (flags) or 0-100 (indices).
    """
    mats = {}
    for p in paths:
        what = wide_indicator(p)
        if what is None:
            raise InputError(f"{p}: file name names no OxCGRT indicator we use (e.g. c1_school_closing.csv, "
                             "c1_flag.csv, stringency_index.csv); rename it or leave it out")
        name = what[0] if what[1] == "value" else f"{what[0]}_flag"
        mats[name] = (p, _read_wide_matrix(p))
    keys = mats[next(iter(mats))][1].index
    dates = mats[next(iter(mats))][1].columns
    for _, m in mats.values():
        keys, dates = keys.union(m.index), dates.union(m.columns)
    size = len(keys) * len(dates)
    kinds = {i["column"]: i["kind"] for i in indicators()}
    cols = {}
    for name in long_columns()[8:]:
        if name not in mats:
            cols[name] = np.full(size, np.nan)
            continue
        p, m = mats[name]
        arr = m.reindex(index=keys, columns=dates).to_numpy().ravel()
        hi = 1.0 if name.endswith("_flag") else MAX_RAW[kinds[name]]
        bad = (arr < 0) | (arr > hi)
        if bad.any():
            raise InputError(f"{p}: value {arr[np.flatnonzero(bad)[0]]} outside [0, {hi}]; check the file is an "
                             "OxCGRT indicator")
        cols[name] = arr
    keep = ~np.logical_and.reduce([np.isnan(a) for a in cols.values()])
    row = np.repeat(np.arange(len(keys)), len(dates))[keep]
    out = {}
    for c in KEY_COLUMNS:  # categorical: 200k repeated codes cost nothing to build
        codes, uniques = pd.factorize(keys.get_level_values(c).to_numpy(dtype=object))
        out[c] = pd.Categorical.from_codes(codes[row], categories=pd.Index(uniques, dtype=object))
    out["date"] = np.tile(dates.to_numpy(dtype="datetime64[ns]"), len(keys))[keep]
    out["file_order"] = np.int32(file_order)
    names = ",".join(sorted(os.path.basename(str(p)) for p, _ in mats.values()))
    out["source_file"] = pd.Categorical.from_codes(np.zeros(len(row), np.int8), categories=[names])
    out.update({name: a[keep] for name, a in cols.items()})
    return pd.DataFrame(out)


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
        layout = detect_layout(_header(path))
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
