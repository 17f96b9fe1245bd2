"""Fuzzy scores on whole arrays with bounded memory (rapidfuzz ``process.cdist``).

Queries are scored in blocks against all choice strings: each block is a ``uint8`` matrix of
``block_rows x n_choices`` (scores below the cutoff are 0; never a dense queries x choices
matrix). ``token_sort_ratio`` is computed as ``fuzz.ratio`` of token-sorted strings -- the same
score (rapidfuzz defines it so), but the tokens of the 50,000 choices are sorted once instead of
per pair, and ``ratio`` runs SIMD-parallel in cdist for short strings. Top-k per row: each row takes its
kth largest score (one ``np.partition`` selection pass) as its threshold, and only the entries at
or above it are sorted.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process

#: Scorer used for names: token-sort ratio (word order free but, unlike token_set / partial
#: ratios, it does not give 100 to "York" vs "New York").
SCORERS = {"ratio": fuzz.ratio, "token_sort_ratio": fuzz.token_sort_ratio, "WRatio": fuzz.WRatio,
           "QRatio": fuzz.QRatio}

BLOCK_BYTES = 16 * 1024 * 1024


def _sorted_tokens(texts) -> list[str]:
    return [" ".join(sorted(str(t).split())) for t in texts]


def _block_topk(block: np.ndarray, kk: int):
    """Exact top-``kk`` (column, score) per row of a uint8 score block, best first (ties by
    column); (-1, 0) pads rows with fewer than ``kk`` non-zero scores."""
    r, m = block.shape
    # the kk-th largest score of each row, found by one selection pass, is the row's threshold:
    # only the entries at or above it are sorted
    thr = np.maximum(np.partition(block, m - kk, axis=1)[:, m - kk], 1)
    rows, cols = np.nonzero(block >= thr[:, None])
    sc = block[rows, cols].astype(np.int64)
    order = np.lexsort((cols, -sc, rows))
    rows, cols, sc = rows[order], cols[order], sc[order]
    start = np.searchsorted(rows, np.arange(r))
    rank = np.arange(len(rows)) - start[rows]
    keep = rank < kk
    out_c = np.full((r, kk), -1, dtype=np.int64)
    out_s = np.zeros((r, kk), dtype=np.int64)
    out_c[rows[keep], rank[keep]] = cols[keep]
    out_s[rows[keep], rank[keep]] = sc[keep]
    return out_c, out_s


def topk(queries, choices, k: int = 5, scorer: str = "token_sort_ratio", score_cutoff: int = 0,
         workers: int = -1, block_bytes: int = BLOCK_BYTES, choice_groups=None):
    """Best ``k`` choices per query.

    Input: ``queries`` (n str), ``choices`` (m str), both already normalised; ``scorer`` a key of
    SCORERS; ``score_cutoff`` 0-100 (lower scores count as no match); ``choice_groups`` optional
    int array (m,) mapping each choice string to the entity it names (several strings per area:
    name, VARNAME, NL_NAME...) -- then the k best distinct groups are returned, each with its best
    string's score.
    Output: ``(index, score)``: int64 array (n, k) of choice positions (or group ids when
    ``choice_groups`` is given), -1 where there is none; float64 array (n, k) of scores 0-100
    (integers: the uint8 block), best first (ties: lower choice position first), 0 where none.
    Memory: ``block_bytes`` for the uint8 score block plus a few boolean/int arrays of the entries
    above each row's threshold, plus O(n*k).
    """
    queries = list(queries)
    choices = list(choices)
    n, m = len(queries), len(choices)
    out_i = np.full((n, k), -1, dtype=np.int64)
    out_s = np.zeros((n, k), dtype=np.float64)
    if n == 0 or m == 0:
        return out_i, out_s
    groups = None if choice_groups is None else np.asarray(choice_groups, dtype=np.int64)
    # at most (strings per group) entries of one group can shadow a distinct group
    kk = min(m, k if groups is None else k * max(1, int(np.bincount(groups).max())))
    fn = SCORERS[scorer]
    if scorer == "token_sort_ratio":
        queries, choices, fn = _sorted_tokens(queries), _sorted_tokens(choices), fuzz.ratio
    rows = max(1, block_bytes // max(m, 1))
    for start in range(0, n, rows):
        block = process.cdist(queries[start:start + rows], choices, scorer=fn, dtype=np.uint8,
                              score_cutoff=max(score_cutoff, 1), workers=workers)
        part, sc = _block_topk(block, kk)
        if groups is None:
            ids, s = part[:, :k], sc[:, :k]
        else:
            ids, s = _best_distinct(np.where(part >= 0, groups[np.maximum(part, 0)], -1), sc, k)
        valid = s > 0
        out_i[start:start + len(block), : ids.shape[1]] = np.where(valid, ids, -1)
        out_s[start:start + len(block), : s.shape[1]] = np.where(valid, s, 0)
    return out_i, out_s


def _best_distinct(g: np.ndarray, s: np.ndarray, k: int):
    """Rows of (group, score) sorted by score desc -> first k distinct groups per row."""
    order = np.argsort(g, axis=1, kind="stable")
    gs = np.take_along_axis(g, order, axis=1)
    first = np.ones_like(gs, dtype=bool)
    first[:, 1:] = gs[:, 1:] != gs[:, :-1]
    keep = np.empty_like(first)
    np.put_along_axis(keep, order, first, axis=1)
    s = np.where(keep & (g >= 0), s, -1)
    idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(g, idx, axis=1), np.maximum(np.take_along_axis(s, idx, axis=1), 0)
