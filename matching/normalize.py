"""Name normalisation: the comparable form of a place name.

Steps (same for provider names and GADM names, so both sides meet in the middle):
1. Unicode NFKC, "&" read as "and", transliteration to ASCII with anyascii for every script
   ("Südtirol" -> "Sudtirol", "Москва" -> "Moskva", "Αττική" -> "Attiki"); Chinese, Japanese and
   Korean characters are transliterated one syllable at a time with spaces between (anyascii
   joins them: "北京市" -> "bei jing shi", so the type word "shi" can be stripped and the despaced
   form "beijing" meets GADM's "Beijing"), then casefold;
2. punctuation and whitespace folding: every run of non-alphanumeric characters becomes one space
   ("L'Aquila" -> "l aquila", "Castilla-La Mancha" -> "castilla la mancha");
3. abbreviations expanded token by token from ``abbreviations.csv`` ("St." / "Sankt" -> "saint",
   "Mt" -> "mount");
4. type words removed from ``typewords.csv`` (per country and language, any script; prefix, suffix,
   anywhere, or ``glued``: a prefix written without a space, as in Thai):
   "LK Biberach" -> "biberach", "P.A. Bolzano" -> "bolzano", "St. Louis city" -> "saint louis".

Mojibake (UTF-8 read as Latin-1, "CataluÃ±a") is NOT repaired here: :func:`repair_mojibake`
does it on the provider's names before matching, so that the match reason can say so.

Both tables are data so that curators can extend them without touching code; a country's table is
the rows for that ISO3 plus the rows marked ``*``. A type word whose ``role`` is ``subplace``
("city" in the USA, "kreisfreie stadt") names a kind of place that may lie inside an area of the
same name (St. Louis city inside St. Louis County); the other type words only describe the area
("NHS", "health board", "oblast"), so names differing only by them are the same place
(:func:`equivalence_key`).
"""

from __future__ import annotations

import io
import re
import unicodedata
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from anyascii import anyascii

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# CJK ideographs, kana and Hangul: anyascii writes their syllables without spaces
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _translit(text: str) -> str:
    if text.isascii():
        return text
    if _CJK.search(text):
        return "".join(f" {anyascii(ch)} " if _CJK.match(ch) else anyascii(ch) for ch in text)
    return anyascii(text)


def fold(name: str) -> str:
    """Steps 1-2 for one string: NFKC, "&" -> "and", transliterate (anyascii), casefold, fold
    punctuation/whitespace.

    Input: any str (None/NaN give ""). Output: lowercase ASCII words separated by single spaces.
    """
    if not isinstance(name, str):
        return ""
    text = _translit(unicodedata.normalize("NFKC", name).replace("&", " and ")).casefold()
    return _NON_ALNUM.sub(" ", text).strip()


def repair_mojibake(names) -> tuple[np.ndarray, np.ndarray]:
    """Repair text that was decoded with the wrong encoding (ftfy.fix_encoding: "CataluÃ±a" ->
    "Cataluña"); other text is returned unchanged.

    Input: iterable of str. Output: (object array of repaired str, bool array: True where the text
    changed). Each distinct text is repaired once.
    """
    import ftfy

    s = pd.Series(list(names), dtype=object).fillna("").astype(str)
    uniq = pd.unique(s)
    fixed = np.array([ftfy.fix_encoding(u) if not u.isascii() else u for u in uniq], dtype=object)
    pos = pd.Index(uniq).get_indexer(s)
    out = fixed[pos]
    return out, out != s.to_numpy(dtype=object)


def add_repaired(texts: list, pos: list) -> tuple[list, list]:
    """``texts`` (with their owners ``pos``) plus the mojibake-repaired form of each text that
    has one: GADM 3.6 itself stores some names double-encoded (NOR "Ã\u0098stfold" for Østfold)."""
    fixed, changed = repair_mojibake(texts)
    extra = np.flatnonzero(changed)
    return list(texts) + [fixed[i] for i in extra], list(pos) + [pos[i] for i in extra]


def _read_table(filename: str) -> pd.DataFrame:
    text = (resources.files("geolookup.matching") / filename).read_text(encoding="utf-8")
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
def _typeword_patterns(country: str, descriptors_only: bool = False) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    t = _read_table("typewords.csv")
    t = t[t["country"].isin(["*", country.upper()])]
    if descriptors_only:
        t = t[t["role"] != "subplace"]
    expand = abbreviations(country)

    def alt(*kinds):  # longest first, so "distrito federal" wins over "distrito"
        words = {" ".join(expand.get(w, w) for w in fold(x).split()) for x in t.loc[t["kind"].isin(kinds), "word"]}
        words = sorted((w for w in words if w), key=len, reverse=True)
        return "|".join(re.escape(w) for w in words) or "(?!x)x"

    # "glued" prefixes are written without a space in scripts without word spaces (Thai "จังหวัดกระบี่")
    pre = re.compile(rf"^(?:(?:{alt('prefix', 'any')}) |(?:{alt('glued')}) ?)+")
    suf = re.compile(rf"(?: (?:{alt('suffix', 'any')}))+$")
    anywhere = re.compile(rf"(?:^| )(?:{alt('any')})(?= |$)")
    return pre, suf, anywhere


def expand_abbreviations(folded: str, country: str = "*") -> str:
    """Replace abbreviation tokens of a folded name ("st louis" -> "saint louis")."""
    table = abbreviations(country)
    return " ".join(table.get(tok, tok) for tok in folded.split())


def strip_typewords(text: str, country: str = "*", descriptors_only: bool = False) -> str:
    """Remove type words (prefix/suffix/any) from a folded, expanded name; returns the input
    unchanged when stripping would leave nothing ("Distrito Federal" stays). With
    ``descriptors_only`` the ``subplace`` type words ("city" in the USA) are kept."""
    pre, suf, anywhere = _typeword_patterns(country, descriptors_only)
    # padded, so that a name made only of type words ("Distrito Federal") empties and is kept whole
    out = suf.sub("", " " + pre.sub("", text + " ").strip()).strip()
    out = anywhere.sub(" ", " " + out + " ").split()
    out = " ".join(out)
    return out or text


def equivalence_key(full: str, country: str = "*") -> str:
    """The form under which two spellings of ONE place are equal: the full form (steps 1-3) with
    descriptive type words removed (``subplace`` ones kept) and no spaces. "Emilia-Romagna" and
    "Emilia Romagna", "NHS Highland" and "Highland", "Trinidad & Tobago" and "Trinidad and Tobago"
    share a key; "St. Louis City" and "St. Louis" (USA) do not."""
    return strip_typewords(full, country, descriptors_only=True).replace(" ", "")


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
    pairs = [_forms(x, country) if isinstance(x, str) else ("", "") for x in uniq]
    full = np.array([f for f, _ in pairs], dtype=object)
    stripped = np.array([t for _, t in pairs], dtype=object)
    pos = pd.Index(uniq).get_indexer(s.fillna(""))
    return full[pos], stripped[pos]


@lru_cache(maxsize=1 << 18)
def _forms(name: str, country: str) -> tuple[str, str]:
    """(full, stripped) of one name, memoised: the same GADM and provider names recur in every call."""
    full = normalize(name, country)
    return full, strip_typewords(full, country)
