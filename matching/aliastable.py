"""Shipped special cases per country: ``matching/aliases/<ISO3>.csv``.

Columns: ``kind`` (``name`` or ``code``), ``value`` (provider name or code), ``parent`` (provider
parent name, may be empty = any), ``gid`` (one GID, or ``|``-joined parts of a composite),
``note`` (source of the rule). Rows come from the COVID-19 Data Hub's hand-made lookup tables
(e.g. "New York City" -> the five borough counties) and from official code lists (GSS, INSEE).
Curators extend these files; the matcher reads them as data.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from .codes import norm_code, split_gids
from .normalize import normalize_array

COLUMNS = ("kind", "value", "parent", "gid", "note")


@lru_cache(maxsize=None)
def load_aliases(country: str) -> tuple[dict, dict]:
    """Return ``(names, codes)`` for a country.

    ``names``: dict (normalised name, normalised stripped parent or "") -> list of GIDs; the name
    in full normalised form, and also type-word stripped when the alias itself has no type word
    (so "Oglala Lakota County" finds "Oglala Lakota", but "New York" does not find "New York City").
    ``codes``: dict normalised code -> list of GIDs (same form as a user crosswalk).
    Both empty when the country has no file.
    """
    from geolookup.core.tableio import read_csv_text

    ref = resources.files("geolookup.matching") / "aliases" / f"{country.upper()}.csv"
    if not ref.is_file():
        return {}, {}
    with resources.as_file(ref) as path:
        df = read_csv_text(path, required=COLUMNS)
    names, codes = {}, {}
    fv, nv = normalize_array(df["value"], country)
    _, np_ = normalize_array(df["parent"], country)
    for kind, value, f, v, p, gid in zip(df["kind"], df["value"], fv, nv, np_, df["gid"]):
        parts = split_gids(gid)
        if kind == "code":
            codes[norm_code(value)] = parts
        else:
            p = p if isinstance(p, str) else ""
            names[(f, p)] = parts
            if v == f:  # a type word in the alias is part of it: "New York City" is not "New York" County
                names[(v, p)] = parts
    return names, codes
