"""The wide OxCGRT layout: one file per indicator or flag, one column per day (``01Jan2020``).

Used by the legacy national timeseries folder (``c1_school_closing.csv`` + ``c1_flag.csv``,
``stringency_index.csv``) and ``OxCGRT_timeseries_StringencyIndex_v1.csv``; the indicator comes from
the file name. Rows map into the same long table as the long layouts (see :mod:`.readers`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from geolookup.core.errors import InputError, where
from geolookup.core.tableio import decode, sniff_separator

from .scope import KEY_COLUMNS, _scope, long_columns
from .table import CODEBOOK_MAX, norm_stem
from .table import indicators
from .values import NA_TOKENS as _NA_TOKENS  # R's write.csv writes NA for a missing value
from .values import WIDE_DAY as _WIDE_DATE
from .values import parse_day_headers, parse_values


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


_TEXT_KEYS = {"CountryCode", "country_code", "RegionCode", "region_code", "CityCode", "city_code", "Jurisdiction",
              "jurisdiction", "CountryName", "country_name", "RegionName", "region_name", "CityName", "city_name", ""}


def _read_wide_matrix(path, hi: float, integer: bool):
    """(place x day) float64 matrix of one wide file; cells checked against the codebook (``hi``,
    ``integer``: see :func:`.values.parse_values`); day headers must be 01Jan2020 or ISO dates."""
    import pyarrow as pa

    label = str(path)
    tbl = _read_wide_table(path)
    header = [str(c).strip() for c in tbl.column_names]
    dpos = [i for i, c in enumerate(header) if _WIDE_DATE.match(c)]
    dcols = [header[i] for i in dpos]
    odd = [c for c in header if c not in _TEXT_KEYS and not _WIDE_DATE.match(c) and any(ch.isdigit() for ch in c)]
    if odd:
        raise InputError(f"{where(label, 1, odd[0])}: {odd[0]!r} is not a day in a format OxCGRT published (01Jan2020 "
                         "or 2020-01-01); rename the column or give the file as OxCGRT published it")
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
    dates = parse_day_headers(dcols, label)
    if dates.duplicated().any():
        raise InputError(f"{label}: day {dates[dates.duplicated()][0]:%Y-%m-%d} appears twice in the header; keep one column per day")
    values = np.empty((n, len(dpos)))
    for j, i in enumerate(dpos):
        col = tbl.column(i)
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_null(col.type):
            values[:, j] = col.to_numpy(zero_copy_only=False).astype(float)
        else:  # text cells (a decimal comma, a stray word): parsed and checked one column at a time
            values[:, j] = parse_values(pd.Series(col.to_pylist(), dtype=object), label, dcols[j], hi, integer)
    bad = (values < 0) | (values > hi)
    if integer:
        bad |= np.isfinite(values) & (values != np.round(values))
    if bad.any():  # the whole matrix checked at once; the message names the first bad cell
        r, j = (int(x[0]) for x in np.nonzero(bad))
        parse_values(pd.Series([values[r, j]]), label, dcols[j], hi, integer, first_row=r + 2)
    return pd.DataFrame(values, index=keys, columns=dates)


def read_wide(paths, file_order: int = 0) -> pd.DataFrame:
    """Read a set of wide OxCGRT files (one indicator or flag each) into ONE long table.

    Input: paths whose names :func:`wide_indicator` recognises (others raise InputError). Output: one
    row per (place, day) of the union of all files' places and days; columns as :func:`read_oxcgrt`.
    Values must lie in OxCGRT's codebook (:mod:`.values`): policies whole numbers 0 to the indicator's
    maximum, flags 0 or 1, indices 0-100; day headers 01Jan2020 or 2020-01-01. Raises InputError naming
    file, row and column otherwise.
    """
    kinds = {i["column"]: i["kind"] for i in indicators()}
    mats = {}
    for p in paths:
        what = wide_indicator(p)
        if what is None:
            raise InputError(f"{p}: file name names no OxCGRT indicator we use (e.g. c1_school_closing.csv, "
                             "c1_flag.csv, stringency_index.csv); rename it or leave it out")
        name = what[0] if what[1] == "value" else f"{what[0]}_flag"
        flag = what[1] == "flag"
        policy = kinds[what[0]] == "policy"
        mats[name] = (p, _read_wide_matrix(p, 1.0 if flag else CODEBOOK_MAX[what[0]], flag or policy))
    keys = mats[next(iter(mats))][1].index
    dates = mats[next(iter(mats))][1].columns
    for _, m in mats.values():
        keys, dates = keys.union(m.index), dates.union(m.columns)
    size = len(keys) * len(dates)
    cols = {}
    for name in long_columns()[8:]:
        if name not in mats:
            cols[name] = np.full(size, np.nan)
            continue
        cols[name] = mats[name][1].reindex(index=keys, columns=dates).to_numpy().ravel()
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


