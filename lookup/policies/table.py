"""The indicator table: OxCGRT codes and column names across layouts -> our output column names.

The mapping is data (``indicators.csv`` next to this module), one row per output column:

- ``column``: our output name (the COVID-19 Data Hub's column names, paper section "Policy measures");
- ``code``: the OxCGRT indicator code (C1..C8, H1..H8; empty for the indices);
- ``kind``: ``policy`` (signed by its flag) or ``index`` (negated by inheritance, never by a flag);
- ``scope_flag``: ``yes`` when the OxCGRT flag means 1 = general / 0 = targeted and therefore sets
  the sign; ``no`` for C8, H2, H3 and H7, which the paper treats as general (flag 1). H7 does ship a
  flag (``H7_Flag``, ``h7_flag.csv``), but OxCGRT's codebook defines it as the *cost* of the vaccine
  to the individual (0 = at cost, 1 = no or minimal cost), not as its geographic scope; signing by it
  would mark free-of-charge vaccination as "general" and paid vaccination as "targeted", which is
  meaningless. So we read it into the long table (``vaccination_policy_flag``) but never use it for the
  sign, as the paper treats C8, H2, H3 and H7: as general measures;
- ``long_value`` / ``long_flag``: ``|``-separated alternatives for the long CSV layouts, position-aligned
  (legacy ``C1_School closing`` + ``C1_Flag``, then v1 ``C1M_School closing`` + ``C1M_Flag``); the first
  one present in a file wins;
- ``wide_value`` / ``wide_flag``: file-name stems of the wide timeseries layout (``c1_school_closing.csv``,
  ``c1_flag.csv``), compared case- and punctuation-insensitively;
- ``max``: the highest value OxCGRT's codebook defines (documentation/codebook.md of
  github.com/OxCGRT/covid-policy-tracker: C1 0-3, C3 0-2, C8 0-4, H7 0-5, ...; indices 0-100).
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split("|") if p.strip())


def norm_stem(name: str) -> str:
    """Normalise a wide-file stem for matching: drop ``OxCGRT_timeseries_`` / ``_v1``, keep [a-z0-9]."""
    s = name.lower()
    s = re.sub(r"^oxcgrt_timeseries_", "", s)
    s = re.sub(r"_v\d+$", "", s)
    return re.sub(r"[^a-z0-9]", "", s)


@lru_cache(maxsize=1)
def indicators() -> tuple[dict, ...]:
    """The indicator table as a tuple of dicts (one per output column, in output order).

    Keys: ``column``, ``code``, ``kind``, ``scope_flag`` (bool), ``long_value``, ``long_flag``,
    ``wide_value``, ``wide_flag``, ``max`` (float, codebook maximum) (tuples of alternatives; the wide ones normalised by :func:`norm_stem`).
    """
    text = (resources.files(__package__) / "indicators.csv").read_text(encoding="utf-8")
    rows = []
    for r in csv.DictReader(text.splitlines()):
        rows.append({
            "column": r["column"],
            "code": r["code"],
            "kind": r["kind"],
            "scope_flag": r["scope_flag"] == "yes",
            "long_value": _split(r["long_value"]),
            "long_flag": _split(r["long_flag"]),
            "wide_value": tuple(norm_stem(s) for s in _split(r["wide_value"])),
            "wide_flag": tuple(norm_stem(s) for s in _split(r["wide_flag"])),
            "max": float(r["max"]),
        })
    return tuple(rows)


#: The 14 policy columns, in the Data Hub's order.
POLICY_COLUMNS: tuple[str, ...] = tuple(r["column"] for r in indicators() if r["kind"] == "policy")
#: The 4 index columns.
INDEX_COLUMNS: tuple[str, ...] = tuple(r["column"] for r in indicators() if r["kind"] == "index")
#: Policies whose flag sets the sign (all but C8, H2, H3, H7).
FLAGGED_POLICIES: tuple[str, ...] = tuple(r["column"] for r in indicators() if r["scope_flag"])
#: Highest raw value OxCGRT's codebook defines, per output column (flags: 1).
CODEBOOK_MAX: dict[str, float] = {r["column"]: r["max"] for r in indicators()}


def indicator_names(column: str) -> set[str]:
    """Names a user may give for an output column in ``--allow-missing``: the column (school_closing),
    the OxCGRT code (C1), and for flags ``<column>_flag`` / ``<code>_Flag``; compared case-insensitively."""
    flag = column.endswith("_flag")
    base = column[: -len("_flag")] if flag else column
    row = next(r for r in indicators() if r["column"] == base)
    names = {column.lower()}
    if row["code"]:
        names.add(f"{row['code']}_flag".lower() if flag else row["code"].lower())
    return names
