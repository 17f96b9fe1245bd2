"""Provider geometry as evidence: single areas and composites (the paper's composite rule,
"Methods": a provider area spanning several GADM areas takes the GID of the part closest to the centroid).

For a row with provider geometry (WKT, see geometry.py), against the GADM areas of the searched
GADM level (STRtree query, overlaps measured in an equal-area CRS):
- a *part* is a GADM area the geometry covers substantially: overlap >= ``composite_cover``
  (defaults.toml, 0.5) of the area's own area;
- *fit* is the share of the geometry's overlap with all GADM areas of the level that falls in the
  parts (sea, lakes and land outside the country, which GADM does not draw, are ignored: providers'
  boundaries often include water). The geometry is *clear* when it has parts and fit >=
  ``geometry_fit`` (0.8): the provider's area is the union of the parts, up to boundary
  generalisation.

Decision, per row (placeholder rows are left alone):
1. The name (code, alias, exact, fuzzy, minted, cross-level) was accepted: the geometry *agrees*
   when >= ``geometry_fit`` of its overlap lies in the named area(s) and it covers >=
   ``composite_cover`` of them -- or, for one named area and no part, when it lies inside that
   area (a provider drawing a place inside the named area, like a point inside it). Agreement
   keeps the name's result; otherwise the row goes to review with the named area(s) and the
   geometry's areas as candidates (never a guess between two kinds of evidence).
2. The name was not accepted (fuzzy review, several areas share the name, unmatched) and the
   geometry is clear: accepted (``geometry_accept = true``) with method ``spatial`` for one part
   and ``composite`` for several (gid then by matching.resolve_composite, the Data Hub centroid
   rule, applied in core._assemble; the build takes the union's interior point from gid_parts).
   Score: 100 x min(fit, smallest part cover). With ``geometry_accept = false`` such rows go to
   review with the parts as candidates.
3. No part, but >= ``geometry_fit`` of the overlap lies in one area: the geometry is a place inside
   that area (a city inside a county). It is handled exactly like provider coordinates at an
   interior point of the geometry (spatial.apply): the area is a strong candidate, and a name that
   fits nothing makes a "spatial claim" the split rule may turn into a minted .n_0 id.
4. Otherwise (the geometry straddles areas without covering half of any): review, candidates
   ranked by the share of each area covered.
A geometry overlapping no GADM area of the level changes nothing (reason notes it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .geometry import equal_area_m2, overlaps
from .minted import geometry_areas


def _named_overlap(ctx, res, rows, geoms):
    """For accepted rows: overlap (m²) of each geometry with its named area(s), and their size."""
    m = len(rows)
    k_, gid_ = [], []
    for k, i in enumerate(rows):
        if res.status[i] == "accepted":
            k_ += [k] * len(res.parts[i])
            gid_ += list(res.parts[i])
    inside, own = np.zeros(m), np.zeros(m)
    if not k_:
        return inside, own
    areas = geometry_areas(gid_, ctx.country, ctx.minted, ctx.data_dir)
    ng = areas.geometry.to_numpy()
    idx = pd.Index(areas["gid"]).get_indexer(gid_)
    k_ = np.asarray(k_)[idx >= 0]
    idx = idx[idx >= 0]
    inter = np.nan_to_num(equal_area_m2(shapely.intersection(geoms[k_], ng[idx])))
    return np.bincount(k_, inter, m), np.bincount(k_, equal_area_m2(ng)[idx], m)


def apply(ctx, level, res, geoms) -> tuple[np.ndarray, np.ndarray]:
    """Use provider geometry (object array (n,) of shapely geometries, None = none) on the results
    of GADM level ``level`` (module docstring). Updates ``res`` in place.

    Output: ``(lon, lat)`` float64 arrays (n,), degrees WGS84: an interior point of the geometry
    for rows of rule 3 (to be passed to spatial.apply like provider coordinates), NaN elsewhere.
    """
    cfg, M = ctx.cfg, ctx.matcher(level)
    cover_t, fit_t = float(cfg["composite_cover"]), float(cfg["geometry_fit"])
    lon, lat = np.full(res.n, np.nan), np.full(res.n, np.nan)
    rows = np.flatnonzero(~shapely.is_missing(geoms) & ~res.is_placeholder)
    if not len(rows):
        return lon, lat
    g = geoms[rows]
    m = len(rows)
    r, p, inter, share = overlaps(g, M)
    total = np.bincount(r, inter, m)
    part = share >= cover_t
    fit = np.divide(np.bincount(r[part], inter[part], m), total, out=np.zeros(m), where=total > 0)
    named_in, named_own = _named_overlap(ctx, res, rows, g)
    order = np.lexsort((-share, r))  # per row, areas by covered share, best first
    r, p, inter, share, part = r[order], p[order], inter[order], share[order], part[order]
    starts = np.searchsorted(r, np.arange(m + 1))
    inside_rows, inside_pos = [], []
    for k, i in enumerate(rows):
        s = slice(starts[k], starts[k + 1])
        if total[k] <= 0:
            res.reason[i] += "; provider geometry overlaps no GADM area of this level"
            continue
        ps, sh, it = p[s], share[s], inter[s]
        parts = sorted(ps[part[s]].tolist())
        geo_cands = [(M.gids[q], round(100 * float(x), 1)) for q, x in zip(ps, sh)]
        best = int(np.argmax(it))
        inside = it[best] / total[k] >= fit_t
        clear = bool(parts) and fit[k] >= fit_t
        if res.status[i] == "accepted" and res.parts[i]:
            in_named = named_in[k] / total[k]
            covered = named_in[k] / named_own[k] if named_own[k] > 0 else 0.0
            if in_named >= fit_t and (covered >= cover_t or (len(res.parts[i]) == 1 and not parts)):
                res.reason[i] += f"; provider geometry agrees ({in_named:.0%} of it in the named area)"
                continue
            named = [(gid, res.score[i]) for gid in res.parts[i]]
            seen = {x for x, _ in named + geo_cands}
            res.set(i, "review", res.score[i], res.method[i], [], res.level[i],
                    f"name gives {'|'.join(res.parts[i])} but the provider geometry covers "
                    + ("|".join(M.gids[q] for q in parts) if parts else f"mostly {M.gids[ps[best]]}"),
                    cands=named + geo_cands + [c for c in res.cands[i] if c[0] not in seen])
            continue
        if clear:
            gids = [M.gids[q] for q in parts]
            sc = 100 * min(fit[k], float(sh[part[s]].min()))
            why = (f"provider geometry covers {len(gids)} GADM area(s) (each >= {cover_t:.0%} covered, "
                   f"{fit[k]:.0%} of its overlap)")
            cands = [c for c in geo_cands if c[0] in gids] + [c for c in res.cands[i] if c[0] not in gids]
            if cfg.get("geometry_accept", True):
                res.set(i, "accepted", sc, "spatial" if len(gids) == 1 else "composite", gids, level, why, cands=cands)
            else:
                res.set(i, "review", sc, "spatial" if len(gids) == 1 else "composite", [], level,
                        why + "; geometry_accept = false: confirm", cands=cands)
        elif inside:
            inside_rows.append(i)
            inside_pos.append(int(ps[best]))
        else:
            res.set(i, "review", round(100 * float(sh[0]), 1), "spatial", [], level,
                    f"provider geometry spans {len(ps)} GADM areas without covering {cover_t:.0%} of any",
                    cands=geo_cands + res.cands[i])
    if inside_rows:  # rule 3: an interior point of the geometry's piece inside the area
        where = np.searchsorted(rows, inside_rows)
        pts = shapely.point_on_surface(shapely.intersection(g[where], M.areas.geometry.to_numpy()[inside_pos]))
        lon[inside_rows], lat[inside_rows] = shapely.get_x(pts), shapely.get_y(pts)
    return lon, lat
