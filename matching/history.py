"""Changes after GADM 3.6 for the knowledge layer (matching/knowledge.py): former ISO 3166-2 codes
and successions, from iso3166-2's ``history`` and from the shipped ``matching/successions.csv``.

- A former code ("Change of subdivision code from NO-23 to NO-50", "ES-O -> ES-AS") points where its
  successor points, unless it is a current code again.
- A history entry that deletes several subdivisions and adds exactly one (the current code, or a
  former code of it) makes the current subdivision the composite of the deleted ones, each linked
  to GADM by its name (NO-50 Trøndelag = NO-16 Sør-Trøndelag + NO-17 Nord-Trøndelag).
- Changes that the library records without saying which part went where (Norway's 2020 reform:
  13 counties deleted, 6 added) come from ``successions.csv``: columns country (ISO3), code (ISO
  3166-2), name, parts (``|``-joined GADM 3.6 GIDs), date, source -- every row names its source.
Rows returned are knowledge-layer tuples (gid, gadm_level, kind, value, evidence, complete).
"""

from __future__ import annotations

import re

from .normalize import _read_table, normalize_array

_CODE = r"[A-Z]{2}-[A-Z0-9]{1,3}"
_RENAMED = re.compile(rf"(?:from\s+({_CODE})\s+to\s+({_CODE}))|(?:({_CODE})\s*->\s*({_CODE}))")
_LISTED = re.compile(rf"({_CODE})\s+([^.]+?)\.(?=\s|$)")


def history_rows(iso3, entries, links, lvs) -> tuple[list[tuple], set]:
    """Former codes and successions from iso3166-2's ``history`` of the country's subdivisions:
    (rows, codes found to succeed several GADM areas). A link by a merely similar name does not stop
    a succession (NO-50 Trøndelag's point lies in GADM's Sør-Trøndelag)."""
    rows, seen, successors = [], set(), set()
    for k, e in entries.items():
        for h in e.get("history") or []:
            text = h.get("Change") or ""
            if text in seen and "deleted" not in text:
                continue
            seen.add(text)
            date = h.get("Date Issued") or ""
            for m in _RENAMED.finditer(text):  # a former code points where its successor points
                old, new = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
                if old not in entries:
                    for level, p, ev in links.get(new, []):
                        if ev == "point+similar name":  # too weak to carry a former code along
                            continue
                        rows.append((lvs[level].gids[p], level, "code", old, f"former ISO 3166-2 code of {new} ({date})", True))
            if "deleted" in text and "added" in text:
                dele, add = text.split("added", 1) if text.index("deleted") < text.index("added") else (text, "")
                gone = _LISTED.findall(dele)
                new = _LISTED.findall(add)
                mine = {k} | {m.group(1) or m.group(3) for h2 in e.get("history") or []
                              for m in _RENAMED.finditer(h2.get("Change") or "") if (m.group(2) or m.group(4)) == k}
                strong = any(ev != "point+similar name" for _, _, ev in links.get(k, []))
                if len(new) != 1 or new[0][0] not in mine or len(gone) < 2 or strong:
                    continue
                for level, lv in lvs.items():  # the deleted subdivisions, linked by their names
                    stripped = normalize_array([n for _, n in gone], iso3)[1]
                    parts = [lv.gids[next(iter(s))] for s in (lv.named([x]) for x in stripped) if len(s) == 1]
                    if len(parts) == len(gone):
                        why = f"succession: {k} replaced {', '.join(c for c, _ in gone)} ({date}, iso3166-2 history)"
                        g = "|".join(parts)
                        rows += [(g, level, "group", n, why, True) for n in (e.get("name"), new[0][1]) if n]
                        rows += [(g, level, "group", k, why, True)]
                        rows += [(p, level, "code", c, f"former ISO 3166-2 code ({why})", True) for p, (c, _) in zip(parts, gone)]
                        successors.add(k)
                        break
    return rows, successors


def shipped_successions(iso3, lvs) -> list[tuple]:
    """Rows of matching/successions.csv for the country (changes no library records)."""
    t = _read_table("successions.csv")
    t = t[t["country"] == iso3]
    rows = []
    for code, name, parts, date, src in zip(t["code"], t["name"], t["parts"], t["date"], t["source"]):
        gids = [p.strip() for p in parts.split("|") if p.strip()]
        level = gids[0].count(".") if gids else 0
        if level not in lvs or not set(gids) <= set(lvs[level].gids):
            continue
        why = f"succession ({date}): {src}"
        rows += [("|".join(gids), level, "group", v, why, True) for v in (name, code) if v]
    return rows
