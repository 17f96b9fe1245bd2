"""Fuzzy scores on whole arrays with bounded memory (rapidfuzz ``process.cdist``).

:func:`topk` returns, per query, exactly the ``k`` best choices an exhaustive
``process.cdist`` over all queries x choices would rank first -- without ever holding a dense
queries x choices matrix, and without scoring pairs that provably cannot enter a top ``k``:

- ``token_sort_ratio`` is computed as ``fuzz.ratio`` of token-sorted strings (the same score;
  rapidfuzz defines it so), the tokens of every string sorted once instead of per pair;
- equal query strings are scored once, and so are equal choice strings (their score is shared by
  every position holding the string);
- length bound: for ``fuzz.ratio`` (normalised Indel similarity) of strings of lengths ``a`` and
  ``b``, ``score <= 200 * min(a, b) / (a + b)``. Choices are sorted by length and queries by
  length; each block of queries scores the choice lengths best bound first, and a query stops
  taking part as soon as the bound of the remaining lengths is below its current ``k``-th score
  (or the cutoff);
- for ``fuzz.ratio`` between a query length and a choice length, the score is a function of the
  longest common subsequence alone: rapidfuzz's ``LCSseq.similarity`` (half the cost of
  ``fuzz.ratio`` in ``cdist``) is mapped to the score through a table that rapidfuzz's own
  ``fuzz.ratio`` fills (:class:`_RatioTable`);
- selection: only rows whose maximum reaches their own bar are read, and a dense block is first
  thinned by each row's ``k``-th best (one ``np.partition``; no sort of whole score rows).

Inputs of at most SMALL_PAIRS distinct pairs take one exhaustive cdist pass (the pruning would
cost more than it saves).

Ties are broken as an exhaustive, stable ranking would: lower choice position first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

#: Scorer used for names: token-sort ratio (word order free but, unlike token_set / partial
#: ratios, it does not give 100 to "York" vs "New York").
SCORERS = {"ratio": fuzz.ratio, "token_sort_ratio": fuzz.token_sort_ratio, "WRatio": fuzz.WRatio,
           "QRatio": fuzz.QRatio}

#: scorers whose score obeys the length bound ``200 * min(a, b) / (a + b)`` and is symmetric
#: (token_sort_ratio is scored as ``ratio`` of token-sorted strings)
_LENGTH_BOUNDED = {"ratio", "token_sort_ratio", "QRatio"}

BLOCK_BYTES = 16 * 1024 * 1024
#: most choice columns scored in one cdist call; fewer columns are merged up to BAND_MIN_COLS
BAND_MAX_COLS = 8192
BAND_MIN_COLS = 1024
#: a score block with more than ``2 * rows * kk + DENSE_SLACK`` entries above the rows' bars
#: is first thinned by each row's kk-th best score of the block (``np.partition``)
DENSE_SLACK = 1024
#: longest string scored through ``LCSseq.similarity`` (its LCS must fit a uint8)
LCS_MAX_LEN = 255
#: LCS blocks (one per query length and choice length) only when they average this many pairs
LCS_MIN_PAIRS = 1 << 15
#: up to this many (unique) query x choice pairs, one exhaustive cdist pass is cheapest
SMALL_PAIRS = 1 << 22
#: cdist calls with fewer pairs run on one thread (starting threads costs more)
THREAD_MIN_PAIRS = 1 << 16
#: up to this many query x choice pairs, one cdist block and a sort of each row (no pruning machinery,
#: whose fixed cost -- about a millisecond -- dominates small calls such as one name against a province)
DIRECT_PAIRS = 1 << 16


def _sorted_tokens(texts) -> list[str]:
    return [" ".join(sorted(str(t).split())) for t in texts]


def _factorize(values):
    """(codes int64 (n,), uniques object (u,)) in order of first appearance."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    codes, uniq = pd.factorize(arr, use_na_sentinel=False)
    return codes.astype(np.int64), np.asarray(uniq, dtype=object)


def _length_bound(a, b):
    """Largest ``uint8`` ``fuzz.ratio`` two strings of lengths ``a``, ``b`` can have (int64,
    broadcasts): the Indel similarity ``200 * LCS / (a + b)`` with ``LCS <= min(a, b)``, rounded
    half up as rapidfuzz rounds a score to ``uint8``; 100 for two empty strings."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    tot = a + b
    return np.where(tot == 0, 100, (400 * np.minimum(a, b) + tot) // np.maximum(2 * tot, 1))


def _expansion(codes, groups, n_unique, k):
    """For each unique choice string: the (group, first position) pairs it stands for, at most
    ``k`` per string (its groups of lowest first position: only those can rank), as CSR
    ``(ptr (u+1,), group, position)``; and the largest number of distinct strings in a group."""
    pos = np.arange(len(codes))
    o = np.lexsort((pos, groups, codes))
    u, g, p = codes[o], groups[o], pos[o]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (g[1:] != g[:-1])
    u, g, p = u[first], g[first], p[first]
    max_strings = int(np.unique(g, return_counts=True)[1].max())
    o = np.lexsort((p, u))
    u, g, p = u[o], g[o], p[o]
    start = np.searchsorted(u, np.arange(n_unique))
    keep = np.arange(len(u)) - start[u] < k
    u, g, p = u[keep], g[keep], p[keep]
    return np.searchsorted(u, np.arange(n_unique + 1)), g, p, max_strings


def _bands(cls_len, cls_start, la_values, bounded, single=False):
    """Column bands of the length-sorted unique choices for one block of queries, best length
    bound first: list of (spans [(length class, first column, end column)], bound per query
    length (nl,) int, band bound), and the bound table (query lengths, length classes).
    ``single``: one band of every column (no length pruning)."""
    if bounded and not single:
        bt = _length_bound(la_values[:, None], cls_len[None, :])  # (nl, n_lengths)
    else:
        bt = np.full((len(la_values), len(cls_len)), 100, dtype=np.int64)
    prio = bt.max(axis=0)
    centre = np.median(la_values)
    order = np.lexsort((cls_len, np.abs(cls_len - centre), -prio))
    bands, cur, ncur = [], [], 0

    def flush():
        nonlocal cur, ncur
        if cur:
            bnd = bt[:, [c for c, _, _ in cur]].max(axis=1)
            bands.append(([(c, c0, c1) for c, c0, c1 in cur], bnd, int(bnd.max())))
        cur, ncur = [], 0

    for ci in order:
        s0, s1 = int(cls_start[ci]), int(cls_start[ci + 1])
        for c0 in range(s0, s1, BAND_MAX_COLS):
            c1 = min(s1, c0 + BAND_MAX_COLS)
            if ncur + (c1 - c0) > BAND_MAX_COLS and not single:
                flush()
            cur.append((ci, c0, c1))
            ncur += c1 - c0
            if ncur >= BAND_MIN_COLS and not single:
                flush()
    flush()
    return bands, bt


def _entries(block, t, kk, widen=None):
    """Sparse (row, column, value) of a uint8 block: only values ``>= t[row]`` (``t`` uint8
    (rows,)), and only those that can be among the ``kk`` best of their row in the block.
    ``widen`` maps a row's kk-th best value to the lowest value of equal score (LCS blocks: an
    LCS below it may round to the same ratio; default: the value itself)."""
    bc = block.shape[1]
    rows = np.flatnonzero(block.max(axis=1) >= t)  # most rows gain nothing from a band
    sub, t = block[rows], t[rows]
    mask = sub >= t[:, None]
    if np.count_nonzero(mask) > 2 * len(rows) * kk + DENSE_SLACK and bc > kk:
        # dense (a row's first band): each row's kk-th best of the block raises its bar
        kth = np.partition(sub, bc - kk, axis=1)[:, bc - kk]
        t = np.maximum(t, kth if widen is None else widen(kth))
        mask = sub >= t[:, None]
    idx = np.flatnonzero(mask)
    return rows[idx // bc], idx % bc, sub.reshape(-1)[idx]


class _RatioTable:
    """rapidfuzz's own uint8 ``fuzz.ratio`` (with ``score_cutoff``) of two strings as a function
    of their length sum L and longest common subsequence l: ``ratio = 100 * (1 - (L - 2 l) / L)``
    (normalised Indel similarity, rounded half up; 100 for two empty strings). Each row is read
    from rapidfuzz on one pair of strings per l (``"a" * l + "b" * ...`` vs ``"a" * l + "c" *
    ...``), so scoring a pair by rapidfuzz's ``LCSseq.similarity`` and this table gives exactly
    the score ``cdist(..., scorer=fuzz.ratio, dtype=uint8)`` gives, at half its cost."""

    _cache: dict = {}

    def __new__(cls, cut):
        """One table per cutoff, kept for the process (a few KiB)."""
        if cut not in cls._cache:
            table = super().__new__(cls)
            table.cut, table._rows = cut, {}
            cls._cache[cut] = table
        return cls._cache[cut]

    def scores(self, total):
        """uint8 (total // 2 + 1,): the score of each LCS 0..total // 2 (non-decreasing)."""
        row = self._rows.get(total)
        if row is None:
            la = total // 2
            s1 = ["a" * lcs + "b" * (la - lcs) for lcs in range(la + 1)]
            s2 = ["a" * lcs + "c" * (total - la - lcs) for lcs in range(la + 1)]
            row = np.diagonal(process.cdist(s1, s2, scorer=fuzz.ratio, dtype=np.uint8, score_cutoff=self.cut,
                                            workers=1)).copy()
            self._rows[total] = row
        return row

    def bar(self, total, t):
        """Smallest LCS whose score is >= t (uint8 array), as uint8 (total // 2 + 1 if none)."""
        return np.searchsorted(self.scores(total), t, side="left").astype(np.uint8)


def _order(keys):
    """Indices sorting by several non-negative int keys ``[(array, bound)]``, most significant
    first (each value < its bound): one int64 argsort when the bounds' product fits, else lexsort."""
    span = 1
    for _, bound in keys:
        span *= max(int(bound), 1)
    if span < 2**62:
        code = np.zeros(len(keys[0][0]), dtype=np.int64)
        for arr, bound in keys:
            code = code * max(int(bound), 1) + arr
        return np.argsort(code)
    return np.lexsort([arr for arr, _ in reversed(keys)])


def _merge(st_g, st_s, st_p, rows, s, grp, pos, k, grouped):
    """Fold new (row, score, group, position) entries into the per-row best-``k`` state
    (``st_*`` (a, k), group -1 = empty), ranking by score desc, then position asc."""
    touched = np.flatnonzero(np.bincount(rows, minlength=len(st_g)))
    tr, tc = np.nonzero(st_g[touched] >= 0)
    r = np.concatenate([rows, touched[tr]])
    g = np.concatenate([grp, st_g[touched[tr], tc]])
    p = np.concatenate([pos, st_p[touched[tr], tc]])
    sc = np.concatenate([s.astype(np.int64), st_s[touched[tr], tc]])
    a, npos = len(st_g), int(p.max()) + 1
    if grouped:  # a group counts once, with its best (score, position)
        o = _order([(r, a), (g, int(g.max()) + 1), (100 - sc, 101), (p, npos)])
        r, g, p, sc = r[o], g[o], p[o], sc[o]
        first = np.ones(len(r), dtype=bool)
        first[1:] = (r[1:] != r[:-1]) | (g[1:] != g[:-1])
        r, g, p, sc = r[first], g[first], p[first], sc[first]
    o = _order([(r, a), (100 - sc, 101), (p, npos)])
    r, g, p, sc = r[o], g[o], p[o], sc[o]
    first = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    rank = np.arange(len(r)) - np.repeat(first, np.diff(np.r_[first, len(r)]))
    keep = rank < k
    st_g[touched], st_s[touched], st_p[touched] = -1, 0, -1
    r, rank = r[keep], rank[keep]
    st_g[r, rank], st_s[r, rank], st_p[r, rank] = g[keep], sc[keep], p[keep]


def topk(queries, choices, k: int = 5, scorer: str = "token_sort_ratio", score_cutoff: float = 0,
         workers: int = -1, block_bytes: int = BLOCK_BYTES, choice_groups=None):
    """Best ``k`` choices per query, exact, with bounded memory.

    Parameters
    ----------
    queries : sequence of str, length n
        Already normalised query strings.
    choices : sequence of str, length m
        Already normalised choice strings.
    k : int
        Number of best choices (or groups) per query, >= 1.
    scorer : str
        A key of :data:`SCORERS`; ``token_sort_ratio`` is scored as ``fuzz.ratio`` of the
        token-sorted strings (identical scores).
    score_cutoff : float
        0-100; pairs whose rapidfuzz score is below it count as no match (as do scores of 0).
    workers : int
        rapidfuzz ``cdist`` threads (-1: all cores); calls of fewer than THREAD_MIN_PAIRS pairs
        run on one.
    block_bytes : int
        Bound on the ``uint8`` score block of one ``cdist`` call (rows x columns bytes).
    choice_groups : array-like of int, shape (m,), optional
        Non-negative id of the entity each choice string names (several strings per area:
        name, VARNAME, NL_NAME...). Then the ``k`` best distinct groups are returned, each with
        its best string's score.

    Returns
    -------
    index : ndarray of int64, shape (n, k)
        Choice positions (group ids when ``choice_groups`` is given), best first; -1 where none.
    score : ndarray of float64, shape (n, k)
        Scores 0-100 (integers: rapidfuzz's rounded ``uint8`` scores), 0 where none.

    The result equals ranking an exhaustive ``process.cdist(queries, choices, dtype=uint8,
    score_cutoff=max(score_cutoff, 1))`` row by score descending, ties by lower choice position
    (for groups: by the lowest position holding the group's best score). Memory: ``block_bytes``
    for one score block plus O((n + m) * k).

    Raises
    ------
    ValueError
        ``k < 1``, ``score_cutoff`` outside 0-100, or ``choice_groups`` not m non-negative ints.
    KeyError
        ``scorer`` not in :data:`SCORERS`.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not 0 <= score_cutoff <= 100:
        raise ValueError(f"score_cutoff must be within 0-100, got {score_cutoff}")
    fn = SCORERS[scorer]
    queries, choices = list(queries), list(choices)
    n, m = len(queries), len(choices)
    out_i = np.full((n, k), -1, dtype=np.int64)
    out_s = np.zeros((n, k), dtype=np.float64)
    grouped = choice_groups is not None
    if grouped:
        groups = np.asarray(choice_groups, dtype=np.int64).reshape(-1)
        if len(groups) != m or (m and groups.min() < 0):
            raise ValueError(f"choice_groups must hold {m} non-negative ints, got {len(groups)}")
    else:
        groups = np.arange(m, dtype=np.int64)
    if n == 0 or m == 0:
        return out_i, out_s
    if scorer == "token_sort_ratio":
        queries, choices, fn = _sorted_tokens(queries), _sorted_tokens(choices), fuzz.ratio
    bounded = scorer in _LENGTH_BOUNDED
    cut = max(float(score_cutoff), 1.0)

    if n * m <= DIRECT_PAIRS:
        return _direct(queries, choices, k, fn, cut, groups, grouped, out_i, out_s)
    qcodes, qstr = _factorize(queries)
    ccodes, cstr = _factorize(choices)
    nu, mu = len(qstr), len(cstr)
    ptr, e_g, e_p, max_strings = _expansion(ccodes, groups, mu, k)
    kk = k * max_strings  # this many better strings in a block cover k better groups

    clen = np.fromiter(map(len, cstr), dtype=np.int64, count=mu)
    corder = np.argsort(clen, kind="stable")
    c_sorted = cstr[corder].tolist()
    cls_len, cls_start = np.unique(clen[corder], return_index=True)
    cls_start = np.append(cls_start, mu)
    qlen = np.fromiter(map(len, qstr), dtype=np.int64, count=nu)
    qorder = np.argsort(qlen, kind="stable")
    small = nu * mu <= SMALL_PAIRS  # one cdist pass over all pairs, as pruning costs more than it saves
    table = _RatioTable(cut) if fn is fuzz.ratio and not small else None

    res_g = np.full((nu, k), -1, dtype=np.int64)
    res_s = np.zeros((nu, k), dtype=np.int64)
    rows_per_block = max(1, block_bytes // min(mu, BAND_MAX_COLS))
    for b0 in range(0, nu, rows_per_block):
        ids = qorder[b0:b0 + rows_per_block]
        qa = qstr[ids]
        la_values, la_inv = np.unique(qlen[ids], return_inverse=True)
        st_g = np.full((len(ids), k), -1, dtype=np.int64)
        st_s = np.zeros((len(ids), k), dtype=np.int64)
        st_p = np.full((len(ids), k), -1, dtype=np.int64)
        thr = np.full(len(ids), cut)  # a row's bar: its k-th best so far, at least the cutoff
        bands, bt = _bands(cls_len, cls_start, la_values, bounded, single=small)
        for spans, bnd, band_max in bands:
            if band_max < thr.min():
                break  # bands come best bound first: no row can gain from the rest
            act = np.flatnonzero(bnd[la_inv] >= thr)
            if not len(act):
                continue
            found = []
            ncols = sum(c1 - c0 for _, c0, c1 in spans)
            if table is None or len(act) * ncols < LCS_MIN_PAIRS * len(np.unique(la_inv[act])) * len(spans):
                # scorer without an LCS form, or (query length, choice length) blocks too small
                # to pay for a call each: score the whole band
                fn_jobs, lcs_spans, lcs_rows = [(act, spans)], [], act[:0]
            else:  # uint8 LCS blocks where both lengths fit, the scorer itself elsewhere
                fits = la_values[la_inv[act]] <= LCS_MAX_LEN
                lcs_rows, long_rows = act[fits], act[~fits]
                lcs_spans = [sp for sp in spans if cls_len[sp[0]] <= LCS_MAX_LEN]
                fn_jobs = [(long_rows, spans), (lcs_rows, [sp for sp in spans if cls_len[sp[0]] > LCS_MAX_LEN])]
            for ci, c0, c1 in lcs_spans:
                # one block per (query length, choice length): there the ratio is a function of the LCS
                for li in np.unique(la_inv[lcs_rows]):
                    rows = lcs_rows[(la_inv[lcs_rows] == li) & (bt[li, ci] >= thr[lcs_rows])]
                    if not len(rows):
                        continue
                    total = int(la_values[li] + cls_len[ci])
                    to_score = table.scores(total)
                    r, c, v = _score_dense(qa[rows].tolist(), c_sorted[c0:c1], table.bar(total, np.ceil(thr[rows])),
                                           LCSseq.similarity, None, kk, workers, block_bytes,
                                           lambda kth, total=total, to_score=to_score: table.bar(total, to_score[kth]))
                    found.append((rows[r], c0 + c, to_score[v]))
            for rows, sps in fn_jobs:
                if not len(rows) or not sps:
                    continue
                cols = np.concatenate([np.arange(c0, c1) for _, c0, c1 in sps])
                band = [x for _, c0, c1 in sps for x in c_sorted[c0:c1]]
                # ratio-type scores are symmetric: a few rows may be scored transposed
                r, c, v = _score_dense(qa[rows].tolist(), band, np.ceil(thr[rows]).astype(np.uint8), fn, cut, kk,
                                       workers, block_bytes, None, symmetric=bounded)
                found.append((rows[r], cols[c], v))
            if not found:
                continue
            r, c, v = (np.concatenate(x) for x in zip(*found))
            if len(r):
                u = corder[c]
                cnt = ptr[u + 1] - ptr[u]
                off = np.repeat(ptr[u] - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
                _merge(st_g, st_s, st_p, np.repeat(r, cnt), np.repeat(v, cnt), e_g[off], e_p[off], k, grouped)
                thr = np.maximum(st_s[:, k - 1], cut)
        res_g[ids], res_s[ids] = st_g, st_s
    out_i[:] = res_g[qcodes]
    out_s[:] = res_s[qcodes]
    return out_i, out_s


def _score_dense(q, band, t8, scorer, cut, kk, workers, block_bytes, widen=None, symmetric=True):
    """Entries (row of q, column of band, uint8 value >= the row's bar ``t8``) of q x band by
    cdist, in blocks of at most ``block_bytes`` (or one row). ``cut`` None: no score_cutoff."""
    nrows = max(1, min(len(q), block_bytes // max(len(band), 1)))
    out = []
    for r0 in range(0, len(q), nrows):
        qs, tt = q[r0:r0 + nrows], t8[r0:r0 + nrows]
        # a uint8 score rounds half up: scores >= t - 0.5 may show as t
        kw = {} if cut is None else {"score_cutoff": max(cut, float(tt.min()) - 1.0)}
        kw["workers"] = workers if len(qs) * len(band) >= THREAD_MIN_PAIRS else 1
        if symmetric and len(qs) < 64 and len(qs) < len(band):  # pack the longer side in SIMD lanes
            block = np.ascontiguousarray(process.cdist(band, qs, scorer=scorer, dtype=np.uint8, **kw).T)
        else:
            block = process.cdist(qs, band, scorer=scorer, dtype=np.uint8, **kw)
        r, c, v = _entries(block, tt, kk, widen)
        out.append((r + r0, c, v))
    return tuple(np.concatenate(x) for x in zip(*out))


def _direct(queries, choices, k, fn, cut, groups, grouped, out_i, out_s):
    """:func:`topk` of a small problem: the whole uint8 score block, each row sorted by score (stable:
    ties by lower position), then the first ``k`` (distinct groups: each group at its first, best entry)."""
    block = process.cdist(queries, choices, scorer=fn, dtype=np.uint8, score_cutoff=cut, workers=1)
    order = np.argsort(-block.astype(np.int16), axis=1, kind="stable")
    sc = np.take_along_axis(block, order, axis=1).astype(np.int64)
    ids = groups[order]
    if grouped:  # keep each group's first (best, lowest position) entry, in the rows' order
        by_group = np.argsort(ids, axis=1, kind="stable")
        g_sorted = np.take_along_axis(ids, by_group, axis=1)
        first = np.ones_like(g_sorted, dtype=bool)
        first[:, 1:] = g_sorted[:, 1:] != g_sorted[:, :-1]
        keep = np.empty_like(first)
        np.put_along_axis(keep, by_group, first, axis=1)
        pick = np.argsort(~keep, axis=1, kind="stable")  # kept entries first, in score order
        ids, sc = np.take_along_axis(ids, pick, axis=1), np.where(np.take_along_axis(keep, pick, axis=1),
                                                                    np.take_along_axis(sc, pick, axis=1), 0)
    kk = min(k, ids.shape[1])
    valid = sc[:, :kk] > 0
    out_i[:, :kk] = np.where(valid, ids[:, :kk], -1)
    out_s[:, :kk] = np.where(valid, sc[:, :kk], 0)
    return out_i, out_s
