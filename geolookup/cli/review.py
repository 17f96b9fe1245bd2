"""``geolookup review``: export a review queue, import curators' decisions, draw a review map."""

from __future__ import annotations

from pathlib import Path

import click

from . import data_dir_option, state_dir_option
from ..core.errors import GeolookupError


@click.group("review")
def review():
    """Review uncertain matches in a spreadsheet and import the decisions.

    \b
    geolookup review export USA -o queue.csv      # rows in review/unmatched status
    geolookup review map USA -o map.png           # or map.html (picture + table)
    geolookup review import queue.csv --reviewer alice

    Decisions (column `decision`): a GID, accept, new, new:<parent GID>,
    composite:<GID>|<GID>|..., skip. Rows are numbered as in a spreadsheet
    (header = row 1). The country of each row is its iso3 column.
    """


@review.command("export")
@click.argument("iso3")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Queue CSV to write (default: review_<ISO3>.csv).")
@click.option("--all", "include_all", is_flag=True, help="Every entity, not only review/unmatched ones.")
@click.option("--sep", type=click.Choice([",", ";"]), default=",", show_default=True,
              help="Field separator (';' for spreadsheets in locales with a decimal comma).")
@state_dir_option
@data_dir_option
def export_cmd(iso3, output, include_all, sep, state_dir, data_dir):
    """Write the review queue of ISO3 as a spreadsheet-safe CSV (UTF-8 with BOM)."""
    from geolookup.curation.queue import export_queue

    output = output or Path(f"review_{iso3.upper()}.csv")
    q = export_queue(iso3, output, state_dir=state_dir, data_dir=data_dir, include_all=include_all, sep=sep)
    click.echo(f"{output}: {len(q)} entities to review" + (" (all)" if include_all else ""))


@review.command("import")
@click.argument("queue", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reviewer", default=None, help="Name recorded in the decisions log (default: login name).")
@click.option("--allow-shared", is_flag=True, help="Allow several entities of one source and level to share a GID.")
@click.option("--partial", is_flag=True, help="Import the valid rows even when other rows have errors.")
@click.option("--force", is_flag=True, help="Replace existing different decisions (the change is logged).")
@state_dir_option
@data_dir_option
def import_cmd(queue, reviewer, allow_shared, partial, force, state_dir, data_dir):
    """Check the decisions in QUEUE and store them (nothing is stored if a row is invalid, unless --partial)."""
    from geolookup.curation.importer import ROW_CONVENTION, QueueImportError, import_queue

    try:
        report = import_queue(queue, reviewer=reviewer, allow_shared=allow_shared, partial=partial, force=force,
                              state_dir=state_dir, data_dir=data_dir)
    except QueueImportError as exc:
        for err in exc.errors:
            click.echo(f"{queue}, {err}", err=True)
        raise GeolookupError(f"{queue}: {len(exc.errors)} error(s) listed above ({ROW_CONVENTION}); nothing imported; "
                             "fix them or use --partial") from None
    for w in report.warnings:
        click.echo(f"warning: {w}", err=True)
    for err in report.errors:
        click.echo(f"{queue}, {err} (not imported)", err=True)
    click.echo(report.summary())


@review.command("map")
@click.argument("iso3")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="map.png (picture) or map.html (picture + queue table, standalone).")
@click.option("--all", "include_all", is_flag=True, help="Draw every entity, not only review/unmatched ones.")
@state_dir_option
@data_dir_option
def map_cmd(iso3, output, include_all, state_dir, data_dir):
    """Draw ISO3's areas, each queued entity's point or label, and its candidate areas."""
    from geolookup.curation.mapplot import write_review_map

    n = write_review_map(iso3, output, state_dir=state_dir, data_dir=data_dir, include_all=include_all)
    click.echo(f"{output}: {n} queued entities drawn")
