"""Row checks of match_places: rows that name no place (and why), parents that are groupings of
GADM areas, and candidates for rows that found none."""

from __future__ import annotations

import numpy as np

from .codes import norm_code
from .normalize import fold, normalize_array


def placeholder_rows(cfg, full, stripped) -> np.ndarray:
    """Rows naming no place: empty, a configured placeholder, or a name starting with a placeholder of
    several words ("out of ...", "Fuori Regione / Provincia Autonoma") (vectorized)."""
    ph = {fold(p) for p in cfg["placeholders"]}
    lead = tuple(p + " " for p in ph if " " in p)
    return np.fromiter((f == "" or f in ph or s in ph or f.startswith(lead) or s.startswith(lead)
                        for f, s in zip(full, stripped)), dtype=bool, count=len(full))


def bad_name_reason(raw: str, full: str) -> str:
    """One line saying why a row names no place: empty, punctuation only, or a placeholder."""
    if not str(raw).strip():
        return "empty name: names no place"
    if not full:
        return f"name {raw!r} has no letters or digits: names no place"
    return f"placeholder name {raw!r}: names no place"


def parent_group(ctx, level, parent):
    """(parts, evidence) when ``parent`` names a grouping of GADM areas (knowledge layer) at GADM
    level ``level`` or one above, else None."""
    f, st = normalize_array([parent], ctx.country)
    for lv in (level, level - 1):
        if lv < 1 or lv not in ctx.levels:
            continue
        groups = ctx.matcher(lv).groups
        hit = groups.get(("name", f[0])) or groups.get(("name", st[0])) or groups.get(("code", norm_code(parent)))
        if hit:
            return hit[0], hit[1]
    return None


def fill_candidates(ctx, level, res, stripped, parents, plevels) -> None:
    """Rows left for review or unmatched without any candidate get the best names of their scope,
    however weak: a curator is never left with nothing to pick from (placeholders excepted)."""
    idx = np.array([i for i in range(res.n) if not res.cands[i] and res.status[i] != "accepted"
                    and not res.is_placeholder[i]], dtype=np.int64)
    if not len(idx):
        return
    M = ctx.matcher(level)
    pos, sc = M.fuzzy(stripped[idx], parents[idx], plevels[idx], k=ctx.cfg["candidates"], cutoff=1)
    for j, i in enumerate(idx):
        res.cands[i] = [(M.gids[p], s) for p, s in zip(pos[j], sc[j]) if p >= 0]
