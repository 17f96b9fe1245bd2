"""``geolookup match``: match a provider CSV to GADM 3.6 GIDs (the columns are documented below).

geolookup match INPUT.csv --country ISO3 --gadm-level L --name-col COL [--code-col COL]
    [--parent-col COL] [--lat-col COL --lon-col COL] [--data-dir DIR] -o OUT.csv
    [--crosswalk FILE] [--source NAME] [--state-dir DIR] [--geometry-col COL]

OUT.csv: every input row in order with all its columns, plus gid, gid_parts, match_status,
match_score, match_method, candidates (the contract columns) and match_reason (the evidence: code,
crosswalk, exonym, mojibake repair, duplicate_of, succession, grouping ...) -- written atomically, UTF-8.
The summary line says how many rows were accepted / sent to review / unmatched, and which ids were
minted and where they were stored; ``--dry-run`` stores nothing in the state folder.
Curators' decisions (curation.apply_decisions) override the automatic result; they are keyed by
source = --source or the input file's stem, and provider_key = matching.provider_keys: the
--code-col value when not empty, else "parent/name" with --parent-col, else the name.
--geometry-col: provider polygons as WKT (EPSG:4326 degrees); the GADM areas they cover become a
spatial or composite match (matching/geomatch.py). The output columns stay the same.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import click

from . import data_dir_option, state_dir_option

CONTRACT_COLUMNS = ["gid", "gid_parts", "match_status", "match_score", "match_method", "candidates", "match_reason"]
logger = logging.getLogger(__name__)


@click.command("match")
@click.argument("input_csv", type=click.Path(dir_okay=False, allow_dash=True, path_type=str))
@click.option("--country", required=True, help="ISO3 code of the country (e.g. ITA).")
@click.option("--gadm-level", required=True, type=click.IntRange(1, 5), help="GADM level to match (Data Hub level minus 1).")
@click.option("--name-col", required=True, help="Column with the provider's place names.")
@click.option("--code-col", default=None, help="Column with codes (HASC, ISO 3166-2, GADM CC, GID, crosswalk codes).")
@click.option("--parent-col", default=None, help="Column with the parent (name, code or GID one GADM level up).")
@click.option("--lat-col", default=None, help="Latitude column (degrees WGS84).")
@click.option("--lon-col", default=None, help="Longitude column (degrees WGS84).")
@data_dir_option
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, allow_dash=True, path_type=str),
              help="Output CSV (- for stdout).")
@click.option("--crosswalk", default=None, type=click.Path(dir_okay=False, path_type=str), help="CSV with columns code,gid.")
@click.option("--source", default=None, help="Provider name for minted ids and decisions (default: input file stem).")
@state_dir_option
@click.option("--geometry-col", default=None,
              help="Column with the provider's area as WKT polygons (EPSG:4326 degrees); covered GADM areas become parts.")
@click.option("--dry-run", is_flag=True, help="Match and write OUT.csv, but leave the state folder untouched: ids that "
                                             "would be minted are shown (numbered as a real run would) and not stored.")
@click.option("--suffix", default="", help="Append this to the added column names (gid_m, ...) when the input "
                                           "already has columns named gid, match_score, ...")
def match(input_csv, country, gadm_level, name_col, code_col, parent_col, lat_col, lon_col, data_dir, output,
          crosswalk, source, state_dir, geometry_col, dry_run, suffix):
    """Match the places of INPUT_CSV to GADM 3.6 areas and write OUT.csv with the match columns."""
    from geolookup.curation import apply_decisions
    from geolookup.matching import match_places, provider_keys

    from ..core.errors import InputError
    from ..core.paths import refuse_overwrite
    from ..core.stdio import input_path, is_stdio, output_path
    from ..core.tableio import read_csv_text, write_csv_atomic

    if (lat_col is None) != (lon_col is None):
        raise InputError("give both --lat-col and --lon-col, or neither")
    if is_stdio(input_csv) and not source:
        raise InputError("reading places from stdin: give --source NAME (minted ids and curators' decisions are "
                         "keyed by the provider's name)")
    if not is_stdio(output):
        refuse_overwrite(output, [p for p in (input_csv, crosswalk) if p and not is_stdio(p)])
    with input_path(input_csv) as readable:
        df = read_csv_text(readable, required=[c for c in (name_col, code_col, parent_col, lat_col, lon_col,
                                                           geometry_col) if c], label=input_csv)
    if df.empty:
        raise InputError(f"{input_csv}: no data rows; the file needs at least one place")
    clash = [c + suffix for c in CONTRACT_COLUMNS if c + suffix in df.columns]
    if clash:  # the user's own columns are never overwritten
        raise InputError(f"{input_csv}: already has column(s) {', '.join(clash)}, which match would add; rename them "
                         "or give --suffix (e.g. --suffix _m writes gid_m, match_score_m, ...)")
    source = source or Path(input_csv).stem
    from geolookup.matching.minting import load_minted, minted_path

    real_state = minted_path(state_dir, create=False).parent
    before = load_minted(real_state)
    with tempfile.TemporaryDirectory(prefix="geolookup-dry-run-") as tmp:
        run_state = real_state
        if dry_run:  # a copy of the minted ids, so that new ids are numbered as a real run would number them
            run_state = Path(tmp)
            for f in (minted_path(real_state, create=False), real_state / "decisions.csv"):
                if f.is_file():  # the curators' decisions too: applying them takes a lock in their folder
                    shutil.copy2(f, run_state / f.name)
        res = match_places(df, country, gadm_level, name_col, code_col=code_col, parent_col=parent_col, lat_col=lat_col,
                           lon_col=lon_col, data_dir=data_dir, state_dir=run_state, crosswalk=crosswalk, source=source,
                           geometry_col=geometry_col, label=input_csv)
        new = load_minted(run_state).iloc[len(before):]
        keys = provider_keys(df, name_col, code_col, parent_col)
        res = apply_decisions(res.assign(source=source, provider_key=list(keys)), state_dir=run_state)
    out = df.copy()
    for c in CONTRACT_COLUMNS:
        out[c + suffix] = res[c].to_numpy()
    with output_path(output) as target:
        write_csv_atomic(out, target)
    counts = res["match_status"].value_counts().to_dict()
    where = "not stored (--dry-run)" if dry_run else f"stored in {minted_path(real_state, create=False)}"
    minted = list(new["gid"])
    logger.info("%d rows -> %s: %s; %d new id(s) minted%s", len(out), output,
                ", ".join(f"{k} {counts.get(k, 0)}" for k in ("accepted", "review", "unmatched")), len(minted),
                f" ({', '.join(minted[:10])}{', ...' if len(minted) > 10 else ''}), {where}" if minted else "")
    return {"rows": len(out), "output": str(output), "dry_run": bool(dry_run),
            **{k: int(counts.get(k, 0)) for k in ("accepted", "review", "unmatched")},
            "minted": [{"gid": g, "parent_gid": p, "name": n} for g, p, n in zip(new["gid"], new["parent_gid"], new["name"])],
            "minted_file": str(minted_path(real_state, create=False)) if not dry_run else None}
