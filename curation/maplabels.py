"""Labels that keep apart: a greedy placement of text boxes around their anchor points.

Each label tries offsets around its point (right, left, above, below, then the diagonals, then the same
farther out) and takes the first whose box (display pixels) overlaps no label placed before and no other
anchor point; when none is free it takes the offset with the least overlap, drawn with a leader line.
Simple collision avoidance (Imhof's preference order: right of the point, then left, above, below), which
is enough for a few hundred labels.
"""

from __future__ import annotations

import numpy as np

from .mapdraw import HALO

#: offset directions (dx, dy) as multiples of the label's own half-size, in preference order
_DIRECTIONS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)]
_RINGS = (1.0, 2.2, 3.6)


def _overlap(box, boxes: np.ndarray) -> float:
    """Total overlapping area of ``box`` (x0, y0, x1, y1) with the rows of ``boxes``."""
    if len(boxes) == 0:
        return 0.0
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    return float((w * h).sum())


def place_labels(ax, xs, ys, texts, fontsize=8, color="black", weight="bold", zorder=6, pad_px=2.0,
                 taken=None) -> np.ndarray:
    """Draw ``texts`` at data points (``xs``, ``ys``) on ``ax`` so that labels do not overlap.

    Call after the axes' limits and aspect are final. ``taken``: extra (n, 4) display-pixel boxes to
    avoid (e.g. labels drawn before). Returns the (n, 4) boxes used, in display pixels.
    """
    ax.apply_aspect()
    fig = ax.figure
    px_per_pt = fig.dpi / 72.0
    pts = ax.transData.transform(np.column_stack([xs, ys]).astype(float)) if len(xs) else np.empty((0, 2))
    dots = np.column_stack([pts - 3, pts + 3]) if len(pts) else np.empty((0, 4))
    placed = [np.asarray(taken, float).reshape(-1, 4)] if taken is not None else []
    boxes = []
    for i, text in enumerate(texts):
        lines = str(text).split("\n")
        w = max(len(x) for x in lines) * fontsize * 0.62 * px_per_pt + 2 * pad_px
        h = len(lines) * fontsize * 1.25 * px_per_pt + 2 * pad_px
        x, y = pts[i]
        others = np.delete(dots, i, axis=0)
        avoid = np.vstack(placed + [others]) if placed else others
        best, best_cost, best_off = None, np.inf, (0.0, 0.0)
        for ring in _RINGS:
            for dx, dy in _DIRECTIONS:
                cx = x + dx * (w / 2 + 4) * ring
                cy = y + dy * (h / 2 + 4) * ring
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                cost = _overlap(box, avoid)
                if cost < best_cost:
                    best, best_cost, best_off = box, cost, (cx - x, cy - y)
                if cost == 0:
                    break
            if best_cost == 0:
                break
        boxes.append(best)
        placed.append(np.asarray(best, float).reshape(1, 4))
        far = np.hypot(*best_off) > max(w, h)
        ax.annotate(text, (xs[i], ys[i]), xytext=(best_off[0] / px_per_pt, best_off[1] / px_per_pt),
                    textcoords="offset points", ha="center", va="center", fontsize=fontsize, color=color,
                    fontweight=weight, path_effects=HALO, zorder=zorder,
                    arrowprops=dict(arrowstyle="-", lw=0.5, color="#555") if far else None)
    return np.asarray(boxes, float).reshape(-1, 4)
