"""Figures of one matching run on labelled rows, and the two naive baselines on the same rows.

Rows: a DataFrame with ``country``, ``gadm_level``, ``name``, ``parent``, ``truth`` and the matcher's
output columns (``match_status``, ``gid``, ``match_method``, ``candidates``, ``match_reason``).
A hand-minted ``.n_0`` truth (the Data Hub's ids ending ``_0``) counts as found when the matcher
proposes a new ``.n_0`` id under the truth's parent (the open point settled in the Data Hub's
behaviour: such places are new ids, their number is the curator's). An area GADM splits into exactly
one area one level down is the same territory at both levels: either GID counts as found.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from geolookup import gadm
from geolookup.gadm.gids import gid_country, gid_level, is_minted, parent_stem

from .truth import gadm_forms, pfold


_ONLY_CHILD: dict = {}


def _single_children(country: str, level: int) -> dict:
    """GID -> GID of its only child one GADM level down (areas GADM splits into exactly one area)."""
    key = (country, level)
    cache = _ONLY_CHILD
    if key not in cache:
        cache[key] = {}
        if level + 1 in gadm.available_levels(country):
            kids = gadm.load_areas(country, level + 1).groupby("parent_gid")["gid"].agg(list)
            cache[key] = {p: k[0] for p, k in kids.items() if len(k) == 1}
    return cache[key]


def same_area(a: str, b: str) -> bool:
    """GADM's own hierarchy says ``a`` and ``b`` are one territory: one is the only child of the other
    (Taichung City at GADM level 1 and its single level-2 area)."""
    la, lb = gid_level(a), gid_level(b)
    if abs(la - lb) != 1 or is_minted(a) or is_minted(b):
        return False
    up, down = (a, b) if la < lb else (b, a)
    return _single_children(gid_country(up), min(la, lb)).get(up) == down


def found(gid: str, truth: str) -> bool:
    """``gid`` is the truth, the same territory one GADM level up or down (:func:`same_area`), or a new
    ``.n_0`` id under the parent of a ``.n_0`` truth."""
    if not gid:
        return False
    if gid == truth:
        return True
    if truth.endswith("_0"):
        return gid.endswith("_0") and "." in gid and parent_stem(gid) == parent_stem(truth)
    return same_area(gid, truth)


def candidates(text) -> list[str]:
    return [c.rsplit(":", 1)[0] for c in str(text).split("|") if c]


def in_top5(text, truth: str) -> bool:
    return any(found(c, truth) for c in candidates(text)[:5])


_PROPOSED = re.compile(r"proposed: new id under ([A-Z]{3}[0-9._]*_\d)")


def proposed_new(reason, truth: str) -> bool:
    """A row left for review that the matcher proposes as a new ``.n_0`` id under the truth's parent: the
    way a hand-minted truth is found when nothing general can number it (the number is the curator's)."""
    if not truth.endswith("_0"):
        return False
    m = _PROPOSED.search(str(reason))
    return bool(m) and parent_stem(truth) == m.group(1).rsplit("_", 1)[0]


def _forms(areas) -> list[set]:
    """GADM's own names of each area (NAME, VARNAME, NL_NAME), alone and with its TYPE/ENGTYPE, plain-folded."""
    return gadm_forms(areas)


class Areas:
    """One country's GADM level with plain name forms and the parent scope (GADM parent_gid)."""

    def __init__(self, country: str, level: int):
        self.a = gadm.load_areas(country, level)
        self.gids = self.a["gid"].to_numpy(dtype=object)
        self.forms = _forms(self.a)
        self.names = [({pfold(x) for x in [n, *(vs or []), *(nl or [])] if x} - {""})
                      for n, vs, nl in zip(self.a["name"], self.a["varnames"], self.a["nl_names"])]
        self.by_form: dict[str, list[int]] = {}
        for i, fs in enumerate(self.forms):
            for f in fs:
                self.by_form.setdefault(f, []).append(i)
        self.parent = self.a["parent_gid"].to_numpy(dtype=object)
        up = gadm.load_areas(country, level - 1) if level >= 2 else None
        self.up: dict[str, set] = {}
        if up is not None:
            for g, fs in zip(up["gid"], _forms(up)):
                for f in fs:
                    self.up.setdefault(f, set()).add(g)

    def scope(self, parent: str) -> np.ndarray:
        """Positions of the areas under the parent named ``parent`` (exact plain form); all when unknown."""
        ps = self.up.get(pfold(parent), set()) if parent else set()
        hit = np.flatnonzero(np.isin(self.parent, list(ps))) if ps else np.array([], dtype=int)
        return hit if len(hit) else np.arange(len(self.gids))


def baselines(rows: pd.DataFrame) -> pd.DataFrame:
    """The two naive matchers on the same rows: ``exact_gid`` (the one area whose plain-folded NAME,
    VARNAME or NL_NAME, alone or with GADM's TYPE/ENGTYPE, equals the name within the parent's scope; "" when none or several) and
    ``wratio_gid`` (rapidfuzz WRatio top-1 over the same names, without type words, in the same scope). Index of ``rows`` kept."""
    exact = pd.Series("", index=rows.index, dtype=object)
    wr = pd.Series("", index=rows.index, dtype=object)
    for (c, lv), g in rows.groupby(["country", "gadm_level"]):
        A = Areas(c, int(lv))
        for parent, h in g.groupby("parent"):
            sc = A.scope(parent)
            owner = np.array([p for p in sc for _ in A.names[p]], dtype=np.int64)
            names = [f for p in sc for f in A.names[p]]
            inscope = set(sc.tolist())
            qs = [pfold(x) for x in h["name"]]
            for i, q in zip(h.index, qs):
                hit = {p for p in A.by_form.get(q, []) if p in inscope}
                exact[i] = A.gids[hit.pop()] if len(hit) == 1 else ""
            if names:  # one parent's areas at a time: rows x (a few hundred names), never large
                m = process.cdist(qs, names, scorer=fuzz.WRatio, dtype=np.uint8, workers=-1)
                best = m.argmax(axis=1)
                wr[h.index] = np.where(m[np.arange(len(qs)), best] > 0, A.gids[owner[best]], "")
    return pd.DataFrame({"exact_gid": exact, "wratio_gid": wr})


def name_variant(name: str, truth_forms: set) -> bool:
    """``name`` is a spelling variant of the truth area's names: equal once spaces/punctuation and
    "and"/"&" are ignored, or one contains the other as whole words, or WRatio >= 90."""
    q = pfold(name.replace("&", " and "))
    sq = q.replace(" and ", " ").replace(" ", "")
    for f in truth_forms:
        if sq == f.replace(" and ", " ").replace(" ", "") or f" {f} " in f" {q} " or f" {q} " in f" {f} ":
            return True
    return any(fuzz.WRatio(q, f) >= 90 for f in truth_forms)


def figures(rows: pd.DataFrame) -> dict:
    """Counts and shares for rows with a truth (in GADM or ``.n_0``); see the module docstring."""
    r = rows
    acc = (r["match_status"] == "accepted").to_numpy()
    good = np.array([found(g, t) for g, t in zip(r["gid"], r["truth"])], dtype=bool)
    top5 = np.array([in_top5(c, t) for c, t in zip(r["candidates"], r["truth"])], dtype=bool)
    if "match_reason" in r:
        top5 |= np.array([proposed_new(m, t) for m, t in zip(r["match_reason"], r["truth"])], dtype=bool)
    minted = acc & r["gid"].str.endswith("_0").to_numpy() & ~r["truth"].str.endswith("_0").to_numpy()
    variant = np.zeros(len(r), dtype=bool)
    if minted.any():
        forms: dict = {}
        for i in np.flatnonzero(minted):
            c, lv, t = r["country"].iat[i], int(r["truth_level"].iat[i]), r["truth"].iat[i]
            if (c, lv) not in forms:
                a = gadm.load_areas(c, lv)
                forms[(c, lv)] = dict(zip(a["gid"], _forms(a)))
            variant[i] = name_variant(r["name"].iat[i], forms[(c, lv)].get(t, set()))
    ex = r["exact_gid"].to_numpy(dtype=object)
    n = len(r)
    return {"rows": n, "accepted": int(acc.sum()), "right": int((acc & good).sum()), "rest": int((~acc).sum()),
            "rest_top5": int((~acc & top5).sum()), "minted_gadm": int(minted.sum()), "minted_variant": int(variant.sum()),
            "exact_acc": int((ex != "").sum()), "exact_right": sum(found(g, t) for g, t in zip(ex, r["truth"])),
            "wratio_right": sum(found(g, t) for g, t in zip(r["wratio_gid"], r["truth"])), "wrong": acc & ~good, "missing": ~acc & ~top5}
