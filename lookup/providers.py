"""Reading a provider table as a source spec describes it (lookup/specs.py): filter, country, keys.

A provider file is read once per process (cached by path and modification time), so a world build
that takes each country's rows from the same global file (JHU, Google, Apple) parses it once.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path, PurePosixPath

import pandas as pd
import pycountry

from geolookup.core.datafiles import fetch
from geolookup.core.errors import InputError, where
from geolookup.core.tableio import numeric_column, read_csv_text

_FIELD = re.compile(r"\{([^{}]+)\}")


def provider_path(spec, data_dir=None, file: str | None = None, url: str | None = None) -> Path:
    """Local path of the spec's provider file (or of ``file``): data folder, cache, else one download
    (datafiles.fetch). Raises DataNotFoundError (file, URL, where to put it) when none works."""
    p = PurePosixPath(file or spec.file)
    return fetch(str(p.parent), p.name, spec.url if url is None else url, data_dir)


@functools.lru_cache(maxsize=16)
def _read(path: str, mtime: float) -> pd.DataFrame:
    return read_csv_text(path, label=path)


@functools.lru_cache(maxsize=4096)
def country_iso3(value: str) -> str:
    """ISO 3166-1 alpha-3 of a code or name (pycountry: alpha-2, alpha-3, withdrawn codes such as
    ANT, names such as "Italy"); "" when pycountry does not know it (e.g. "XK", "Diamond Princess")."""
    v = value.strip()
    if not v:
        return ""
    for db in (pycountry.countries, pycountry.historic_countries):
        for attr in ("alpha_3", "alpha_2"):
            hit = db.get(**{attr: v.upper()}) if len(v) == int(attr[-1]) else None
            if hit is not None:
                return hit.alpha_3
    try:
        return pycountry.countries.lookup(v).alpha_3
    except LookupError:
        return ""


def _fields(spec_value) -> list[str]:
    if not spec_value:
        return []
    if isinstance(spec_value, list):
        return list(spec_value)
    found = _FIELD.findall(spec_value)
    return found or [spec_value]


def values_of(df: pd.DataFrame, spec_value) -> pd.Series:
    """Stripped text of a ``[columns]`` value: a column name, or a ``{column}`` template (module doc
    of lookup.specs); an all-"" Series when unset. A template whose columns are all empty gives "".
    """
    if not spec_value:
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    if "{" not in spec_value:
        return df[spec_value].astype(str).str.strip()
    out = pd.Series([spec_value] * len(df), index=df.index, dtype=object)
    blank = pd.Series(True, index=df.index)
    for c in _FIELD.findall(spec_value):
        v = df[c].astype(str).str.strip()
        blank &= v == ""
        out = pd.Series([t.replace("{" + c + "}", x) for t, x in zip(out, v)], index=df.index, dtype=object)
    out = out.str.strip(" ,")
    return out.where(~blank, "")


def _pad(values: pd.Series, width: int) -> pd.Series:
    digits = values.str.fullmatch(r"\d+")
    return values.where(~digits | (width <= 0), values.str.zfill(width))


def _check(df, names, label, spec) -> None:
    lacking = [c for c in names if c and c not in df.columns]
    if lacking:
        raise InputError(f"{label}: column {lacking[0]!r} named by spec {spec.path} is not in the file "
                         f"(columns: {', '.join(list(df.columns)[:12])}...); fix the spec")


def row_countries(df: pd.DataFrame, spec) -> pd.Series:
    """ISO3 per row of a global spec: the first ``[columns] country`` column that names an ISO
    3166-1 country (:func:`country_iso3`), else that column's own text upper-cased (e.g. "XKS")."""
    given = spec.columns.get("country")
    cols = list(given) if isinstance(given, list) else [given]
    out = pd.Series([""] * len(df), index=df.index, dtype=object)
    raw = pd.Series([""] * len(df), index=df.index, dtype=object)
    for c in cols:
        v = df[c].astype(str).str.strip()
        iso = v.map(country_iso3)
        out = out.where(out != "", iso)
        raw = raw.where(raw != "", v.str.upper())
    return out.where(out != "", raw)


def read_provider(spec, data_dir=None) -> tuple[pd.DataFrame, int, Path]:
    """Read, filter and normalise a provider table.

    Output: (rows, filtered, path). ``rows`` keeps every provider column and adds text columns
    ``_key`` (filled from ``[keys]`` where the provider gives none), ``_name``, ``_parent``, ``_key_local``,
    ``_id_value``, ``_country`` (ISO3), ``_row`` (spreadsheet row: header = row 1 in the file) and
    ``_fill_<key>`` per declared fill column; ``filtered`` counts rows the spec's [filter] removed (a
    global spec's rows of other countries are not counted). Raises InputError (file, spreadsheet
    row, column, spec, fix) for a missing/empty file, a column the file lacks, a key used by two
    rows, and a latitude/longitude that is not a number or outside [-90, 90] / [-180, 180] degrees;
    DataNotFoundError when the file is neither local nor downloadable.
    """
    path = provider_path(spec, data_dir)
    label = str(path)
    df = _read(str(path), path.stat().st_mtime).copy()
    joined = spec.join.get("columns", []) if spec.join else []
    named = [c for v in spec.columns.values() for c in _fields(v) if c not in joined]
    _check(df, named + list(spec.filter.get("equals", {})) + spec.filter.get("require", [])
           + spec.filter.get("empty", []) + ([spec.join["on"]] if spec.join else []), label, spec)
    df = df.assign(_row=range(2, len(df) + 2))
    if spec.join:
        jpath = provider_path(spec, data_dir, file=spec.join["file"], url=spec.join.get("url", ""))
        other = _read(str(jpath), jpath.stat().st_mtime)
        _check(other, [spec.join["on"], *joined], str(jpath), spec)
        other = other[[spec.join["on"], *joined]].drop_duplicates(spec.join["on"])
        df = df.merge(other, on=spec.join["on"], how="left").fillna("")
    mine = pd.Series(True, index=df.index)
    if spec.columns.get("country"):
        df["_country"] = row_countries(df, spec)
        if not spec.is_global:
            mine = df["_country"] == spec.country
    else:
        df["_country"] = spec.country
    keep = mine.copy()
    for c, v in spec.filter.get("equals", {}).items():
        keep &= df[c].str.strip().isin([str(x) for x in v] if isinstance(v, list) else [str(v)])
    for c in spec.filter.get("require", []):
        keep &= df[c].str.strip() != ""
    for c in spec.filter.get("empty", []):
        keep &= df[c].str.strip() == ""
    filtered = int((mine & ~keep).sum())
    for key, lo, hi in (("latitude", -90, 90), ("longitude", -180, 180)):
        if spec.col(key):  # degrees WGS84; rows the filter drops are not checked (blanked)
            numeric_column(df[[spec.col(key)]].where(keep.to_numpy()[:, None], ""), spec.col(key), label, lo, hi)
    df = df[keep].reset_index(drop=True)
    df["_key"] = values_of(df, spec.col("key"))
    df["_name"] = values_of(df, spec.col("name"))
    df["_parent"] = values_of(df, spec.col("parent"))
    if spec.keys:
        given = (df["_parent"] + "/" + df["_name"]).where(df["_parent"] != "", df["_name"]).map(spec.keys)
        df["_key"] = df["_key"].where((df["_key"] != "") | given.isna(), given)
    if spec.values.get("dedupe"):
        df = df[(df["_key"] == "") | ~df["_key"].duplicated(keep="first")].reset_index(drop=True)
    key_local = df["_key"] if spec.col("key_local") == spec.col("key") else values_of(df, spec.col("key_local"))
    df["_key_local"] = _pad(key_local, int(spec.values.get("key_local_width", 0)))
    integer = spec.values.get("id_value", "text") == "integer"
    base = values_of(df, spec.col("id_value")) if spec.col("id_value") else df["_key"]
    df["_id_value"] = base.map(lambda k: str(int(k)) if integer and k.isdigit() else k)
    for k in ("key_apple_mobility", "key_google_mobility", "key_jhu_csse"):
        df[f"_fill_{k}"] = values_of(df, spec.col(k))
    dup = (df["_key"] != "") & df["_key"].duplicated(keep="first")
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise InputError(f"{where(label, int(df['_row'].iloc[i]), spec.col('key'))}: key {df['_key'].iloc[i]!r} "
                         f"is used by an earlier row too; keys must be unique (spec {spec.path})")
    return df, filtered, path
