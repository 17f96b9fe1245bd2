"""Fuzzy scores on whole arrays with bounded memory (rapidfuzz ``process.cdist``).

Queries are scored in blocks against all choice strings: each block is a ``uint8`` matrix of
``block_rows x n_choices`` (scores below the cutoff are 0), reduced at once to the best ``k`` choices
per row with ``numpy.argpartition``; so memory is ``block_rows * n_choices`` bytes whatever the
number of queries (never a dense queries x choices matrix).
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process

#: Scorer used for names: mean of character ratio and token-sort ratio (word order free but,
#: unlike token_set / partial ratios, it does not give 100 to "York" vs "New York").
SCORERS = {"ratio": fuzz.ratio, "token_sort_ratio": fuzz.token_sort_ratio, "WRatio": fuzz.WRatio,
           "QRatio": fuzz.QRatio}

BLOCK_BYTES = 8 * 1024 * 1024


def topk(queries, choices, k: int = 5, scorer: str = "token_sort_ratio", score_cutoff: int = 0,
         workers: int = -1, block_bytes: int = BLOCK_BYTES, choice_groups=None):
    """Best ``k`` choices per query.

    Input: ``queries`` (n str), ``choices`` (m str), both already normalised; ``scorer`` a key of
    SCORERS; ``score_cutoff`` 0-100 (lower scores count as no match); ``choice_groups`` optional
    int array (m,) mapping each choice string to the entity it names (several strings per area:
    name, VARNAME, NL_NAME...) -- then the k best distinct groups are returned, each with its best
    string's score.
    Output: ``(index, score)``: int64 array (n, k) of choice positions (or group ids when
    ``choice_groups`` is given), -1 where there is none; float64 array (n, k) of scores 0-100, best
    first, 0 where there is none.
    Memory: ``block_bytes`` for the uint8 score block plus 8x that for its argpartition indices, plus O(n*k).
    """
    queries = list(queries)
    choices = list(choices)
    n, m = len(queries), len(choices)
    out_i = np.full((n, k), -1, dtype=np.int64)
    out_s = np.zeros((n, k), dtype=np.float64)
    if n == 0 or m == 0:
        return out_i, out_s
    groups = None if choice_groups is None else np.asarray(choice_groups, dtype=np.int64)
    # choices per group at most this many strings can shadow a distinct group
    kk = k if groups is None else min(m, k * max(1, int(np.bincount(groups).max())))
    kk = min(kk, m)
    rows = max(1, block_bytes // max(m, 1))
    fn = SCORERS[scorer]
    for start in range(0, n, rows):
        block = process.cdist(queries[start:start + rows], choices, scorer=fn, dtype=np.uint8,
                              score_cutoff=score_cutoff, workers=workers)
        if kk < m:
            part = np.argpartition(block, m - kk, axis=1)[:, m - kk:]
        else:
            part = np.broadcast_to(np.arange(m), (block.shape[0], m))
        sc = np.take_along_axis(block, part, axis=1).astype(np.int64)
        order = np.argsort(-sc, axis=1, kind="stable")
        part = np.take_along_axis(part, order, axis=1)
        sc = np.take_along_axis(sc, order, axis=1)
        if groups is None:
            ids = part[:, :k]
            s = sc[:, :k]
        else:
            ids, s = _best_distinct(groups[part], sc, k)
        valid = s > 0
        out_i[start:start + len(block), : ids.shape[1]] = np.where(valid, ids, -1)
        out_s[start:start + len(block), : s.shape[1]] = np.where(valid, s, 0)
    return out_i, out_s


def _best_distinct(g: np.ndarray, s: np.ndarray, k: int):
    """Rows of (group, score) sorted by score desc -> first k distinct groups per row."""
    r, c = g.shape
    # mark repeats of a group already seen earlier in the same row
    order = np.argsort(g, axis=1, kind="stable")
    gs = np.take_along_axis(g, order, axis=1)
    first = np.ones_like(gs, dtype=bool)
    first[:, 1:] = gs[:, 1:] != gs[:, :-1]
    keep = np.empty_like(first)
    np.put_along_axis(keep, order, first, axis=1)
    s = np.where(keep, s, -1)
    idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(g, idx, axis=1), np.maximum(np.take_along_axis(s, idx, axis=1), 0)
