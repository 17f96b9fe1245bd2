"""The body of ``POST /v1/locate``: a JSON array of ``{lat, lon}`` or a GeoJSON FeatureCollection of
points (RFC 7946: coordinates ``[lon, lat]`` in degrees WGS84). Errors name the first bad element
(``body[3].lat``, ``features[3].geometry.coordinates``) and the fix."""

from __future__ import annotations

import math

import numpy as np
import orjson

from geolookup.core.errors import InputError


class BatchTooLarge(InputError):
    """More points than the configured batch limit (answered 413)."""


def _number(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _pairs(data) -> tuple[list, str]:
    """[(lon, lat) raw values] and the path prefix for errors."""
    if isinstance(data, list):
        try:
            return [(p["lon"], p["lat"]) for p in data], "body"
        except (TypeError, KeyError):
            i = next(i for i, p in enumerate(data) if not isinstance(p, dict) or "lat" not in p or "lon" not in p)
            raise InputError(f"body[{i}]: not an object with lat and lon; send [{{\"lat\": 41.9, \"lon\": 12.5}}, ...]"
                             ) from None
    if isinstance(data, dict) and data.get("type") == "FeatureCollection" and isinstance(data.get("features"), list):
        out = []
        for i, f in enumerate(data["features"]):
            g = f.get("geometry") if isinstance(f, dict) else None
            c = g.get("coordinates") if isinstance(g, dict) and g.get("type") == "Point" else None
            if not isinstance(c, list) or len(c) not in (2, 3):
                raise InputError(f"features[{i}].geometry: not a GeoJSON Point; every feature needs "
                                 "{\"type\": \"Point\", \"coordinates\": [lon, lat]}")
            out.append((c[0], c[1]))
        return out, "features"
    raise InputError("body: neither a JSON array of {lat, lon} nor a GeoJSON FeatureCollection; send one of them")


def parse_points(raw: bytes, max_batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse and check the body of ``POST /v1/locate``.

    Parameters
    ----------
    raw : bytes
        The request body: a JSON array of ``{"lat", "lon"}`` or a GeoJSON FeatureCollection of Points.
    max_batch : int
        Most points accepted.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``lon``, ``lat``: float64, shape (N,), degrees WGS84, input order.

    Raises
    ------
    InputError
        Malformed JSON, wrong shape, a value that is not a number, a point out of range; the message
        names the element (``body[3].lat``) and the fix.
    BatchTooLarge
        More than ``max_batch`` points.
    """
    try:
        data = orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"body: malformed JSON ({exc}); send a JSON array of {{lat, lon}} or a FeatureCollection"
                         ) from None
    pairs, where = _pairs(data)
    if len(pairs) > max_batch:
        raise BatchTooLarge(f"body: {len(pairs):,} points, more than the limit of {max_batch:,}; "
                            "split them over several requests")
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    ok = set(map(type, xs)) | set(map(type, ys)) <= {int, float}  # no text, bool, null, list (one pass in C)
    if ok:
        lon, lat = np.array(xs, dtype="float64"), np.array(ys, dtype="float64")
    if not ok:
        i, k = next((i, k) for i, p in enumerate(pairs) for k, v in zip(("lon", "lat"), p) if _number(v) is None)
        name = f"body[{i}].{k}" if where == "body" else f"features[{i}].geometry.coordinates"
        raise InputError(f"{name}: {pairs[i][0 if k == 'lon' else 1]!r} is not a number; give degrees WGS84")
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        name = f"body[{i}]" if where == "body" else f"features[{i}].geometry.coordinates"
        raise InputError(f"{name}: ({lat[i]}, {lon[i]}) is not a latitude/longitude in degrees; lat must lie in "
                         "[-90, 90] and lon in [-180, 180] (EPSG:4326)")
    return lon, lat
