"""A picture of a review queue, because curators look rather than read (issue 5, deliverable 5).

``write_review_map(iso3, "map.png")`` draws, with matplotlib (Agg backend, no display needed):

- an overview of the country's GADM areas (grey) with every queued entity numbered at its
  provider point (red dot) or, without coordinates, at its top candidate (hollow square), and the
  top candidate area of each entity tinted;
- one zoomed panel per queued entity (the first :data:`MAX_PANELS`): the surrounding areas, the
  candidate areas highlighted (candidate 1 orange, the others blue outlines) and labelled
  "k. name, score, distance", and the provider point with the provider's name.

Coordinates are plotted in degrees with the aspect set to 1/cos(latitude), so shapes look right
at the latitude of the country. ``.html`` output is a standalone page: the PNG embedded as base64
and the queue as an HTML table.
"""

from __future__ import annotations

import base64
import textwrap
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.patheffects as pe  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from geolookup.core.errors import GeolookupError  # noqa: E402
from geolookup.core.tableio import atomic_path, write_text_atomic  # noqa: E402

from .areas import AreaIndex  # noqa: E402
from .queue import N_CANDIDATES, build_queue  # noqa: E402

MAX_PANELS = 12
PANEL_RATIO, OVERVIEW_RATIO = 1.25, 2.0
NEAR_KM = 30.0
SIMPLIFY_DEG = 0.002  # ~200 m: invisible at panel scale, makes full-resolution GADM fast to draw


def _short(text, n):
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"
HALO = [pe.withStroke(linewidth=3, foreground="white")]
CAND1_COLOR, CAND_COLOR, POINT_COLOR = "#f28e2b", "#4e79a7", "#d62728"


def _extent(geoms, lon, lat, ratio, pad=0.15, min_span=0.4):
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


def _paths(geoms) -> list:
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


def _draw(ax, geoms, facecolor="none", edgecolor="white", linewidth=0.4, alpha=1.0, linestyle="-", zorder=1):
    """Add polygons to ``ax`` as one PathCollection (direct matplotlib: no per-call figure redraw)."""
    paths = _paths(geoms)
    if paths:
        ax.add_collection(PathCollection(paths, facecolors=facecolor, edgecolors=edgecolor, linewidths=linewidth,
                                         alpha=alpha, linestyles=linestyle, zorder=zorder))


def _frame(ax, ext):
    x0, x1, y0, y1 = ext
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1 / max(np.cos(np.radians((y0 + y1) / 2)), 0.2), adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def _background(ax, areas, ext, lw=0.4):
    x0, x1, y0, y1 = ext
    sub = areas.cx[x0:x1, y0:y1]
    _draw(ax, sub.geometry.to_numpy(), facecolor="#e6e6e6", edgecolor="white", linewidth=lw, zorder=1)
    return sub


def _candidate_geoms(q: pd.DataFrame, areas: AreaIndex) -> pd.DataFrame:
    cols = [f"cand{k}_gid" for k in range(1, N_CANDIDATES + 1)]
    info = areas.describe(q[cols].to_numpy(object).ravel())
    return info["geometry"].to_numpy(object).reshape(len(q), N_CANDIDATES)


def _fmt(v, spec):
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA else format(v, spec)


def _panel(ax, i, r, geoms, areas_gdf):
    lon, lat = r["longitude"], r["latitude"]
    present = [(k, g) for k, g in enumerate(geoms) if g is not None]
    # zoom on the provider point and candidate 1 (plus candidates within NEAR_KM); farther ones are listed
    has_point = bool(np.isfinite(lon) and np.isfinite(lat))
    first_geom = geoms[0]
    near = [g for k, g in present if k == 0 or (r[f"cand{k + 1}_distance_km"] <= NEAR_KM if has_point else
            first_geom is not None and shapely.distance(g, first_geom) * 111.0 <= NEAR_KM)]
    ext = _extent(near, [lon], [lat], ratio=PANEL_RATIO)
    title = f"#{i} {_short(r['name'], 24)}" + (f" ({_short(r['parent'], 14)})" if r["parent"] else "")
    ax.set_title(title, fontsize=10, fontweight="bold", loc="left")
    sub = f"{r['source']} {r['provider_key']} · {r['status']} {_fmt(r['score'], '.0f')}"
    if ext is None:
        ax.text(0.5, 0.5, "no coordinates and no candidate:\nnot placeable", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#555")
        ax.set_axis_off()
        ax.text(0, -0.04, sub, transform=ax.transAxes, fontsize=8, va="top", color="#333")
        return
    _background(ax, areas_gdf, ext)
    far = []
    for k, g in reversed(present):  # candidate 1 drawn last, on top
        first = k == 0
        if ext is not None and not shapely.intersects(g, shapely.box(ext[0], ext[2], ext[1], ext[3])):
            d = _fmt(r[f"cand{k + 1}_distance_km"], ".0f")
            far.insert(0, f"{k + 1}. {_short(r[f'cand{k + 1}_name'], 14)}" + (f" {d} km" if d else ""))
            continue
        if first:
            _draw(ax, [g], facecolor=CAND1_COLOR, edgecolor="none", alpha=0.45, zorder=3)
            _draw(ax, [g], edgecolor=CAND1_COLOR, linewidth=2, zorder=3)
        else:
            _draw(ax, [g], edgecolor=CAND_COLOR, linewidth=1.4, linestyle="--", zorder=2)
        p = shapely.point_on_surface(g)
        label = f"{k + 1}. {r[f'cand{k + 1}_name']}\n{_fmt(r[f'cand{k + 1}_score'], '.0f')}"
        d = r[f"cand{k + 1}_distance_km"]
        if np.isfinite(d):
            label += f" · {d:.0f} km" if d >= 1 else " · inside"
        ax.text(p.x, p.y, label, fontsize=8 if first else 7, ha="center", va="center", zorder=5,
                color="#7a3b00" if first else "#1f3b5a", path_effects=HALO, fontweight="bold" if first else None)
    if np.isfinite(lon) and np.isfinite(lat):
        ax.plot([lon], [lat], marker="o", ms=8, color=POINT_COLOR, mec="white", mew=1.5, zorder=6)
        ax.annotate(r["name"], (lon, lat), xytext=(6, 6), textcoords="offset points", fontsize=9, color=POINT_COLOR,
                    fontweight="bold", path_effects=HALO, zorder=7)
    else:
        sub += " · no coordinates"
    _frame(ax, ext)
    if far:
        sub += "\n" + "\n".join(textwrap.wrap("off map: " + ", ".join(far), 52)[:2])
    ax.text(0, -0.04, sub, transform=ax.transAxes, fontsize=8, va="top", color="#333")


def _overview(ax, q, geoms, areas_gdf, iso3):
    lon, lat = q["longitude"].to_numpy(float), q["latitude"].to_numpy(float)
    ext = _extent([g[0] for g in geoms if g[0] is not None], lon, lat, ratio=OVERVIEW_RATIO, pad=0.05, min_span=1.0)
    if ext is None:
        ext = _extent([shapely.box(*areas_gdf.total_bounds)], [], [], ratio=OVERVIEW_RATIO, pad=0.02)
    _background(ax, areas_gdf, ext, lw=0.2)
    cmap = plt.get_cmap("tab10")
    firsts = [(i, g[0]) for i, g in enumerate(geoms) if g[0] is not None]
    if firsts:
        colors = [cmap(i % 10) for i, _ in firsts]
        for (_, g), c in zip(firsts, colors):
            _draw(ax, [g], facecolor=c, edgecolor="#555", linewidth=0.5, alpha=0.5, zorder=2)
    for i in range(len(q)):
        x, y, hollow = lon[i], lat[i], False
        if not (np.isfinite(x) and np.isfinite(y)):
            if geoms[i][0] is None:
                continue
            p = shapely.point_on_surface(geoms[i][0])
            x, y, hollow = p.x, p.y, True
        ax.plot([x], [y], marker="s" if hollow else "o", ms=7, mfc="white" if hollow else POINT_COLOR,
                mec=POINT_COLOR, mew=1.5, zorder=4)
        ax.annotate(str(i + 1), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=8, fontweight="bold",
                    path_effects=HALO, zorder=5)
    _frame(ax, ext)
    ax.set_title(f"{iso3}: {len(q)} entities to review — red dot = provider point, hollow square = no "
                 "coordinates (shown at candidate 1), tint = candidate 1", fontsize=11, loc="left")


def _panel_order(q, geoms) -> list[int]:
    """Entities most worth a close look first: with a provider point, then with candidates; review
    before unmatched; higher score first. Stable otherwise."""
    has_point = q["latitude"].notna().to_numpy() & q["longitude"].notna().to_numpy()
    has_cand = np.array([g[0] is not None for g in geoms], bool)
    key = pd.DataFrame({"p": ~has_point, "c": ~has_cand, "s": q["status"].to_numpy() != "review",
                        "score": -q["score"].fillna(0).to_numpy()})
    order = key.sort_values(["p", "c", "s", "score"], kind="stable").index
    return [i for i in order if has_point[i] or has_cand[i]]  # nothing to draw for the rest


def render_review_map(q: pd.DataFrame, iso3: str, data_dir=None, areas: AreaIndex | None = None):
    """A matplotlib Figure for a queue (from :func:`curation.queue.build_queue`). The background
    is the country's GADM level most entities are matched at."""
    areas = areas or AreaIndex(data_dir)
    levels = pd.to_numeric(q["gadm_level"], errors="coerce").dropna().astype(int)
    level = int(levels.mode().iloc[0]) if len(levels) else 1
    try:
        areas_gdf = areas.areas(iso3, level)
    except GeolookupError:
        areas_gdf = areas.areas(iso3, 1)
    areas_gdf = areas_gdf[["gid", "geometry"]].copy()
    areas_gdf["geometry"] = shapely.simplify(areas_gdf.geometry.to_numpy(), SIMPLIFY_DEG, preserve_topology=True)
    geoms = _candidate_geoms(q, areas) if len(q) else np.empty((0, N_CANDIDATES), object)
    geoms = np.where(pd.isna(geoms), None, geoms)
    present = geoms != None  # noqa: E711
    geoms[present] = shapely.simplify(geoms[present].astype(object), SIMPLIFY_DEG, preserve_topology=True)
    order = _panel_order(q, geoms) if len(q) else []
    n_panels = min(len(order), MAX_PANELS)
    ncols = 4
    nrows = -(-n_panels // ncols)
    fig = plt.figure(figsize=(16, 8.5 + 4.2 * nrows), dpi=100)
    gs = fig.add_gridspec(1 + nrows, ncols, height_ratios=[8.5] + [4.2] * nrows, hspace=0.3, wspace=0.06)
    _overview(fig.add_subplot(gs[0, :]), q, geoms, areas_gdf, iso3)
    for slot, i in enumerate(order[:n_panels]):
        _panel(fig.add_subplot(gs[1 + slot // ncols, slot % ncols]), i + 1, q.iloc[i], geoms[i], areas_gdf)
    if len(q) > n_panels:
        fig.text(0.01, 0.005, f"{len(q) - n_panels} more entities have no panel ({len(q) - len(order)} with neither "
                 "coordinates nor candidates); see the queue CSV or the .html table.", fontsize=9)
    return fig


def _html(q: pd.DataFrame, iso3: str, png: bytes) -> str:
    cols = ["source", "provider_key", "name", "parent", "status", "score", "latitude", "longitude"]
    for k in range(1, 4):
        cols += [f"cand{k}_gid", f"cand{k}_name", f"cand{k}_score", f"cand{k}_distance_km"]
    table = q[cols].copy()
    table.insert(0, "#", range(1, len(q) + 1))
    body = table.to_html(index=False, escape=True, na_rep="", float_format=lambda v: f"{v:.1f}", border=0)
    title = html.escape(f"geolookup review queue: {iso3}")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + title + "</title>"
        "<style>body{font-family:sans-serif;margin:1em}img{max-width:100%}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}tr:nth-child(even){background:#f6f6f6}"
        "</style></head><body><h1>" + title + "</h1>"
        f"<p>{len(q)} entities. Numbers on the map are the # column.</p>"
        "<img alt=\"review map\" src=\"data:image/png;base64," + base64.b64encode(png).decode("ascii") + "\">"
        + body + "</body></html>\n"
    )


def write_review_map(iso3: str, out_path, state_dir=None, data_dir=None, include_all: bool = False) -> int:
    """Draw the review queue of ``iso3`` to ``out_path`` (.png, or .html = PNG embedded + queue
    table), written atomically. Returns the number of queued entities. Raises GeolookupError for
    another extension, and as :func:`curation.queue.build_queue` does."""
    out_path = Path(out_path)
    ext = out_path.suffix.lower()
    if ext not in (".png", ".html", ".htm"):
        raise GeolookupError(f"{out_path}: the review map is written as .png or .html; change the file name")
    areas = AreaIndex(data_dir)
    q = build_queue(iso3, state_dir=state_dir, data_dir=data_dir, include_all=include_all, areas=areas)
    fig = render_review_map(q, iso3.upper(), areas=areas)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    if ext == ".png":
        with atomic_path(out_path) as tmp:
            tmp.write_bytes(buf.getvalue())
    else:
        write_text_atomic(out_path, _html(q, iso3.upper(), buf.getvalue()))
    return len(q)
