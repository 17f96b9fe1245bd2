"""``geolookup areas``: GADM areas of one country with interior point, centroid and NUTS codes."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from ..core.errors import GeolookupError
from ..core.stdio import is_stdio, output_path
from ..core.tableio import atomic_dir_files, atomic_path, write_csv_atomic
from . import data_dir_option

logger = logging.getLogger(__name__)

FORMATS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".parquet": "GeoParquet", ".csv": "CSV"}
#: Shapefile field names are limited to 10 characters.
SHP_NAMES = {
    "latitude": "lat", "longitude": "lon", "centroid_latitude": "cen_lat", "centroid_longitude": "cen_lon",
    "nuts_method": "nuts_meth", "nuts_distance_km": "nuts_dist",
}


def _output_format(out: Path) -> str:
    """``out``'s lower-case extension; GeolookupError unless it is one of :data:`FORMATS`."""
    ext = out.suffix.lower()
    if ext not in FORMATS:
        raise GeolookupError(f"{out}: unknown output format {out.suffix or '(no extension)'!r}; "
                             f"use {', '.join(FORMATS)}")
    return ext


def write_areas(table: gpd.GeoDataFrame, out: Path, layer: str) -> None:
    """Write atomically in the format of ``out``'s extension: .gpkg (layer ``layer``), .shp (field
    names cut by :data:`SHP_NAMES`), .parquet (GeoParquet) or .csv (no geometry). Raises
    GeolookupError for any other extension."""
    ext = _output_format(out)
    if ext == ".csv":
        write_csv_atomic(pd.DataFrame(table.drop(columns="geometry")), out)
    elif ext == ".parquet":
        with atomic_path(out) as tmp:
            table.to_parquet(tmp, index=False)
    elif ext == ".gpkg":
        with atomic_path(out) as tmp:
            table.to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio")
    else:
        with atomic_dir_files(out) as tmp:
            table.rename(columns=SHP_NAMES).to_file(tmp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")


@click.command("areas")
@click.argument("iso3")
@click.option("--level", "gadm_level", type=int, required=True,
              help="GADM level (0 = country; Data Hub administrative_area_level = GADM level + 1).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              required=True, help="Output file; format from the extension: .gpkg, .shp, .parquet (GeoParquet), "
                                  ".csv (no geometry); - writes to stdout (CSV unless --format).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "gpkg"]), default=None,
              help="Output format for -o - (stdout); default csv.")
@click.option("--nuts-scale", default=None, help="GISCO NUTS scale (default from nuts/defaults.toml: 10M).")
@data_dir_option
def areas(iso3, gadm_level, output, fmt, nuts_scale, data_dir):
    """Write the GADM 3.6 areas of ISO3 at one GADM level with interior point (latitude/longitude),
    equal-area centroid and the NUTS 2021 codes of the interior point.

    Shapefiles shorten field names: lat, lon, cen_lat, cen_lon, nuts_meth, nuts_dist.
    """
    suffix = f".{fmt or 'csv'}" if is_stdio(output) else _output_format(output)  # before the slow part
    from ..api import areas as areas_of

    table = areas_of(iso3, gadm_level, nuts_scale=nuts_scale, data_dir=data_dir)
    iso = str(iso3).upper()
    with output_path(output, suffix) as target:
        write_areas(table, target, layer=f"gadm36_{iso}_{gadm_level}")
    methods = {k: int(table["nuts_method"].eq(k).sum()) for k in ("within", "nearest", "none")}
    logger.info("areas: %d GADM level-%d areas of %s written to %s; NUTS within %d, nearest %d, none %d",
                len(table), gadm_level, iso, output, methods["within"], methods["nearest"], methods["none"])
    return {"command": "areas", "country": iso, "gadm_level": gadm_level, "areas": len(table), "output": str(output),
            "nuts_method": methods}
