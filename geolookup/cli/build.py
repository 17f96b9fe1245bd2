"""``geolookup build ISO3``: the main job, provider files -> Data Hub-compatible lookup tables."""

from __future__ import annotations

import logging

import click

from . import data_dir_option, state_dir_option

logger = logging.getLogger(__name__)


@click.command("build")
@click.argument("iso3")
@data_dir_option
@click.option("-o", "--out", "out_dir", default="out", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Output folder for <ISO3>.csv and the sidecars.")
@state_dir_option
@click.option("--force", is_flag=True, help="Keep rows a provider no longer publishes (flagged) instead of stopping.")
@click.option("--specs", "spec_dir", default=None, type=click.Path(file_okay=False, exists=True, path_type=str),
              help="Folder of source-spec TOML files replacing the shipped ones (lookup/sources).")
def build(iso3, data_dir, out_dir, state_dir, force, spec_dir):
    """Build the lookup table of country ISO3 from the shipped source specs.

    Writes OUT/ISO3.csv (Data Hub layout), OUT/ISO3_provenance.csv, OUT/lookup.sqlite,
    OUT/ISO3_areas.gpkg/.shp, the review queue OUT/ISO3_review.csv, the diff OUT/ISO3_diff.csv,
    the validation report OUT/ISO3_validation.csv, and STATE/matches/ISO3.csv.
    """
    from ..core.log import progress

    from ..pipeline import build as run
    from geolookup.lookup.specs import load_specs

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
    logger.info("%s", summary.line())
    return summary.as_dict()
