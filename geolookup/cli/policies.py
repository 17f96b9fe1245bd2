"""``geolookup policies``: OxCGRT policy measures for every lookup location, Data Hub sign convention."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from ..core.errors import InputError
from ..core.paths import expand_inputs, refuse_overwrite
from ..core.tableio import atomic_path

log = logging.getLogger(__name__)


@click.command("policies")
@click.option("--level", "admin_level", required=True, type=click.IntRange(1, 3),
              help="Data Hub administrative_area_level: 1 country, 2 region, 3 county/province.")
@click.option("--lookup", "lookup", required=True, type=click.Path(exists=True, path_type=Path),
              help="Folder of per-country Data Hub lookup CSVs (e.g. USA.csv, ISO.csv) or a lookup.sqlite.")
@click.option("--oxcgrt", "oxcgrt", required=True, multiple=True, type=click.Path(exists=True, path_type=Path),
              help="OxCGRT CSV file or folder (e.g. legacy_timeseries/); repeat it or list more files after it.")
@click.argument("more_oxcgrt", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--allow-missing", "allow_missing", multiple=True, metavar="INDICATOR",
              help="Publish this indicator empty when no OxCGRT input has it (C1, H7, C1_Flag, stringency_index, "
                   "...); repeat for several. Without it a missing indicator is an error.")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output: .csv or .parquet (written atomically), or a lookup .sqlite (adds table 'policy').")
def policies(admin_level, lookup, oxcgrt, more_oxcgrt, allow_missing, output):
    """Write one row per (id, date): the 14 OxCGRT policies signed by their flag (negative = targeted),
    the 4 indices (negative = inherited from a higher level), policy_source, policy_inherited and a
    <policy>_targeted flag per policy.

    Inputs are strict: an indicator no OxCGRT input has, a value outside OxCGRT's codebook, an ambiguous
    number, a date in a format OxCGRT never published, or a file with a header and no rows is an error.
    With -o lookup.sqlite the table 'policy' (id, date, indicators...) is replaced in that database in
    one transaction; it joins table 'location' on id.

    \b
    Example:
      geolookup policies --level 3 --lookup reference/covid19datahub \\
          --oxcgrt oxcgrt/legacy_timeseries oxcgrt/OxCGRT_US_subnational_05Aug2020.csv -o us_l3.parquet
    """
    from geolookup.lookup.policies import candidates, propagate, read_lookup, read_oxcgrt, source_table
    from geolookup.lookup.policies.output import is_sqlite, write_csv, write_sqlite
    from geolookup.lookup.policies.values import require_indicators

    suffix = output.suffix.lower()
    to_sqlite = is_sqlite(output)
    if suffix not in (".csv", ".parquet") and not to_sqlite:
        raise InputError(f"{output}: output must end in .csv, .parquet or .sqlite")
    ox_paths = [*oxcgrt, *more_oxcgrt]
    inputs = expand_inputs(ox_paths)
    if not (to_sqlite and is_sqlite(lookup)):  # into the lookup database itself: a table is added, none replaced
        inputs += expand_inputs([lookup])
    refuse_overwrite(output, inputs)
    if to_sqlite and not output.is_file():
        raise InputError(f"{output}: no such lookup database; give the lookup.sqlite written by geolookup build")
    locs = candidates(read_lookup(lookup), admin_level)
    long = read_oxcgrt(ox_paths)
    empty = require_indicators(long, allow_missing)
    table = propagate(locs, source_table(long), admin_level)
    t0 = time.perf_counter()
    if to_sqlite:
        write_sqlite(table, output)
    else:
        with atomic_path(output) as tmp:
            if suffix == ".parquet":
                table.to_parquet(tmp, index=False)
            else:
                write_csv(table, tmp)
    covered = table["id"].nunique() if len(table) else 0
    missing = sorted(set(locs["id"]) - set(table["id"].unique()))
    msg = f"wrote {len(table):,} rows for {covered:,} of {len(locs):,} level-{admin_level} locations to {output}"
    if to_sqlite:
        msg += " (table 'policy')"
    if missing:
        msg += f"; {len(missing)} location(s) have no OxCGRT rows (e.g. {', '.join(missing[:5])})"
    if empty:
        msg += f"; allowed empty: {', '.join(empty)}"
    log.info(msg)
    return {"output": str(output), "table": "policy" if to_sqlite else None, "rows": int(len(table)),
            "locations": int(len(locs)), "covered": int(covered), "without_policies": missing,
            "allowed_missing": empty, "write_seconds": round(time.perf_counter() - t0, 3)}
