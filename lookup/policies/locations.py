"""Read the locations that receive policies: Data Hub-layout lookup CSVs or a lookup SQLite database.

A location's candidate OxCGRT sources, in order (Data Hub behaviour, paper "Policy measures"):

- ``administrative_area_level`` 1: its nation (ISO3);
- level 2: its own RegionCode (lookup column ``id_github.oxcgrt.covidpolicytracker``, e.g. US_CA), then
  its nation;
- level 3: its own code when the lookup row carries one (the reference USA.csv gives counties their
  state's code, e.g. US_AR), then the code of its region = the level-2 row of the same country whose
  ``administrative_area_level_2`` name matches, then its nation.

The ISO3 of a row is ``iso_alpha_3`` (or ``iso3``) when the table has that column (ISO.csv), else the
file name of a per-country CSV (``USA.csv``), else the ISO3 most rows with the same RegionCode prefix have (``US_PR`` -> USA, for SQLite tables
without an ISO3 column; GADM files Puerto Rico under PRI), else the prefix of ``key_gadm``
(``ITA.1_1`` -> ITA).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from geolookup.core.errors import InputError, where
from geolookup.core.tableio import check_columns, numeric_column, read_csv_text

CODE = "id_github.oxcgrt.covidpolicytracker"
REQUIRED = ("id", "administrative_area_level")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_GADM_ISO = re.compile(r"^([A-Z]{3})(\.|$)")


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _frame(df: pd.DataFrame, label: str, stem: str | None) -> pd.DataFrame:
    check_columns(df, REQUIRED, label)
    df = df.reset_index(drop=True).assign(_row=np.arange(2, len(df) + 2))
    # parsed before rows without id are dropped, so that errors name the file's own data row
    lvl_all = numeric_column(df, "administrative_area_level", label, 1, 3).to_numpy()
    keep = (df["id"].astype(str).str.strip() != "").to_numpy()  # Data Hub files start with a placeholder row
    df, lvl = df[keep], lvl_all[keep]
    if df.empty:
        return pd.DataFrame(columns=["id", "admin_level", "iso3", "gadm_iso3", "code", "area_2", "file", "row"])
    bad = np.isnan(lvl) | (lvl != np.round(lvl))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where(label, int(df['_row'].iat[i]), 'administrative_area_level')}: level "
                         f"{df['administrative_area_level'].iat[i]!r} is not 1, 2 or 3; give 1, 2 or 3")
    col = lambda c: df[c].str.strip() if c in df.columns else pd.Series("", index=df.index)  # noqa: E731
    iso_cols = [c for c in ("iso_alpha_3", "iso3") if c in df.columns]
    if iso_cols:  # a lookup.sqlite holds national rows (iso_alpha_3) and country rows (iso3) in one table
        iso3 = col(iso_cols[0]).str.upper()
        for c in iso_cols[1:]:
            iso3 = iso3.where(iso3 != "", col(c).str.upper())
    elif stem and _ISO3.match(stem.upper()):
        iso3 = pd.Series(stem.upper(), index=df.index)
    else:
        iso3 = pd.Series("", index=df.index)
    gadm = col("key_gadm").str.extract(_GADM_ISO)[0].fillna("")
    return pd.DataFrame({
        "id": df["id"].str.strip().to_numpy(dtype=object),
        "admin_level": lvl.astype(int),
        "iso3": iso3.to_numpy(dtype=object),
        "gadm_iso3": gadm.to_numpy(dtype=object),
        "code": col(CODE).to_numpy(dtype=object),
        "area_2": col("administrative_area_level_2").to_numpy(dtype=object),
        "file": label,
        "row": df["_row"].to_numpy(),
    })


def _fill_iso3_from_code_prefix(df: pd.DataFrame) -> pd.DataFrame:
    """ISO3 for rows whose table gives none: the ISO3 most rows sharing their RegionCode prefix have
    (US_PR -> USA, although GADM files Puerto Rico under PRI), else the key_gadm prefix."""
    basis = df["iso3"].where(df["iso3"] != "", df["gadm_iso3"])
    prefix = df["code"].str.split("_").str[0]
    ok = (basis != "") & (df["code"] != "")
    best = basis[ok].groupby(prefix[ok]).agg(lambda s: s.value_counts().index[0]) if ok.any() else pd.Series(dtype=object)
    fill = prefix.map(best).astype(object)
    fill = fill.where(fill.notna() & (df["code"] != ""), "")
    iso3 = df["iso3"].where(df["iso3"] != "", fill)
    df["iso3"] = iso3.where(iso3 != "", df["gadm_iso3"])
    return df.drop(columns="gadm_iso3")


def read_lookup(path) -> pd.DataFrame:
    """Read every location of a lookup folder (``*.csv``, Data Hub layout) or SQLite file (table ``location``).

    Output: one row per location with a non-empty id, columns ``id`` (str), ``admin_level`` (int, Data Hub
    administrative_area_level), ``iso3`` (str, "" when unknown), ``code`` (str, the OxCGRT RegionCode
    column, "" when empty or absent), ``area_2`` (administrative_area_level_2 name), ``file`` and ``row``
    (spreadsheet row, header = row 1, for messages). Rows keep file order (files sorted by name).
    Raises InputError for a missing path, a folder without CSVs, a missing ``id`` /
    ``administrative_area_level`` column, a level outside 1-3, or a SQLite file without ``location``.
    """
    path = Path(path)
    if path.is_dir():
        # lookup tables only, named as the Data Hub names them (ISO.csv, ITA.csv): a build's folder
        # also holds ITA_provenance.csv, ITA_review.csv, ... which are not lookup tables
        files = sorted(f for f in path.glob("*.csv") if _ISO3.match(f.stem))
        if not files:
            raise InputError(f"{path}: no *.csv lookup tables in this folder; give the folder of per-country CSVs")
        frames = [_frame(read_csv_text(f), str(f), f.stem) for f in files]
        return _fill_iso3_from_code_prefix(pd.concat(frames, ignore_index=True))
    if not path.exists():
        raise InputError(f"{path}: lookup folder or SQLite file not found; check the --lookup path")
    if not _is_sqlite(path):
        return _fill_iso3_from_code_prefix(_frame(read_csv_text(path), str(path), path.stem))
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            df = pd.read_sql_query("SELECT * FROM location", con)
        finally:
            con.close()
    except (sqlite3.Error, pd.errors.DatabaseError) as exc:
        raise InputError(f"{path}: cannot read table 'location' ({exc}); give a lookup.sqlite built by "
                         "geolookup build") from None
    df = df.astype(object).where(df.notna(), "").astype(str).astype(object)
    return _fill_iso3_from_code_prefix(_frame(df, f"{path}:location", None))


def candidates(lookup: pd.DataFrame, admin_level: int) -> pd.DataFrame:
    """The locations of one Data Hub ``admin_level`` with their candidate sources (module docstring).

    Output: one row per location of that level, lookup order, columns ``id``, ``iso3``, ``own_code``
    (the row's RegionCode, "" at level 1) and ``region_code`` (level 3: its level-2 row's RegionCode;
    "" otherwise or when not found). Raises InputError when the level has no rows or an id repeats.
    """
    rows = lookup[lookup["admin_level"] == admin_level]
    if rows.empty:
        files = ", ".join(sorted(set(lookup["file"]))) or "the lookup"
        raise InputError(f"{files}: no row with administrative_area_level {admin_level}; check --level and --lookup")
    dup = rows["id"].duplicated()
    if dup.any():
        r = rows[dup].iloc[0]
        raise InputError(f"{where(r['file'], int(r['row']), 'id')}: id {r['id']!r} appears twice at level "
                         f"{admin_level}; each location needs one id")
    out = pd.DataFrame({"id": rows["id"].to_numpy(dtype=object), "iso3": rows["iso3"].to_numpy(dtype=object),
                        "own_code": rows["code"].to_numpy(dtype=object) if admin_level > 1 else "",
                        "region_code": ""})
    if admin_level == 3:
        l2 = lookup[(lookup["admin_level"] == 2) & (lookup["code"] != "")]
        l2 = l2.drop_duplicates(["iso3", "area_2"])
        key2 = pd.MultiIndex.from_arrays([l2["iso3"], l2["area_2"].str.casefold()])
        key3 = pd.MultiIndex.from_arrays([rows["iso3"], rows["area_2"].str.casefold()])
        idx = key2.get_indexer(key3)
        if len(l2):  # no level-2 row with a RegionCode: no region to fall back on
            out["region_code"] = np.where(idx >= 0, l2["code"].to_numpy(dtype=object)[np.maximum(idx, 0)], "")
    return out
