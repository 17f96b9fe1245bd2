"""Spatial evidence and the split rule (issue 3 §7-8).

Spatial (provider coordinates given, degrees WGS84): the GADM area containing the point
(gadm.locate) at the searched level is a candidate and a strong signal:
- name accepted and container agrees -> kept, reason says so;
- fuzzy-accepted name in another area -> review (coordinates disagree);
- review-level fuzzy whose candidate (score >= ``spatial_accept_score``) is the container ->
  accepted, method ``spatial``;
- name fits no area well (best fuzzy score < ``accept_score``, container not a good candidate) -> review with the container as
  candidate at ``spatial_score`` (a "spatial claim", which the split rule may turn into a minted id).

Split (the Data Hub's practice: Jackson County minus Kansas City = USA.26.48.1_0, Kansas City =
USA.26.48.2_0; St. Louis / St. Louis City; Baltimore / Baltimore City): when provider rows with
different names claim the same GADM area -- each by an exact name or a spatial claim, at least one
of them by a name with type words stripped ("St. Louis City" -> "saint louis") or by a spatial
claim -- and GADM has no deeper level for the country, every claimant gets a minted id under the
area, numbered in the order of their normalised names. Any other multiple claim (two different
names both matching in full, or a fuzzy match involved) sends every claimant to review.
"""

from __future__ import annotations

import numpy as np

import gadm

from .minting import mint_many


def apply(ctx, level, res, lon, lat) -> None:
    """Use provider coordinates (float arrays, NaN = none) on the results of ``level``."""
    M = ctx.matcher(level)
    where = gadm.locate(lon, lat, M.areas)
    cfg = ctx.cfg
    for i in np.flatnonzero(where >= 0):
        cont = M.gids[where[i]]
        status, method = res.status[i], res.method[i]
        if "placeholder" in res.reason[i]:
            continue
        cgids = [g for g, _ in res.cands[i]]
        if status == "accepted":
            if res.parts[i] == [cont] or cont in res.parts[i]:
                res.reason[i] += "; coordinates inside it"
            elif method == "fuzzy":
                res.status[i], res.parts[i] = "review", []
                res.reason[i] = f"fuzzy name but coordinates fall in {cont}"
                res.cands[i].append((cont, cfg["spatial_score"]))
            elif int(res.level[i]) == level:
                res.reason[i] += f"; note: coordinates fall in {cont}"
            continue
        if cont in cgids and dict(res.cands[i])[cont] >= cfg["spatial_accept_score"]:
            sc = dict(res.cands[i])[cont]
            res.set(i, "accepted", sc, "spatial", [cont], level,
                    f"name candidate {cont} (score {sc:g}) contains the coordinates", cands=res.cands[i])
        elif status == "unmatched" or not cgids or res.score[i] < cfg["accept_score"]:
            res.set(i, "review", cfg["spatial_score"], "spatial", [], level,
                    f"name fits no area; coordinates fall in {cont}",
                    cands=[(cont, cfg["spatial_score"])] + [c for c in res.cands[i] if c[0] != cont], claim="spatial")
        else:
            res.cands[i].append((cont, cfg["spatial_score"]))
            res.reason[i] += f"; coordinates fall in {cont}"


def split_and_mint(ctx, level, res, full, parents, keys, source, state_dir) -> None:
    """Apply the split rule (module docstring) to results of ``level``; mints into ``state_dir``."""
    claims: dict[str, list[int]] = {}
    for i in range(res.n):
        if res.claim[i] == "spatial":
            claims.setdefault(res.cands[i][0][0], []).append(i)
        elif res.status[i] == "accepted" and len(res.parts[i]) == 1 and int(res.level[i]) == level:
            claims.setdefault(res.parts[i][0], []).append(i)
    can_mint = ctx.cfg.get("auto_mint", True) and (level + 1) not in ctx.levels
    requests, targets = [], []
    for gid, rows in claims.items():
        names = {(full[i], parents[i]) for i in rows}
        if len(names) < 2:
            continue
        strong = all(res.claim[i] in ("full", "stripped", "spatial") for i in rows)
        weak = any(res.claim[i] in ("stripped", "spatial") for i in rows)
        if strong and weak and can_mint:
            for i in sorted(rows, key=lambda r: (full[r], str(keys[r]))):
                requests.append((gid, source, keys[i]))
                targets.append((i, gid, len(names)))
        else:
            for i in rows:
                res.status[i], res.parts[i] = "review", []
                res.reason[i] = f"{len(names)} provider rows with different names claim {gid}; pick or split"
                if gid not in [g for g, _ in res.cands[i]]:
                    res.cands[i].insert(0, (gid, res.score[i]))
    if not requests:
        return
    minted = mint_many(requests, state_dir)
    for (i, gid, k), new in zip(targets, minted):
        res.set(i, "accepted", 100, "minted", [new], level + 1,
                f"{gid} is split among {k} provider rows; minted {new}", cands=[(new, 100), (gid, res.score[i] or 100)])
