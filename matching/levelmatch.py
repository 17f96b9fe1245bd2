"""Name and code matching against the GADM areas of ONE GADM level.

Every area contributes name variants: its NAME (official), its VARNAME_k and NL_NAME_k entries and
its name joined with TYPE_k / ENGTYPE_k ("Freistaat Bayern", "Jackson County") as aliases; each in
full normalised form and with type words stripped (matching/normalize.py). Exact tiers, best first:
0 full == official, 1 full == alias, 2 stripped == official stripped, 3 stripped == alias stripped
or the names equal once spaces are removed (romanisations differ in spacing: Google "Chonburi",
GADM "Chon Buri"); despaced forms serve exact matching only, not fuzzy scores.

Minted ``.n_0`` ids (matching/minted.py) can be appended as extra candidate positions after the
GADM areas (:meth:`LevelMatcher.with_minted`): positions ``>= n_base`` are minted ids, with their
own GADM level (``pos_level``), ancestors (for the parent scope) and the GID whose geometry stands
for theirs (``owner``: the parent). ``areas`` stays the GADM layer alone.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd

from geolookup import gadm
from geolookup.gadm.gids import gid_level, gid_number

from .codes import CodeIndex, norm_code
from .knowledge import knowledge
from .normalize import add_repaired, equivalence_key, normalize_array
from .score import topk


class LevelMatcher:
    """Matcher for one (country, GADM level).

    Attributes: ``areas`` (gadm.load_areas GeoDataFrame), ``gids`` (object array, one per
    candidate position: the GADM areas, then any minted ids), ``variants`` DataFrame (text, pos,
    tier), ``codes`` (CodeIndex), ``n_base`` (number of GADM areas), ``is_minted`` /
    ``pos_level`` / ``owner`` (per position: minted id?, GADM level of the GID, GID whose geometry
    it uses).
    """

    def __init__(self, country: str, gadm_level: int, data_dir=None, crosswalk=None, scorer="token_sort_ratio"):
        self.country, self.gadm_level, self.scorer = country, gadm_level, scorer
        self.areas = gadm.load_areas(country, gadm_level, data_dir)
        self.gids = self.areas["gid"].astype(str).to_numpy(dtype=object)
        self.gid_index = {g: i for i, g in enumerate(self.gids)}
        cw = {c: g for c, g in (crosswalk or {}).items() if all(gid_level(x) == gadm_level for x in g)}
        kb = knowledge(country, data_dir)
        kb = kb[kb["gadm_level"] == gadm_level]
        self.codes = CodeIndex(self.areas, country, cw, kb[kb["kind"] == "code"])
        self.groups = self._groups(kb[kb["kind"] == "group"])
        self.variants = self._variants(kb[kb["kind"] == "name"])
        self.fuzzy_variants = self.variants[~self.variants["despaced"]].reset_index(drop=True)
        self.parts = self._compound_parts()
        self._scope_cache: dict = {}
        n = len(self.gids)
        self.n_base = n
        self.is_minted = np.zeros(n, dtype=bool)
        self.pos_level = np.full(n, gadm_level, dtype=np.int64)
        self.owner = self.gids.copy()
        self._anc = {k: self.areas[f"gid_{k}"].astype(str).to_numpy(dtype=object)
                     for k in range(gadm_level + 1) if f"gid_{k}" in self.areas}
        self._geo: dict = {}  # lazy STRtree / equal-area areas; shared by with_minted copies

    def geo_tree(self):
        """shapely STRtree over ``areas.geometry`` (built on first use)."""
        if "tree" not in self._geo:
            import shapely

            self._geo["tree"] = shapely.STRtree(self.areas.geometry.to_numpy())
        return self._geo["tree"]

    def area_m2(self, pos) -> np.ndarray:
        """Equal-area size (m², EPSG:6933) of the GADM areas at positions ``pos`` (computed once
        per area, on first use)."""
        from .geometry import equal_area_m2

        a = self._geo.setdefault("area", np.full(self.n_base, np.nan))
        pos = np.asarray(pos, dtype=np.int64)
        todo = np.unique(pos[np.isnan(a[pos])])
        if len(todo):
            a[todo] = equal_area_m2(self.areas.geometry.to_numpy()[todo])
        return a[pos]

    def with_minted(self, extra: pd.DataFrame) -> "LevelMatcher":
        """A copy of this matcher with minted ids appended as candidate positions.

        Input: ``extra`` one row per minted id, columns ``gid``, ``owner`` (GID whose geometry it
        uses: its parent), ``full``, ``stripped`` (normalised name), ``anc_0..anc_L`` (ancestor GIDs
        at GADM levels 0..L of this matcher, the id itself or "" where deeper). Output: a new
        LevelMatcher sharing the GADM arrays (``self`` is unchanged; cached matchers stay clean).
        The minted names get tiers 0 (full) / 2 (stripped) / 3 (despaced), like GADM official names.
        """
        if extra is None or not len(extra):
            return self
        m = copy.copy(self)
        k = len(extra)
        pos = np.arange(self.n_base, self.n_base + k, dtype=np.int64)
        m.gids = np.concatenate([self.gids, extra["gid"].to_numpy(dtype=object)])
        m.is_minted = np.r_[self.is_minted, np.ones(k, dtype=bool)]
        m.pos_level = np.r_[self.pos_level, [gid_level(g) for g in extra["gid"]]].astype(np.int64)
        m.owner = np.concatenate([self.owner, extra["owner"].to_numpy(dtype=object)])
        m._anc = {lv: np.concatenate([a, extra[f"anc_{lv}"].to_numpy(dtype=object)]) for lv, a in self._anc.items()}
        full = extra["full"].to_numpy(dtype=object)
        despaced = np.array([f.replace(" ", "") for f in full], dtype=object)
        v = pd.DataFrame({"text": np.concatenate([full, extra["stripped"].to_numpy(dtype=object), despaced]),
                          "pos": np.tile(pos, 3), "tier": np.repeat([0, 2, 3], k),
                          "despaced": np.repeat([False, False, True], k), "src": ""})
        v = v[v["text"] != ""].drop_duplicates(["text", "pos"])
        m.variants = pd.concat([self.variants, v], ignore_index=True)
        m.fuzzy_variants = pd.concat([self.fuzzy_variants, v[~v["despaced"]]], ignore_index=True)
        m._scope_cache = {}
        return m

    def covers(self, gid: str, pos: int) -> bool:
        """True when the GADM area at position ``pos`` lies in the geometry of ``gid`` (a GADM
        GID of this level or above, or a minted id, whose geometry is its parent's)."""
        hit = np.flatnonzero(self.gids == gid)
        owner = str(self.owner[hit[0]]) if hit.size else str(gid)
        lv = gid_level(owner)
        return lv in self._anc and self._anc[lv][pos] == owner

    def _variants(self, kb=None) -> pd.DataFrame:
        """Name variants (text, pos, tier, despaced, src): GADM's own names (src "") -- NAME,
        VARNAME, NL_NAME, name with TYPE/ENGTYPE, mojibake-repaired forms -- and the knowledge
        layer's names of single areas (exonyms, ISO names; src = their evidence), as aliases."""
        a = self.areas
        rows_pos, rows_txt, rows_off = [], [], []
        for i, (n, vs, nl, ty, en) in enumerate(zip(a["name"], a["varnames"], a["nl_names"], a["type"], a["engtype"])):
            names = [n] + [v for v in list(vs or []) + list(nl or []) if v]
            names += [f"{t} {n}" for t in {ty, en} if t] + [f"{n} {t}" for t in {ty, en} if t]
            rows_pos += [i] * len(names)
            rows_txt += names
            rows_off += [True] + [False] * (len(names) - 1)
        k0 = len(rows_txt)
        rows_txt, rows_pos = add_repaired(rows_txt, rows_pos)
        rows_off += [False] * (len(rows_txt) - k0)
        src = [""] * len(rows_txt)
        if kb is not None and len(kb):
            gpos = pd.Index(self.gids).get_indexer(kb["gid"])
            ok = gpos >= 0
            rows_txt += list(kb["value"][ok])
            rows_pos += list(gpos[ok])
            rows_off += [False] * int(ok.sum())
            src += list(kb["evidence"][ok])
        full, stripped = normalize_array(rows_txt, self.country)
        pos = np.array(rows_pos, dtype=np.int64)
        off = np.array(rows_off)
        src = np.array(src, dtype=object)
        despaced = np.array([f.replace(" ", "") for f in full], dtype=object)
        v = pd.DataFrame({
            "text": np.concatenate([full, stripped, despaced]),
            "pos": np.concatenate([pos, pos, pos]),
            "tier": np.concatenate([np.where(off, 0, 1), np.where(off, 2, 3), np.full(len(pos), 3)]),
            "despaced": np.r_[np.zeros(2 * len(pos), dtype=bool), np.ones(len(pos), dtype=bool)],
            "src": np.concatenate([src, src, src]),
        })
        v = v[v["text"] != ""]
        # GADM's own names first (src ""), so that a knowledge name equal to one adds nothing
        v = v.assign(_k=(v["src"] != "")).sort_values(["tier", "despaced", "_k"], kind="stable")
        return v.drop_duplicates(["text", "pos"]).drop(columns="_k").reset_index(drop=True)

    def _groups(self, kb) -> dict:
        """Composite names and codes of the knowledge layer (groupings, successions): normalised
        name (full and stripped) or normalised code -> (GIDs, evidence, complete)."""
        out: dict = {}
        if kb is None or not len(kb):
            return out
        full, stripped = normalize_array(kb["value"], self.country)
        for v, f, s, g, ev, ok in zip(kb["value"], full, stripped, kb["gid"], kb["evidence"], kb["complete"]):
            parts = [x for x in str(g).split("|") if x in set(self.gids)]
            if len(parts) < 2:
                continue
            for key in {("name", f), ("name", s), ("code", norm_code(v))}:
                if key[1]:
                    out.setdefault(key, (parts, ev, bool(ok)))
        return out

    def _compound_parts(self) -> dict:
        """Stripped part -> area positions, for GADM names made of several places joined by "-",
        "and", "plus" or "/" ("Wrangell-Petersburg", "Skagway-Hoonah-Angoon"). The Data Hub splits
        such an area among the provider's parts (USA.2.25.1_0 Petersburg, USA.2.25.2_0 Wrangell)."""
        out: dict[str, list[int]] = {}
        for i, n in enumerate(self.areas["name"].astype(str)):
            parts = [p for p in re.split(r"\s*[-/]\s*|\s+(?:and|plus|&)\s+", n) if p]
            if len(parts) < 2:
                continue
            for s in set(normalize_array(parts, self.country)[1]):
                out.setdefault(s, []).append(i)
        return out

    def area_keys(self, gid: str) -> set:
        """Equivalence keys (normalize.equivalence_key) of every name of ``gid``: GADM's NAME,
        VARNAME, NL_NAME, name with type, and the knowledge layer's names; empty for minted ids."""
        cache = self.__dict__.setdefault("_keys", {})
        if gid not in cache:
            p = self.gid_index.get(gid)
            v = self.variants
            texts = v.loc[(v["pos"] == p) & (v["tier"] < 2) & ~v["despaced"], "text"] if p is not None else []
            cache[gid] = {equivalence_key(t, self.country) for t in texts}
        return cache[gid]

    def part_of(self, stripped_name: str, mask: np.ndarray) -> list[int]:
        """Positions (within ``mask``) of areas whose compound name has ``stripped_name`` as a part."""
        return [p for p in self.parts.get(stripped_name, []) if mask[p]]

    def siblings(self, gid: str) -> np.ndarray:
        """Boolean mask over positions: GADM areas with the same parent as ``gid`` (the whole
        country at GADM level 1); minted ids are never siblings."""
        anc = self._anc[self.gadm_level - 1]
        p = int(np.flatnonzero(self.gids == gid)[0])
        return (anc == anc[p]) & ~self.is_minted

    def alternatives(self, gid: str, name: str) -> list[str]:
        """GIDs of the other siblings of ``gid`` carrying ``name`` (normalised) as whole words in one
        of their names ("moscow" in "Moscow City", "buenos aires" in "Ciudad de Buenos Aires")."""
        if not name:
            return []
        sib = self.siblings(gid)
        v = self.fuzzy_variants
        v = v[sib[v["pos"].to_numpy()] & (self.gids[v["pos"].to_numpy()] != gid)]
        hit = (" " + v["text"] + " ").str.contains(f" {name} ", regex=False)
        return list(dict.fromkeys(self.gids[v.loc[hit, "pos"].to_numpy()]))

    def has_gap_for(self, gid: str, name: str) -> bool:
        """True when the loaded layer may lack a sibling of ``gid`` named ``name``: GADM numbers
        the children of a parent in alphabetical order, so a missing area named ``name`` would sit
        between the two present siblings around ``name`` -- whose numbers are then not
        consecutive. (The simplified USA layer drops 35 areas, e.g. Virginia's USA.47.41_1
        "Fairfax City" between Fairfax .40 and Fauquier .43; Franklin .46 / Frederick .47 leave no
        room for a GADM "Franklin City".)"""
        sib = np.flatnonzero(self.siblings(gid)[: self.n_base])
        nums = np.array([gid_number(str(g)) for g in self.gids[sib]])
        names = normalize_array(self.areas["name"].to_numpy()[sib], self.country)[0]
        order = np.argsort(nums)
        nums, names = nums[order], names[order]
        k = int(np.searchsorted(names, name))  # names follow the numbers when GADM is alphabetical
        lo = nums[k - 1] if k > 0 else 0
        hi = nums[k] if k < len(nums) else lo + 1
        return bool(hi - lo > 1)

    def in_scope(self, parent_gid: str, parent_level: int) -> np.ndarray:
        """Boolean mask over positions: descendants of (or equal to) ``parent_gid``; all True when
        there is no usable parent (empty, or a parent level deeper than this level)."""
        key = (parent_gid, parent_level)
        if key not in self._scope_cache:
            if not parent_gid or parent_level > self.gadm_level or parent_level not in self._anc:
                m = np.ones(len(self.gids), dtype=bool)
            else:
                m = self._anc[parent_level] == parent_gid
            self._scope_cache[key] = m
        return self._scope_cache[key]

    def _text_index(self):
        """``variants`` grouped by text, built once per matcher (and per with_minted copy):
        (pd.Index of the distinct texts, start offsets (n_texts + 1,), then pos, tier, src and
        "crosswalk confirmed by point" arrays of the variants in text order)."""
        cache = self.__dict__.get("_texts")
        if cache is not None and cache[0] is self.variants:
            return cache[1]
        v = self.variants
        text = v["text"].to_numpy(dtype=object)
        codes, uniq = pd.factorize(text)
        order = np.argsort(codes, kind="stable")
        starts = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(uniq)))]
        src = v["src"].to_numpy(dtype=object)[order]
        point = np.array(["+point" in str(x) for x in src], dtype=bool)
        built = (pd.Index(uniq, dtype=object), starts, v["pos"].to_numpy(dtype=np.int64)[order],
                 v["tier"].to_numpy(dtype=np.int64)[order], src, point)
        self._texts = (self.variants, built)
        return built

    def exact(self, full, stripped, parents, plevels) -> pd.DataFrame:
        """Exact matches of normalised queries.

        Input: arrays (n,) of full form, stripped form, parent GID ("" none), parent GADM level.
        Output: DataFrame (row, pos, tier, src) -- for each row only the areas of its best tier, in
        its parent's scope; rows sorted by (row, pos), one per (row, pos), GADM's own name ("" src)
        before knowledge names.
        """
        n = len(full)
        index, starts, v_pos, v_tier, v_src, v_point = self._text_index()
        full = np.asarray(full, dtype=object)
        despaced = np.array([str(f).replace(" ", "") for f in full], dtype=object)
        texts = np.concatenate([full, np.asarray(stripped, dtype=object), despaced])
        q_row = np.tile(np.arange(n, dtype=np.int64), 3)
        q_full = np.repeat([True, False, False], n)  # query form: 0 = full name, 1 = stripped/despaced
        hit = index.get_indexer(texts)
        ok = (hit >= 0) & (texts != "")
        hit, q_row, q_full = hit[ok], q_row[ok], q_full[ok]
        cnt = starts[hit + 1] - starts[hit]
        at = np.repeat(starts[hit] - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(cnt.sum())
        r, q_full = np.repeat(q_row, cnt), np.repeat(q_full, cnt)
        p, t, src, point = v_pos[at], v_tier[at], v_src[at], v_point[at]
        t = np.where(q_full & (t < 2), t, np.where(t < 2, t + 2, t))
        # keep matches inside the row's parent scope: one (parent, GADM level) key per row, the
        # scope looked up for each distinct key and applied to all matches at once
        parents = np.asarray(parents, dtype=object)[r]
        plevels = np.asarray(plevels, dtype=np.int64)[r]
        keep = np.ones(len(r), dtype=bool)
        has = parents != ""
        if has.any():
            codes, uniq = _scope_keys(parents[has], plevels[has])
            masks = np.stack([self.in_scope(pg, lv) for pg, lv in uniq])  # (n_parents, n_areas)
            keep[has] = masks[codes, p[has]]
        r, p, t, src, point = r[keep], p[keep], t[keep], src[keep], point[keep]
        if not len(r):
            return pd.DataFrame({"row": pd.Series([], dtype=np.int64), "pos": pd.Series([], dtype=np.int64),
                                 "tier": pd.Series([], dtype=np.int64), "src": pd.Series([], dtype=object)})
        # per row, the areas that the ISO 3166-2 crosswalk confirms by name and point (at any tier)
        base = len(self.gids) + 1
        pair = r * base + p  # (row, pos) as one int64
        xw = np.unique(pair[point])
        best = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(best, r, t)
        sel = t == best[r]
        r, p, t, src, pair = r[sel], p[sel], t[sel], src[sel], pair[sel]
        # a GADM area wins a tie with a minted id: minted names never shadow GADM names
        minted = self.is_minted[p]
        if minted.any():
            gadm_row = np.zeros(n, dtype=bool)
            gadm_row[r[~minted]] = True
            sel = ~(minted & gadm_row[r])
            r, p, t, src, pair = r[sel], p[sel], t[sel], src[sel], pair[sel]
        # an alias that GADM gives several areas (THA NL_NAME of Chai Nat also on Chaiyaphum), one of
        # which the crosswalk confirms: that one
        if len(xw):
            x = np.isin(pair, xw)
            size = np.bincount(np.unique(pair) // base, minlength=n)  # distinct areas per row
            conf = np.bincount(np.unique(pair[x]) // base, minlength=n)  # ... confirmed by the crosswalk
            sel = ~((size > 1) & (conf == 1))[r] | x
            r, p, t, src = r[sel], p[sel], t[sel], src[sel]
        # sort by (row, pos, src): GADM's own name ("") before knowledge names, one per (row, pos)
        order = np.lexsort((src.astype(str), p, r))
        r, p, t, src = r[order], p[order], t[order], src[order]
        first = np.r_[True, (r[1:] != r[:-1]) | (p[1:] != p[:-1])]
        return pd.DataFrame({"row": r[first], "pos": p[first], "tier": t[first], "src": src[first]})

    def fuzzy(self, stripped, parents, plevels, k=5, cutoff=0):
        """Top-k fuzzy candidates per query (stripped form) among the areas in its parent's scope.

        Output: (pos int64 (n, k), score float64 (n, k)); -1 / 0 where none.
        """
        n = len(stripped)
        out_p = np.full((n, k), -1, dtype=np.int64)
        out_s = np.zeros((n, k))
        if n == 0:
            return out_p, out_s
        stripped = np.asarray(stripped, dtype=object)
        codes, uniq = _scope_keys(parents, plevels)
        v_pos = self.fuzzy_variants["pos"].to_numpy()
        texts = self.fuzzy_variants["text"].to_numpy(dtype=object)
        for c, (pg, lv) in enumerate(uniq):
            idx = np.flatnonzero(codes == c)
            sel = self.in_scope(pg, lv)[v_pos]
            if not sel.any():
                continue
            pos, sc = topk(stripped[idx], texts[sel], k=k, scorer=self.scorer,
                           score_cutoff=cutoff, choice_groups=v_pos[sel])
            out_p[idx], out_s[idx] = pos, sc
        return out_p, out_s


def _scope_keys(parents, plevels):
    """Distinct (parent GID, parent GADM level) pairs of the rows: (codes int64 (n,), list of
    (str, int) pairs in order of first appearance)."""
    parents = np.asarray(parents, dtype=object)
    plevels = np.asarray(plevels, dtype=np.int64)
    codes, uniq = pd.factorize(np.array([f"{lv}|{p}" for p, lv in zip(parents, plevels.tolist())], dtype=object))
    return codes, [(k.split("|", 1)[1], int(k.split("|", 1)[0])) for k in uniq]
