"""``geolookup enrich``: add the containing GADM GID and NUTS codes to every row of a point file or dataset.

Reads CSV, Parquet (a file or a folder of files), GeoParquet, GeoPackage, GeoJSON or FlatGeobuf in
streamed chunks (files larger than memory work); keeps every input column, in order and unchanged;
writes atomically. ``--engine dask`` runs the same code on a Dask cluster (geolookup.enrich).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from ..core.errors import InputError
from ..core.stdio import input_path, is_stdio, output_path
from . import data_dir_option

logger = logging.getLogger(__name__)


@click.command("enrich")
@click.argument("points", type=click.Path(path_type=Path))
@click.option("--lat-col", default=None, help="Column of latitudes (or y/northing with --crs); not needed with point geometry.")
@click.option("--lon-col", default=None, help="Column of longitudes (or x/easting with --crs).")
@click.option("--country", default=None,
              help="ISO3 code: add the GID of the containing GADM 3.6 area; a country outside NUTS gets no NUTS code.")
@click.option("--gadm-level", type=int, default=None, help="GADM level for --country (default: finest available).")
@click.option("--nuts-level", type=click.IntRange(0, 3), default=3, show_default=True,
              help="Add NUTS codes of levels 0..N.")
@click.option("--no-nuts", is_flag=True, help="Do not add NUTS codes.")
@click.option("--nuts-scale", default=None, help="GISCO NUTS scale (default from nuts/defaults.toml: 10M).")
@click.option("--crs", default="EPSG:4326", show_default=True,
              help="CRS of --lat-col/--lon-col (and of a geometry file that declares none).")
@click.option("--representative-point", is_flag=True,
              help="For polygon or line geometry: use each geometry's point on surface.")
@click.option("--chunk-size", type=click.IntRange(1), default=250_000, show_default=True, help="Rows per chunk.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: this process; dask: one task per file of a Parquet dataset (-o is a folder).")
@click.option("--scheduler", default=None, help="Dask scheduler address (tcp://host:8786); default: a LocalCluster.")
@click.option("--workers", type=click.IntRange(1), default=None, help="LocalCluster worker processes (default: CPUs).")
@click.option("--timeout", type=click.FloatRange(0.1), default=30.0, show_default=True,
              help="Seconds to wait for the Dask scheduler.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Output .csv, .parquet, .gpkg, .fgb, .geojson, a folder (Parquet dataset), or - (CSV on "
                   "stdout); written atomically.")
@data_dir_option
def enrich(points, lat_col, lon_col, country, gadm_level, nuts_level, no_nuts, nuts_scale, crs, representative_point,
           chunk_size, engine, scheduler, workers, timeout, output, data_dir):
    """Add to every row of POINTS the GID of the GADM area containing it (with --country) and its
    NUTS 2021 codes, keeping all columns in order; ends with a summary.

    POINTS is a CSV (or - for CSV on stdin) or Parquet file with --lat-col/--lon-col, a GeoParquet, GeoPackage, GeoJSON or
    FlatGeobuf file with point geometry (any CRS), or a folder of Parquet files read as one dataset.

    \b
    Example:
      geolookup enrich gps/ --engine dask --workers 4 -o gps_nuts/
    """
    from geolookup.enrich import Enricher, Options, run

    if gadm_level is not None and not country:
        raise InputError("--gadm-level needs --country ISO3 (the country whose GADM areas to use)")
    if scheduler and workers:
        raise InputError("give --scheduler (a running cluster) or --workers (a local one), not both")
    if engine == "local" and (scheduler or workers):
        raise InputError("--scheduler and --workers need --engine dask")
    from ..core.paths import refuse_overwrite

    refuse_overwrite(output, [points])  # -o equal to POINTS would replace the input
    opts = Options(lat_col=lat_col, lon_col=lon_col, crs=crs, representative_point=representative_point,
                   chunk_size=chunk_size)
    opts.transformer()  # a bad --crs stops before any data is loaded
    enricher = Enricher(country, gadm_level, None if no_nuts else nuts_level, nuts_scale, data_dir)
    if is_stdio(output) and engine == "dask":
        raise InputError("--engine dask writes a dataset folder; give a folder as -o, not -")
    with input_path(points) as src, output_path(output) as out:
        counts = run(src, out, enricher, opts, engine, scheduler, workers, timeout)
    located = counts["rows"] - counts["missing"]
    parts = [f"enrich: {counts['rows']} rows written to {output}", f"{counts['missing']} without coordinates"]
    if enricher.gadm is not None:
        parts.append(f"GADM {enricher.country} level {enricher.gadm_level}: {counts['gid']} of {located} in an area")
    if enricher.nuts is not None:
        parts.append(f"NUTS {nuts_level}: {counts['within']} within, {counts['nearest']} nearest, "
                     f"{counts['none']} none")
    logger.info("; ".join(parts))
    summary = {"output": str(output), "engine": engine, **counts}
    if enricher.gadm is None:
        summary.pop("gid")
    return summary
