"""Minted ``.n_0`` ids as candidates of later matching runs (the Data Hub keeps an id forever
once published, so a minted id keeps its n in every later run; the build merges all sources into one
row per place).

A place minted once -- by one source, e.g. JHU's "Kansas City" (Missouri) split from Jackson County
by its coordinates as USA.26.48.2_0 -- must be found again by every other source that names it
(NYT "Kansas City", no FIPS, no coordinates; the Data Hub's own names). So ``match_places`` reads
``<state_dir>/minted_ids.csv`` and adds the country's minted ids as candidate areas:

- at the GADM level of the minted id (one deeper than its parent), to the matcher of the searched
  GADM level L when that level is L (parent at L-1: an area GADM lacks) or L+1 (parent at L: a
  part of a GADM area);
- matched by their stored ``name`` (the provider's, as written) in the exact and fuzzy stages like
  a GADM official name (match_method "minted" when one is accepted);
- scoped by the parent column like GADM areas: a minted id's ancestors are its parent GID and the
  parent's ancestors;
- never shadowing a GADM area: a minted name equal (normalised) to the name or an alias of a GADM
  area with the same parent scope -- e.g. "Jackson" USA.26.48.1_0, the rest of GADM's Jackson
  County -- is not a name candidate at all, and at an equal exact tier a GADM area beats a minted
  id. Such a rest is reached through the split rule instead (spatial.py: a source that also names
  a minted part of the area gets the minted sibling of the same name);
- geometry, where needed (spatial evidence, composites), is the parent's.
Ids stored without a name (files written before the ``name`` column existed) are not name
candidates; they are still reused for their own (source, provider_key).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geolookup import gadm
from geolookup.gadm.gids import gid_level

from .levelmatch import LevelMatcher
from .minting import COLUMNS, load_minted, minted_path
from .normalize import normalize_array


def minted_of_country(state_dir, country: str) -> pd.DataFrame:
    """Rows of ``<state_dir>/minted_ids.csv`` whose id belongs to ``country`` (ISO3), columns
    COLUMNS (str) plus ``level`` (int, GADM level of the id) and ``full`` / ``stripped`` (the
    stored name normalised once, matching/normalize.py); empty frame when none.

    The frame is read once per state of the file (path, size, modification time) and shared by
    the calls that find the file unchanged: treat it as read-only."""
    p = minted_path(state_dir, create=False)
    try:
        st = p.stat()
        stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = None
    return _minted_of_country(str(p), stamp, country)


@lru_cache(maxsize=16)
def _minted_of_country(path: str, stamp, country: str) -> pd.DataFrame:
    t = load_minted(Path(path).parent)[COLUMNS]
    t = t[t["gid"].str.startswith(f"{country}.")].reset_index(drop=True)
    full, stripped = normalize_array(t["name"].to_numpy(dtype=object), country)
    return t.assign(level=t["gid"].str.count(r"\.").astype(np.int64), full=full, stripped=stripped)


def _gadm_full_scope(M: LevelMatcher) -> pd.MultiIndex:
    """(full normalised name or alias, ancestor GID one level up) of every GADM area of ``M``."""
    if getattr(M, "_full_scope", None) is None:
        v = M.variants[(M.variants["tier"] < 2) & ~M.variants["despaced"]]
        up = M._anc.get(M.gadm_level - 1)
        scope = up[v["pos"].to_numpy()] if up is not None else np.full(len(v), "", dtype=object)
        M._full_scope = pd.MultiIndex.from_arrays([v["text"].to_numpy(dtype=object), scope])
    return M._full_scope


def candidates_for(M: LevelMatcher, table: pd.DataFrame) -> pd.DataFrame:
    """Minted ids usable as candidates by matcher ``M`` (GADM level L) among ``table``
    (:func:`minted_of_country` output): ids at level L or L+1
    whose parent is known to the layer and whose name is stored and shadows no GADM name.

    Output: the frame :meth:`LevelMatcher.with_minted` takes (gid, owner, full, stripped,
    anc_0..anc_L), one row per usable minted id.
    """
    L = M.gadm_level
    t = table[(table["name"] != "") & table["level"].isin([L, L + 1])]
    if t.empty:
        return t.iloc[:0]
    base = M.gids[: M.n_base]
    deep = (t["level"] == L + 1).to_numpy()
    # a representative GADM area under each parent: the parent itself (L+1) or one child (L)
    pos = np.where(deep, pd.Index(base).get_indexer(t["parent_gid"]), -1)
    if (~deep).any() and (L - 1) in M._anc:
        up = pd.Series(np.arange(M.n_base), index=M._anc[L - 1][: M.n_base])
        up = up[~up.index.duplicated()]
        pos[~deep] = up.reindex(t.loc[~deep, "parent_gid"]).fillna(-1).to_numpy(dtype=np.int64)
    ok = pos >= 0
    t, pos, deep = t[ok], pos[ok], deep[ok]
    if t.empty:
        return t.iloc[:0]
    gids = t["gid"].to_numpy(dtype=object)
    extra = {"gid": gids, "owner": t["parent_gid"].to_numpy(dtype=object)}
    for k, anc in M._anc.items():  # levels 0..L: the parent's chain, then the parent (L+1) or the id (L)
        extra[f"anc_{k}"] = anc[: M.n_base][pos] if k < L else np.where(deep, anc[: M.n_base][pos], gids)
    full = t["full"].to_numpy(dtype=object)
    extra["full"], extra["stripped"] = full, t["stripped"].to_numpy(dtype=object)
    out = pd.DataFrame(extra)
    scope = out[f"anc_{L - 1}"].to_numpy(dtype=object) if f"anc_{L - 1}" in out else np.full(len(out), "", dtype=object)
    shadowed = pd.MultiIndex.from_arrays([full, scope]).isin(_gadm_full_scope(M))
    return out[~shadowed & (out["full"] != "")].drop_duplicates("gid").reset_index(drop=True)


def geometry_areas(gids, country: str, table: pd.DataFrame, data_dir=None) -> gpd.GeoDataFrame:
    """GeoDataFrame (gid, geometry; EPSG:4326), one row per distinct GID in ``gids``: GADM areas
    from their layer, minted ids (in ``table``, minted_of_country output or None) with their
    parent's geometry. GIDs found nowhere
    are left out (resolve_composite then names them)."""
    owner = dict(zip(table["gid"], table["parent_gid"])) if table is not None else {}
    want = list(dict.fromkeys(str(g) for g in gids))
    src = {g: owner.get(g, g) for g in want}
    frames = []
    levels = set(gadm.available_levels(country, data_dir))
    for lv in sorted({gid_level(s) for s in src.values()}):
        if lv not in levels:
            continue
        a = gadm.load_areas(country, lv, data_dir)
        geo = dict(zip(a["gid"], a.geometry))
        rows = [(g, geo[s]) for g, s in src.items() if gid_level(s) == lv and s in geo]
        if rows:
            frames.append(gpd.GeoDataFrame({"gid": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=a.crs))
    if not frames:
        return gpd.GeoDataFrame({"gid": []}, geometry=[], crs="EPSG:4326")
    return pd.concat(frames, ignore_index=True)
