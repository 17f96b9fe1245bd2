"""Checks on a lookup table before it is written: errors stop the write, warnings are reported.

Rules follow the Data Hub's ``format()`` checks and the paper's "Technical Validation"
(Guidotti & Ardia 2022):

Errors (the table is not written):
  ``duplicate_id``          two rows share an id (or an id is empty: ``missing_id``);
  ``duplicate_key_local``   two rows of the same administrative_area_level share key_local;
  ``orphan_admin3``         an admin-3 row's administrative_area_level_2 is not the
                            administrative_area_level_2 of any admin-2 row.
Warnings (listed in the report):
  ``duplicate_key_gadm``    key_gadm repeated within one administrative_area_level;
  ``hasc_depth``            key_hasc has not ``administrative_area_level`` dot-separated parts
                            (HASC "ES.AN" is a GADM level-1 = Data Hub level-2 code);
  ``duplicate_key_nuts``    key_nuts repeated within one administrative_area_level;
  ``point_outside_gadm``    latitude/longitude farther than the tolerance from the key_gadm
                            polygon (tolerance absorbs simplified geometry, lookup/defaults.toml);
  ``nuts_country``          key_nuts country prefix differs from the ISO2 code (EL=GR, UK=GB);
  ``missing_coordinates`` / ``missing_population``.

Findings a user cannot act on row by row are reported ONCE per check, as one summary finding
(``row`` empty, ``value`` = the number of rows, ``message`` with examples): ``hasc_depth`` (key_hasc
is GADM's own HASC column, e.g. Italy's provinces carry two-part codes "IT.AB" in GADM 3.6), and a
``missing_*`` check on a column that no row of an administrative_area_level has (no provider of
that level publishes it). :meth:`ValidationReport.check_counts` gives rows per check for the console.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geolookup.gadm import distance_to_areas_km
from geolookup.core.config import section
from geolookup.core.errors import GeolookupError
from geolookup.core.tableio import write_csv_atomic

from .table import sort_rows

REPORT_COLUMNS = ["severity", "check", "row", "id", "column", "value", "message"]
ERROR_CHECKS = ("missing_id", "duplicate_id", "duplicate_key_local", "orphan_admin3")
NUTS_TO_ISO2 = {"EL": "GR", "UK": "GB"}


@dataclass
class ValidationReport:
    """Findings of :func:`validate`: one row per finding, columns ``REPORT_COLUMNS``.

    ``row`` is the row's line in the written table file (``<ISO3>.csv``, header = line 1).
    """

    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REPORT_COLUMNS))

    @property
    def errors(self) -> pd.DataFrame:
        """Findings of severity "error" (they stop the write), columns ``REPORT_COLUMNS``."""
        return self.findings[self.findings["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        """Findings of severity "warning" (listed in the report only), columns ``REPORT_COLUMNS``."""
        return self.findings[self.findings["severity"] == "warning"]

    def counts(self) -> dict[str, int]:
        """Number of findings per check, e.g. ``{"missing_population": 1}`` (a summary finding counts once)."""
        return self.findings["check"].value_counts().to_dict()

    def check_counts(self, severity: str = "warning") -> dict[str, int]:
        """Rows flagged per check (a summary finding counts the rows it stands for), e.g.
        ``{"hasc_depth": 107}``; one entry per check, for one console line each."""
        f = self.findings[self.findings["severity"] == severity]
        n = np.where(f["row"].astype(str) == "", pd.to_numeric(f["value"], errors="coerce"), 1)
        return pd.Series(n, index=f["check"].to_numpy()).groupby(level=0).sum().astype(int).to_dict()

    def raise_for_errors(self, label: str) -> None:
        """Raise GeolookupError (one line: count, first error, where the report is) when errors exist."""
        err = self.errors
        if len(err):
            first = err.iloc[0]
            raise GeolookupError(
                f"{label}: {len(err)} validation error(s), table not written; first: row {first['row']} "
                f"(id {first['id']!r}): {first['message']}; fix the provider data or the curator decisions"
            )

    def write(self, path) -> None:
        """Write the report as CSV atomically."""
        write_csv_atomic(self.findings[REPORT_COLUMNS], path)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name].astype(str) if name in df.columns else pd.Series([""] * len(df), index=df.index, dtype=object)


def _file_lines(df: pd.DataFrame) -> np.ndarray:
    """Line of each row of ``df`` in the file lookup.table.write_table makes of it: header = line 1, then
    the ``"-"`` line when key_local is a column, then the rows in Data Hub order (lookup.table.sort_rows)."""
    first = 2 + ("key_local" in df.columns)
    if "administrative_area_level" not in df.columns:
        return np.arange(len(df)) + first
    order = sort_rows(df.assign(_pos=np.arange(len(df))))["_pos"].to_numpy()
    lines = np.empty(len(df), dtype=int)
    lines[order] = np.arange(len(df)) + first
    return lines


def _findings(mask, severity, check, df, column, message) -> pd.DataFrame:
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    vals = _col(df, column).iloc[idx] if column else pd.Series([""] * len(idx))
    msgs = message(vals) if callable(message) else [message] * len(idx)
    return pd.DataFrame({
        "severity": severity, "check": check, "row": _file_lines(df)[idx] if len(idx) else idx,
        "id": _col(df, "id").iloc[idx].to_numpy(), "column": column or "",
        "value": np.asarray(vals, dtype=object), "message": list(msgs),
    }, columns=REPORT_COLUMNS)


def _summary(mask, check, df, column, what: str) -> pd.DataFrame:
    """ONE warning standing for every flagged row (module doc): ``row`` "", ``value`` the count,
    ``message`` what is wrong and up to three example ids."""
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    if not len(idx):
        return pd.DataFrame(columns=REPORT_COLUMNS)
    ids = _col(df, "id").iloc[idx[:3]].tolist()
    return pd.DataFrame([{"severity": "warning", "check": check, "row": "", "id": "", "column": column,
                          "value": str(len(idx)), "message": f"{len(idx)} rows: {what} (e.g. ids {', '.join(ids)})"}],
                        columns=REPORT_COLUMNS)


def _never_published(df, column) -> tuple[np.ndarray, np.ndarray]:
    """(rows missing ``column`` in a level where no row has it, the other missing rows)."""
    missing = (_col(df, column) == "").to_numpy()
    lvl = _col(df, "administrative_area_level")
    none = pd.Series(missing).groupby(lvl.to_numpy()).transform("all").to_numpy()
    return missing & none, missing & ~none


def _dup_within_level(df, column) -> np.ndarray:
    val = _col(df, column)
    lvl = _col(df, "administrative_area_level")
    return ((val != "") & pd.DataFrame({"l": lvl, "v": val}).duplicated(keep=False)).to_numpy()


def validate(table: pd.DataFrame, iso2: str | None = None, areas=None, tolerance_km: float | None = None
             ) -> ValidationReport:
    """Run every check on a lookup table.

    Input: ``table`` in the Data Hub layout (text cells, ``""`` = NA, one row per place);
    ``iso2`` the country's ISO 3166 alpha-2 code (enables ``nuts_country``); ``areas`` a
    (Geo)DataFrame with columns ``gid`` and ``geometry`` (EPSG:4326, any GADM levels) for
    ``point_outside_gadm`` (rows whose key_gadm is not in ``areas`` are not checked);
    ``tolerance_km`` (default ``[validate] point_tolerance_km`` of lookup/defaults.toml).
    Output: a :class:`ValidationReport`. Never raises for findings; call ``raise_for_errors``.
    """
    df = table.reset_index(drop=True)
    parts = []
    ids = _col(df, "id")
    parts.append(_findings(ids == "", "error", "missing_id", df, "id", "empty id; every row needs an id"))
    parts.append(_findings((ids != "") & ids.duplicated(keep=False), "error", "duplicate_id", df, "id",
                           lambda v: [f"id {x!r} appears more than once" for x in v]))
    parts.append(_findings(_dup_within_level(df, "key_local"), "error", "duplicate_key_local", df, "key_local",
                           lambda v: [f"key_local {x!r} repeated within its administrative_area_level" for x in v]))
    lvl = _col(df, "administrative_area_level")
    admin2 = _col(df, "administrative_area_level_2")
    known = set(admin2[lvl == "2"])
    orphan = (lvl == "3") & ~admin2.isin(known)
    parts.append(_findings(orphan, "error", "orphan_admin3", df, "administrative_area_level_2",
                           lambda v: [f"admin-3 row names administrative_area_level_2 {x!r}, which no admin-2 row has"
                                      for x in v]))

    parts.append(_findings(_dup_within_level(df, "key_gadm"), "warning", "duplicate_key_gadm", df, "key_gadm",
                           lambda v: [f"key_gadm {x!r} repeated within its administrative_area_level" for x in v]))
    hasc = _col(df, "key_hasc")
    depth = hasc.str.count(r"\.") + 1
    bad_depth = (hasc != "") & (depth.astype(str) != lvl)
    parts.append(_summary(bad_depth, "hasc_depth", df, "key_hasc",
                          "key_hasc (GADM's own HASC column) has not administrative_area_level dot-separated parts; "
                          "GADM data, nothing to fix in the providers"))
    parts.append(_findings(_dup_within_level(df, "key_nuts"), "warning", "duplicate_key_nuts", df, "key_nuts",
                           lambda v: [f"key_nuts {x!r} repeated within its administrative_area_level" for x in v]))
    if iso2:
        nuts = _col(df, "key_nuts")
        cc = nuts.str[:2].map(lambda c: NUTS_TO_ISO2.get(c, c))
        wrong = (nuts != "") & (cc != iso2.upper())
        parts.append(_findings(wrong, "warning", "nuts_country", df, "key_nuts",
                               lambda v: [f"key_nuts {x!r} is not in country {iso2.upper()}" for x in v]))
    lat = pd.to_numeric(_col(df, "latitude"), errors="coerce")
    lon = pd.to_numeric(_col(df, "longitude"), errors="coerce")
    no_point = (lat.isna() | lon.isna()).to_numpy()
    parts.append(_findings(no_point, "warning", "missing_coordinates", df, "latitude", "latitude/longitude missing"))
    never, some = _never_published(df, "population")
    parts.append(_summary(never, "missing_population", df, "population",
                          "no provider of these rows' administrative_area_level publishes population; "
                          "add a source spec with a population column"))
    parts.append(_findings(some, "warning", "missing_population", df, "population", "population missing"))
    if areas is not None and len(areas):
        tol = tolerance_km if tolerance_km is not None else float(
            section("lookup").get("validate", {}).get("point_tolerance_km", 5.0))
        geom_by_gid = dict(zip(areas["gid"], areas.geometry))
        geoms = np.array([geom_by_gid.get(g) for g in _col(df, "key_gadm")], dtype=object)
        dist = distance_to_areas_km(lon.to_numpy(), lat.to_numpy(), geoms)
        outside = np.nan_to_num(dist, nan=0.0) > tol
        parts.append(_findings(outside, "warning", "point_outside_gadm", df, "key_gadm",
                               lambda v: [f"point is {d:.1f} km outside the polygon of key_gadm {x!r} "
                                          f"(tolerance {tol:g} km)" for x, d in zip(v, dist[outside])]))
    findings = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    return ValidationReport(findings if findings is not None else pd.DataFrame(columns=REPORT_COLUMNS))
