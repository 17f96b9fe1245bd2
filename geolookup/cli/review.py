"""``geolookup review``: export a review queue, import curators' decisions, draw a review map."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from . import data_dir_option, state_dir_option
from ..core.errors import GeolookupError

log = logging.getLogger(__name__)


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
@click.option("--include-placeholders", is_flag=True,
              help="Also queue rows that name no place (\"Unassigned\", \"Out of AL\"), with skip pre-filled.")
@state_dir_option
@data_dir_option
def export_cmd(iso3, output, include_all, sep, include_placeholders, state_dir, data_dir):
    """Write the review queue of ISO3 as a spreadsheet-safe CSV (UTF-8 with BOM).

    Rows that name no place ("Unassigned", "Out of AL", as matching judged them) get an automatic
    skip with matching's reason; they are listed in the summary and not queued unless
    --include-placeholders. Each row says why it needs review (match_reason) and each candidate's GADM level.
    """
    from geolookup.curation.queue import auto_skips, export_queue

    output = output or Path(f"review_{iso3.upper()}.csv")
    q = export_queue(iso3, output, state_dir=state_dir, data_dir=data_dir, include_all=include_all, sep=sep,
                     include_placeholders=include_placeholders)
    skipped = auto_skips(iso3, state_dir=state_dir)
    msg = f"{output}: {len(q)} entities to review" + (" (all)" if include_all else "")
    if len(skipped):
        listed = "; ".join(f"{r.name!r} ({r.reason})" for r in skipped.head(5).itertuples())
        msg += (f"; {len(skipped)} skipped automatically, they name no place"
                + (" (queued with skip pre-filled)" if include_placeholders
                   else f": {listed}" + (" ..." if len(skipped) > 5 else "")))
    log.info("%s", msg)
    return {"output": str(output), "queued": int(len(q)), "auto_skipped": skipped.to_dict("records")}


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
            log.error("%s, %s", queue, err)
        raise GeolookupError(f"{queue}: {len(exc.errors)} error(s) listed above ({ROW_CONVENTION}); nothing imported; "
                             "fix them or use --partial") from None
    for w in report.warnings:
        log.warning("%s", w)
    for err in report.errors:
        log.warning("%s, %s (not imported)", queue, err)
    log.info("%s", report.summary())
    return {"queue": str(queue), "decided_rows": report.decided_rows, "added": len(report.added),
            "changed": len(report.changed), "unchanged": len(report.unchanged),
            "rejected": [{"row": e.row, "column": e.column, "message": e.message} for e in report.errors]}


@review.command("map")
@click.argument("iso3")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="map.pdf (every page), map.png (overview; panel pages as map-2.png, ...) or map.html "
                   "(every page + the queue table, standalone).")
@click.option("--all", "include_all", is_flag=True, help="Draw every entity, not only review/unmatched ones.")
@click.option("--include-placeholders", is_flag=True, help="Also draw rows that name no place (skipped automatically).")
@state_dir_option
@data_dir_option
def map_cmd(iso3, output, include_all, include_placeholders, state_dir, data_dir):
    """Draw ISO3's queue: an overview numbered by spreadsheet row, then one panel per entity with its
    candidate areas of the entity's own GADM level."""
    from geolookup.curation.mapplot import write_review_map

    res = write_review_map(iso3, output, state_dir=state_dir, data_dir=data_dir, include_all=include_all,
                           include_placeholders=include_placeholders)
    log.info("%s: %d queued entities drawn on %d page(s)%s", output, res["entries"], res["pages"],
             f" ({len(res['files'])} files: {res['files'][0]} ...)" if len(res["files"]) > 1 else "")
    return res
