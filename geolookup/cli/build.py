"""``geolookup build ISO3``: the main job, provider files -> Data Hub-compatible lookup tables."""

from __future__ import annotations

import logging

import click

from . import data_dir_option, state_dir_option

logger = logging.getLogger(__name__)


@click.command("build")
@click.argument("isos", metavar="ISO3...", nargs=-1)
@click.option("--all", "all_countries", is_flag=True,
              help="Every country with a local GADM 3.6 file and provider rows (lookup/sources).")
@data_dir_option
@click.option("-o", "--out", "out_dir", default="out", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Output folder for <ISO3>.csv and the sidecars.")
@state_dir_option
@click.option("--force", is_flag=True, help="Keep rows a provider no longer publishes (flagged) instead of stopping.")
@click.option("--specs", "spec_dir", default=None, type=click.Path(file_okay=False, exists=True, path_type=str),
              help="Folder of source-spec TOML files replacing the shipped ones (lookup/sources).")
@click.option("--allow-review", is_flag=True,
              help="Exit 0 even when rows wait for a curator's review (default: exit 3).")
def build(isos, all_countries, data_dir, out_dir, state_dir, force, spec_dir, allow_review):
    """Build the lookup tables of countries ISO3... (or --all) from the shipped source specs.

    Writes OUT/ISO3.csv (Data Hub layout), OUT/ISO3_provenance.csv, OUT/lookup.sqlite,
    OUT/ISO3_areas.gpkg/.shp, the review queue OUT/ISO3_review.csv, the diff OUT/ISO3_diff.csv,
    the validation report OUT/ISO3_validation.csv, and STATE/matches/ISO3.csv. The OUT files
    are published together as one generation (OUT/current; a killed build leaves the last one).
    Also writes OUT/ISO.csv, the national rows (Data Hub level 1) of every country.

    With several countries a country that fails is reported in one line and the others still
    build; a summary table ends the run (exit status 1 when some failed). --all builds every
    country with a local GADM 3.6 file and provider rows, and lists the ones without a GADM file.

    \b
    Exit status: 0 done; 3 done, but rows wait for review in OUT/ISO3_review.csv
    (the table holds the accepted rows; --allow-review makes it 0); 1 error (nothing published).
    """
    from ..core.log import progress

    from ..pipeline import build as run
    from ..world import all_countries as every_country, build_many, write_national
    from geolookup.lookup.specs import load_specs

    if all_countries == bool(isos):
        raise click.UsageError("give ISO3 code(s) or --all (not both)")
    isos, no_gadm = every_country(data_dir, spec_dir) if all_countries else ([i.strip().upper() for i in isos], [])
    if len(isos) > 1 or all_countries:
        return _build_many(isos, data_dir, out_dir, state_dir, force, spec_dir, build_many, no_gadm, allow_review)
    iso3 = isos[0]
    steps = 2 * len(load_specs(iso3, spec_dir)) + 4
    with progress(total=steps, desc=iso3.upper(), unit="step") as bar:
        started = []

        def step_started(step):  # called as each step starts: the previous one is then done
            if started:
                bar.update(1)
            started.append(step)
            bar.set_postfix_str(step)

        summary = run(iso3, data_dir=data_dir, out_dir=out_dir, state_dir=state_dir, force=force,
                      spec_dir=spec_dir, progress=step_started)
        bar.update(1)
    _, errors = write_national(out_dir, data_dir, spec_dir)  # after the country: a failed build writes nothing
    logger.info("%s", summary.line())
    _warning_lines(summary)
    for e in errors:
        logger.warning("%s", e)
    if summary.in_review and not allow_review:  # finished, but a pipeline must not take it as final
        from . import ReviewPending

        logger.info("%s: %d row(s) wait for review in %s; exit status 3 (--allow-review: 0)", iso3.upper(),
                    summary.in_review, summary.paths.get("review", ""))
        raise ReviewPending(summary.as_dict())
    return summary.as_dict()


def _warning_lines(summary) -> None:
    """One console line per validation check with its count, one per source that failed to read."""
    for e in summary.source_errors:
        logger.warning("%s", e)
    for check, n in sorted(summary.warning_counts.items()):
        logger.warning("%s: %s %d row(s); details in %s", summary.iso3, check, n,
                       summary.paths.get("validation", f"{summary.iso3}_validation.csv"))


def _build_many(isos, data_dir, out_dir, state_dir, force, spec_dir, build_many, no_gadm, allow_review):
    from ..core.errors import GeolookupError
    from ..core.log import progress

    with progress(total=len(isos), desc="countries", unit="country") as bar:
        ws = build_many(isos, data_dir=data_dir, out_dir=out_dir, state_dir=state_dir, force=force,
                        spec_dir=spec_dir, progress=lambda iso, s: bar.update(1), no_gadm=no_gadm)
    for line in ws.table().splitlines():
        logger.info("%s", line)
    if ws.failed:
        raise GeolookupError(f"{len(ws.failed)} of {len(isos)} countries failed ({', '.join(sorted(ws.failed))}; "
                             "one line each in the summary above); the others were built")
    if any(s.in_review for s in ws.built) and not allow_review:  # as for one country: exit status 3
        from . import ReviewPending

        raise ReviewPending(ws.as_dict())
    return ws.as_dict()
