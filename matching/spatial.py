"""Spatial evidence and the split rule (the Data Hub's `<parent GID>.<n>_0` ids for areas GADM lacks).

Spatial (provider coordinates given, degrees WGS84): the GADM area containing the point
(gadm.locate) at the searched level is a candidate and a strong signal:
- name accepted and container agrees -> kept, reason says so;
- fuzzy-accepted name in another area -> review (coordinates disagree);
- review-level fuzzy whose candidate (score >= ``spatial_accept_score``) is the container ->
  accepted, method ``spatial``;
- a "part" claim (compound.py: "Prince of Wales-Hyder" for GADM's "Prince of Wales-Outer
  Ketchi") whose point lies in the claimed area, and which no other row claims -> accepted, method
  ``spatial``; with other claimants the split rule below decides;
- name fits no area well (best fuzzy score < ``accept_score``, container not a good candidate) -> review with the container as
  candidate at ``spatial_score`` (a "spatial claim", which the split rule may turn into a minted id).
A minted id matched by name (matching/minted.py) has its parent's geometry: coordinates inside the
parent agree with it; a fuzzy-matched minted id with coordinates elsewhere goes to review.

Split (the Data Hub's practice: Jackson County minus Kansas City = USA.26.48.1_0, Kansas City =
USA.26.48.2_0; St. Louis / St. Louis City; Baltimore / Baltimore City; Wrangell-Petersburg ->
Petersburg .1_0, Wrangell .2_0): when provider rows with different names claim the same GADM
area, every claimant gets a minted id under the area, numbered in the order of their normalised
names (this order reproduces 14 of the Data Hub's 16 USA .n_0 ids; Alaska's Skagway .2_0 /
"Yakutat plus Hoonah-Angoon" .1_0 is the exception), provided that:
- one claimant names the area in full (exact name) and the others by a name with type words
  stripped ("St. Louis City" -> "saint louis"), a point inside it with a type word in the name
  ("Kansas City"), or -- all of them -- as parts of GADM's compound name ("Wrangell-Petersburg");
- no other sibling area bears the claimant's name as whole words ("Moscow" and GADM's "Moscow
  City": that claimant goes to review with both areas);
- GADM has no deeper level for the country, and the loaded layer leaves no GID gap where a
  sibling of that name would be numbered (LevelMatcher.has_gap_for) (the simplified USA layer lacks Virginia's independent cities: "Fairfax City"
  is GADM's USA.47.41_1, not a part of Fairfax).
Any other multiple claim sends every claimant to review with the area as first candidate.
Ids minted in earlier runs (by any source) take part as described in :func:`split_and_mint`.
"""

from __future__ import annotations

import numpy as np

from geolookup import gadm
from geolookup.gadm.gids import gid_level

from .minting import mint_many
from .normalize import equivalence_key


def apply(ctx, level, res, lon, lat) -> None:
    """Use provider coordinates (float arrays, NaN = none) on the results of ``level``."""
    M = ctx.matcher(level)
    where = gadm.locate(lon, lat, M.areas, M.geo_tree())
    cfg = ctx.cfg
    for i in np.flatnonzero((where >= 0) & ~res.is_placeholder):
        cont = M.gids[where[i]]
        status, method = res.status[i], res.method[i]
        if res.claim[i] == "part":  # a part of the area's compound name: keep the split claim
            res.reason[i] += "; coordinates inside " + cont
            res.inside[i] = cont == res.cands[i][0][0]
            continue
        cgids = [g for g, _ in res.cands[i]]
        if status == "accepted":
            if res.parts[i] == [cont] or cont in res.parts[i] or (
                    method == "minted" and any(M.covers(g, where[i]) for g in res.parts[i])):
                res.reason[i] += "; coordinates inside it"
            elif method == "fuzzy" or (method == "minted" and res.score[i] < 100):
                res.status[i], res.parts[i] = "review", []
                res.reason[i] = f"fuzzy name but coordinates fall in {cont}"
                res.cands[i].append((cont, cfg["spatial_score"]))
            elif int(res.level[i]) == level or method == "minted":
                res.reason[i] += f"; note: coordinates fall in {cont}"
            continue
        if cont in cgids and dict(res.cands[i])[cont] >= cfg["spatial_accept_score"]:
            sc = dict(res.cands[i])[cont]
            res.set(i, "accepted", sc, "spatial", [cont], level,
                    f"name candidate {cont} (score {sc:g}) contains the coordinates", cands=res.cands[i])
        elif status == "unmatched" or not cgids or res.score[i] < cfg["accept_score"]:
            res.set(i, "review", cfg["spatial_score"], "spatial", [], level,
                    f"name fits no area; coordinates fall in {cont}; proposed: new id under {cont}",
                    cands=[(cont, cfg["spatial_score"])] + [c for c in res.cands[i] if c[0] != cont], claim="spatial")
        else:
            res.cands[i].append((cont, cfg["spatial_score"]))
            res.reason[i] += f"; coordinates fall in {cont}"


def _to_review(res, i, gid, reason, extra=()):
    res.status[i], res.parts[i], res.reason[i], res.claim[i] = "review", [], reason, ""
    have = [g for g, _ in res.cands[i]]
    add = [(g, res.score[i] or 100) for g in [gid, *extra] if g not in have]
    res.cands[i] = add[:1] + res.cands[i] + add[1:]


def _earlier(ctx, level, source):
    """Ids minted in earlier runs under the GADM areas of ``level``: (own, kids, parent_of) with
    own (provider_key of ``source``) -> (parent, gid), kids parent -> [(gid, full, stripped)], and
    parent_of minted gid -> parent."""
    t = ctx.minted
    if t is None or t.empty:
        return {}, {}, {}
    own = {k: (p, g) for s, k, p, g in zip(t["source"], t["provider_key"], t["parent_gid"], t["gid"]) if s == source}
    deep = t[t["level"] == level + 1]
    kids: dict[str, list] = {}
    for p, g, f, st in zip(deep["parent_gid"], deep["gid"], deep["full"], deep["stripped"]):
        kids.setdefault(p, []).append((g, f, st))
    return own, kids, dict(zip(t["gid"], t["parent_gid"]))


def _same_name(kids, full, stripped):
    """The one earlier minted id among ``kids`` named like the row (full, else stripped form)."""
    for k in (1, 2):
        hit = [g for g, *forms in kids if forms[k - 1] and forms[k - 1] == (full, stripped)[k - 1]]
        if len(hit) == 1:
            return hit[0]
    return ""


def split_and_mint(ctx, level, res, raw, full, stripped, parents, keys, source, state_dir) -> None:
    """Apply the split rule (module docstring) to results of ``level``; mints into ``state_dir``.

    ``raw`` / ``parents``: the provider's names and parent names as written (stored with new ids).
    Across runs (ids minted earlier are in ``ctx.minted``): a row whose (source, provider key) was
    minted under the area it claims gets that id again (stability); a row matched by name to an
    earlier minted id keeps it and never mints (it also counts as a claimant of the id's parent,
    kind "minted", when other rows of this run claim that parent: NYT "Jackson" next to NYT "Kansas
    City" = USA.26.48.2_0 is the rest of Jackson County); a claimant that the rule splits reuses an
    earlier minted id of the same parent bearing its name (USA.26.48.1_0 "Jackson") before a new id
    is minted.
    """
    own, kids, parent_of = _earlier(ctx, level, source)
    M = ctx.matcher(level)
    claims: dict[str, list[int]] = {}
    hits: dict[str, list[int]] = {}  # parent area -> rows of this run matched to one of its minted ids
    by_gid: dict[str, list[int]] = {}
    for i in range(res.n):
        if res.claim[i] == "minted":
            if res.status[i] == "accepted":
                g = res.parts[i][0]
                mine = own.get(str(keys[i]))
                if mine and mine[0] == parent_of.get(g) and mine[1] != g:  # its own earlier id wins
                    res.parts[i] = [mine[1]]
                    res.reason[i] += f"; {mine[1]} was minted for this provider key"
                    g = mine[1]
                by_gid.setdefault(g, []).append(i)
                if gid_level(g) == level + 1:
                    hits.setdefault(parent_of.get(g, ""), []).append(i)
        elif res.claim[i] in ("spatial", "part"):
            claims.setdefault(res.cands[i][0][0], []).append(i)
        elif res.status[i] == "accepted" and len(res.parts[i]) == 1 and int(res.level[i]) == level:
            claims.setdefault(res.parts[i][0], []).append(i)
    for g, rows in by_gid.items():  # one minted id, several different provider names: never guess
        if len({(full[i], parents[i]) for i in rows}) > 1:
            for i in rows:
                _to_review(res, i, g, f"{len(rows)} provider rows with different names match the minted id {g}; pick one")
    can_mint = ctx.cfg.get("auto_mint", True) and (level + 1) not in ctx.levels
    requests, targets = [], []
    dups, itself = _duplicates(ctx, M, res, claims, raw, full, stripped, parents)
    for gid, rows in claims.items():
        mine = [i for i in rows if own.get(str(keys[i]), ("",))[0] == gid]
        for i in mine:  # minted under this area in an earlier run: the same id again
            requests.append((gid, source, keys[i], raw[i], parents[i]))
            targets.append((i, gid, f"{gid} was split in an earlier run; id kept for this provider key"))
        virtual = [i for i in hits.get(gid, []) if res.status[i] == "accepted"]
        rows = [i for i in rows if i not in mine]
        if len({(full[i], parents[i]) for i in rows + mine + virtual}) < 2 or not rows:
            alone = rows[0] if len(rows) == 1 and not mine and not virtual else None
            if alone is not None and res.inside[alone]:  # the only claimant, and its point is inside
                res.set(alone, "accepted", res.score[alone], "spatial", [gid], level,
                        res.reason[alone] + "; no other row claims it", cands=res.cands[alone])
            continue
        # a point inside the area is no split claim for a name without a type word ("Manassas",
        # "Bear River"): the place may be a GADM area the layer lacks, or a provider's aggregate
        rows = [i for i in rows if res.claim[i] != "spatial" or full[i] != stripped[i]]
        rest = []
        for i in rows:
            alt = [] if res.method[i] == "code" else M.alternatives(gid, _own_form(res, i, full, stripped)) + [  # a name that fits another area well is no split claim
                g for g, sc in res.cands[i] if g != gid and sc >= ctx.cfg["accept_score"] and g in M.gid_index
                and res.claim[i] != "full"]
            if alt:  # "Moscow" vs GADM "Moskva" (varname Moscow) and "Moscow City": not a split
                _to_review(res, i, gid, f"{gid} is claimed by other provider rows and {'/'.join(alt)} also bears "
                                        f"this name; pick one", alt)
            else:
                rest.append(i)
        everyone = rest + mine + virtual
        names = {(full[i], parents[i]) for i in everyone}
        if len(names) < 2 or not rest:
            continue
        kinds = [res.claim[i] for i in everyone]
        shaped = all(k in ("full", "stripped", "spatial", "part", "minted") for k in kinds) and (
            # the full name beside parts of a compound name ("Auvergne-Rhône-Alpes" beside a former
            # region "Auvergne") is no split: parts split a compound area only among themselves
            ("full" in kinds and any(k in ("stripped", "spatial", "minted") for k in kinds))
            or (all(k in ("part", "minted") for k in kinds) and "part" in kinds))
        gaps = any(M.has_gap_for(gid, full[i]) for i in rest if res.claim[i] != "full")
        if shaped and can_mint and not gaps:
            taken = {res.parts[i][0] for i in virtual}
            for i in sorted(rest, key=lambda r: (full[r], str(keys[r]))):
                same = _same_name([k for k in kids.get(gid, []) if k[0] not in taken], full[i], stripped[i])
                if same:  # the part another source's row was minted for (each id serves one row)
                    taken.add(same)
                    res.set(i, "accepted", 100, "minted", [same], level + 1,
                            f"{gid} is split among {len(names)} provider rows; {same}, minted earlier, bears this name",
                            cands=[(same, 100), (gid, res.score[i] or 100)] + [c for c in res.cands[i] if c[0] != gid][:3])
                    continue
                requests.append((gid, source, keys[i], raw[i], parents[i]))
                targets.append((i, gid, f"{gid} is split among {len(names)} provider rows"))
            continue
        why = (f"{len(names)} provider rows claim {gid}, but the GADM layer lacks some of its siblings "
               "(GID gaps), so the place may be one of those; pick or split") if shaped and gaps else \
            f"{len(names)} provider rows with different names claim {gid}; pick or split"
        keep = [i for i in rest if i in itself] if not shaped else []
        if len(keep) == 1:  # the row naming the area itself stays; the others ("Auvergne" beside
            # "Auvergne-Rhône-Alpes") are no split of it: a curator decides what they are
            res.reason[keep[0]] += f"; {len(names) - 1} other provider row(s) also claim {gid}, sent to review"
            why = f"{why.split(';')[0]}; row {keep[0] + 2} {raw[keep[0]]!r} names {gid} itself"
        for i in rest:  # a row the split rule would mint for says so: a curator accepts it with "new"
            if i not in keep or len(keep) != 1:
                _to_review(res, i, gid, why + (f"; proposed: new id under {gid}" if shaped else ""))
    if requests:
        minted = mint_many(requests, state_dir)
        for (i, gid, why), new in zip(targets, minted):
            res.set(i, "accepted", 100, "minted", [new], level + 1, f"{why}; minted {new}",
                    cands=[(new, 100), (gid, res.score[i] or 100)] + [c for c in res.cands[i] if c[0] != gid][:3])
    for i, r in dups.items():  # a duplicate follows the row it repeats, whatever that row became
        note = f"duplicate_of row {r + 2} {raw[r]!r} (spreadsheet row, header = 1): the same place"
        if res.status[i] == res.status[r] and res.parts[i] == res.parts[r]:
            res.reason[i] = f"{res.reason[i]}; {note}"
            continue
        res.set(i, res.status[r], res.score[r], res.method[r], res.parts[r], res.level[r],
                f"{note}, which became: {res.reason[r]}", cands=res.cands[r], claim="duplicate")


def _own_form(res, i, full, stripped) -> str:
    """The name form a claim rests on: the full name for an exact full-name claim ("Moscow Oblast"
    is not a "Moscow City" candidate), the type-word stripped name otherwise."""
    return full[i] if res.claim[i] == "full" else stripped[i]


def _duplicates(ctx, M, res, claims, raw, full, stripped, parents) -> dict:
    """Spelling variants among the claimants of each area (same parent): claimants whose
    equivalence keys (normalize.equivalence_key: "&"/"and", spacing, hyphens, descriptive type words
    such as "NHS" or "health board") equal each other, or equal the key of one of the area's own
    names (GADM's, or the knowledge layer's exonyms), are ONE place: a split needs a real sub-place.
    Keeps one claimant per place in ``claims`` (in place) and returns ({duplicate row: kept row},
    the kept rows that name the area itself).
    Rows in the same place as the area itself are simply accepted with it, with a duplicate_of note.
    A claimant whose name another sibling area also bears ("Moscow": GADM's "Moskva" lists it as a
    VARNAME, and "Moscow City" is another area) is nobody's duplicate: the split rule sends it to review."""
    dups: dict[int, int] = {}
    itself: set[int] = set()
    for gid, rows in claims.items():
        if len(rows) < 2:
            continue
        own = M.area_keys(gid)
        first: dict = {}
        kept = []
        for i in sorted(rows, key=lambda r: (res.claim[r] != "full", r)):
            if res.method[i] != "code" and M.alternatives(gid, _own_form(res, i, full, stripped)):
                kept.append(i)
                continue
            key = equivalence_key(full[i], ctx.country)
            # a code, a full or exonym name or an accepted fuzzy name designates the area itself
            same = key in own or res.claim[i] not in ("stripped", "spatial", "part")
            key = ("", parents[i]) if same else (key, parents[i])
            if key in first:
                dups[i] = first[key]
            else:
                first[key] = i
                kept.append(i)
                if same:
                    itself.add(i)
        claims[gid] = sorted(kept)
    return dups, itself
