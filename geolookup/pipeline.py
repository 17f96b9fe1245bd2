"""The build: provider files -> matched, validated, Data Hub-compatible lookup tables (glue only).

Steps per country (issue 4, "geolookup build"): read each provider table named by the shipped
source specs (lookup/specs.py) -> match names to GADM (matching.match_places) -> apply curator
decisions (curation.apply_decisions) -> interior points of the matched GADM areas (union for
composites; provider coordinates for minted ``.n_0`` areas) -> NUTS 2021 codes for European
countries (nuts.assign_nuts) -> table rows and ids (lookup.assemble) -> registry merge with the
stored table (lookup.rebuild: ids kept, nothing deleted) -> validation (lookup.validate) -> writes
(lookup.outputs), plus ``<state_dir>/matches/<ISO3>.csv`` and the review queue
``<OUT>/<ISO3>_review.csv``. Nothing is written when validation finds errors.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry

from geolookup import gadm
from geolookup import matching
from geolookup.gadm.gids import gid_level
from geolookup.core.config import section
from geolookup.core.state import state_dir as _state_dir
from geolookup.core.tableio import write_csv_atomic
from geolookup.curation.apply import MATCHES_COLUMNS, apply_decisions
from geolookup.curation.store import load_decisions
from geolookup.lookup.assemble import TableBuilder, matches_rows, points, provider_keys
from geolookup.lookup.outputs import PROVENANCE_COLUMNS, file_checksum, write_country
from geolookup.lookup.rebuild import merge_rebuild
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
    ``row_status``: merge status (new, updated, unchanged, disappeared, ...) -> count.
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

    def as_dict(self) -> dict:
        """The summary as JSON-ready data (``geolookup build --json``); paths as strings."""
        from dataclasses import asdict

        out = asdict(self)
        out["paths"] = {k: str(v) for k, v in self.paths.items()}
        return out

    def line(self) -> str:
        skipped = f", {self.filtered} provider rows left out by the source specs' filters" if self.filtered else ""
        return (f"{self.iso3}: {self.rows} rows, {self.accepted} accepted, {self.in_review} in review, "
                f"{self.warnings} warnings{skipped}")


def _geometries(iso3: str, gids, data_dir) -> tuple[dict, dict, list]:
    """GID -> geometry and GID -> HASC for every GADM level the GIDs use (this country only)."""
    levels = sorted({gid_level(g) for g in gids if g and g.split(".")[0].split("_")[0] == iso3})
    have = set(gadm.available_levels(iso3, data_dir))
    geoms, hasc, frames = {}, {}, []
    for lvl in levels:
        if lvl in have:
            a = gadm.load_areas(iso3, lvl, data_dir)
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
        rows, filtered, path = read_provider(spec, data_dir)
        summary.filtered += filtered
        inputs.append(f"{spec.file}={file_checksum(path)}")
        rows["_pkey"] = provider_keys(rows)
        tick(f"match {Path(spec.file).name}")
        lat_col = spec.col("latitude")
        matched = matching.match_places(
            rows, iso3, spec.gadm_level, "_name", code_col=spec.col("code"),
            parent_col="_parent" if spec.col("parent") else None, lat_col=lat_col,
            lon_col=spec.col("longitude") if lat_col else None, data_dir=data_dir, state_dir=state,
            source=spec.source, key_col="_pkey")
        decided.append((spec, apply_decisions(matches_rows(spec, rows, matched), state, decisions=decisions)))

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

    # matches file and review queue first: curators need them even when the subset check or
    # validation then stops the write
    all_ent["row"] = all_ent["_row"]
    all_ent["file"] = all_ent["_file"]
    write_csv_atomic(all_ent[MATCHES_COLUMNS], state / "matches" / f"{iso3}.csv")
    review = all_ent[(~all_ent["skipped"].astype(bool)) & ((all_ent["match_status"] != "accepted")
                                                           | (all_ent["_key"] == ""))].copy()
    review.loc[review["_key"] == "", "match_reason"] = review["match_reason"].astype(str) + "; no provider key"
    summary.paths["review"] = write_csv_atomic(review[REVIEW_COLUMNS], out_dir / f"{iso3}_review.csv")
    tick("ids and registry")
    builder = TableBuilder(iso3)
    start = 0
    for spec, d in decided:
        ent = all_ent.iloc[start:start + len(d)]
        start += len(d)
        builder.add(spec, ent, hasc, (spec.population.get("source", ""), spec.population.get("url", "")))
    csv_path = out_dir / f"{iso3}.csv"
    old = read_table(csv_path) if csv_path.is_file() else None
    source_cols = sorted({s.id_column for s in specs})
    merged = merge_rebuild(old, builder.table(), source_cols, force=force, label=str(csv_path))

    tick("validate")
    iso2 = getattr(pycountry.countries.get(alpha_3=iso3), "alpha_2", None)
    areas = pd.concat(frames, ignore_index=True) if frames else None
    report = validate(merged.table, iso2=iso2, areas=areas)
    report.raise_for_errors(str(csv_path))

    tick("write")
    summary.paths["diff"] = write_csv_atomic(merged.diff, out_dir / f"{iso3}_diff.csv")
    summary.paths["validation"] = out_dir / f"{iso3}_validation.csv"
    report.write(summary.paths["validation"])
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
    summary.paths.update(write_country(out_dir, iso3, merged.table, prov, geometries))

    summary.entities = len(all_ent)
    summary.rows = len(merged.table)
    summary.accepted = int(accepted.sum())
    summary.in_review = len(review)
    summary.warnings = len(report.warnings)
    summary.warning_counts = report.warnings["check"].value_counts().to_dict()
    summary.row_status = merged.row_status.value_counts().to_dict()
    return summary
