"""Name and code matching against the GADM areas of ONE GADM level.

Every area contributes name variants: its NAME (official), its VARNAME_k and NL_NAME_k entries and
its name joined with TYPE_k / ENGTYPE_k ("Freistaat Bayern", "Jackson County") as aliases; each in
full normalised form and with type words stripped (matching/normalize.py). Exact tiers, best first:
0 full == official, 1 full == alias, 2 stripped == official stripped, 3 stripped == alias stripped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import gadm

from .codes import CodeIndex
from .normalize import normalize_array
from .score import topk


def gid_level(gid: str) -> int:
    """GADM level of a GID: number of dots ("USA.33.3_1" -> 2)."""
    return str(gid).count(".")


class LevelMatcher:
    """Matcher for one (country, GADM level).

    Attributes: ``areas`` (gadm.load_areas GeoDataFrame), ``gids`` (object array), ``variants``
    DataFrame (text, pos, tier), ``codes`` (CodeIndex).
    """

    def __init__(self, country: str, gadm_level: int, data_dir=None, crosswalk=None, scorer="token_sort_ratio"):
        self.country, self.gadm_level, self.scorer = country, gadm_level, scorer
        self.areas = gadm.load_areas(country, gadm_level, data_dir)
        self.gids = self.areas["gid"].astype(str).to_numpy(dtype=object)
        cw = {c: g for c, g in (crosswalk or {}).items() if all(gid_level(x) == gadm_level for x in g)}
        self.codes = CodeIndex(self.areas, country, cw)
        self.variants = self._variants()
        self._scope_cache: dict = {}

    def _variants(self) -> pd.DataFrame:
        a = self.areas
        rows_pos, rows_txt, rows_off = [], [], []
        for i, (n, vs, nl, ty, en) in enumerate(zip(a["name"], a["varnames"], a["nl_names"], a["type"], a["engtype"])):
            names = [n] + [v for v in list(vs or []) + list(nl or []) if v]
            names += [f"{t} {n}" for t in {ty, en} if t] + [f"{n} {t}" for t in {ty, en} if t]
            rows_pos += [i] * len(names)
            rows_txt += names
            rows_off += [True] + [False] * (len(names) - 1)
        full, stripped = normalize_array(rows_txt, self.country)
        pos = np.array(rows_pos, dtype=np.int64)
        off = np.array(rows_off)
        v = pd.DataFrame({
            "text": np.concatenate([full, stripped]),
            "pos": np.concatenate([pos, pos]),
            "tier": np.concatenate([np.where(off, 0, 1), np.where(off, 2, 3)]),
        })
        v = v[v["text"] != ""]
        return v.sort_values("tier").drop_duplicates(["text", "pos"]).reset_index(drop=True)

    def in_scope(self, parent_gid: str, parent_level: int) -> np.ndarray:
        """Boolean mask over areas: descendants of (or equal to) ``parent_gid``; all True when
        there is no usable parent (empty, or a parent level deeper than this level)."""
        key = (parent_gid, parent_level)
        if key not in self._scope_cache:
            col = f"gid_{parent_level}"
            if not parent_gid or parent_level > self.gadm_level or col not in self.areas:
                m = np.ones(len(self.areas), dtype=bool)
            else:
                m = (self.areas[col].astype(str) == parent_gid).to_numpy()
            self._scope_cache[key] = m
        return self._scope_cache[key]

    def exact(self, full, stripped, parents, plevels) -> pd.DataFrame:
        """Exact matches of normalised queries.

        Input: arrays (n,) of full form, stripped form, parent GID ("" none), parent GADM level.
        Output: DataFrame (row, pos, tier) -- for each row only the areas of its best tier, in scope.
        """
        n = len(full)
        q = pd.DataFrame({"row": np.r_[np.arange(n), np.arange(n)],
                          "text": np.r_[np.asarray(full, dtype=object), np.asarray(stripped, dtype=object)],
                          "qt": np.r_[np.zeros(n, int), np.ones(n, int)]})
        q = q[q["text"] != ""]
        m = q.merge(self.variants, on="text", how="inner")
        t = m["tier"].to_numpy()
        m["tier"] = np.where((m["qt"].to_numpy() == 0) & (t < 2), t, np.where(t < 2, t + 2, t))
        if m.empty:
            return pd.DataFrame({"row": [], "pos": [], "tier": []}, dtype=np.int64)
        parents = np.asarray(parents, dtype=object)
        plevels = np.asarray(plevels)
        keep = np.ones(len(m), dtype=bool)
        r, p = m["row"].to_numpy(), m["pos"].to_numpy()
        for pg in pd.unique(parents[r]):
            if not pg:
                continue
            sel = parents[r] == pg
            mask = self.in_scope(pg, int(plevels[r][sel][0]))
            keep[sel] = mask[p[sel]]
        m = m[keep]
        best = m.groupby("row")["tier"].transform("min")
        m = m[m["tier"] == best]
        return m.drop_duplicates(["row", "pos"])[["row", "pos", "tier"]].reset_index(drop=True)

    def fuzzy(self, stripped, parents, plevels, k=5, cutoff=0):
        """Top-k fuzzy candidates per query (stripped form) among the areas in its parent's scope.

        Output: (pos int64 (n, k), score float64 (n, k)); -1 / 0 where none.
        """
        n = len(stripped)
        out_p = np.full((n, k), -1, dtype=np.int64)
        out_s = np.zeros((n, k))
        stripped = np.asarray(stripped, dtype=object)
        keys = pd.Series([f"{p}\x00{lv}" for p, lv in zip(parents, plevels)])
        for key, idx in keys.groupby(keys).groups.items():
            pg, lv = key.split("\x00")
            idx = np.asarray(idx)
            mask = self.in_scope(pg, int(lv))
            v = self.variants[mask[self.variants["pos"].to_numpy()]]
            if v.empty:
                continue
            pos, sc = topk(stripped[idx], v["text"].tolist(), k=k, scorer=self.scorer,
                           score_cutoff=cutoff, choice_groups=v["pos"].to_numpy())
            out_p[idx], out_s[idx] = pos, sc
        return out_p, out_s
