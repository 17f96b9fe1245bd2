"""``geolookup policies``: OxCGRT policy measures for every lookup location, Data Hub sign convention."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.errors import InputError
from ..core.tableio import atomic_path


@click.command("policies")
@click.option("--level", "admin_level", required=True, type=click.IntRange(1, 3),
              help="Data Hub administrative_area_level: 1 country, 2 region, 3 county/province.")
@click.option("--lookup", "lookup", required=True, type=click.Path(exists=True, path_type=Path),
              help="Folder of per-country Data Hub lookup CSVs (e.g. USA.csv, ISO.csv) or a lookup.sqlite.")
@click.option("--oxcgrt", "oxcgrt", required=True, multiple=True, type=click.Path(exists=True, path_type=Path),
              help="OxCGRT CSV file or folder (e.g. legacy_timeseries/); repeat it or list more files after it.")
@click.argument("more_oxcgrt", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output table, .csv or .parquet; written atomically.")
def policies(admin_level, lookup, oxcgrt, more_oxcgrt, output):
    """Write one row per (id, date): the 14 OxCGRT policies signed by their flag (negative = targeted),
    the 4 indices (negative = inherited from a higher level), policy_source, policy_inherited and a
    <policy>_targeted flag per policy.

    \b
    Example:
      geolookup policies --level 3 --lookup reference/covid19datahub \\
          --oxcgrt oxcgrt/legacy_timeseries oxcgrt/OxCGRT_US_subnational_05Aug2020.csv -o us_l3.parquet
    """
    from geolookup.lookup.policies import candidates, propagate, read_lookup, read_oxcgrt, source_table

    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError(f"{output}: output must end in .csv or .parquet")
    locs = candidates(read_lookup(lookup), admin_level)
    table = propagate(locs, source_table(read_oxcgrt([*oxcgrt, *more_oxcgrt])), admin_level)
    with atomic_path(output) as tmp:
        if suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False, date_format="%Y-%m-%d", encoding="utf-8")
    covered = table["id"].nunique() if len(table) else 0
    missing = sorted(set(locs["id"]) - set(table["id"].unique()))
    msg = f"wrote {len(table):,} rows for {covered:,} of {len(locs):,} level-{admin_level} locations to {output}"
    if missing:
        msg += f"; {len(missing)} location(s) have no OxCGRT rows (e.g. {', '.join(missing[:5])})"
    click.echo(msg, err=True)
