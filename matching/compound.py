"""Provider names made of several places (the Data Hub's composite and split rows).

A provider name may list places -- "Bristol Bay plus Lake and Peninsula", "Yakutat plus
Hoonah-Angoon" (pieces joined by " plus ", "+", "&" or "/") -- or name a part of GADM's compound
name: "Petersburg" for "Wrangell-Petersburg", "Hoonah-Angoon" (which shares "Angoon" with GADM's
"Skagway-Yakutat-Angoon"). For rows that no name stage accepted, each piece is looked up in the
row's parent scope: an exact name of one area or minted id (any tier, levelmatch.exact), else the
one compound GADM name that has the piece as a part (levelmatch.part_of) -- or, for a piece
hyphenated into two or more words of four letters or more, one of those words. Then:

- every piece an exact GADM area, two or more areas -> accepted composite (``compound_accept``);
  the Data Hub's "Bristol Bay plus Lake and Peninsula" is USA.2.14_1, the centroid-rule part;
- every piece inside one compound area G -> a "part" claim on G (review at ``part_score``),
  which the split rule (spatial.py) turns into minted ids when other rows claim G too;
- otherwise the areas and minted ids the pieces name are put first among the candidates (review):
  a curator decides, e.g. when two minted parts of Skagway-Yakutat-Angoon are named together.
"""

from __future__ import annotations

import re

import numpy as np

from .normalize import normalize_array

LIST_SEP = re.compile(r"\s+(?:plus|\+|&)\s+|\s*/\s*", re.IGNORECASE)
WORD_SEP = re.compile(r"\s*-\s*")


def _pieces(name: str) -> list[str]:
    return [p.strip() for p in LIST_SEP.split(name) if p.strip()]


def _part_areas(M, piece_stripped, piece_raw, mask) -> list[int]:
    """Compound GADM areas having the piece as a part; else, when the piece has two or more
    hyphen-separated words of four letters or more, the areas having one of those words."""
    hit = M.part_of(piece_stripped, mask)
    if hit:
        return hit
    words = [w for w in WORD_SEP.split(piece_raw) if len(w) >= 4]
    if len(words) < 2:
        return []
    _, stripped = normalize_array(words, M.country)
    found = {p for s in stripped for p in M.part_of(s, mask)}
    return sorted(found)


def apply(ctx, M, level, res, rows, raw, parents, plevels) -> None:
    """Read compound names of ``rows`` (positions not accepted by the name stages) into ``res``.

    Inputs: the matching context and LevelMatcher of GADM ``level``, the results being built,
    the provider names as written and each row's parent GID / GADM level. Changes ``res`` in
    place as the module docstring says; rows it cannot read are left as they are.
    """
    cfg = ctx.cfg
    rows = [int(i) for i in rows]
    pieces = {i: _pieces(raw[i]) for i in rows}
    flat = [(i, p) for i in rows for p in pieces[i]]
    if not flat:
        return
    owner = np.array([i for i, _ in flat])
    text = [p for _, p in flat]
    full, stripped = normalize_array(text, ctx.country)
    ex = M.exact(full, stripped, np.asarray(parents, dtype=object)[owner], np.asarray(plevels)[owner])
    exact_pos = ex.groupby("row")["pos"].apply(list).to_dict() if len(ex) else {}
    k = 0
    for i in rows:
        mask = M.in_scope(parents[i], plevels[i])
        found = []  # per piece: ("exact", pos) | ("part", pos) | None
        for piece in pieces[i]:
            hit = exact_pos.get(k, [])
            if len(hit) == 1:
                found.append(("exact", hit[0]))
            else:
                part = [] if hit else _part_areas(M, stripped[k], piece, mask)
                found.append(("part", part[0]) if len(part) == 1 else None)
            k += 1
        _decide(cfg, M, res, i, level, found)


def _decide(cfg, M, res, i, level, found) -> None:
    known = [f for f in found if f]
    if not known:
        return
    gids = list(dict.fromkeys(M.gids[p] for _, p in known))
    complete = len(known) == len(found)
    kinds = {kind for kind, _ in known}
    if complete and kinds == {"exact"} and len(gids) > 1 and not M.is_minted[[p for _, p in known]].any() \
            and cfg.get("compound_accept", True):
        res.set(i, "accepted", 100, "composite", gids, level, f"name lists {len(gids)} GADM areas: {', '.join(gids)}")
        return
    if complete and len(gids) == 1 and "part" in kinds and not M.is_minted[known[0][1]]:
        g = gids[0]
        res.set(i, "review", cfg["part_score"], "fuzzy", [], level,
                f"name is one part of GADM's {M.areas['name'].iat[known[0][1]]!r}",
                cands=[(g, cfg["part_score"])] + [c for c in res.cands[i] if c[0] != g], claim="part")
        return
    if len(found) < 2:
        return
    score = max(cfg["part_score"], res.score[i])
    res.cands[i] = [(g, score) for g in gids] + [c for c in res.cands[i] if c[0] not in gids]
    res.reason[i] += f"; name lists {len(found)} places, {len(known)} found: {', '.join(gids)}"
