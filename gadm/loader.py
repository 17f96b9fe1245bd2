"""Read GADM 3.6 archives as gadm.org distributes them and return one tidy table per GADM level.

Sources (see ``geolookup.core.datafiles`` for the lookup order): ``gadm36_{ISO}_gpkg.zip`` holding
``gadm36_{ISO}.gpkg`` with layers ``gadm36_{ISO}_{level}``, or ``gadm36_{ISO}_shp.zip`` holding
``gadm36_{ISO}_{level}.shp``. Both are read in place through GDAL's ``/vsizip/`` with pyogrio.
The GeoPackage is preferred; the shapefile archive is used when only it is local; otherwise the
GeoPackage is downloaded once from the official GADM 3.6 URL into the user cache.
"""

from __future__ import annotations

import functools
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pycountry
import pyogrio
import shapely

from geolookup.core import datafiles
from geolookup.core.errors import GeolookupError
from geolookup.core.geomrepair import GeometryRepairWarning, repair_invalid

SUBDIR = "gadm36"
#: GADM 3.6 country codes that are not ISO 3166-1 (disputed or special areas).
GADM_EXTRA_CODES = {"XAD", "XCA", "XCL", "XKO", "XNC", "XPI", "XSP"}
#: Attribute columns of the level-L layer, GADM name prefix -> our column.
ATTRS = {"VARNAME": "varnames", "NL_NAME": "nl_names", "TYPE": "type", "ENGTYPE": "engtype", "CC": "cc", "HASC": "hasc"}


def _check_iso3(iso3) -> str:
    iso = str(iso3).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", iso):
        raise GeolookupError(f"{iso3!r} is not an ISO3 country code; give three letters such as ITA or USA")
    return iso


def _local_isos(data_dir) -> list[str]:
    found = set()
    for cand in datafiles.local_candidates(SUBDIR, "x", data_dir):
        if cand.parent.is_dir():
            found |= {m.group(1) for p in cand.parent.glob("gadm36_*_*.zip")
                      if (m := re.fullmatch(r"gadm36_([A-Z]{3})_(gpkg|shp)\.zip", p.name))}
    return sorted(found)


def archive(iso3: str, data_dir=None, opener=None) -> tuple[Path, str]:
    """Locate (or download once) the GADM 3.6 archive of a country.

    Input: ISO3 code (case-insensitive), optional data folder, optional URL opener (tests).
    Output: (path to the zip, format "gpkg" or "shp"). Order: local gpkg, local shp, download of
    the gpkg from ``datafiles.GADM36_URL`` into the cache. Raises GeolookupError for a code that is
    neither ISO 3166-1 nor a GADM special code and not local (message lists local countries), and
    DataNotFoundError (file, URL, where to put it) when offline.
    """
    iso = _check_iso3(iso3)
    for fmt in ("gpkg", "shp"):
        found = datafiles.find_local(SUBDIR, f"gadm36_{iso}_{fmt}.zip", data_dir)
        if found is not None:
            return found, fmt
    if pycountry.countries.get(alpha_3=iso) is None and iso not in GADM_EXTRA_CODES:
        local = ", ".join(_local_isos(data_dir)) or "none"
        raise GeolookupError(
            f"unknown ISO3 code {iso!r} (not ISO 3166-1, no GADM file); countries with local GADM files: {local}"
        )
    name = f"gadm36_{iso}_gpkg.zip"
    return datafiles.fetch(SUBDIR, name, datafiles.GADM36_URL.format(fmt="gpkg", iso=iso), data_dir, opener), "gpkg"


def _vsi(path: Path, inner: str) -> str:
    return f"/vsizip/{path.resolve()}/{inner}"


@functools.lru_cache(maxsize=64)
def _stored_levels(path_str: str, fmt: str, iso: str, mtime: float) -> dict[int, str]:
    """GADM level -> GDAL dataset/layer spec stored in the archive."""
    path = Path(path_str)
    try:
        if fmt == "gpkg":
            layers = [str(n) for n in pyogrio.list_layers(_vsi(path, f"gadm36_{iso}.gpkg"))[:, 0]]
            pat = re.compile(rf"gadm36_{iso}_(\d)")
        else:
            layers = zipfile.ZipFile(path).namelist()
            pat = re.compile(rf"gadm36_{iso}_(\d)\.shp")
    except (pyogrio.errors.DataSourceError, zipfile.BadZipFile, OSError) as exc:
        raise GeolookupError(f"{path}: not a readable GADM 3.6 {fmt} archive ({exc}); download it again") from None
    levels = {int(m.group(1)): name for name in layers if (m := pat.fullmatch(name))}
    if not levels:
        raise GeolookupError(f"{path}: no GADM layer named gadm36_{iso}_<level> inside; is this a GADM 3.6 archive?")
    return levels


def _levels(path: Path, fmt: str, iso: str) -> list[int]:
    return list(range(max(_stored_levels(str(path), fmt, iso, path.stat().st_mtime)) + 1))


def available_levels(iso3: str, data_dir=None) -> list[int]:
    """GADM levels available for a country: those stored in its archive plus every coarser level
    derivable from them (0 .. finest stored level), sorted ascending. Raises as :func:`archive`."""
    path, fmt = archive(iso3, data_dir)
    return _levels(path, fmt, _check_iso3(iso3))


def _read_layer(path: Path, fmt: str, iso: str, layer: str) -> gpd.GeoDataFrame:
    if fmt == "gpkg":
        gdf = pyogrio.read_dataframe(_vsi(path, f"gadm36_{iso}.gpkg"), layer=layer)
    else:
        gdf = pyogrio.read_dataframe(_vsi(path, layer))
    if gdf.crs is None:
        raise GeolookupError(f"{path} layer {layer}: no coordinate reference system; GADM 3.6 ships EPSG:4326")
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    return _valid_multi(gdf, f"{path.name} layer {layer}")


def _valid_multi(gdf: gpd.GeoDataFrame, label: str | None = None) -> gpd.GeoDataFrame:
    """``gdf`` with invalid geometries repaired (geolookup.core.geomrepair; warns with ``label`` unless None) and
    single polygons made one-part MultiPolygons, as GADM's GeoPackage stores them (shapefiles do
    not)."""
    geoms, _ = repair_invalid(gdf.geometry.values, label, stacklevel=6)
    single = shapely.get_type_id(geoms) == 3
    if single.any():
        geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(int(single.sum())))
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))


def _text(s: pd.Series | None, n: int) -> list[str]:
    """Column as a list of str, "" for missing values (GADM ships NULL, NaN or "")."""
    if s is None:
        return [""] * n
    return s.astype(object).where(s.notna(), "").astype(str).tolist()


def _split(values: list[str]) -> list[list[str]]:
    return [[p.strip() for p in v.split("|") if p.strip()] for v in values]


def _tidy(src: gpd.GeoDataFrame, level: int) -> gpd.GeoDataFrame:
    """Build our columns for GADM level ``level`` from a layer of that level (or a dissolved finer one)."""
    n = len(src)
    col = lambda name: src[name] if name in src.columns else None  # noqa: E731
    out = {
        "gid": _text(col(f"GID_{level}"), n),
        "level": [level] * n,
        "parent_gid": _text(col(f"GID_{level - 1}"), n) if level > 0 else [""] * n,
        "name": _text(col(f"NAME_{level}"), n),
    }
    for prefix, ours in ATTRS.items():
        values = _text(col(f"{prefix}_{level}"), n)
        out[ours] = _split(values) if ours in ("varnames", "nl_names") else values
    for k in range(level + 1):
        out[f"gid_{k}"] = _text(col(f"GID_{k}"), n)
    for k in range(level + 1):
        out[f"name_{k}"] = _text(col(f"NAME_{k}"), n)
    df = pd.DataFrame(out)
    df["level"] = df["level"].astype("int64")
    return gpd.GeoDataFrame(df, geometry=src.geometry.values, crs="EPSG:4326")


@functools.lru_cache(maxsize=32)
def _load(iso: str, gadm_level: int, path_str: str, fmt: str, mtime: float) -> gpd.GeoDataFrame:
    path = Path(path_str)
    stored = _stored_levels(path_str, fmt, iso, mtime)
    if gadm_level in stored:
        return _tidy(_read_layer(path, fmt, iso, stored[gadm_level]), gadm_level)
    source_level = min(k for k in stored if k > gadm_level)
    src = _read_layer(path, fmt, iso, stored[source_level])
    key = f"GID_{gadm_level}"
    keep = [c for c in src.columns if c != "geometry" and re.fullmatch(r"[A-Z_]+_(\d)", c)
            and int(c.rsplit("_", 1)[1]) <= gadm_level]
    src = src[keep + ["geometry"]]
    src[key] = src[key].fillna("")
    dissolved = _valid_multi(src.dissolve(by=key, sort=False, aggfunc="first", as_index=False))
    return _tidy(dissolved.reset_index(drop=True), gadm_level)


def load_areas(iso3: str, gadm_level: int, data_dir=None) -> gpd.GeoDataFrame:
    """Load the GADM 3.6 areas of one country at one GADM level (GADM level 0 = country).

    Input: ISO3 code, GADM level (int; Data Hub administrative_area_level = GADM level + 1),
    optional data folder (else ``$GEOLOOKUP_DATA``, then the cache, then a one-time download).
    Output: GeoDataFrame, one row per GADM area, RangeIndex, EPSG:4326 degrees, columns
    ``gid`` (str, e.g. "ITA.2_1"), ``level`` (int64 GADM level), ``parent_gid`` (str, "" at level 0),
    ``name``, ``varnames`` (list[str]: VARNAME split on "|", [] when empty), ``nl_names`` (list[str]),
    ``type``, ``engtype``, ``cc``, ``hasc`` (str, "" when missing), ``gid_0..gid_L``, ``name_0..name_L``
    (str) and ``geometry`` (valid MultiPolygon, as GADM's GeoPackage stores it). Levels coarser
    than the stored ones are derived by dissolving the next finer stored layer on ``GID_L`` (GADM's
    own hierarchy columns; attributes GADM keeps only for a layer's own level, such as VARNAME_L,
    are then "" / []). Invalid
    geometry is repaired with ``shapely.make_valid`` and counted in a GeometryRepairWarning.
    Results are cached per (ISO3, level, file); each call returns a copy.
    Raises GeolookupError (bad/unknown ISO3; a level not available — the message lists the
    available GADM levels) and DataNotFoundError (archive neither local nor downloadable).
    """
    iso = _check_iso3(iso3)
    path, fmt = archive(iso, data_dir)
    levels = _levels(path, fmt, iso)
    try:
        level = int(gadm_level)
    except (TypeError, ValueError):
        raise GeolookupError(f"GADM level {gadm_level!r} is not an integer; available GADM levels for {iso}: "
                             f"{', '.join(map(str, levels))}") from None
    if level not in levels:
        raise GeolookupError(
            f"GADM level {level} is not available for {iso} in {path.name}; available GADM levels: "
            f"{', '.join(map(str, levels))}"
        )
    return _load(iso, level, str(path), fmt, path.stat().st_mtime).copy()


__all__ = ["load_areas", "available_levels", "archive", "GeometryRepairWarning"]
