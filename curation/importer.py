"""Importing a review queue edited by a curator.

The file may come back from Excel or LibreOffice: UTF-8 with BOM or cp1252, ``;`` or ``,``,
CRLF, provider keys as ``="01001"`` or ``01001`` (:mod:`curation.sheet`). Rows with an empty
``decision`` are ignored. A decision is one of (case-insensitive keywords):

- a GID: a GADM 3.6 area of the entity's country and GADM level, or an already-minted ``_0`` id;
- ``accept``: the row's top candidate (``cand1_gid`` as exported);
- ``new``: mint a ``.n_0`` id (matching.mint) under the entity's parent area, found by the
  ``parent`` name among GADM areas one level up (the country itself for GADM level 1);
  ``new:<GID>`` names the parent area explicitly (e.g. Kansas City, Missouri:
  ``new:USA.26.48_1``, Jackson County, as the COVID-19 Data Hub's ``USA.26.48.2_0``);
- ``composite:<GID>|<GID>|...``: several areas of one level; the gid is chosen by the Data Hub
  centroid rule (matching.resolve_composite), e.g. New York City -> the five boroughs;
- ``skip``: a non-geographic entity (the paper drops repatriated travellers and the like; cruise
  ships are kept, give them a GID or ``new``).

Checks: the GID (and a ``new:`` parent, and every composite part) is an area of the entity's country
or of one of its territories (:mod:`curation.territories`, derived from ISO 3166-2: PRI, GUM, VIR, ...
for the USA; GADM files them apart, one GADM level shallower); it exists (GADM 3.6, or minted); level consistent with the entity's GADM
level (minted ids may be one level deeper: a new area inside an existing one), the entity
exists in the matches file (catches keys whose leading zeros a spreadsheet dropped), no two
entities of one source and GADM level share a gid unless ``allow_shared``, no second different
decision for an entity unless ``force``. Every error names its row as the spreadsheet shows it
(header = row 1, first data row = row 2). Nothing is imported from a file with errors unless
``partial``; valid decisions then go to the store (:mod:`curation.store`).

The country of a row is its ``iso3`` column (written by export); when that cell is empty it is
taken from the prefix of ``cand1_gid`` (the export's own candidate), else of the decided GID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import pandas as pd

from geolookup.gadm.gids import GID_RE, gid_country, gid_level, gid_stem, is_minted
from geolookup.matching.normalize import fold
from geolookup.core.errors import DataNotFoundError, GeolookupError, InputError

from .apply import apply_decisions, matches_path, read_matches
from .areas import AreaIndex
from .sheet import read_sheet
from .store import Decision, find_conflicts, load_decisions, record_decisions, utc_now
from .territories import territories

ROW_CONVENTION = "rows numbered as in a spreadsheet: header = row 1, first data row = row 2"
KEYWORDS = "a GID, accept, new, new:<parent GID>, composite:<GID>|<GID>|..., or skip"


@dataclass
class RowError:
    """An error in one queue row; ``row`` is the spreadsheet row (header = 1)."""

    row: int
    message: str

    column: str = "decision"

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}: {self.message}"


class QueueImportError(InputError):
    """A queue file with invalid decisions; ``errors`` lists every :class:`RowError`."""

    def __init__(self, path, errors: list[RowError]):
        self.path, self.errors = str(path), errors
        shown = "; ".join(map(str, errors[:10])) + (f"; ... and {len(errors) - 10} more" if len(errors) > 10 else "")
        super().__init__(
            f"{path}: {len(errors)} error(s), nothing imported ({ROW_CONVENTION}): {shown}; "
            "fix them, or import only the valid rows with --partial"
        )


@dataclass
class ImportReport:
    """What an import did: decisions added/changed/unchanged, row errors (only with partial),
    warnings (e.g. no matches file to check keys against)."""

    path: str
    decided_rows: int = 0
    added: list[Decision] = field(default_factory=list)
    changed: list[Decision] = field(default_factory=list)
    unchanged: list[Decision] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.path}: {self.decided_rows} decided row(s): {len(self.added)} new, {len(self.changed)} changed, "
                f"{len(self.unchanged)} unchanged, {len(self.errors)} rejected")


def _gid_sort_key(gid: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"[._]", gid)]


class _Context:
    def __init__(self, state_dir, data_dir):
        from geolookup.matching.minting import load_minted  # ids minted so far (<state_dir>/minted_ids.csv)

        self.state_dir = state_dir
        self.areas = AreaIndex(data_dir)
        minted = load_minted(state_dir)
        self.decisions = load_decisions(state_dir)  # read once per import; record_decisions re-reads under its lock
        self.minted = set(minted["gid"]) | {g for g in self.decisions["gid"] if is_minted(g)}
        self.minted_by_key = {(s, k): (p, g) for s, k, p, g in
                              zip(minted["source"], minted["provider_key"], minted["parent_gid"], minted["gid"])}
        self.matches: dict[str, pd.DataFrame | None] = {}
        self.warnings: list[str] = []

    def children(self, parent_gid: str) -> list[str]:
        """GADM GIDs one level below ``parent_gid`` ([] when GADM has no such level for the country)."""
        try:
            areas = self.areas.areas(gid_country(parent_gid), gid_level(parent_gid) + 1)
        except GeolookupError:
            return []
        return list(areas.loc[areas["parent_gid"] == parent_gid, "gid"])

    def matches_of(self, iso3: str) -> pd.DataFrame | None:
        if iso3 not in self.matches:
            try:
                m = apply_decisions(read_matches(iso3, self.state_dir), decisions=self.decisions)
                self.matches[iso3] = m.set_index(["source", "provider_key"], drop=False)
            except DataNotFoundError:
                self.matches[iso3] = None
                self.warnings.append(f"no matches file {matches_path(iso3, self.state_dir)}: provider keys of "
                                     f"{iso3} rows could not be checked; the queue's gadm_level was used")
        return self.matches[iso3]

    def check_gid(self, gid: str, iso3: str, gadm_level: int | None, allow_minted=True, extra_level_ok=False) -> str | None:
        """Error text for an unusable GID, None when fine."""
        if not GID_RE.match(gid) or "." not in gid:
            return f"{gid!r} is not a GID of GADM level 1 or finer, nor one of {KEYWORDS}"
        level, country = gid_level(gid), gid_country(gid)
        own = territories(iso3)
        if country != iso3 and country not in own:
            extra = f" or of its territories ({', '.join(sorted(own))})" if own else ""
            return (f"{gid} is an area of {country}, not of {iso3}, the entity's country; give a GID of {iso3}{extra} "
                    "(a place of another country belongs in that country's list)")
        if is_minted(gid):
            if not allow_minted:
                return f"{gid} is a minted _0 id; give GADM 3.6 GIDs here"
            if gid not in self.minted:
                return f"{gid} is a _0 id that was never minted here; write new or new:<parent GID> to mint one"
            extra_level_ok = True
        else:
            try:
                if not self.areas.exists(gid):
                    return (f"{gid} is not a GADM 3.6 GID of {country} at GADM level {level}; "
                            "check it against the candidates or the map")
            except GeolookupError as exc:
                return f"{gid} cannot be checked: {exc}"
        if gadm_level is not None:
            # GADM files a territory apart, one level shallower: PRI.1_1 is a municipio, USA.1.1_1 a county
            expected = gadm_level - (1 if country != iso3 else 0)
            if level != expected and not (extra_level_ok and level == expected + 1):
                where_ = f"{country}, a territory GADM files apart from {iso3}," if country != iso3 else iso3
                return (f"{gid} is GADM level {level}; an entity matched at GADM level {gadm_level} of {iso3} needs a "
                        f"GID of GADM level {expected} of {where_}; pick one from the candidates")
        return None


def _parent_gid(ctx: _Context, iso3: str, gadm_level: int | None, parent_name: str) -> tuple[str | None, str | None]:
    if gadm_level is None:
        return None, "new needs the entity's GADM level; write new:<parent GID>"
    if gadm_level == 1:
        return None, "new at GADM level 1 would mint under the country itself, which matching.mint does not do; give a GID"
    try:
        gdf = ctx.areas.areas(iso3, gadm_level - 1)
    except GeolookupError as exc:
        return None, f"new: cannot load parent areas ({exc}); write new:<parent GID>"
    want = fold(parent_name)
    names = gdf["name"].map(fold)
    hit = gdf[(names == want) | gdf["varnames"].map(lambda vs: want in {fold(v) for v in vs})]
    if want and len(hit) == 1:
        return hit["gid"].iat[0], None
    return None, (f"new: cannot tell which GADM level-{gadm_level - 1} area the parent {parent_name!r} is "
                  f"({len(hit)} match); write new:<parent GID>")


def _decide(ctx: _Context, r: dict, rownum: int) -> Decision | RowError:
    raw = r["decision"].strip()
    iso3 = r.get("iso3", "").strip().upper()
    source, key = r["source"], r["provider_key"]
    if not source or not key:
        return RowError(rownum, column="provider_key", message="source and provider_key must not be empty (they identify the entity); restore them from the export")
    low = raw.lower()
    first_gid = raw.split(":", 1)[-1].split("|", 1)[0].strip().upper() if ":" in raw or GID_RE.match(raw.upper()) else ""
    if not iso3:
        iso3 = gid_country(r.get("cand1_gid", "") or first_gid) if (first_gid or r.get("cand1_gid")) else ""
        if not re.fullmatch(r"[A-Z]{3}", iso3):
            return RowError(rownum, column="iso3", message="empty iso3 and no GID to take the country from; fill the iso3 column")
    m = ctx.matches_of(iso3)
    level_text = r.get("gadm_level", "")
    admin_level = r.get("admin_level", "")
    if m is not None:
        if (source, key) not in m.index:
            hint = ""
            same = [k for s, k in m.index if s == source and k.lstrip("0") == key.lstrip("0") and k != key]
            if same:
                hint = f" — did the spreadsheet drop leading zeros? the matches file has {same[0]!r}"
            return RowError(rownum, column="provider_key", message=f"no entity (source {source!r}, provider_key {key!r}) in {matches_path(iso3, ctx.state_dir)}{hint}")
        row = m.loc[(source, key)]
        level_text, admin_level = str(row["gadm_level"]), str(row["admin_level"])
    try:
        gadm_level = int(level_text) if str(level_text).strip() else None
    except ValueError:
        return RowError(rownum, column="gadm_level", message=f"gadm_level {level_text!r} is not a whole number; restore it from the export")
    base = dict(source=source, provider_key=key, iso3=iso3, admin_level=str(admin_level),
                gadm_level="" if gadm_level is None else str(gadm_level), note=r.get("note", ""), row=rownum)

    if low == "skip":
        return Decision(kind="skip", value="skip", **base)
    if low == "accept":
        gid = r.get("cand1_gid", "").strip()
        if not gid:
            return RowError(rownum, "accept, but the row has no top candidate (cand1_gid is empty); write a GID instead")
        err = ctx.check_gid(gid, iso3, gadm_level)
        return RowError(rownum, f"accept: {err}") if err else Decision(kind="accept", value=gid, gid=gid, gid_parts=gid, **base)
    if low == "new" or low.startswith("new:"):
        if low == "new":
            parent, err = _parent_gid(ctx, iso3, gadm_level, r.get("parent", ""))
            if err:
                return RowError(rownum, err)
        else:
            parent = raw.split(":", 1)[1].strip().upper()
            err = ctx.check_gid(parent, iso3, None, allow_minted=False)
            if err:
                return RowError(rownum, f"new: {err}")
            if gadm_level is not None and gid_level(parent) + 1 not in (gadm_level, gadm_level + 1):
                return RowError(rownum, f"new: parent {parent} is GADM level {gid_level(parent)}; a new area for an "
                                        f"entity at GADM level {gadm_level} needs a parent at GADM level "
                                        f"{gadm_level - 1} or {gadm_level}")
        earlier = ctx.minted_by_key.get((source, key))
        if earlier and earlier[0] != parent:
            return RowError(rownum, f"new: ({source}, {key}) was minted earlier as {earlier[1]} under {earlier[0]}; "
                                    f"write {earlier[1]} (or new:{earlier[0]}) instead")
        return Decision(kind="new", value=f"new:{parent}", **base)
    if low.startswith("composite:"):
        parts = [p.strip().upper() for p in raw.split(":", 1)[1].replace(";", "|").replace(",", "|").split("|") if p.strip()]
        parts = sorted(set(parts), key=_gid_sort_key)
        if len(parts) < 2:
            return RowError(rownum, "composite needs at least two different GIDs separated by |")
        for p in parts:
            err = ctx.check_gid(p, iso3, gadm_level, allow_minted=False)
            if err:
                return RowError(rownum, f"composite: {err}")
        if len({(gid_country(p), gid_level(p)) for p in parts}) > 1:
            return RowError(rownum, "composite: all parts must be of one country and one GADM level")
        from geolookup.matching import resolve_composite

        try:
            gid, _, _ = resolve_composite(parts, ctx.areas.areas(gid_country(parts[0]), gid_level(parts[0])))
        except GeolookupError as exc:
            return RowError(rownum, f"composite: {exc}")
        joined = "|".join(parts)
        return Decision(kind="composite", value=f"composite:{joined}", gid=gid, gid_parts=joined, **base)
    gid = raw.upper()
    if not GID_RE.match(gid):
        return RowError(rownum, f"decision {raw!r} is not understood; write {KEYWORDS}")
    err = ctx.check_gid(gid, iso3, gadm_level)
    return RowError(rownum, err) if err else Decision(kind="gid", value=gid, gid=gid, gid_parts=gid, **base)


def _shared_errors(ctx: _Context, decisions: list[Decision]) -> list[RowError]:
    """Rows whose gid another entity of the same source and GADM level already has (or gets)."""
    owner: dict[tuple[str, str], tuple[str, str, str]] = {}  # entity -> (gadm_level, gid, where)
    for d in ctx.decisions.to_dict("records"):
        if d["gid"] and d["kind"] != "skip":
            owner[(d["source"], d["provider_key"])] = (d["gadm_level"], d["gid"], "stored decision")
    for m in ctx.matches.values():
        if m is None:
            continue
        acc = m[(m["match_status"] == "accepted") & (m["gid"] != "")]
        for s, k, lvl, g, nm in zip(acc["source"], acc["provider_key"], acc["gadm_level"], acc["gid"], acc["name"]):
            owner[(s, k)] = (str(lvl), g, f"matches file ({nm})")
    for d in decisions:
        owner.pop(d.key, None)
    taken: dict[tuple[str, str, str], str] = {(k[0], lvl, g): f"{k[0]} {k[1]!r} [{where}]"
                                             for k, (lvl, g, where) in owner.items()}
    errors = []
    for d in decisions:
        if not d.gid or d.kind == "skip":
            continue
        slot = (d.source, d.gadm_level, d.gid)
        if slot in taken:
            errors.append(RowError(d.row, f"{d.gid} is already the gid of {taken[slot]} (same source and GADM level); "
                                          "pick another GID, or use --allow-shared if they truly share it"))
        else:
            taken[slot] = f"{d.source} {d.provider_key!r} [row {d.row}]"
    return errors


def import_queue(path, reviewer: str | None = None, allow_shared: bool = False, partial: bool = False,
                 force: bool = False, state_dir=None, data_dir=None, when: str | None = None) -> ImportReport:
    """Check and store the decisions of a queue file.

    Input: the queue CSV (as exported, or saved by a spreadsheet), the reviewer's name (default
    login name), flags ``allow_shared``/``partial``/``force`` (see module doc), state and data
    folders, timestamp (default now, UTC ISO 8601). Output: :class:`ImportReport`. Side effects:
    ``new`` decisions mint ids (matching.mint) and every changed decision is logged and stored,
    only after the whole file validated (or, with ``partial``, for its valid rows).
    Raises QueueImportError (an InputError listing every row error) when any row is invalid and
    ``partial`` is False — nothing is then imported or minted; InputError for a file-level problem
    (missing columns, empty file).
    """
    df = read_sheet(path, required=["source", "provider_key", "decision"])
    ctx = _Context(state_dir, data_dir)
    report = ImportReport(path=str(path))
    decisions, errors, seen = [], [], {}
    for i, r in enumerate(df.to_dict("records")):
        if not r["decision"].strip():
            continue
        report.decided_rows += 1
        out = _decide(ctx, r, i + 2)
        if isinstance(out, RowError):
            errors.append(out)
            continue
        prev = seen.get(out.key)
        if prev is not None:
            if prev.value != out.value:
                errors.append(RowError(out.row, f"({out.source}, {out.provider_key}) is decided differently in row "
                                                f"{prev.row} ({prev.value}); keep one decision per entity"))
            continue
        seen[out.key] = out
        decisions.append(out)
    conflicts = [] if force else find_conflicts(decisions, ctx.decisions)
    for d, old in conflicts:
        errors.append(RowError(d.row, f"({d.source}, {d.provider_key}) is already decided as {old['value']} by "
                                      f"{old['reviewer']} on {old['decided_at']}; a different decision needs --force (it is logged)"))
    if not allow_shared:
        errors += _shared_errors(ctx, [d for d in decisions if d.row not in {e.row for e in errors}])
    report.warnings = ctx.warnings
    errors.sort(key=lambda e: e.row)
    if errors and not partial:
        raise QueueImportError(path, errors)
    report.errors = errors
    bad = {e.row for e in errors}
    good = [d for d in decisions if d.row not in bad]
    if good:
        from geolookup.matching import mint

        minted = []
        for d in good:
            if d.kind == "new":
                parent = d.value.split(":", 1)[1]
                gid = mint(parent, d.source, d.provider_key, state_dir=state_dir,
                           existing_gids=ctx.children(parent))
                if not gid.startswith(gid_stem(parent) + "."):
                    raise GeolookupError(
                        f"{path}, row {d.row}: ({d.source}, {d.provider_key}) was minted earlier as {gid}, not under "
                        f"{parent}; decide {gid} or a GID instead"
                    )
                d = replace(d, gid=gid, gid_parts=gid)
            minted.append(d)
        res = record_decisions(minted, reviewer=reviewer, force=force, state_dir=state_dir, when=when or utc_now())
        report.added, report.changed, report.unchanged = res.added, res.changed, res.unchanged
    return report
