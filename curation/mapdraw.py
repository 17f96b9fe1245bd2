"""Drawing primitives for the review map: extents, polygons as one PathCollection, background areas.

Coordinates are degrees (EPSG:4326); the axes' aspect is 1/cos(latitude) so shapes look right at the
latitude of the country.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.patheffects as pe  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

HALO = [pe.withStroke(linewidth=3, foreground="white")]
CAND1_COLOR, CAND_COLOR, POINT_COLOR = "#f28e2b", "#4e79a7", "#d62728"


def short(text, n):
    """``text`` cut to ``n`` characters with an ellipsis."""
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def extent(geoms, lon, lat, ratio, pad=0.15, min_span=0.4):
    """(xmin, xmax, ymin, ymax) covering the geometries and points, padded and widened to the
    axes' width/height ``ratio`` (x measured in km-like units: degrees times cos(latitude))."""
    boxes = [shapely.bounds(g) for g in geoms if g is not None]
    xs = [b[0] for b in boxes] + [b[2] for b in boxes] + [x for x in lon if np.isfinite(x)]
    ys = [b[1] for b in boxes] + [b[3] for b in boxes] + [y for y in lat if np.isfinite(y)]
    if not xs:
        return None
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    k = max(np.cos(np.radians(cy)), 0.2)
    w, h = max((x1 - x0) * k, min_span * k), max(y1 - y0, min_span * k)
    w, h = max(w, h * ratio) * (1 + 2 * pad), max(h, w / ratio) * (1 + 2 * pad)
    return cx - w / 2 / k, cx + w / 2 / k, cy - h / 2, cy + h / 2


def paths(geoms) -> list:
    """Shapely (Multi)Polygons -> matplotlib Paths (one per polygon part, holes included)."""
    out = []
    parts = shapely.get_parts(np.asarray([g for g in geoms if g is not None], dtype=object))
    for poly in parts:
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        rings = [np.asarray(poly.exterior.coords)] + [np.asarray(r.coords) for r in poly.interiors]
        verts = np.concatenate(rings)
        codes = np.concatenate([[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2) + [MplPath.CLOSEPOLY] for r in rings])
        out.append(MplPath(verts, codes))
    return out


def draw(ax, geoms, facecolor="none", edgecolor="white", linewidth=0.4, alpha=1.0, linestyle="-", zorder=1):
    """Add polygons to ``ax`` as one PathCollection (direct matplotlib: no per-call figure redraw)."""
    found = paths(geoms)
    if found:
        ax.add_collection(PathCollection(found, facecolors=facecolor, edgecolors=edgecolor, linewidths=linewidth,
                                         alpha=alpha, linestyles=linestyle, zorder=zorder))


def frame(ax, ext):
    x0, x1, y0, y1 = ext
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1 / max(np.cos(np.radians((y0 + y1) / 2)), 0.2), adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def background(ax, areas, ext, lw=0.4):
    x0, x1, y0, y1 = ext
    sub = areas.cx[x0:x1, y0:y1]
    draw(ax, sub.geometry.to_numpy(), facecolor="#e6e6e6", edgecolor="white", linewidth=lw, zorder=1)
    return sub
