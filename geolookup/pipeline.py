"""The build: provider files -> matched, validated, Data Hub-compatible lookup tables (glue only).

Steps per country: read each provider table named by the shipped source specs (lookup/specs.py;
global providers cover many countries, and one fails alone: its stored rows are kept) -> match names
to GADM (lookup/routing.py: matching.match_places for the country, the territories' own GADM files
for places GADM files under another ISO3, rows kept without a GID where the local GADM lacks
their level) -> apply curator decisions (curation.apply_decisions) -> interior points of the
matched GADM areas (union for composites; provider coordinates for minted ``.n_0`` areas) -> NUTS
2021 codes for European countries (nuts.assign_nuts) -> table rows and ids (lookup.assemble), OxCGRT
region codes (lookup.oxcgrt_ids) -> registry merge with the stored table (lookup.rebuild: ids kept,
nothing deleted; new level-3 rows whose region is not in the table wait in the review queue) ->
validation (lookup.validate) -> writes
(lookup.outputs) of the table, its sidecars and the review queue ``<OUT>/<ISO3>_review.csv``, all
published as one new generation of OUT (lookup.generation), plus ``<state_dir>/matches/<ISO3>.csv``.
Nothing in OUT changes when the subset check or validation finds errors.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry

from geolookup import gadm
from geolookup.gadm.gids import gid_country, gid_level, is_minted
from geolookup.core.config import section
from geolookup.core.errors import GeolookupError, InputError
from geolookup.core.state import state_dir as _state_dir
from geolookup.core.tableio import write_csv_atomic
from geolookup.curation.apply import MATCHES_COLUMNS, MATCHES_FILE_COLUMNS, apply_decisions
from geolookup.curation.store import load_decisions
from geolookup.lookup.assemble import TableBuilder, hold_orphans, matches_rows, parent_names, points, provider_keys
from geolookup.lookup.generation import Publisher
from geolookup.lookup.outputs import PROVENANCE_COLUMNS, file_checksum, write_country
from geolookup.lookup.rebuild import merge_rebuild
from geolookup.lookup.oxcgrt_ids import add_oxcgrt_ids
from geolookup.lookup.routing import NO_GADM, local_gadm, match_spec
from geolookup.lookup.providers import values_of
from geolookup.lookup.specs import load_specs, read_provider
from geolookup.lookup.table import read_table
from geolookup.lookup.validate import validate

REVIEW_COLUMNS = MATCHES_COLUMNS + ["match_reason", "file", "row"]


@dataclass
class BuildSummary:
    """What a build did; ``line()`` is the CLI's final summary.

    ``rows``: rows of the written table (stored ones included); ``accepted`` / ``in_review``:
    provider entities accepted / queued in ``<OUT>/<ISO3>_review.csv``; ``warnings``: validation
    warnings; ``filtered``: provider rows the specs' filters left out; ``entities``: provider
    entities read; ``paths``: output name -> Path; ``warning_counts``: check -> count;
    ``row_status``: merge status (new, updated, unchanged, disappeared, ...) -> count;
    ``kept_without_gid``: rows kept without a GID because the local GADM files lack their level, and
    ``download`` the GADM files that would give them one; ``source_errors``: one line per source spec
    that could not be read (its rows are not rebuilt, the stored ones are kept).
    """

    iso3: str
    rows: int = 0
    accepted: int = 0
    in_review: int = 0
    warnings: int = 0
    filtered: int = 0
    entities: int = 0
    paths: dict = field(default_factory=dict)
    warning_counts: dict = field(default_factory=dict)
    row_status: dict = field(default_factory=dict)
    kept_without_gid: int = 0
    download: list = field(default_factory=list)
    source_errors: list = field(default_factory=list)

    def as_dict(self) -> dict:
        """The summary as JSON-ready data (``geolookup build --json``); paths as strings."""
        from dataclasses import asdict

        out = asdict(self)
        out["paths"] = {k: str(v) for k, v in self.paths.items()}
        return out

    def line(self) -> str:
        skipped = f", {self.filtered} provider rows left out by the source specs' filters" if self.filtered else ""
        if self.kept_without_gid:
            skipped += f", {self.kept_without_gid} rows kept without a GID (GADM level not local)"
        return (f"{self.iso3}: {self.rows} rows, {self.accepted} accepted, {self.in_review} in review, "
                f"{self.warnings} warnings{skipped}")


def _geometries(iso3: str, gids, data_dir) -> tuple[dict, dict, list]:
    """GID -> geometry and GID -> HASC for every GADM level the GIDs use, in the country's own GADM
    file and in those of its territories (key_gadm "PRI", "PRI.1_1" in the USA's table)."""
    wanted = {(gid_country(g), gid_level(g)) for g in gids if g and not is_minted(g)}
    geoms, hasc, frames = {}, {}, []
    for iso in sorted({c for c, _ in wanted}):
        if iso != iso3 and not local_gadm(iso, data_dir):
            continue
        have = set(gadm.available_levels(iso, data_dir))
        for lvl in sorted(lv for c, lv in wanted if c == iso and lv in have):
            a = gadm.load_areas(iso, lvl, data_dir)
            geoms.update(zip(a["gid"], a.geometry))
            hasc.update(zip(a["gid"], a["hasc"]))
            frames.append(a[["gid", "geometry"]])
    return geoms, hasc, frames


def _nuts(lon, lat, levels, data_dir, european: bool) -> pd.DataFrame:
    """NUTS code of each point at its own NUTS level; "" / "none" / NaN without a point or outside ``european``."""
    out = pd.DataFrame({"nuts": [""] * len(lon), "nuts_method": "none", "nuts_distance_km": np.nan})
    if not european:
        return out
    from geolookup import nuts  # only European builds need NUTS

    for lvl in sorted(set(levels)):
        sel = np.flatnonzero(np.asarray(levels) == lvl)
        ok = sel[~np.isnan(lon[sel]) & ~np.isnan(lat[sel])]
        if len(ok):
            res = nuts.assign_nuts(lon[ok], lat[ok], levels=(lvl,), data_dir=data_dir)
            out.loc[ok, "nuts"] = res[f"nuts_{lvl}"].fillna("").astype(str).to_numpy()
            out.loc[ok, "nuts_method"] = res["nuts_method"].astype(str).to_numpy()
            out.loc[ok, "nuts_distance_km"] = res["nuts_distance_km"].to_numpy()
    return out


def build(iso3: str, data_dir=None, out_dir="out", state_dir=None, force: bool = False, spec_dir=None,
          progress=None) -> BuildSummary:
    """Build (or safely rebuild) the lookup table of one country; see the module doc.

    Inputs: ISO3 code; data folder (GEOLOOKUP_DATA when None); output folder; state folder;
    ``force`` keeps rows a provider no longer publishes (flagged) instead of stopping; ``spec_dir``
    replaces the shipped specs; ``progress`` a callable(step: str) called once per step.
    Output: :class:`BuildSummary`. Raises GeolookupError/InputError/DataNotFoundError (one line)
    for bad inputs, a failed subset check, or validation errors (nothing is then written).
    """
    iso3 = iso3.strip().upper()
    tick = progress or (lambda step: None)
    cfg = section("lookup").get("build", {})
    state = _state_dir(state_dir)
    out_dir = Path(out_dir)
    specs = load_specs(iso3, spec_dir)
    summary = BuildSummary(iso3)
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    decided, inputs = [], []
    decisions = load_decisions(state)  # curators' decisions win over automatic matches
    for spec in specs:
        tick(f"read {Path(spec.file).name}")
        try:
            rows, filtered, path = read_provider(spec, data_dir)
        except InputError as exc:  # e.g. a spec naming a column the file lacks: this source stops, others go on
            summary.source_errors.append(str(exc))
            continue
        summary.filtered += filtered
        if rows.empty:  # a global provider without rows for this country
            continue
        if spec.shared and any(not s.shared and s.admin_level == spec.admin_level for s in specs):
            spec = replace(spec, create=False)  # the country's own providers make its rows; global ones attach
        inputs.append(f"{spec.file}={file_checksum(path)}")
        rows["_pkey"] = provider_keys(rows)
        rows["_code"] = values_of(rows, spec.col("code"))
        tick(f"match {Path(spec.file).name}")
        matched = match_spec(spec, rows, iso3, data_dir, state)
        decided.append((spec, apply_decisions(matches_rows(spec, rows, matched), state, decisions=decisions)))

    if not decided:
        raise GeolookupError(f"no provider rows for {iso3} at Data Hub levels 2-3"
                             + (f" ({summary.source_errors[0]})" if summary.source_errors else "")
                             + "; add a source spec (lookup/sources) or check --specs")
    tick("points and NUTS")
    all_ent = pd.concat([d for _, d in decided], ignore_index=True)
    geoms, hasc, frames = _geometries(iso3, list(all_ent["gid"]) + [p for s in all_ent["gid_parts"]
                                                                    for p in str(s).split("|") if p], data_dir)
    plon = pd.to_numeric(all_ent["longitude"], errors="coerce").to_numpy()
    plat = pd.to_numeric(all_ent["latitude"], errors="coerce").to_numpy()
    accepted = (all_ent["match_status"] == "accepted").to_numpy()
    gids = np.where(accepted, all_ent["gid"], "")
    parts = np.where(accepted, all_ent["gid_parts"].astype(str), "")
    geom, lon, lat, method = points(gids, parts, geoms, plon, plat)
    all_ent["_geometry"], all_ent["_lon"], all_ent["_lat"], all_ent["_point_method"] = list(geom), lon, lat, method
    levels = np.array([s.nuts_level for s, d in decided for _ in range(len(d))])
    nuts_cols = _nuts(lon, lat, levels, data_dir, european=iso3 in section("nuts").get("countries", []))
    all_ent = pd.concat([all_ent, nuts_cols], axis=1)

    # the matches file first: curators export their queue from it even when the subset check or
    # validation then stops the build
    all_ent["row"] = all_ent["_row"]
    all_ent["file"] = all_ent["_file"]
    write_csv_atomic(all_ent[MATCHES_FILE_COLUMNS], state / "matches" / f"{iso3}.csv")  # with match_reason: the queue shows it
    creates = np.array([s.create for s, d in decided for _ in range(len(d))], dtype=bool)
    # entities of providers that only fill key columns (create = false) make no rows: not queued
    review = all_ent[creates & (~all_ent["skipped"].astype(bool)) & ((all_ent["match_status"] != "accepted")
                                                                     | (all_ent["_key"] == ""))].copy()
    review.loc[review["_key"] == "", "match_reason"] = review["match_reason"].astype(str) + "; no provider key"
    tick("ids and registry")
    builder = TableBuilder(iso3)
    start = 0
    for spec, d in decided:
        ent = all_ent.iloc[start:start + len(d)]
        start += len(d)
        builder.add(spec, ent, hasc, (spec.population.get("source", ""), spec.population.get("url", "")))
    # every output below goes into a new generation of OUT, published in one step when the block
    # ends (an error or a kill publishes nothing); its lock keeps concurrent builds from losing rows
    with Publisher(out_dir, f"build {iso3}") as gen:
        csv_path = out_dir / f"{iso3}.csv"
        stored = gen.stored(csv_path.name)  # the last complete generation's table: the diff is against it
        old = read_table(stored, label=str(csv_path)) if stored else None
        source_cols = sorted({s.id_column for s, _ in decided})  # a source that failed to read keeps its rows
        built = add_oxcgrt_ids(parent_names(builder.table()), iso3, data_dir)
        merged = merge_rebuild(old, built, source_cols, force=force, label=str(csv_path))
        merged, held = hold_orphans(merged)
        if len(held):  # queue the entities of the rows held back, with their region
            prov = pd.DataFrame(builder.provenance)
            prov = prov[prov["id"].isin(set(held.index))]
            pairs = set(zip(prov["source"], prov["provider_key"]))
            extra = all_ent[[(a, b) in pairs for a, b in zip(all_ent["source"], all_ent["provider_key"])]].copy()
            region = extra["provider_key"].map(dict(zip(prov["provider_key"], prov["id"].map(held))))
            extra["match_reason"] = (extra["match_reason"].astype(str) + "; held: its region "
                                     + region.fillna("").map(repr) + " is not in the table yet (review it first)")
            review = pd.concat([review, extra], ignore_index=True)

        tick("validate")
        iso2 = getattr(pycountry.countries.get(alpha_3=iso3), "alpha_2", None)
        areas = pd.concat(frames, ignore_index=True) if frames else None
        report = validate(merged.table, iso2=iso2, areas=areas)
        report.raise_for_errors(str(csv_path))

        tick("write")
        gen.clear(iso3)
        write_csv_atomic(review[REVIEW_COLUMNS], gen.dir / f"{iso3}_review.csv")
        write_csv_atomic(merged.diff, gen.dir / f"{iso3}_diff.csv")
        report.write(gen.dir / f"{iso3}_validation.csv")
        prov = pd.DataFrame(builder.provenance, columns=PROVENANCE_COLUMNS)
        status_by_id = dict(zip(merged.table["id"], merged.row_status))
        prov["row_status"] = prov["id"].map(status_by_id).fillna("not_stored")
        kept = merged.table.loc[~merged.table["id"].isin(prov["id"]), "id"]
        prov = pd.concat([prov, pd.DataFrame({"id": kept, "iso3": iso3, "row_status": kept.map(status_by_id)})],
                         ignore_index=True)
        prov["gadm_version"], prov["nuts_version"] = cfg.get("gadm_version", "3.6"), cfg.get("nuts_version", "2021")
        prov["input_files"], prov["build_time"] = "|".join(inputs), started
        prov = prov[prov["row_status"] != "not_stored"]
        geometries = [builder.geometry.get(i) for i in merged.table["id"]]
        written = write_country(gen.dir, iso3, merged.table, prov, geometries, locked=True)
    # the user-facing names (links into OUT/current), not the staging folder's
    summary.paths.update({k: out_dir / f"{iso3}_{k}.csv" for k in ("review", "diff", "validation")})
    summary.paths.update({k: out_dir / Path(v).name for k, v in written.items()})

    summary.entities = len(all_ent)
    summary.rows = len(merged.table)
    kept_no_gid = creates & (all_ent["match_method"] == NO_GADM).to_numpy()
    summary.accepted = int((accepted & creates & ~kept_no_gid).sum())
    summary.kept_without_gid = int(kept_no_gid.sum())
    summary.download = sorted(set(all_ent.loc[kept_no_gid, "match_reason"].astype(str)
                                  .str.extract(r"download (gadm36_\S+ from \S+)")[0].dropna()))
    summary.in_review = len(review)
    summary.warnings = int(sum(report.check_counts("warning").values()))
    summary.warning_counts = report.check_counts("warning")
    summary.row_status = merged.row_status.value_counts().to_dict()
    return summary
