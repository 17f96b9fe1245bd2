"""``geolookup match``: match a provider CSV to GADM 3.6 GIDs (contract: issue 3 §9).

geolookup match INPUT.csv --country ISO3 --gadm-level L --name-col COL [--code-col COL]
    [--parent-col COL] [--lat-col COL --lon-col COL] [--data-dir DIR] -o OUT.csv
    [--crosswalk FILE] [--source NAME] [--state-dir DIR] [--geometry-col COL]

OUT.csv: every input row in order with all its columns, plus gid, gid_parts, match_status,
match_score, match_method, candidates (the contract columns) -- written atomically, UTF-8.
Curators' decisions (curation.apply_decisions) override the automatic result; they are keyed by
source = --source or the input file's stem, and provider_key = matching.provider_keys: the
--code-col value when not empty, else "parent/name" with --parent-col, else the name.
--geometry-col: provider polygons as WKT (EPSG:4326 degrees); the GADM areas they cover become a
spatial or composite match (matching/geomatch.py). The output columns stay the same.
"""

from __future__ import annotations

from pathlib import Path

import click

from . import data_dir_option, state_dir_option

CONTRACT_COLUMNS = ["gid", "gid_parts", "match_status", "match_score", "match_method", "candidates"]


@click.command("match")
@click.argument("input_csv", type=click.Path(dir_okay=False, path_type=str))
@click.option("--country", required=True, help="ISO3 code of the country (e.g. ITA).")
@click.option("--gadm-level", required=True, type=click.IntRange(1, 5), help="GADM level to match (Data Hub level minus 1).")
@click.option("--name-col", required=True, help="Column with the provider's place names.")
@click.option("--code-col", default=None, help="Column with codes (HASC, ISO 3166-2, GADM CC, GID, crosswalk codes).")
@click.option("--parent-col", default=None, help="Column with the parent (name, code or GID one GADM level up).")
@click.option("--lat-col", default=None, help="Latitude column (degrees WGS84).")
@click.option("--lon-col", default=None, help="Longitude column (degrees WGS84).")
@data_dir_option
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=str), help="Output CSV.")
@click.option("--crosswalk", default=None, type=click.Path(dir_okay=False, path_type=str), help="CSV with columns code,gid.")
@click.option("--source", default=None, help="Provider name for minted ids and decisions (default: input file stem).")
@state_dir_option
@click.option("--geometry-col", default=None,
              help="Column with the provider's area as WKT polygons (EPSG:4326 degrees); covered GADM areas become parts.")
def match(input_csv, country, gadm_level, name_col, code_col, parent_col, lat_col, lon_col, data_dir, output,
          crosswalk, source, state_dir, geometry_col):
    """Match the places of INPUT_CSV to GADM 3.6 areas and write OUT.csv with the match columns."""
    from geolookup.curation import apply_decisions
    from geolookup.matching import match_places, provider_keys

    from ..core.errors import InputError
    from ..core.tableio import read_csv_text, write_csv_atomic

    if (lat_col is None) != (lon_col is None):
        raise InputError("give both --lat-col and --lon-col, or neither")
    df = read_csv_text(input_csv, required=[c for c in (name_col, code_col, parent_col, lat_col, lon_col, geometry_col) if c],
                       label=input_csv)
    if df.empty:
        raise InputError(f"{input_csv}: no data rows; the file needs at least one place")
    source = source or Path(input_csv).stem
    res = match_places(df, country, gadm_level, name_col, code_col=code_col, parent_col=parent_col, lat_col=lat_col,
                       lon_col=lon_col, data_dir=data_dir, state_dir=state_dir, crosswalk=crosswalk, source=source,
                       geometry_col=geometry_col, label=input_csv)
    keys = provider_keys(df, name_col, code_col, parent_col)
    res = apply_decisions(res.assign(source=source, provider_key=list(keys)), state_dir=state_dir)
    out = df.copy()
    for c in CONTRACT_COLUMNS:
        out[c] = res[c].to_numpy()
    write_csv_atomic(out, output)
    counts = res["match_status"].value_counts().to_dict()
    click.echo(f"{len(out)} rows -> {output}: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("accepted", "review", "unmatched")))
