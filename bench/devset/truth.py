"""Truth for the development set: ISO 3166-2 codes linked to GADM 3.6 areas by agreeing evidence.

Never uses geolookup.matching: the truth must not come from the matcher it measures. Evidence for a
code at one GADM level, each naming at most one GADM area:
- ``hasc``: GADM's HASC equals the code with "." for "-" ("CN-HB" -> "CN.HB"); a former code
  (GADM 3.6 dates from 2018) is read through the iso3166-2 package's change history (:func:`current_code`);
- ``name``: an ISO name of the code (pycountry's name, also read "Altay, Respublika" as "Respublika
  Altay"; the iso3166-2 package's name and ``localOtherName``) equals a GADM NAME/VARNAME/NL_NAME form
  (alone or with its TYPE/ENGTYPE) after :func:`pfold`, or, failing that, is a whole-word prefix of
  exactly one area's form or has one as its prefix ("Henan Sheng" / "Henan");
- ``iso point``: the iso3166-2 package's ``latLng`` falls inside the area;
- ``provider point``: every coordinate a provider gives for the code falls inside the area.
A code gets a truth when an identity link (hasc or name) exists, every piece of evidence that
exists names the same area, and at least two kinds agree. Level 1 is tried first; GADM level 2 only
when no identity link exists at level 1 and ISO gives the code a parent (ISO's second-tier codes:
counties, departments). Anything else is
"truth unknown" with the reason (conflicting HASC and name, a point in another area, one link only,
one GID claimed by two codes) and is left out of every figure.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import pandas as pd
import pycountry
from unidecode import unidecode

from geolookup import gadm

_LANG = re.compile(r"\s*\([a-z]{3}\)\s*$")


def pfold(s) -> str:
    """Plain comparison form: NFKC, unidecode, casefold, punctuation to single spaces. Deliberately
    NOT the matcher's normalisation (no type words, no abbreviations, no transliteration tables)."""
    return re.sub(r"[^0-9a-z]+", " ", unidecode(unicodedata.normalize("NFKC", str(s))).casefold()).strip()


@functools.lru_cache(maxsize=1)
def _iso3166_2():
    import iso3166_2

    return iso3166_2.Subdivisions()


def iso_entry(code: str) -> dict:
    """The iso3166-2 package's record of ``code`` ({} when it has none)."""
    try:
        return dict(_iso3166_2()[code.split("-")[0]][code])
    except Exception:  # KeyError, or the package's own errors for an unknown country or code
        return {}


_CHANGE = re.compile(r"\b([A-Z]{2}-[A-Z0-9]{1,3})\s*(?:->|to)\s*([A-Z]{2}-[A-Z0-9]{1,3})\b")


@functools.lru_cache(maxsize=256)
def _renames(alpha2: str) -> dict:
    """Former code -> current code of one country, from the iso3166-2 package's change history."""
    out = {}
    try:
        entries = _iso3166_2()[alpha2]
    except Exception:  # the package lacks this country
        return out
    for e in entries.values():
        for h in e.get("history") or []:
            out.update(_CHANGE.findall(str(h.get("Change", ""))))
    return out


def current_code(code: str) -> str:
    """``code`` itself when ISO 3166-2 lists it now, else its successor from the change history
    ("GT-AV" -> "GT-16", changed 2021-11-25), else ``code``."""
    if pycountry.subdivisions.get(code=code) is not None:
        return code
    seen, c = {code}, code
    while c in _renames(code.split("-")[0]) and pycountry.subdivisions.get(code=c) is None:
        c = _renames(code.split("-")[0])[c]
        if c in seen:
            break
        seen.add(c)
    return c


def iso_names(code: str) -> list[str]:
    """Names ISO 3166-2 data gives ``code``, as written: pycountry's name (and its comma-reversed form),
    the iso3166-2 package's name and each ``localOtherName`` (language tag dropped)."""
    out = []
    code = current_code(code)
    sub = pycountry.subdivisions.get(code=code)
    if sub is not None:
        out.append(sub.name)
        if "," in sub.name:
            out.append(" ".join(p.strip() for p in reversed(sub.name.split(",", 1))))
    e = iso_entry(code)
    if e.get("name"):
        out.append(e["name"])
    for part in str(e.get("localOtherName") or "").split(","):
        part = _LANG.sub("", part).strip()
        if part:
            out.append(part)
    return list(dict.fromkeys(out))


def iso_types(code: str) -> list[str]:
    """Subdivision type words ISO data gives ``code`` ("Prefecture", "Province"), pycountry then iso3166-2."""
    code = current_code(code)
    sub = pycountry.subdivisions.get(code=code)
    out = [sub.type] if sub is not None and sub.type else []
    t = iso_entry(code).get("type")
    return list(dict.fromkeys(out + ([t] if t else [])))


def iso_parent(code: str) -> str:
    """The ISO 3166-2 parent code of ``code`` (pycountry, else iso3166-2's ``parentCode``), "" if none."""
    code = current_code(code)
    sub = pycountry.subdivisions.get(code=code)
    return (sub.parent_code if sub is not None and sub.parent_code else "") or str(iso_entry(code).get("parentCode") or "")


def iso_point(code: str):
    """(lon, lat) degrees WGS84 of the iso3166-2 package's ``latLng`` for ``code``, or None."""
    ll = iso_entry(current_code(code)).get("latLng")
    return (float(ll[1]), float(ll[0])) if ll and len(ll) == 2 else None


def gadm_forms(areas) -> list[set]:
    """Per GADM area: its names (NAME, VARNAME, NL_NAME) folded, alone and with TYPE/ENGTYPE before/after."""
    out = []
    for n, vs, nl, ty, en in zip(areas["name"], areas["varnames"], areas["nl_names"], areas["type"], areas["engtype"]):
        base = {pfold(x) for x in [n, *(vs or []), *(nl or [])] if x} - {""}
        types = {pfold(x) for x in (ty, en) if x} - {""}
        out.append(base | {f"{b} {t}" for b in base for t in types} | {f"{t} {b}" for b in base for t in types})
    return out


class Level:
    """GADM areas of one country and level with what the links need (forms, HASC index, STRtree)."""

    def __init__(self, iso3: str, level: int):
        self.areas = gadm.load_areas(iso3, level)
        self.level = level
        self.gids = self.areas["gid"].to_numpy(dtype=object)
        self.forms = gadm_forms(self.areas)
        self.hasc: dict[str, list] = {}
        for g, h in zip(self.gids, self.areas["hasc"]):
            for part in str(h).split("|"):
                if part:
                    self.hasc.setdefault(part.replace(".", "-"), []).append(g)

    def by_name(self, names) -> str:
        folded = {pfold(x) for x in names} - {""}
        hit = [g for g, s in zip(self.gids, self.forms) if folded & s]
        if not hit:
            hit = [g for g, s in zip(self.gids, self.forms)
                   if any(i.startswith(x + " ") or x.startswith(i + " ") for x in s for i in folded)]
        return hit[0] if len(set(hit)) == 1 else ""

    def locate(self, pts) -> list[str]:
        if not pts:
            return []
        w = gadm.locate([p[0] for p in pts], [p[1] for p in pts], self.areas)
        return [self.gids[i] if i >= 0 else "" for i in w]


def _decide(lv: Level, code, names, points):
    """(truth, evidence, why) for one code at one level; truth "" = unknown, None = no identity link."""
    H = lv.hasc.get(code, []) or lv.hasc.get(current_code(code), [])
    N = lv.by_name(names)
    ident = {*(H if len(H) == 1 else []), *([N] if N else [])}
    if not ident:
        return None, "", f"{code}: " + (f"HASC shared by {'/'.join(H)}" if H else "neither HASC nor ISO name links it")
    if len(ident) > 1:
        return "", "", f"{code}: GADM HASC says {H[0]}, ISO name says {N}"
    g = ident.pop()
    kinds = ["hasc"] * (len(H) == 1) + ["name"] * bool(N)
    iso_pt = iso_point(code)
    for kind, pts in (("iso point", [iso_pt] if iso_pt else []), ("provider point", points)):
        where = lv.locate(pts)
        bad = [w for w in where if w and w != g]
        if bad:
            return "", "", f"{code}: links to {g} but the {kind} falls in {bad[0]}"
        if where and all(w == g for w in where):
            kinds.append(kind)
    if len(kinds) < 2:
        return "", "", f"{code}: only one link ({kinds[0]}) to {g}"
    return g, "+".join(kinds), "ok"


def link_codes(iso3: str, codes, points=None) -> pd.DataFrame:
    """Link ISO 3166-2 codes of one country to GADM 3.6 areas (rules in the module docstring).

    Input: ``iso3`` the GADM country, ``codes`` iterable of ISO 3166-2 codes ("JP-23"), ``points``
    dict code -> list of (lon, lat) degrees WGS84 given by providers for the code.
    Output: DataFrame, one row per distinct code: ``code``, ``truth`` (GID, "" = unknown),
    ``gadm_level`` (int, 0 when unknown), ``evidence`` ("hasc+name+iso point", ...), ``why`` ("ok" or
    the reason the truth is unknown).
    """
    points = points or {}
    levels = [lv for lv in (1, 2) if lv in gadm.available_levels(iso3)]
    cache: dict[int, Level] = {}
    rows = []
    for code in dict.fromkeys(codes):
        names = iso_names(code)
        res = (None, "", f"{code}: GADM has no level 1")
        for lv in levels:
            if lv > 1 and not iso_parent(code):  # only ISO's second-tier codes may link one GADM level down
                continue
            if lv not in cache:
                cache[lv] = Level(iso3, lv)
            res = _decide(cache[lv], code, names, points.get(code, []))
            if res[0] is not None:
                rows.append((code, res[0], lv if res[0] else 0, res[1], res[2]))
                break
        else:
            rows.append((code, "", 0, "", res[2]))
    out = pd.DataFrame(rows, columns=["code", "truth", "gadm_level", "evidence", "why"])
    dup = out[out["truth"] != ""].groupby("truth")["code"].agg(list)
    for gid, cs in dup[dup.str.len() > 1].items():  # GADM's RUS "Moskva" carries the city and the oblast
        m = out["truth"] == gid
        out.loc[m, "why"] = [f"{c}: {gid} is also the link of {'/'.join(x for x in cs if x != c)}" for c in out.loc[m, "code"]]
        out.loc[m, ["truth", "evidence"]] = ""
        out.loc[m, "gadm_level"] = 0
    return out


def truth_name(gid: str) -> str:
    """GADM NAME of a GID (for reports), "" when not found."""
    from geolookup.gadm.gids import gid_country, gid_level

    try:
        a = gadm.load_areas(gid_country(gid), gid_level(gid))
    except Exception:  # a minted .n_0 id or a level not shipped
        return ""
    hit = a.loc[a["gid"] == gid, "name"]
    return str(hit.iloc[0]) if len(hit) else ""


__all__ = ["pfold", "iso_names", "iso_types", "iso_point", "gadm_forms", "link_codes", "truth_name", "iso_parent"]
