"""Name normalisation: the comparable form of a place name.

Steps (same for provider names and GADM names, so both sides meet in the middle):
1. Unicode NFKC, transliteration to ASCII (unidecode: "Südtirol" -> "Sudtirol", "Москва" -> "Moskva"),
   casefold;
2. punctuation and whitespace folding: every run of non-alphanumeric characters becomes one space
   ("L'Aquila" -> "l aquila", "Castilla-La Mancha" -> "castilla la mancha");
3. abbreviations expanded token by token from ``abbreviations.csv`` ("St." / "Sankt" -> "saint",
   "Mt" -> "mount");
4. type words removed from ``typewords.csv`` (per country and language; prefix, suffix or anywhere):
   "LK Biberach" -> "biberach", "P.A. Bolzano" -> "bolzano", "St. Louis city" -> "saint louis".

Both tables are data so that curators can extend them without touching code; a country's table is
the rows for that ISO3 plus the rows marked ``*``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from unidecode import unidecode

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(name: str) -> str:
    """Steps 1-2 for one string: NFKC, transliterate, casefold, fold punctuation/whitespace.

    Input: any str (None/NaN give ""). Output: lowercase ASCII words separated by single spaces.
    """
    if not isinstance(name, str):
        return ""
    text = unidecode(unicodedata.normalize("NFKC", name)).casefold()
    return _NON_ALNUM.sub(" ", text).strip()


def _read_table(filename: str) -> pd.DataFrame:
    text = (resources.files("geolookup.matching") / filename).read_text(encoding="utf-8")
    import io

    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


@lru_cache(maxsize=None)
def abbreviations(country: str = "*") -> dict[str, str]:
    """Token -> expansion for ``country`` (ISO3) from ``matching/abbreviations.csv`` (rows of the
    country and ``*``; both columns folded). Source: common English/French/German/Spanish
    abbreviations of saint/mount/fort in GADM and provider names (e.g. NYT "St. Louis" vs GADM
    "Saint Louis"), plus per-country word equivalents whose ``note`` names the provider spelling
    (IDN "barat" = "west": GADM "Jawa Barat", Google "West Java"; NLD "noord" = "north")."""
    t = _read_table("abbreviations.csv")
    t = t[t["country"].isin(["*", country.upper()])]
    return {fold(a): fold(b) for a, b in zip(t["abbreviation"], t["expansion"]) if fold(a)}


@lru_cache(maxsize=None)
def _typeword_patterns(country: str) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    t = _read_table("typewords.csv")
    t = t[t["country"].isin(["*", country.upper()])]
    expand = abbreviations(country)

    def alt(kind):
        words = {" ".join(expand.get(w, w) for w in fold(x).split()) for x in t.loc[t["kind"] == kind, "word"]}
        words = sorted((w for w in words if w), key=len, reverse=True)
        return "|".join(re.escape(w) for w in words) or "(?!x)x"

    pre = re.compile(rf"^(?:(?:{alt('prefix')}|{alt('any')}) )+")
    suf = re.compile(rf"(?: (?:{alt('suffix')}|{alt('any')}))+$")
    anywhere = re.compile(rf"(?:^| )(?:{alt('any')})(?= |$)")
    return pre, suf, anywhere


def expand_abbreviations(folded: str, country: str = "*") -> str:
    """Replace abbreviation tokens of a folded name ("st louis" -> "saint louis")."""
    table = abbreviations(country)
    return " ".join(table.get(tok, tok) for tok in folded.split())


def strip_typewords(text: str, country: str = "*") -> str:
    """Remove type words (prefix/suffix/any) from a folded, expanded name; returns the input
    unchanged when stripping would leave nothing ("Distrito Federal" stays)."""
    pre, suf, anywhere = _typeword_patterns(country)
    out = suf.sub("", pre.sub("", text))
    out = anywhere.sub(" ", " " + out + " ").split()
    out = " ".join(out)
    return out or text


def normalize(name: str, country: str = "*") -> str:
    """Full form (steps 1-3) of one name: ``"St. Louis City"`` -> ``"saint louis city"``."""
    return expand_abbreviations(fold(name), country)


def normalize_array(names, country: str = "*") -> tuple[np.ndarray, np.ndarray]:
    """Normalise many names at once.

    Input: an iterable of str (NaN/None allowed), the ISO3 country whose tables apply.
    Output: two object arrays of the same length: the full form (steps 1-3) and the stripped
    form (step 4 applied; equal to the full form when no type word is present).
    Duplicated names are computed once.
    """
    s = pd.Series(list(names), dtype=object)
    uniq = pd.unique(s.fillna(""))
    full = np.array([normalize(x, country) for x in uniq], dtype=object)
    stripped = np.array([strip_typewords(x, country) for x in full], dtype=object)
    pos = pd.Index(uniq).get_indexer(s.fillna(""))
    return full[pos], stripped[pos]
