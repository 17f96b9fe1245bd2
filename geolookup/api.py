"""The Python API for notebooks, GIS scripts and pipelines: :func:`locate`, :func:`match`, :func:`areas`,
:func:`build`.

Each function is what the command of the same name does, on in-memory tables: the CLI and the HTTP
service call the same packages. All four are re-exported from ``geolookup``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from .core.errors import InputError
from .core.geodesy import lonlat_arrays

logger = logging.getLogger(__name__)

#: Column names taken as latitude / longitude when a DataFrame is given without lat_col / lon_col.
LAT_NAMES = ("lat", "latitude", "y")
LON_NAMES = ("lon", "lng", "long", "longitude", "x")


def _coordinates(points, lat_col, lon_col) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (degrees WGS84, float64, NaN where missing) of every row of ``points``."""
    if isinstance(points, gpd.GeoDataFrame) or isinstance(points, gpd.GeoSeries):
        geom = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geom.crs is None:
            raise InputError("points: the GeoDataFrame has no CRS; set it (e.g. points.set_crs('EPSG:4326'))")
        kinds = set(geom.geom_type.dropna().unique()) - {"Point"}
        if kinds:
            raise InputError(f"points: geometry holds {', '.join(sorted(kinds))}, not points; pass "
                             "points.representative_point() (a point on each geometry's surface)")
        geom = geom.to_crs(4326) if not geom.crs.equals("EPSG:4326") else geom
        empty = geom.isna() | geom.is_empty
        lon = np.where(empty, np.nan, geom.x.where(~empty)).astype("float64")
        lat = np.where(empty, np.nan, geom.y.where(~empty)).astype("float64")
        return lon, lat
    if isinstance(points, pd.DataFrame):
        lat_col = lat_col or next((c for c in points.columns if str(c).lower() in LAT_NAMES), None)
        lon_col = lon_col or next((c for c in points.columns if str(c).lower() in LON_NAMES), None)
        if lat_col is None or lon_col is None or lat_col not in points or lon_col not in points:
            raise InputError(f"points: no latitude/longitude columns among {list(points.columns)[:10]}; "
                             "pass lat_col= and lon_col=")
        lon = pd.to_numeric(points[lon_col], errors="coerce").to_numpy("float64", na_value=np.nan)
        lat = pd.to_numeric(points[lat_col], errors="coerce").to_numpy("float64", na_value=np.nan)
    else:
        try:
            lon, lat = points
            lon, lat = np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
        except (TypeError, ValueError):
            raise InputError("points: give a GeoDataFrame, a DataFrame with lat/lon columns, "
                             "or a pair of arrays (lon, lat)") from None
    return lonlat_arrays(lon, lat, "points")


def locate(points, gadm_level: int | None = None, nuts: bool = True, country: str | Sequence[str] | None = None,
           lat_col: str | None = None, lon_col: str | None = None, data_dir=None):
    """Add the GADM areas and NUTS 2021 regions that hold each point, as ``geopandas.sjoin`` users expect.

    Parameters
    ----------
    points : GeoDataFrame, DataFrame or (lon, lat)
        A GeoDataFrame of points (any CRS; reprojected to EPSG:4326), a DataFrame with latitude and
        longitude columns in degrees WGS84 (``lat``/``latitude``, ``lon``/``lng``/``longitude``, or
        ``lat_col``/``lon_col``), or a pair of array-likes of N longitudes and N latitudes.
    gadm_level : int, optional
        GADM level (0 = country; Data Hub administrative_area_level = GADM level + 1); default: the
        finest level GADM has for the country.
    nuts : bool
        Add ``nuts_0`` .. ``nuts_3``, ``nuts_method`` (``within``, ``nearest``, ``none``) and
        ``nuts_distance_km`` (km to the region, 0 within). The rule is the Data Hub paper's
        ("Spatial data": NUTS of the point); the nearest-region fallback covers coastal points just
        outside the coarse GISCO polygons.
    country : str or list of str, optional
        ISO3 code(s) whose GADM 3.6 areas are searched. Without it no GADM columns are added.
    lat_col, lon_col : str, optional
        Coordinate columns of a DataFrame.
    data_dir : path, optional
        Folder with the GADM/NUTS files (default ``$GEOLOOKUP_DATA``, then the cache, then a download).

    Returns
    -------
    DataFrame or GeoDataFrame
        The input rows in order (a DataFrame for arrays), with, for every GADM level 0..L, ``GID_k``
        and ``NAME_k`` (str, "" where no area holds the point), then the NUTS columns. A point on a
        shared boundary takes the first area in GADM's order; missing coordinates get "".

    Raises
    ------
    InputError
        Not points, no CRS, coordinates outside WGS84 degrees, missing coordinate columns.
    GeolookupError, DataNotFoundError
        Unknown country or level; GADM/NUTS files neither local nor downloadable.

    Examples
    --------
    >>> import geopandas as gpd, geolookup
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([12.49, 16.87], [41.90, 41.12]), crs=4326)
    >>> geolookup.locate(pts, country="ITA", gadm_level=2)[["GID_2", "NAME_2", "nuts_3"]]  # doctest: +SKIP
           GID_2 NAME_2 nuts_3
    0  ITA.8.4_1   Roma  ITI43
    1  ITA.2.1_1   Bari  ITF47
    """
    from . import gadm
    from . import nuts as nuts_pkg

    lon, lat = _coordinates(points, lat_col, lon_col)
    out = points.copy() if isinstance(points, pd.DataFrame) else pd.DataFrame(index=range(len(lon)))
    countries = [country] if isinstance(country, str) else list(country or [])
    added: dict[str, np.ndarray] = {}
    for iso in countries:
        level = gadm_level if gadm_level is not None else max(gadm.available_levels(iso, data_dir))
        areas = gadm.load_areas(iso, level, data_dir=data_dir)
        idx = gadm.locate(lon, lat, areas)
        for k in range(level + 1):
            for col, src in ((f"GID_{k}", f"gid_{k}"), (f"NAME_{k}", f"name_{k}")):
                values = np.append(areas[src].to_numpy(dtype=object), "")[idx]
                prev = added.get(col)
                added[col] = values if prev is None else np.where(prev == "", values, prev)
    for col, values in added.items():
        out[col] = pd.array(values, dtype="str")
    if nuts:
        # a point in a GADM country outside NUTS (Holy See, San Marino, Monaco) gets no NUTS code
        codes = nuts_pkg.assign_nuts(lon, lat, regions=nuts_pkg.load_nuts(None, data_dir=data_dir),
                                     country=added.get("GID_0"))
        for col in codes.columns:
            out[col] = codes[col].to_numpy()
    return out


def match(df: pd.DataFrame, country: str, gadm_level: int, name_col: str, **kwargs) -> pd.DataFrame:
    """Match provider place names (and codes, parents, points) to GADM 3.6 GIDs, as ``geolookup match`` does.

    Parameters
    ----------
    df : DataFrame
        One row per provider place.
    country : str
        ISO3 code.
    gadm_level : int
        GADM level of the places (Data Hub administrative_area_level minus 1).
    name_col : str
        Column of place names.
    **kwargs
        ``code_col``, ``parent_col``, ``lat_col``, ``lon_col``, ``geometry_col``, ``crosswalk``, ``source``,
        ``state_dir``, ``data_dir``: as the options of ``geolookup match`` (see
        :func:`geolookup.matching.match_places`).

    Returns
    -------
    DataFrame
        ``df``'s rows in order with the matcher's columns (``gid``, ``gid_parts``, ``match_status``
        accepted/review/unmatched, ``match_score``, ``match_method``, ``match_reason``, ``candidates``, ...),
        curators' decisions applied first.

    Raises
    ------
    InputError, GeolookupError
        Missing columns, unknown country or level.
    """
    from .curation import apply_decisions
    from .matching import match_places, provider_keys

    source = kwargs.pop("source", None) or "python"
    state_dir = kwargs.get("state_dir")
    res = match_places(df, country, gadm_level, name_col, source=source, **kwargs)
    keys = provider_keys(df, name_col, kwargs.get("code_col"), kwargs.get("parent_col"))
    return apply_decisions(res.assign(source=source, provider_key=list(keys)), state_dir=state_dir)


def areas(iso3: str, level: int, nuts_scale: str | None = None, data_dir=None) -> gpd.GeoDataFrame:
    """GADM 3.6 areas of one country at one GADM level, with interior point, centroid and NUTS 2021 codes.

    Parameters
    ----------
    iso3 : str
        ISO3 code.
    level : int
        GADM level (0 = country; Data Hub administrative_area_level = GADM level + 1).
    nuts_scale : str, optional
        GISCO scale (``"10M"`` default from nuts/defaults.toml, ``"20M"``, ``"1M"``).
    data_dir : path, optional
        Folder with the GADM/NUTS files.

    Returns
    -------
    GeoDataFrame
        One row per GADM area, EPSG:4326: the :func:`geolookup.gadm.load_areas` columns (``varnames`` and
        ``nl_names`` joined with "|"), ``latitude``/``longitude`` (GEOS PointOnSurface, degrees WGS84; the
        Data Hub paper's "Spatial data" rule), ``centroid_latitude``/``centroid_longitude`` (equal-area
        centroid, degrees), ``nuts_0``..``nuts_3``, ``nuts_method``, ``nuts_distance_km`` (NUTS of the interior
        point; countries outside NUTS get "" / "none" / NaN without reading NUTS files).

    Raises
    ------
    GeolookupError, DataNotFoundError
        As :func:`geolookup.gadm.load_areas` and :func:`geolookup.nuts.load_nuts`.
    """
    from . import gadm
    from . import nuts

    table = gadm.load_areas(iso3, level, data_dir=data_dir)
    lon, lat = gadm.interior_points(table.geometry)
    clon, clat = gadm.centroids(table.geometry)
    for col in ("varnames", "nl_names"):
        table[col] = table[col].map("|".join)
    geometry = table.pop("geometry")
    table["latitude"], table["longitude"] = lat, lon
    table["centroid_latitude"], table["centroid_longitude"] = clat, clon
    if str(iso3).upper() in nuts.nuts_countries():
        codes = nuts.assign_nuts(lon, lat, regions=nuts.load_nuts(nuts_scale, data_dir=data_dir))
    else:
        empty = pd.Series([""] * len(table), dtype="str")
        codes = pd.DataFrame({**{f"nuts_{k}": empty for k in range(4)}, "nuts_method": pd.Series(
            ["none"] * len(table), dtype="str"), "nuts_distance_km": np.full(len(table), np.nan)})
    out = pd.concat([table, codes], axis=1)
    return gpd.GeoDataFrame(out, geometry=geometry.values, crs="EPSG:4326")


def build(iso3: str, out_dir="out", **kwargs):
    """Build the lookup table of one country, as ``geolookup build`` does.

    Parameters
    ----------
    iso3 : str
        ISO3 code of a country with shipped source specs.
    out_dir : path
        Output folder (``<ISO3>.csv`` in the Data Hub's layout, provenance, SQLite, GeoPackage, shapefile,
        review queue, diff, validation report).
    **kwargs
        ``data_dir``, ``state_dir``, ``force``, ``spec_dir``: as the options of ``geolookup build``.

    Returns
    -------
    geolookup.pipeline.BuildSummary
        Rows, accepted, in review, warnings, paths of the outputs; ``as_dict()`` for JSON.

    Raises
    ------
    GeolookupError
        Missing data, a provider that stopped publishing stored rows (unless ``force``), invalid tables.
    """
    from .pipeline import build as run

    return run(iso3, out_dir=out_dir, **kwargs)
