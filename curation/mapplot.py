"""A picture of a review queue, because curators look rather than read.

``write_review_map(iso3, "map.pdf")`` draws, with matplotlib (Agg backend, no display needed):

- an overview page: the country's GADM areas (grey), every queued entity at its provider point (red
  dot) or, without coordinates, at its first candidate (hollow square), numbered with its row in the
  queue spreadsheet (header = row 1, first entity = row 2), labels kept apart
  (:mod:`curation.maplabels`), and each entity's first candidate area tinted;
- as many panel pages as needed for one panel per entity, in spreadsheet order: the surrounding
  areas, the candidate areas (candidate 1 orange, the others blue outlines) labelled "k. name, score,
  distance", the provider point with the provider's name. Only candidates of the entity's own GADM
  level are drawn (a territory's areas one level shallower, minted ids one level deeper, as the import
  accepts them); others are listed as "other level".

Coordinates are degrees with the aspect set to 1/cos(latitude). ``.pdf`` holds every page;
``.png`` is the overview, with the panel pages beside it as ``<name>-2.png``, ``<name>-3.png``, ...;
``.html`` is a standalone page with every page embedded and the queue as a table.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from geolookup.core.errors import GeolookupError  # noqa: E402
from geolookup.core.tableio import atomic_path, write_text_atomic  # noqa: E402
from geolookup.gadm.gids import gid_country, is_minted  # noqa: E402

from .areas import AreaIndex  # noqa: E402
from .mapdraw import CAND1_COLOR, CAND_COLOR, POINT_COLOR, background, draw, extent, frame, short  # noqa: E402
from .maplabels import place_labels  # noqa: E402
from .queue import N_CANDIDATES, build_queue  # noqa: E402
from .territories import territories  # noqa: E402

PANEL_ROWS, PANEL_COLS = 3, 4
PANELS_PER_PAGE = PANEL_ROWS * PANEL_COLS
PANEL_RATIO, OVERVIEW_RATIO = 1.25, 2.0
NEAR_KM = 30.0
SIMPLIFY_DEG = 0.002  # ~200 m: invisible at panel scale, makes full-resolution GADM fast to draw
FIRST_ROW = 2  # the spreadsheet row of the queue's first entity (header = row 1)


def level_ok(q: pd.DataFrame, iso3: str) -> np.ndarray:
    """(n, 5) bool: candidate k is of the entity's GADM level (territories one shallower, minted one
    deeper, as :mod:`curation.importer` accepts them)."""
    ent = pd.to_numeric(q["gadm_level"], errors="coerce").to_numpy(float)
    own = territories(iso3)
    out = np.zeros((len(q), N_CANDIDATES), bool)
    for k in range(N_CANDIDATES):
        gids = q[f"cand{k + 1}_gid"].astype(str)
        lvl = pd.to_numeric(q[f"cand{k + 1}_gadm_level"], errors="coerce").to_numpy(float)
        country = gids.map(lambda g: gid_country(g) if g else "").to_numpy(object)
        minted = gids.map(lambda g: bool(g) and is_minted(g)).to_numpy(bool)
        want = ent - np.where(np.isin(country, list(own)), 1, 0)
        out[:, k] = (gids != "").to_numpy() & ((lvl == want) | (minted & (lvl == want + 1)))
    return out


def _candidate_geoms(q: pd.DataFrame, areas: AreaIndex, iso3: str, simplified: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(geometries (n, 5) object, None where absent or of another level; level_ok mask). ``simplified``:
    GID -> the background's already simplified geometry, reused for candidates of that level."""
    cols = [f"cand{k}_gid" for k in range(1, N_CANDIDATES + 1)]
    flat = q[cols].to_numpy(object).ravel()
    info = areas.describe(flat)
    geoms = info["geometry"].to_numpy(object).reshape(len(q), N_CANDIDATES)
    ok = level_ok(q, iso3)
    geoms = np.where(ok & ~pd.isna(geoms), geoms, None)
    known = simplified.reindex(flat).to_numpy(object).reshape(geoms.shape)
    reuse = (geoms != None) & ~pd.isna(known)  # noqa: E711
    geoms[reuse] = known[reuse]
    rest = (geoms != None) & ~reuse  # noqa: E711
    geoms[rest] = shapely.simplify(geoms[rest].astype(object), SIMPLIFY_DEG, preserve_topology=True)
    return geoms, ok


def _fmt(v, spec):
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA else format(v, spec)


def _first(geoms_row):
    return next((g for g in geoms_row if g is not None), None)


def _panel(ax, row, r, geoms, ok, areas_gdf):
    lon, lat = r["longitude"], r["latitude"]
    present = [(k, g) for k, g in enumerate(geoms) if g is not None]
    has_point = bool(np.isfinite(lon) and np.isfinite(lat))
    first_geom = _first(geoms)
    # zoom on the provider point and the first drawn candidate (plus candidates within NEAR_KM)
    near = [g for k, g in present if g is first_geom or (r[f"cand{k + 1}_distance_km"] <= NEAR_KM if has_point else
            shapely.distance(g, first_geom) * 111.0 <= NEAR_KM)]
    ext = extent(near, [lon], [lat], ratio=PANEL_RATIO)
    title = f"row {row}: {short(r['name'], 22)}" + (f" ({short(r['parent'], 12)})" if r["parent"] else "")
    ax.set_title(title, fontsize=10, fontweight="bold", loc="left")
    sub = f"{r['source']} {r['provider_key']} · {r['status']} {_fmt(r['score'], '.0f')}"
    other = [f"{k + 1}. {r[f'cand{k + 1}_gid']}" for k in range(N_CANDIDATES) if r[f"cand{k + 1}_gid"] and not ok[k]]
    if ext is None:
        ax.text(0.5, 0.5, "no coordinates and no candidate\nof its level: not placeable", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#555")
        ax.set_axis_off()
        if other:
            sub += "\n" + short("other level: " + ", ".join(other), 60)
        ax.text(0, -0.04, sub, transform=ax.transAxes, fontsize=8, va="top", color="#333")
        return
    background(ax, areas_gdf, ext)
    far, xs, ys, texts = [], [], [], []
    for k, g in reversed(present):  # candidate 1 drawn last, on top
        if not shapely.intersects(g, shapely.box(ext[0], ext[2], ext[1], ext[3])):
            d = _fmt(r[f"cand{k + 1}_distance_km"], ".0f")
            far.insert(0, f"{k + 1}. {short(r[f'cand{k + 1}_name'], 14)}" + (f" {d} km" if d else ""))
            continue
        if g is first_geom:
            draw(ax, [g], facecolor=CAND1_COLOR, edgecolor="none", alpha=0.45, zorder=3)
            draw(ax, [g], edgecolor=CAND1_COLOR, linewidth=2, zorder=3)
        else:
            draw(ax, [g], edgecolor=CAND_COLOR, linewidth=1.4, linestyle="--", zorder=2)
        p = shapely.point_on_surface(g)
        label = f"{k + 1}. {short(r[f'cand{k + 1}_name'], 20)}\n{_fmt(r[f'cand{k + 1}_score'], '.0f')}"
        d = r[f"cand{k + 1}_distance_km"]
        if np.isfinite(d):
            label += f" · {d:.0f} km" if d >= 1 else " · inside"
        xs.append(p.x), ys.append(p.y), texts.append(label)
    if has_point:
        ax.plot([lon], [lat], marker="o", ms=8, color=POINT_COLOR, mec="white", mew=1.5, zorder=6)
    else:
        sub += " · no coordinates"
    frame(ax, ext)
    taken = place_labels(ax, xs, ys, texts, fontsize=7, color="#1f3b5a", zorder=5)
    if has_point:
        place_labels(ax, [lon], [lat], [short(r["name"], 24)], fontsize=9, color=POINT_COLOR, zorder=7, taken=taken)
    notes = ([textwrap.wrap("off map: " + ", ".join(far), 52)[0]] if far else []) + \
        ([short("other level: " + ", ".join(other), 52)] if other else [])
    if notes:
        sub += "\n" + "\n".join(notes)
    ax.text(0, -0.04, sub, transform=ax.transAxes, fontsize=8, va="top", color="#333")


def _overview(ax, q, geoms, areas_gdf, iso3):
    lon, lat = q["longitude"].to_numpy(float), q["latitude"].to_numpy(float)
    firsts = [_first(g) for g in geoms]
    ext = extent([g for g in firsts if g is not None], lon, lat, ratio=OVERVIEW_RATIO, pad=0.05, min_span=1.0)
    if ext is None:
        ext = extent([shapely.box(*areas_gdf.total_bounds)], [], [], ratio=OVERVIEW_RATIO, pad=0.02)
    background(ax, areas_gdf, ext, lw=0.2)
    cmap = plt.get_cmap("tab10")
    for i, g in enumerate(firsts):
        if g is not None:
            draw(ax, [g], facecolor=cmap(i % 10), edgecolor="#555", linewidth=0.5, alpha=0.5, zorder=2)
    xs, ys, texts, hollow = [], [], [], []
    for i in range(len(q)):
        x, y, h = lon[i], lat[i], False
        if not (np.isfinite(x) and np.isfinite(y)):
            if firsts[i] is None:
                continue
            p = shapely.point_on_surface(firsts[i])
            x, y, h = p.x, p.y, True
        xs.append(x), ys.append(y), texts.append(str(i + FIRST_ROW)), hollow.append(h)
    hollow = np.asarray(hollow, bool)
    xs_a, ys_a = np.asarray(xs, float), np.asarray(ys, float)
    ax.plot(xs_a[~hollow], ys_a[~hollow], "o", ms=5, color=POINT_COLOR, mec="white", mew=1, zorder=4)
    ax.plot(xs_a[hollow], ys_a[hollow], "s", ms=5, mfc="white", mec=POINT_COLOR, mew=1.2, zorder=4)
    frame(ax, ext)
    unplaced = len(q) - len(xs)
    ax.set_title(f"{iso3}: {len(q)} entities to review, numbered by their row in the queue spreadsheet; red dot = "
                 "provider point, hollow square = no coordinates (at candidate 1), tint = candidate 1"
                 + (f"; {unplaced} not placeable (see their panels)" if unplaced else ""), fontsize=10, loc="left")
    return place_labels(ax, xs, ys, texts, fontsize=7, zorder=5)


def render_review_pages(q: pd.DataFrame, iso3: str, data_dir=None, areas: AreaIndex | None = None) -> list:
    """matplotlib Figures for a queue (from :func:`curation.queue.build_queue`): the overview, then
    panel pages of :data:`PANELS_PER_PAGE` entities each until every entity has its panel. The
    background is the country's GADM level most entities are matched at."""
    areas = areas or AreaIndex(data_dir)
    levels = pd.to_numeric(q["gadm_level"], errors="coerce").dropna().astype(int)
    level = int(levels.mode().iloc[0]) if len(levels) else 1
    try:
        areas_gdf = areas.areas(iso3, level)
    except GeolookupError:
        areas_gdf = areas.areas(iso3, 1)
    areas_gdf = areas_gdf[["gid", "geometry"]].copy()
    areas_gdf["geometry"] = shapely.simplify(areas_gdf.geometry.to_numpy(), SIMPLIFY_DEG, preserve_topology=True)
    if len(q):
        geoms, ok = _candidate_geoms(q, areas, iso3, pd.Series(areas_gdf.geometry.to_numpy(), index=areas_gdf["gid"]))
    else:
        geoms, ok = np.empty((0, N_CANDIDATES), object), np.zeros((0, N_CANDIDATES), bool)
    fig = plt.figure(figsize=(16, 9), dpi=100)
    _overview(fig.add_subplot(1, 1, 1), q, geoms, areas_gdf, iso3)
    pages = [fig]
    for start in range(0, len(q), PANELS_PER_PAGE):
        page = plt.figure(figsize=(16, 4.4 * PANEL_ROWS), dpi=100)
        gs = page.add_gridspec(PANEL_ROWS, PANEL_COLS, hspace=0.45, wspace=0.12, left=0.02, right=0.98, top=0.93,
                               bottom=0.06)
        for slot, i in enumerate(range(start, min(start + PANELS_PER_PAGE, len(q)))):
            _panel(page.add_subplot(gs[slot // PANEL_COLS, slot % PANEL_COLS]), i + FIRST_ROW, q.iloc[i], geoms[i],
                   ok[i], areas_gdf)
        page.suptitle(f"{iso3}: rows {start + FIRST_ROW}-{min(start + PANELS_PER_PAGE, len(q)) + FIRST_ROW - 1} "
                      "of the queue spreadsheet", x=0.01, ha="left", fontsize=11)
        pages.append(page)
    return pages


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # fixed layout: "tight" would draw every page twice
    plt.close(fig)
    return buf.getvalue()


def _html(q: pd.DataFrame, iso3: str, pngs: list[bytes]) -> str:
    cols = ["source", "provider_key", "name", "parent", "status", "score", "match_reason", "latitude", "longitude"]
    for k in range(1, 4):
        cols += [f"cand{k}_gid", f"cand{k}_name", f"cand{k}_gadm_level", f"cand{k}_score", f"cand{k}_distance_km"]
    table = q[[c for c in cols if c in q.columns]].copy()
    table.insert(0, "row", range(FIRST_ROW, len(q) + FIRST_ROW))
    body = table.to_html(index=False, escape=True, na_rep="", float_format=lambda v: f"{v:.1f}", border=0)
    title = html.escape(f"geolookup review queue: {iso3}")
    imgs = "".join("<img alt=\"review map page\" src=\"data:image/png;base64," + base64.b64encode(p).decode("ascii")
                   + "\">" for p in pngs)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + title + "</title>"
        "<style>body{font-family:sans-serif;margin:1em}img{max-width:100%;display:block;margin:1em 0}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
        "tr:nth-child(even){background:#f6f6f6}</style></head><body><h1>" + title + "</h1>"
        f"<p>{len(q)} entities. Numbers on the map are the row column: the entity's row in the queue spreadsheet.</p>"
        + imgs + body + "</body></html>\n"
    )


def write_review_map(iso3: str, out_path, state_dir=None, data_dir=None, include_all: bool = False,
                     include_placeholders: bool = False) -> dict:
    """Draw the review queue of ``iso3`` (module docstring) to ``out_path``: ``.pdf`` (every page),
    ``.png`` (overview; panel pages as ``<stem>-<k>.png`` beside it) or ``.html`` (every page embedded
    and the queue table), each file written atomically. Returns {"entries", "pages", "files"}. Raises
    GeolookupError for another extension, and as :func:`curation.queue.build_queue` does."""
    out_path = Path(out_path)
    ext = out_path.suffix.lower()
    if ext not in (".png", ".pdf", ".html", ".htm"):
        raise GeolookupError(f"{out_path}: the review map is written as .pdf, .png or .html; change the file name")
    areas = AreaIndex(data_dir)
    q = build_queue(iso3, state_dir=state_dir, data_dir=data_dir, include_all=include_all, areas=areas,
                    include_placeholders=include_placeholders)
    pages = render_review_pages(q, iso3.upper(), areas=areas)
    files = [out_path]
    if ext == ".pdf":
        from matplotlib.backends.backend_pdf import PdfPages

        with atomic_path(out_path) as tmp:
            with PdfPages(tmp) as pdf:
                for fig in pages:
                    pdf.savefig(fig)
                    plt.close(fig)
    elif ext == ".png":
        pngs = [_png(f) for f in pages]
        files = [out_path] + [out_path.with_name(f"{out_path.stem}-{k}.png") for k in range(2, len(pngs) + 1)]
        for path, data in zip(files, pngs):
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
    else:
        write_text_atomic(out_path, _html(q, iso3.upper(), [_png(f) for f in pages]))
    return {"entries": int(len(q)), "pages": len(pages), "files": [str(f) for f in files]}
