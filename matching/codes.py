"""Code recognition: provider codes -> GADM areas, before any name is compared.

Recognised, in this order of trust (a code match outranks a name match, as in the
Data Hub, whose tables key places by the providers' codes first):
1. a user crosswalk (CSV ``code,gid`` -- FIPS, INSEE, GSS ...; ``gid`` may be ``|``-joined parts of a
   composite) and the shipped code rows of ``matching/aliases/<ISO3>.csv``;
2. a GADM GID itself ("ITA.2_1", also without the version suffix);
3. GADM HASC_k ("DE.BW", also "DE-BW"-style when that is not an ISO code);
4. ISO 3166-2 ("DE-BW", "RU-PRI", "IT-21"), via pycountry's subdivision list: the ISO name is
   matched to the area's name/VARNAME/NL_NAME (normalised, type words stripped), else the HASC
   with the same suffix;
5. GADM CC_k local codes (ISTAT, INE; leading zeros ignored: "066" == "66").
A code that points to several areas (GADM ships duplicate CC_2 "72" for Bari and Barletta) is not
decisive: all of them become candidates.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pycountry

from geolookup.gadm.gids import gid_stem

from .normalize import normalize_array

_ISO_LIKE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def norm_code(value) -> str:
    """Canonical code text: stripped, upper case, inner spaces removed, numeric codes without
    leading zeros ("066" -> "66")."""
    if not isinstance(value, str):
        return ""
    v = re.sub(r"\s+", "", value).upper()
    if v.isdigit():
        v = v.lstrip("0") or "0"
    return v


def split_gids(text) -> list[str]:
    """GIDs of a ``|``-joined cell ("USA.33.3_1|USA.33.24_1" -> two GIDs; blanks dropped)."""
    return [g.strip() for g in str(text).split("|") if g.strip()]


def alpha2(iso3: str) -> str:
    """ISO 3166-1 alpha-2 of an ISO3 code ("" when pycountry does not know it)."""
    c = pycountry.countries.get(alpha_3=iso3.upper())
    return c.alpha_2 if c else ""


def iso_subdivisions(iso3: str) -> pd.DataFrame:
    """pycountry's ISO 3166-2 table for a country: columns ``code`` ("DE-BW"), ``name``."""
    subs = pycountry.subdivisions.get(country_code=alpha2(iso3)) or []
    return pd.DataFrame({"code": [s.code for s in subs], "name": [s.name for s in subs]})


class CodeIndex:
    """Maps code strings to positions in one GADM areas table.

    Input: ``areas`` (gadm.load_areas output, one row per area), ``country`` ISO3, optional
    ``crosswalk`` dict code -> list of GIDs. ``lookup(codes)`` returns, per code, a tuple of
    (positions list, kind) with kind in crosswalk|gid|hasc|iso|cc ("" when unknown). Crosswalk
    GIDs not in ``areas`` are returned as GID strings in ``lookup_gids``.
    """

    def __init__(self, areas, country: str, crosswalk: dict[str, list[str]] | None = None, known=None):
        self.country = country.upper()
        self.crosswalk = {norm_code(k): v for k, v in (crosswalk or {}).items()}
        gids = areas["gid"].astype(str).to_numpy()
        self.gid_pos = {g: i for i, g in enumerate(gids)}
        self.maps: dict[str, dict[str, list[int]]] = {"gid": {}, "hasc": {}, "iso": {}, "cc": {}}
        for i, g in enumerate(gids):
            self.maps["gid"].setdefault(g.upper(), []).append(i)
            self.maps["gid"].setdefault(gid_stem(g.upper()), []).append(i)
        for kind, col in (("hasc", "hasc"), ("cc", "cc")):
            for i, v in enumerate(areas[col].astype(str)):
                if v:
                    self.maps[kind].setdefault(norm_code(v), []).append(i)
        self._iso(areas)
        self._known(known)

    def _known(self, known) -> None:
        """Codes of the knowledge layer (matching/knowledge.py: ISO 3166-2 codes linked by the
        crosswalk, their subdivision part "AN", former codes, GADM HASC suffixes "DC"). An ISO-derived
        code outranks a HASC suffix that collides with it; ``self.evidence`` keeps where each came from."""
        self.maps["known"], self.evidence = {}, {}
        if known is None or not len(known):
            return
        rank: dict[str, int] = {}
        for g, v, ev in zip(known["gid"], known["value"], known["evidence"]):
            p = self.gid_pos.get(g)
            c = norm_code(v)
            if p is None or not c:
                continue
            r = 1 if ev.startswith("GADM HASC") else 0
            if c not in rank or r < rank[c]:
                rank[c], self.maps["known"][c], self.evidence[c] = r, [], ev
            if r == rank[c] and p not in self.maps["known"][c]:
                self.maps["known"][c].append(p)

    def _iso(self, areas) -> None:
        subs = iso_subdivisions(self.country)
        if subs.empty:
            return
        _, iso_norm = normalize_array(subs["name"], self.country)
        pos, texts = [], []
        for i, (n, vs, nl) in enumerate(zip(areas["name"], areas["varnames"], areas["nl_names"])):
            allnames = [n, *list(vs or []), *list(nl or [])]
            pos += [i] * len(allnames)
            texts += allnames
        names: dict[str, set] = {}
        for i, s in zip(pos, normalize_array(texts, self.country)[1]):
            names.setdefault(s, set()).add(i)
        hasc = self.maps["hasc"]
        for code, nm in zip(subs["code"], iso_norm):
            pos = names.get(nm)
            if pos and len(pos) == 1:
                self.maps["iso"][code] = sorted(pos)
            elif code.replace("-", ".") in hasc:
                self.maps["iso"][code] = hasc[code.replace("-", ".")]

    def lookup(self, codes) -> list[tuple[list, str]]:
        """Per code: (positions or crosswalk GIDs, kind); ([], "") when nothing matches."""
        out = []
        for raw in codes:
            c = norm_code(raw)
            if not c:
                out.append(([], ""))
                continue
            if c in self.crosswalk:
                out.append((list(self.crosswalk[c]), "crosswalk"))
                continue
            hit = ([], "")
            for kind in ("gid", "hasc", "iso", "cc", "known"):
                key = c
                if kind == "hasc" and _ISO_LIKE.match(c) and c not in self.maps["iso"]:
                    key = c.replace("-", ".")
                if key in self.maps[kind]:
                    hit = (list(self.maps[kind][key]), kind)
                    break
            out.append(hit)
        return out


_CODE_LIKE = re.compile(r"\d|^[A-Za-z]{2}[-.][A-Za-z0-9.]{1,6}$|^[A-Z][A-Z0-9]{0,2}$")


def looks_like_code_array(texts) -> np.ndarray:
    """Bool array, one per text: True for strings that may be codes rather than names: digits ("84",
    "E92000001"), "XX-YY"/"XX.YY" patterns ("DE-BW", "IT.BA") or one upper-case token of at most
    three characters ("AN", "DC"; looked up as a code, read as a name when no code fits). Texts are
    stripped first; missing values and "" are no code."""
    search = _CODE_LIKE.search
    texts = np.asarray(texts, dtype=object)
    clean = (x.strip() if isinstance(x, str) else "" if x is None or x != x else str(x).strip() for x in texts)
    return np.fromiter((bool(t) and search(t) is not None for t in clean), dtype=bool, count=len(texts))


def foreign_code(text: str, iso3: str) -> str:
    """The country named by an ISO 3166-2 code of ANOTHER country ("FR-IDF" with ESP -> "France
    (FRA)"), else "" (pycountry's subdivision list)."""
    t = str(text).strip().upper()
    if not _ISO_LIKE.match(t) or t[:2] == alpha2(iso3):
        return ""
    sub = pycountry.subdivisions.get(code=t)
    c = pycountry.countries.get(alpha_2=t[:2]) if sub is not None else None
    return f"{c.name} ({c.alpha_3})" if c else ""


def read_crosswalk(path) -> dict[str, list[str]]:
    """Read a user crosswalk CSV (any encoding/separator): columns ``code`` and ``gid`` (``|``-joined
    for composites). Output: dict normalised code -> list of GIDs. Raises InputError for missing
    columns, empty codes/GIDs or one code mapped to two different GID lists."""
    from geolookup.core.errors import InputError, where
    from geolookup.core.tableio import read_csv_text

    df = read_csv_text(path, required=("code", "gid"), label=str(path))
    out: dict[str, list[str]] = {}
    for i, (code, gid) in enumerate(zip(df["code"], df["gid"]), start=2):
        c, parts = norm_code(code), split_gids(gid)
        if not c or not parts:
            raise InputError(f"{where(path, i)}: empty code or gid; fill both cells or delete the row")
        if c in out and out[c] != parts:
            raise InputError(f"{where(path, i, 'code')}: code {code!r} is mapped twice to different GIDs; keep one row")
        out[c] = parts
    return out
