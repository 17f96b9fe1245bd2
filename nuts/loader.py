"""Read NUTS regions from Eurostat GISCO files under their published names.

GISCO names files ``NUTS_RG_{scale}_{year}_{epsg}.geojson`` (all levels in one file) or
``NUTS_RG_{scale}_{year}_{epsg}_LEVL_{n}.geojson`` (one file per level). Lookup order for a
(scale, year): EPSG:4326 all-levels file, EPSG:4326 per-level files, then the same for EPSG:3857
and EPSG:3035 (reprojected to EPSG:4326 from the CRS the file declares), each in the data folder
or the user cache; else a one-time download of the EPSG:4326 all-levels file from GISCO.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from geolookup.core import config, datafiles
from geolookup.core.errors import GeolookupError, InputError
from geolookup.core.geomrepair import GeometryRepairWarning, repair_invalid  # noqa: F401 (re-exported)

SUBDIR = "nuts"
LEVELS = (0, 1, 2, 3)
COLUMNS = ["NUTS_ID", "LEVL_CODE", "CNTR_CODE", "NAME_LATN", "NUTS_NAME", "geometry"]


def gisco_name(scale: str, year: int, epsg: int = 4326, level: int | None = None) -> str:
    """GISCO file name, e.g. ``NUTS_RG_10M_2021_4326.geojson`` or ``..._4326_LEVL_3.geojson``."""
    suffix = "" if level is None else f"_LEVL_{level}"
    return f"NUTS_RG_{scale}_{year}_{epsg}{suffix}.geojson"


def _read(path: Path):
    import pyogrio  # (geopandas, pandas and GDAL load only when a file is read: a cached index needs none)

    try:
        gdf = pyogrio.read_dataframe(path)
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"{path}: not a readable GeoJSON file ({exc}); download it again from GISCO") from None
    missing = [c for c in ("NUTS_ID", "LEVL_CODE") if c not in gdf.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; is this a GISCO NUTS file?")
    if gdf.crs is None:
        raise InputError(f"{path}: no coordinate reference system declared; use the GISCO file as published")
    b = gdf.total_bounds
    if gdf.crs.is_geographic and len(gdf) and (np.abs(b[[0, 2]]).max() > 180 or np.abs(b[[1, 3]]).max() > 90):
        raise InputError(f"{path}: declares {gdf.crs.to_string()} but its coordinates are not degrees "
                         "(projected metres?); fix the file's CRS")
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    return gdf


def _files(scale: str, year: int, data_dir) -> list[Path] | None:
    for epsg in (4326, 3857, 3035):
        one = datafiles.find_local(SUBDIR, gisco_name(scale, year, epsg), data_dir)
        if one is not None:
            return [one]
        per = [datafiles.find_local(SUBDIR, gisco_name(scale, year, epsg, lv), data_dir) for lv in LEVELS]
        if all(per):
            return per
    return None


@functools.lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]):
    import geopandas as gpd
    import pandas as pd

    frames = [_read(Path(p)) for p in paths]
    gdf = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    label = paths[0] if len(paths) == 1 else paths[0].replace("_LEVL_0.", "_LEVL_*.")
    try:
        gdf["LEVL_CODE"] = pd.to_numeric(gdf["LEVL_CODE"]).astype("int64")
    except (ValueError, TypeError):
        raise InputError(f"{label}: column LEVL_CODE is not an integer 0-3; is this a GISCO NUTS file?") from None
    gdf["NUTS_ID"] = gdf["NUTS_ID"].astype(str).str.strip()
    dup = gdf["NUTS_ID"][gdf["NUTS_ID"].duplicated()]
    if len(dup):
        raise InputError(f"{label}: NUTS_ID {dup.iloc[0]!r} appears more than once; "
                         "use one GISCO file per level or the all-levels file")
    if "CNTR_CODE" not in gdf.columns:
        gdf["CNTR_CODE"] = gdf["NUTS_ID"].str[:2]
    for col in ("NAME_LATN", "NUTS_NAME"):
        gdf[col] = gdf[col].fillna("").astype(str) if col in gdf.columns else ""
    fixed, count = repair_invalid(gdf.geometry.values, label, stacklevel=5)
    if count:
        gdf = gdf.set_geometry(gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs))
    gdf = gdf[COLUMNS].sort_values(["LEVL_CODE", "NUTS_ID"], kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(gdf, geometry="geometry", crs="EPSG:4326")


def source_files(scale: str | None = None, year: int | None = None, data_dir=None, opener=None) -> list[Path]:
    """The GISCO file(s) :func:`load_nuts` reads for a scale and year (defaults from nuts/defaults.toml),
    in the lookup order of the module docstring, downloading the all-levels file once if none is local.
    Raises GeolookupError for a scale that is not GISCO's, DataNotFoundError when offline."""
    settings = config.section("nuts")
    scale = str(scale or settings.get("scale", "10M")).upper()
    year = int(year or settings.get("year", 2021))
    if not re.fullmatch(r"\d\dM", scale):
        raise GeolookupError(f"NUTS scale {scale!r} is not a GISCO scale; use 01M, 03M, 10M, 20M or 60M")
    paths = _files(scale, year, data_dir)
    if paths is None:
        name = gisco_name(scale, year)
        paths = [datafiles.fetch(SUBDIR, name, datafiles.GISCO_NUTS_URL.format(name=name), data_dir, opener)]
    return paths


def load_nuts(scale: str | None = None, year: int | None = None, data_dir=None, opener=None):
    """Load NUTS regions of all levels 0-3 from GISCO files.

    Input: GISCO scale ("01M", "03M", "10M", "20M", "60M"; default from nuts/defaults.toml,
    "10M"), NUTS year (default 2021), optional data folder and URL opener (tests).
    Output: GeoDataFrame, one row per NUTS region, RangeIndex, sorted by LEVL_CODE then NUTS_ID,
    columns ``NUTS_ID`` (str), ``LEVL_CODE`` (int64 0-3), ``CNTR_CODE``, ``NAME_LATN``,
    ``NUTS_NAME`` (str) and ``geometry`` in EPSG:4326 (files in another CRS are reprojected from
    the CRS they declare). Cached per file set; each call returns a copy.
    Raises DataNotFoundError (file, URL, where to put it) when neither local nor downloadable,
    InputError for a malformed file (missing columns, no CRS, degrees/metres mix-up, duplicate ids).
    """
    paths = source_files(scale, year, data_dir, opener)
    return _load(tuple(str(p) for p in paths)).copy()
