"""The knowledge layer: names and codes of a country's GADM 3.6 areas taken from the libraries.

Built per country from three sources, never typed by hand:

- the ``iso3166-2`` package: per ISO 3166-2 subdivision its ``name``, ``localOtherName`` (names in
  other languages, "Lombardy (eng), Lombardia (lmo)"), ``parentCode``, ``latLng`` and ``history``
  (former codes, deleted and added subdivisions);
- pycountry's translations of the ISO 3166-2 names (gettext domain ``iso3166-2``, one catalogue per
  language: "Puglia" -> de "Apulien", en "Apulia" ...);
- GADM itself: HASC_k codes of every area.

**Crosswalk ISO 3166-2 <-> GADM 3.6**, computed here for GADM levels 1-2: a subdivision is linked
to the GADM area that (a) has the code as HASC (``ES-AN`` -> ``ES.AN``), (b) bears one of the
subdivision's names (normalised, type words stripped: matching/normalize.py) and (c) contains the
subdivision's ``latLng`` point. Two of the three, or a name or HASC alone when it designates
exactly one area, make a link; every link carries its evidence ("hasc+name+point"). When two codes
link to one area the stronger link is kept (equal strength: neither).

**Groupings** (statistical regions, health boards ...): an unlinked subdivision whose children
(``parentCode``) all link to GADM areas of one level is a composite of them; with only some
children linked it is an incomplete grouping (matching sends it to review with those parts).
**Successions** (areas changed after GADM 3.6): an unlinked subdivision that the ``history`` names
as the only one added where several were deleted is the composite of the deleted ones (linked to
GADM by their names); changes that no library records come from the shipped
``matching/successions.csv`` (country, code, name, parts, date, source). Former codes from the
history ("NO-23 to NO-50") point where the current code points.

Output (:func:`knowledge`): one row per (GADM area or composite, name or code), columns ``gid``
(str; composite parts ``|``-joined), ``gadm_level`` (int64), ``kind`` (name|code|group), ``value``
(str as the library writes it), ``evidence`` (str), ``complete`` (bool; False only for incomplete
groupings); kind ``code`` rows also hold GADM's own HASC suffixes ("DC"). Cached per country in ``<cache>/knowledge/`` (geolookup.core.datafiles.cache_dir),
keyed by the library versions and the GADM archive, so that loading takes well under a second.
A country a library lacks gives one warning naming it, and an empty layer (GADM alone).
"""

from __future__ import annotations

import gettext
import hashlib
import logging
import os
import re
from functools import lru_cache
from importlib import metadata

import numpy as np
import pandas as pd

from geolookup import gadm
from geolookup.core.datafiles import cache_dir

from .history import history_rows, shipped_successions
from .normalize import _read_table, add_repaired, normalize_array

log = logging.getLogger(__name__)
_CODE = r"[A-Z]{2}-[A-Z0-9]{1,3}"
SCHEMA = 13  # bump when the layer's content rules change: old caches are then ignored
COLUMNS = ["gid", "gadm_level", "kind", "value", "evidence", "complete"]


@lru_cache(maxsize=1)
def _translations() -> tuple:
    """(language, GNUTranslations) for every pycountry locale with ISO 3166-2 names."""
    import pycountry

    out = []
    for lang in sorted(os.listdir(pycountry.LOCALES_DIR)):
        p = os.path.join(pycountry.LOCALES_DIR, lang, "LC_MESSAGES", "iso3166-2.mo")
        if os.path.exists(p):
            with open(p, "rb") as f:
                out.append((lang, gettext.GNUTranslations(f)))
    return tuple(out)


def _iso_entries(alpha2: str) -> dict:
    """iso3166-2's subdivisions of a country: code -> attributes ({} when the library lacks it)."""
    from iso3166_2 import Subdivisions

    try:
        return dict(Subdivisions()[alpha2])
    except Exception:  # the library raises its own errors for codes it does not know
        return {}


def _names_of(code: str, entry: dict, pyc_name: str | None) -> list[tuple[str, str]]:
    """(name, source) pairs: ISO name, localOtherName entries, pycountry translations."""
    out = [(entry.get("name") or "", "ISO 3166-2 name")]
    for part in re.split(r",\s*(?![^()]*\))", entry.get("localOtherName") or ""):
        m = re.match(r"^(.*?)\s*(?:\((\w+)\))?\s*$", part)
        if m and m.group(1):
            out.append((re.sub(r"\[.*?\]", "", m.group(1)).strip(), f"iso3166-2 localOtherName ({m.group(2) or '?'})"))
    if pyc_name:
        out.append((pyc_name, "pycountry name"))
        for lang, t in _translations():
            tr = t.gettext(pyc_name)
            if tr and tr != pyc_name:
                out.append((tr, f"pycountry translation ({lang})"))
    more = []  # "A [B]" is read as A and B; "Valenciana, Comunidad" also as "Comunidad Valenciana"
    for n, src in out:
        m = re.match(r"^(.*?)\s*[\[(](.*?)[\])]\s*$", n)  # "A [B]", "Cordillera Administrative Region (CAR)"
        parts = [m.group(1), re.sub(rf"\s*{_CODE}$", "", m.group(2))] if m and m.group(1) else [n]
        more += [(x, src) for x in parts if x != n]
        for x in parts:
            if x.count(",") == 1:
                a, b = (y.strip() for y in x.split(","))
                more.append((f"{b} {a}", src))
    return [(n, s) for n, s in out + more if n and "[" not in n and "(" not in n]


class _Level:
    """GADM areas of one level with name and HASC indexes for linking."""

    def __init__(self, iso3, level, data_dir):
        self.level = level
        self.areas = gadm.load_areas(iso3, level, data_dir)
        self.gids = self.areas["gid"].to_numpy(dtype=object)
        texts, pos = [], []
        for i, (n, vs, nl) in enumerate(zip(self.areas["name"], self.areas["varnames"], self.areas["nl_names"])):
            for t in [n, *(vs or []), *(nl or [])]:
                if t:
                    texts.append(t)
                    pos.append(i)
        texts, pos = add_repaired(texts, pos)
        self.by_name: dict[str, set] = {}
        self.names_of: dict[int, list] = {}
        for s, p in zip(normalize_array(texts, iso3)[1], pos):
            self.by_name.setdefault(s.replace(" ", ""), set()).add(p)
            self.names_of.setdefault(p, []).append(s)
        self.by_hasc: dict[str, set] = {}
        for i, h in enumerate(self.areas["hasc"].astype(str)):
            for part in h.split("|"):
                if part:
                    self.by_hasc.setdefault(part.strip().upper(), set()).add(i)

    def named(self, stripped_names) -> set:
        return set().union(*[self.by_name.get(s.replace(" ", ""), set()) for s in stripped_names]) if len(stripped_names) else set()


def _link(lv: _Level, code, stripped, point_pos):
    """(position, evidence, strength) of the GADM area of ``lv`` linked to one ISO code, or None."""
    hasc = lv.by_hasc.get(code.replace("-", "."), set())
    named = lv.named(stripped)
    cands = hasc | named | ({point_pos} if point_pos >= 0 else set())
    best = []
    for p in cands:
        ev = [k for k, ok in (("hasc", p in hasc), ("name", p in named), ("point", p == point_pos)) if ok]
        best.append((len(ev), p, "+".join(ev)))
    best.sort(reverse=True)
    if not best:
        return None
    n, p, ev = best[0]
    if len(best) > 1 and best[1][0] == n:
        return None  # two areas fit equally: no link
    if n >= 2 or (ev == "name" and len(named) == 1) or (ev == "hasc" and len(hasc) == 1):
        return p, ev, n
    if n == 1 and point_pos >= 0 and _similar(stripped, lv.names_of.get(point_pos, [])):
        # the area holding the ISO point bears a close spelling ("Altai" / GADM "Altay", "Belfast City" /
        # "Belfast"): a link, ranked below an exact name with the point
        return point_pos, "point+similar name", 1.9
    return None


def _similar(names, others, cutoff=80) -> bool:
    """True when one of ``names`` and one of ``others`` (normalised) score >= ``cutoff`` (rapidfuzz WRatio)."""
    from rapidfuzz import fuzz, process

    names = [n for n in names if len(n) >= 4]
    others = [o for o in others if len(o) >= 4]
    return bool(names and others) and process.cdist(names, others, scorer=fuzz.WRatio).max() >= cutoff


def build(iso3: str, data_dir=None) -> pd.DataFrame:
    """Compute the knowledge layer of one country (see the module docstring); no cache."""
    import pycountry

    iso3 = iso3.upper()
    c = pycountry.countries.get(alpha_3=iso3)
    entries = _iso_entries(c.alpha_2) if c else {}
    pyc = {s.code: s.name for s in (pycountry.subdivisions.get(country_code=c.alpha_2) or [])} if c else {}
    lacking = not entries and not pyc
    levels = [lv for lv in gadm.available_levels(iso3, data_dir) if 1 <= lv <= 2]
    lvs = {lv: _Level(iso3, lv, data_dir) for lv in levels}
    rows: list[tuple] = []
    codes = sorted(set(entries) | set(pyc))
    names = {k: _names_of(k, entries.get(k, {}), pyc.get(k)) for k in codes}
    links: dict[str, list] = {}  # code -> [(level, pos, evidence)]
    depth = {k: _depth(k, entries) for k in codes}
    for lv in lvs.values():
        pts = [entries.get(k, {}).get("latLng") or [np.nan, np.nan] for k in codes]
        lat = np.array([p[0] if len(p) == 2 else np.nan for p in pts], dtype=float)
        lon = np.array([p[1] if len(p) == 2 else np.nan for p in pts], dtype=float)
        where = gadm.locate(lon, lat, lv.areas) if codes else []
        claimed: dict[int, list] = {}
        for k, w in zip(codes, where):
            # link by the ISO names only: translation catalogues are not keyed by code and can
            # give one subdivision's name to another (pycountry ru: "Alutaguse" -> "Ida-Virumaa")
            own = [n for n, src in names[k] if not src.startswith("pycountry translation")]
            found = _link(lv, k, normalize_array(own, iso3)[1], int(w))
            if found:
                claimed.setdefault(found[0], []).append((found[2], -depth[k], k, found[1]))
        for p, cl in claimed.items():  # one area, several codes: the strongest, then the least deep
            cl.sort(reverse=True)
            if len(cl) == 1 or cl[0][:2] > cl[1][:2]:
                links.setdefault(cl[0][2], []).append((lv.level, p, cl[0][3]))
    hist, successors = history_rows(iso3, entries, links, lvs)
    for k in successors:  # a successor of several areas is not the one its point falls in
        links.pop(k, None)
    for k, lk in links.items():
        for level, p, ev in lk:
            g = lvs[level].gids[p]
            why = f"crosswalk {k}: {ev}"
            rows += [(g, level, "name", n, f"{src}; {why}", True) for n, src in names[k]]
            rows += [(g, level, "code", k, f"ISO 3166-2 code; {why}", True),
                     (g, level, "code", k.split("-", 1)[1], f"ISO 3166-2 subdivision part; {why}", True)]
    for lv in lvs.values():  # GADM's own HASC suffixes are abbreviations of the area ("DC", "NY"); after
        # the ISO rows, so that an area's ISO subdivision part and HASC suffix keep the ISO evidence
        for g, h in zip(lv.gids, lv.areas["hasc"].astype(str)):
            for part in h.split("|"):
                if "." in part:
                    rows.append((g, lv.level, "code", part.strip().rsplit(".", 1)[1], "GADM HASC suffix", True))
    rows = _drop_clashes(iso3, rows, lvs)
    rows += _groupings(entries, codes, names, links, lvs)
    rows += hist
    rows += shipped_successions(iso3, lvs)
    if lacking:  # kept in the cached layer, so that every later run warns too
        rows.append(("", 0, "note", "no library lists this country's subdivisions", "", True))
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.drop_duplicates(["gid", "gadm_level", "kind", "value"]).reset_index(drop=True)


def _drop_clashes(iso3, rows, lvs) -> list[tuple]:
    """Names of single areas that would point to two areas are dropped: a name equal (normalised,
    type words stripped, no spaces) to GADM's own name of another area, or given to several areas
    -- then the ISO names and localOtherName outrank translations (pycountry's Italian catalogue
    calls Xizang "Xinjiang"), and a tie drops the name everywhere."""
    names = [r for r in rows if r[2] == "name"]
    if not names:
        return rows
    keys = [k.replace(" ", "") for k in normalize_array([r[3] for r in names], iso3)[1]]
    best: dict = {}
    for r, k in zip(names, keys):
        rank = 1 if r[4].startswith("pycountry translation") else 0
        cur = best.get((r[1], k))
        if cur is None or rank < cur[0]:
            best[(r[1], k)] = (rank, {r[0]})
        elif rank == cur[0]:
            cur[1].add(r[0])
    keep = []
    for r, k in zip(names, keys):
        lv = lvs[r[1]]
        own = {lv.gids[p] for p in lv.by_name.get(k, set())}
        winners = best[(r[1], k)][1]
        if (own and r[0] not in own) or len(winners) > 1 or r[0] not in winners:
            continue
        keep.append(r)
    return [r for r in rows if r[2] != "name"] + keep


def _depth(code, entries) -> int:
    """Number of ISO 3166-2 ancestors of ``code`` (parentCode chain; 0 at the top)."""
    d, seen = 0, {code}
    while (p := (entries.get(code, {}).get("parentCode") or "")) and p not in seen:
        seen.add(p)
        code, d = p, d + 1
    return d


def _groupings(entries, codes, names, links, lvs) -> list[tuple]:
    rows = []
    for k in codes:
        if k in links:
            continue
        kids = [c for c in codes if (entries.get(c, {}).get("parentCode") or "") == k]
        for level, lv in lvs.items():
            parts = [lv.gids[p] for c in kids for lvl, p, _ in links.get(c, []) if lvl == level]
            if len(parts) < 2:
                continue
            complete = len(parts) == len(kids)
            why = f"grouping: ISO 3166-2 {k} is the parent of {', '.join(sorted(kids))}" + ("" if complete else " (not all found in GADM)")
            g = "|".join(dict.fromkeys(parts))
            rows += [(g, level, "group", n, f"{src}; {why}", complete) for n, src in names[k]]
            rows += [(g, level, "group", k, f"ISO 3166-2 code; {why}", complete)]
            break
    return rows


def _cache_key(iso3: str, data_dir) -> str:
    path, _ = gadm.archive(iso3, data_dir)
    parts = [str(SCHEMA), metadata.version("iso3166-2"), metadata.version("pycountry"), path.name,
             str(path.stat().st_mtime_ns), hashlib.sha1(_read_table("successions.csv").to_csv().encode()).hexdigest()]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


@lru_cache(maxsize=64)
def _knowledge(iso3: str, data_dir) -> pd.DataFrame:
    folder = cache_dir() / "knowledge"
    path = folder / f"{iso3}-{_cache_key(iso3, data_dir)}.parquet"
    if path.is_file():
        try:
            return pd.read_parquet(path)
        except Exception:  # a damaged cache file is rebuilt
            pass
    df = build(iso3, data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)  # atomic: readers never see half a file
    except OSError as e:  # a read-only cache only costs speed
        log.warning("knowledge layer of %s not cached (%s)", iso3, e)
    return df


def knowledge(iso3: str, data_dir=None) -> pd.DataFrame:
    """The knowledge layer of one country (module docstring), from the cache when it is current.

    Input: ISO3 code, optional data folder (GADM archives). Output: DataFrame with COLUMNS, one
    row per (GID or composite, kind, value). Raises as gadm.load_areas for an unknown country."""
    df = _knowledge(iso3.upper(), str(data_dir) if data_dir else None)
    if (df["kind"] == "note").any():
        _warn_once(iso3.upper())
    return df[df["kind"] != "note"].reset_index(drop=True)


@lru_cache(maxsize=None)
def _warn_once(iso3: str) -> None:
    log.warning("%s: neither iso3166-2 nor pycountry lists its subdivisions; matching with GADM alone", iso3)
