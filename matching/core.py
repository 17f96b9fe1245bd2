"""match_places: provider rows -> GADM GIDs with a decision per row.

Before anything: names repaired when they were decoded with the wrong encoding (ftfy: "CataluÃ±a"
-> "Cataluña"; match_reason says so). Order of evidence for each row (first that decides wins):
bad names (empty, punctuation only, "Unknown", "Out of state"..., an ISO 3166-2 code of another
  country) -> unmatched with a one-line reason;
codes (code column, or a name that is wholly a code: "DE-BW", "AN", "Région 84", "E92000001",
  former ISO codes, GADM HASC suffixes "DC") -> code/composite (matching/codes.py, knowledge.py);
shipped aliases (matching/aliases/<ISO3>.csv) -> alias/composite;
exact normalised names within the parent's scope -> exact/alias (several areas -> review): GADM's
  NAME/VARNAME/NL_NAME and the knowledge layer's names (ISO 3166-2 names, localOtherName, pycountry
  translations, linked by the ISO <-> GADM crosswalk; match_reason names the link's evidence);
  ids minted earlier (any source, <state_dir>/minted_ids.csv) are candidates too, by their stored
  name -> minted (matching/minted.py; a GADM area wins a tie);
groupings and successions of the knowledge layer (a statistical region, a county formed after
  GADM 3.6) -> composite; an incomplete grouping -> review with its known parts;
fuzzy names within the parent's scope -> fuzzy (thresholds in defaults.toml);
compound names ("Bristol Bay plus Lake and Peninsula", "Petersburg" of GADM's "Wrangell-Petersburg")
  -> composite, or a part claim for the split rule (compound.py);
cross-level: one GADM level up or down, exact names/codes only ("P.A. Bolzano" -> ITA.17.1_1), accepted
  only when no area of the level asked for fits (``cross_level_block_score``), else review with both;
spatial: the area containing the provider's coordinates (see spatial.py);
geometry: the GADM areas a provider geometry covers -> spatial/composite (see geomatch.py);
split: a GADM area claimed by several provider rows is split into minted .n_0 ids (minting.py) --
  unless the claimants are spelling variants of one place (duplicates: same GID, "duplicate_of" in
  match_reason, never minted; spatial._duplicates).
Rows left without any candidate get the best names of their scope, however weak (rowcheck.py).
Rule sources: the paper (Guidotti & Ardia, Scientific Data 2022, "Data Harmonisation" / lookup tables)
for GIDs, composites and minted ids; the Data Hub's behaviour for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely

from geolookup import gadm
from geolookup.gadm.gids import gid_level, gid_stem
from geolookup.core.errors import GeolookupError, InputError
from geolookup.core.tableio import check_columns, numeric_column

from . import compound, geomatch, spatial
from .aliastable import load_aliases
from .codes import foreign_code, looks_like_code_array, norm_code, read_crosswalk
from .decide import fuzzy_status, settings
from .geometry import parse_wkt
from .levelmatch import LevelMatcher
from .minted import candidates_for, minted_of_country
from .normalize import _typeword_patterns, normalize_array, repair_mojibake
from .output import OUT_COLUMNS, _provider_keys, _text, assemble, provider_keys  # noqa: F401 (re-exported)
from .rowcheck import bad_name_reason, fill_candidates, parent_group, placeholder_rows



@lru_cache(maxsize=32)
def _matcher(country, level, data_dir, cw_key, scorer):
    return LevelMatcher(country, level, data_dir, dict(cw_key), scorer)


@dataclass
class Ctx:
    """What one match_places call shares across its stages: the country (ISO3), data folder,
    matching settings (matching/defaults.toml), alias names, available GADM levels, the crosswalk
    cache key, the country's minted ids and the rows' normalised parent names."""

    country: str
    data_dir: object
    cfg: dict
    alias_names: dict
    levels: list
    cw_key: tuple = field(default=())  # crosswalk + alias codes as sorted (code, GIDs) pairs: the matcher cache key
    minted: pd.DataFrame | None = None  # minted ids of the country (minted.minted_of_country); None = ignore
    parent_names: np.ndarray | None = None  # per row: the parent name, normalised and stripped; None = no parents
    _with_minted: dict = field(default_factory=dict)

    def matcher(self, level: int) -> LevelMatcher:
        """The GADM matcher of ``level`` plus the usable minted ids (one copy per call and level)."""
        base = _matcher(self.country, level, self.data_dir, self.cw_key, self.cfg["scorer"])
        if self.minted is None or self.minted.empty:
            return base
        if level not in self._with_minted:
            # the same minted table (minted_of_country: one frame per state of the file) gives the
            # same copy: kept on the cached base matcher, beside the table it was made from
            kept = base.__dict__.get("_minted_copy")
            if kept is None or kept[0] is not self.minted:
                kept = (self.minted, base.with_minted(candidates_for(base, self.minted)))
                base._minted_copy = kept
            self._with_minted[level] = kept[1]
        return self._with_minted[level]


@dataclass
class Res:
    """Per-row results of one matching pass (lists of length n)."""
    n: int

    def __post_init__(self):
        n = self.n
        self.status = [""] * n
        self.score = np.zeros(n)
        self.method = [""] * n
        self.parts = [[] for _ in range(n)]
        self.cands = [[] for _ in range(n)]
        self.level = np.zeros(n, dtype=np.int64)
        self.reason = [""] * n
        self.claim = [""] * n  # "full" | "stripped" | "spatial": strength of an exact/spatial claim
        self.is_placeholder = np.zeros(n, dtype=bool)  # rows naming no place ("Unknown", "Out of state")
        self.inside = np.zeros(n, dtype=bool)  # a "part" claim whose coordinates lie in the claimed area

    def set(self, i, status, score, method, parts, level, reason, cands=None, claim=""):
        self.status[i], self.score[i], self.method[i] = status, float(score), method
        self.parts[i], self.level[i], self.reason[i], self.claim[i] = list(parts), level, reason, claim
        self.cands[i] = list(cands) if cands is not None else [(g, score) for g in parts]


def _prefix_stripped(full, country):
    pre = _typeword_patterns(country)[0]
    return np.array([pre.sub("", f) or f for f in full], dtype=object)


def _match_level(ctx: Ctx, level, raw, full, stripped, codes, parents, plevels, open_rows=None) -> Res:
    """One pass at one GADM level for rows ``open_rows`` (all by default)."""
    cfg, n = ctx.cfg, len(full)
    res = Res(n)
    M = ctx.matcher(level)
    todo = np.ones(n, dtype=bool) if open_rows is None else np.asarray(open_rows, dtype=bool).copy()
    codes = np.asarray(codes, dtype=object)
    code_text = np.where(codes != "", codes, np.where(looks_like_code_array(raw), raw, ""))
    ph = todo & placeholder_rows(cfg, full, stripped)
    known = np.flatnonzero(ph & (code_text != ""))  # "NA" is Najaf's code in Iraq before it is "n/a"
    ph[known[[bool(h) for h, _ in M.codes.lookup(code_text[known])]]] = False
    for i in np.flatnonzero(todo & ~ph & (code_text != "")):  # a code of another country names no place here
        other = foreign_code(code_text[i], ctx.country)
        if other:
            ph[i] = True
            res.set(i, "unmatched", 0, "code", [], level, f"{code_text[i]} is an ISO 3166-2 code of {other}, "
                                                          f"not of {ctx.country}")
    for i in np.flatnonzero(ph & (np.array(res.status, dtype=object) == "")):
        res.set(i, "unmatched", 0, "exact", [], level, bad_name_reason(raw[i], full[i]))
    res.is_placeholder = ph
    todo &= ~ph
    # codes: the code column, else a name that is itself a code
    alt_text = np.where(looks_like_code_array(stripped), stripped, "")
    for arr in (code_text, alt_text):
        idx = np.flatnonzero(todo & (arr != ""))
        for i, (hit, kind) in zip(idx, M.codes.lookup(arr[idx])):
            if not hit:
                continue
            if kind == "crosswalk":
                res.set(i, "accepted", 100, "code" if len(hit) == 1 else "composite", hit, gid_level(hit[0]),
                        f"code {arr[i]} in crosswalk")
                todo[i] = False
                continue
            mask = M.in_scope(parents[i], plevels[i])
            hit = [p for p in hit if mask[p]]
            gids = [M.gids[p] for p in hit]
            what = f"code {arr[i]} ({M.codes.evidence.get(norm_code(arr[i]), '')})" if kind == "known" \
                else f"{kind.upper()} code {arr[i]}"
            if len(gids) == 1:
                res.set(i, "accepted", 100, "code", gids, level, what)
                todo[i] = False
            elif gids:
                res.set(i, "review", 100, "code", [], level, f"{what} fits {len(gids)} areas",
                        cands=[(g, 100) for g in gids])
    # shipped aliases (name, parent)
    for i in np.flatnonzero(todo):
        pn = ctx.parent_names[i] if ctx.parent_names is not None else ""
        hit = next((ctx.alias_names[k] for k in ((full[i], pn), (stripped[i], pn), (full[i], ""), (stripped[i], ""))
                    if k in ctx.alias_names), None)
        if hit:
            res.set(i, "accepted", 100, "alias" if len(hit) == 1 else "composite", hit, gid_level(hit[0]),
                    f"alias table matching/aliases/{ctx.country}.csv")
            todo[i] = False
    # fuzzy candidates for every open row: listed after exact hits too, so a row sent to review
    # later (split conflicts) still shows its near names
    idx = np.flatnonzero(todo)
    fz_pos, fz_sc = M.fuzzy(stripped[idx], parents[idx], plevels[idx], k=cfg["candidates"],
                            cutoff=cfg["candidate_cutoff"])
    fz = {i: [(M.gids[p], s) for p, s in zip(fz_pos[j], fz_sc[j]) if p >= 0] for j, i in enumerate(idx)}
    # exact names
    ex = M.exact(full[idx], stripped[idx], parents[idx], plevels[idx])
    if len(ex):
        ex = ex.sort_values("row", kind="stable")
        rows_, pos_, tier_, src_ = (ex[c].to_numpy() for c in ("row", "pos", "tier", "src"))
        cuts = np.flatnonzero(np.diff(rows_)) + 1
        for r, ps, ts, ss in zip(rows_[np.r_[0, cuts]], np.split(pos_, cuts), np.split(tier_, cuts), np.split(src_, cuts)):
            i = idx[r]
            tier = int(ts[0])
            via = f"; exonym/ISO name: {ss[0]}" if len(ps) == 1 and ss[0] else ""
            prev = [g for g, _ in res.cands[i]]
            if prev:  # ambiguous code: the name decides among its areas
                ps = [p for p in ps if M.gids[p] in prev] or ps
            gids = [M.gids[p] for p in ps]
            method = "exact" if tier in (0, 2) else "alias"
            claim = "full" if tier < 2 else "stripped"
            cands = [(g, 100) for g in gids] + fz[i]
            if len(gids) == 1 and M.is_minted[ps[0]]:
                res.set(i, "accepted", 100, "minted", gids, int(M.pos_level[ps[0]]),
                        f"name of {gids[0]}, minted earlier (tier {tier})", cands=cands, claim="minted")
            elif len(gids) == 1:
                res.set(i, "accepted", 100, method, gids, level, f"{method} name (tier {tier}{via})", cands=cands, claim=claim)
            else:
                res.set(i, "review", 100, method, [], level, f"{len(gids)} areas share this name; pick one", cands=cands)
            todo[i] = False
    # groupings and successions of the knowledge layer (composites of GADM areas)
    for i in idx[todo[idx]]:
        key = next((k for k in (("code", norm_code(code_text[i])), ("name", full[i]), ("name", stripped[i]))
                    if k[1] and k in M.groups), None)
        if key is None:
            continue
        parts, why, complete = M.groups[key]
        mask = M.in_scope(parents[i], plevels[i])
        parts = [g for g in parts if mask[M.gid_index[g]]]
        if len(parts) >= 2 and complete:
            res.set(i, "accepted", 100, "composite", parts, level, why)
            todo[i] = False
        elif parts:
            res.set(i, "review", 90, "composite", [], level, f"{why}; pick the parts",
                    cands=[(g, 90) for g in parts] + fz[i])
            todo[i] = False
    # fuzzy names
    keep = todo[idx]
    idx, fz_pos, fz_sc = idx[keep], fz_pos[keep], fz_sc[keep]
    minted_level = dict(zip(M.gids[M.n_base:], M.pos_level[M.n_base:].tolist()))
    st = fuzzy_status(fz_sc, cfg)
    for j, i in enumerate(idx):
        if res.method[i] == "code" and res.status[i] == "review":  # a code of several areas: the name decides
            top = fz[i][0][0] if fz[i] else ""
            if st[j] == "accepted" and top in {g for g, _ in res.cands[i]}:
                res.set(i, "accepted", 100, "code", [top], level, f"{res.reason[i]}; the name picks {top}",
                        cands=res.cands[i] + fz[i])
            else:
                res.cands[i] = res.cands[i] + fz[i]
            continue
        cands = res.cands[i] + fz[i]
        best = cands[0][0] if cands else ""
        parts = [best] if st[j] == "accepted" else []
        why = "fuzzy name" if cands else "no similar name"
        if len(cands) > 1 and st[j] != "accepted" and fz_sc[j, 0] >= cfg["accept_score"]:
            why = f"fuzzy name, runner-up within {cfg['accept_margin']} points"
        if parts and best in minted_level:
            res.set(i, st[j], fz_sc[j, 0], "minted", parts, minted_level[best], f"fuzzy name of {best}, minted earlier",
                    cands=cands, claim="minted")
            continue
        res.set(i, st[j], fz_sc[j, 0], "fuzzy", parts, level, why, cands=cands)
    compound.apply(ctx, M, level, res, [i for i in idx if res.status[i] != "accepted"], raw, parents, plevels)
    return res


def _cross_level(ctx, level, res, raw, full, codes, parents, plevels):
    """Rows not accepted at ``level``: exact names/codes one GADM level up or down."""
    cfg = ctx.cfg
    pref = _prefix_stripped(full, ctx.country)
    for other in (level + 1, level - 1):
        if other < 1 or other not in ctx.levels:
            continue
        open_ = (np.array(res.status, dtype=object) != "accepted") & ~res.is_placeholder & (res.score < cfg["accept_score"])
        if not open_.any():
            return
        r2 = _match_level(ctx, other, raw, full, pref, codes, parents, plevels, open_rows=open_)
        for i in np.flatnonzero(open_):
            if r2.status[i] == "accepted" and (r2.method[i] in ("exact", "alias", "code", "composite")
                                               or (r2.method[i] == "minted" and r2.score[i] >= 100)):
                if res.score[i] >= cfg["cross_level_block_score"]:  # the level asked for has a fitting area: a human picks
                    res.status[i], res.parts[i] = "review", []
                    res.cands[i] = res.cands[i][:1] + [(g, r2.score[i]) for g in r2.parts[i]] + res.cands[i][1:]
                    res.reason[i] += (f"; GADM level {other} has {'|'.join(r2.parts[i])} ({r2.reason[i]}), but a "
                                      f"match at another level is accepted only when nothing at GADM level {level} fits")
                    continue
                res.set(i, "accepted", r2.score[i], r2.method[i], r2.parts[i], r2.level[i],
                        f"cross-level: found at GADM level {other}, nothing at GADM level {level} fits ({r2.reason[i]})",
                        claim=r2.claim[i])
            elif r2.status[i] == "review" and r2.score[i] >= 100:
                res.cands[i] = r2.cands[i] + res.cands[i]


def _resolve_parents(ctx, values, level):
    """Parent values (matched once per distinct value, one GADM level up) -> per row: parent gid,
    parent GADM level ("" / 0 when unresolved) and the normalised, type-word stripped parent name."""
    values = np.asarray(values, dtype=object)
    uniq = pd.unique(values)
    full, stripped = normalize_array(uniq, ctx.country)
    pos = pd.Index(uniq).get_indexer(values)
    gid = blank = np.full(len(uniq), "", dtype=object)
    lev = zero = np.zeros(len(uniq), dtype=np.int64)
    if level >= 2 and len(uniq):
        sub = Ctx(ctx.country, ctx.data_dir, ctx.cfg, ctx.alias_names, ctx.levels, ctx.cw_key)  # no minted ids
        res = _match_level(sub, level - 1, uniq, full, stripped, blank, blank, zero)
        _cross_level(sub, level - 1, res, uniq, full, blank, blank, zero)
        ok = [s == "accepted" and len(p) == 1 for s, p in zip(res.status, res.parts)]
        gid = np.array([p[0] if k else "" for p, k in zip(res.parts, ok)], dtype=object)
        lev = np.array([gid_level(g) if g else 0 for g in gid], dtype=np.int64)
    return gid[pos], lev[pos], stripped[pos]


def match_places(df, country, gadm_level, name_col, code_col=None, parent_col=None, lat_col=None,
                 lon_col=None, data_dir=None, state_dir=None, crosswalk=None, source=None, key_col=None,
                 geometry_col=None, label=None):
    """Match provider rows to GADM 3.6 areas of one country and GADM level.

    Input: ``df`` one row per provider entity (columns of str); ``country`` ISO3; ``gadm_level``
    GADM level searched (Data Hub administrative_area_level minus one); column names for the
    name (required), code, parent (name, code or GID of the area one GADM level up), latitude and
    longitude (degrees WGS84), the provider geometry (``geometry_col``: WKT polygons in EPSG:4326
    degrees, "" = none; see matching/geomatch.py for how covered GADM areas become a spatial or
    composite match; it supersedes the row's coordinates) and the provider key; ``crosswalk`` a CSV path or dict code -> list of
    GIDs; ``source`` provider name for minted ids (default "input"); ``state_dir`` for minted ids:
    ids minted there earlier (by any source) are candidates too, matched by their stored name
    (matching/minted.py), and a row matched to one never mints a new id. ``label``: name of the
    input in error messages (the file path; default ``source`` or "input").
    Output: ``df``'s rows in order with all its columns plus OUT_COLUMNS: gid (str, "" unless
    accepted), gid_parts ("|"-joined), match_status (accepted|review|unmatched), match_score
    (float64 0-100), match_method (code|exact|alias|fuzzy|spatial|composite|minted), candidates
    (<= 5 "GID:score" joined by "|", best first), match_gadm_level (int64), match_reason (str).
    Existing columns of those names are replaced.
    Raises InputError (missing columns, bad coordinates, bad WKT: one line naming file, spreadsheet
    row -- header = row 1 -- and column), GeolookupError/DataNotFoundError (GADM).
    """
    cfg = settings()
    country = str(country).upper()
    label = label or source or "input"
    if (lat_col is None) != (lon_col is None):
        raise InputError(f"{label}: give both --lat-col and --lon-col, or neither")
    check_columns(df, [name_col, code_col, parent_col, lat_col, lon_col, key_col, geometry_col], label)
    n = len(df)
    lon = lat = None  # bad input fails before any matching work
    if lat_col:
        lat = numeric_column(df, lat_col, label, -90, 90).to_numpy()
        lon = numeric_column(df, lon_col, label, -180, 180).to_numpy()
    geoms = parse_wkt(df[geometry_col].to_numpy(dtype=object), label, geometry_col) if geometry_col else None
    levels = gadm.available_levels(country, data_dir)
    if gadm_level not in levels or gadm_level < 1:
        raise GeolookupError(f"GADM level {gadm_level} is not available for {country}; levels: {levels}")
    cw = crosswalk if isinstance(crosswalk, dict) else (read_crosswalk(crosswalk) if crosswalk else {})
    alias_names, alias_codes = load_aliases(country)
    codes_all = {**alias_codes, **cw}
    ctx = Ctx(country, str(data_dir) if data_dir else None, cfg, alias_names, levels,
              tuple(sorted((k, tuple(v)) for k, v in codes_all.items())), minted_of_country(state_dir, country))
    raw, codes, parents_raw = _text(df, name_col), _text(df, code_col), _text(df, parent_col)
    raw, mojibake = repair_mojibake(raw)  # "CataluÃ±a" -> "Cataluña", said in match_reason below
    parents_raw = repair_mojibake(parents_raw)[0]
    full, stripped = normalize_array(raw, country)
    if parent_col:
        pgid, plev, ctx.parent_names = _resolve_parents(ctx, parents_raw, gadm_level)
    else:
        pgid, plev = np.full(n, "", dtype=object), np.zeros(n, dtype=np.int64)
    res = _match_level(ctx, gadm_level, raw, full, stripped, codes, pgid, plev)
    _cross_level(ctx, gadm_level, res, raw, full, codes, pgid, plev)
    lost = (parents_raw != "") & (pgid == "") & ~res.is_placeholder
    groups = {p: parent_group(ctx, gadm_level, p) for p in set(parents_raw[lost])}  # once per parent
    for i in np.flatnonzero(lost):  # rows whose parent is unknown: few, and each gets its own text
        group = groups[parents_raw[i]]
        if group:  # the parent is a grouping of GADM areas (a statistical region): inside it is no guess
            parts, why = group
            inside = res.status[i] != "accepted" or all(any(g == p or g.startswith(gid_stem(p) + ".") for p in parts)
                                                          for g in res.parts[i])
            res.reason[i] += f"; parent {parents_raw[i]!r} groups {len(parts)} GADM areas ({why})"
            if inside:
                continue
            res.reason[i] += ", and this match lies outside them"
        else:
            res.reason[i] += f"; parent {parents_raw[i]!r} not found in GADM, searched the whole country"
        if res.status[i] == "accepted":  # an unknown parent makes any match a guess
            res.status[i], res.parts[i], res.claim[i] = "review", [], ""
    if geoms is not None:  # a row's geometry supersedes its coordinates
        glon, glat = geomatch.apply(ctx, gadm_level, res, geoms)
        has = ~shapely.is_missing(geoms)
        lon, lat = (glon, glat) if lon is None else (np.where(has, glon, lon), np.where(has, glat, lat))
    if lon is not None:
        spatial.apply(ctx, gadm_level, res, lon, lat)
    fill_candidates(ctx, gadm_level, res, stripped, pgid, plev)
    keys = _provider_keys(df, _text(df, name_col), _text(df, parent_col), key_col, code_col, parent_col)
    spatial.split_and_mint(ctx, gadm_level, res, raw, full, stripped, parents_raw, keys, source or "input", state_dir)
    orig = _text(df, name_col)
    for i in np.flatnonzero(mojibake):
        res.reason[i] = f"mojibake repaired: {orig[i]!r} read as {raw[i]!r}; {res.reason[i]}"
    return assemble(ctx, df, res)
