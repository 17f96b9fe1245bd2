"""``matching.score.topk`` equals a brute-force ranking of an exhaustive rapidfuzz ``cdist``."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from rapidfuzz import fuzz, process

from geolookup.matching import score
from geolookup.matching.score import topk

SCORERS = {"ratio": fuzz.ratio, "token_sort_ratio": fuzz.token_sort_ratio, "WRatio": fuzz.WRatio,
           "QRatio": fuzz.QRatio}


def reference(queries, choices, k, scorer, cutoff, groups=None):
    """Exhaustive cdist, each row ranked by score desc then choice position asc (groups: each
    group once, with its best score and the lowest position holding it)."""
    n, m = len(queries), len(choices)
    out_i = np.full((n, k), -1, dtype=np.int64)
    out_s = np.zeros((n, k))
    if not n or not m:
        return out_i, out_s
    full = process.cdist(queries, choices, scorer=SCORERS[scorer], dtype=np.uint8,
                         score_cutoff=max(cutoff, 1)).astype(np.int64)
    for r in range(n):
        ranked = [(-full[r, j], j) for j in range(m) if full[r, j] > 0]
        ranked.sort()
        if groups is None:
            best = [(j, -s) for s, j in ranked]
        else:
            seen, best = set(), []
            for s, j in ranked:
                if groups[j] not in seen:
                    seen.add(groups[j])
                    best.append((groups[j], -s))
        for c, (i, s) in enumerate(best[:k]):
            out_i[r, c], out_s[r, c] = i, s
    return out_i, out_s


@contextmanager
def bands(max_cols, min_cols, dense_slack, lcs_max_len=255, small_pairs=0, lcs_min_pairs=1, direct_pairs=0):
    """Small column bands, an eager dense path and short LCS blocks, so that tiny inputs take
    every branch (``direct_pairs`` > 0: small inputs take the one-block path instead)."""
    names = ("BAND_MAX_COLS", "BAND_MIN_COLS", "DENSE_SLACK", "LCS_MAX_LEN", "SMALL_PAIRS", "LCS_MIN_PAIRS",
             "DIRECT_PAIRS")
    saved = [getattr(score, name) for name in names]
    for name, value in zip(names, (max_cols, min_cols, dense_slack, lcs_max_len, small_pairs, lcs_min_pairs,
                                   direct_pairs)):
        setattr(score, name, value)
    try:
        yield
    finally:
        for name, value in zip(names, saved):
            setattr(score, name, value)


# few letters and short strings: many equal scores (ties) and repeated strings
word = st.text(alphabet="abn ", max_size=9)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(queries=st.lists(word, max_size=12), choices=st.lists(word, max_size=60),
       k=st.integers(1, 6), scorer=st.sampled_from(sorted(SCORERS)),
       cutoff=st.sampled_from([0, 1, 30, 50, 66.5, 67, 100]), n_groups=st.integers(0, 6),
       data=st.data(), block_bytes=st.integers(1, 400), max_cols=st.integers(1, 64),
       min_cols=st.integers(1, 12), dense_slack=st.sampled_from([0, 1024]),
       lcs_max_len=st.sampled_from([255, 0, 3, 6]), small_pairs=st.sampled_from([0, 0, 10**6]),
       lcs_min_pairs=st.sampled_from([1, 1, 10**6]), direct_pairs=st.sampled_from([0, 0, 10**6]))
def test_topk_equals_bruteforce_reference(queries, choices, k, scorer, cutoff, n_groups, data, block_bytes,
                                          max_cols, min_cols, dense_slack, lcs_max_len, small_pairs,
                                          lcs_min_pairs, direct_pairs):
    groups = None
    if n_groups:  # 0: plain choices; else each choice string names one of n_groups entities
        groups = data.draw(st.lists(st.integers(0, n_groups - 1), min_size=len(choices), max_size=len(choices)))
    with bands(max_cols, min_cols, dense_slack, lcs_max_len, small_pairs, lcs_min_pairs, direct_pairs):
        idx, sc = topk(queries, choices, k=k, scorer=scorer, score_cutoff=cutoff, block_bytes=block_bytes,
                       choice_groups=groups)
    ref_i, ref_s = reference(queries, choices, k, scorer, cutoff, groups)
    assert idx.dtype == np.int64 and sc.dtype == np.float64 and idx.shape == sc.shape == (len(queries), k)
    assert (sc == ref_s).all() and (idx == ref_i).all()


def test_topk_equals_reference_on_names_with_duplicates():
    """Larger: real-looking word lists, duplicated queries and choices, several bands and blocks."""
    rng = np.random.default_rng(7)
    letters = list("aeilnorstuk")
    words = [" ".join("".join(rng.choice(letters, rng.integers(2, 9))) for _ in range(rng.integers(1, 3)))
             for _ in range(400)]
    choices = words + words[:60]  # repeated strings: ties by position
    queries = [w[:-1] + "e" for w in words[:150]] + words[:30] + words[:30]
    groups = rng.integers(0, 150, len(choices))
    for g in (None, groups):
        ref_i, ref_s = reference(queries, choices, 5, "token_sort_ratio", 40, g)
        for max_cols, min_cols, block_bytes, dense_slack, lcs_max in [(64, 16, 64 * 20, 1024, 255),
                                                                      (512, 512, 10**6, 0, 255),
                                                                      (512, 512, 10**6, 0, 7),
                                                                      (40, 30, 10**6, 1024, 255)]:
            with bands(max_cols, min_cols, dense_slack, lcs_max):
                idx, sc = topk(queries, choices, k=5, score_cutoff=40, choice_groups=g, block_bytes=block_bytes)
            assert (sc == ref_s).all() and (idx == ref_i).all()


@pytest.mark.parametrize("cut", [1, 45, 66.5, 100])
def test_ratio_table_is_rapidfuzz_ratio_of_the_lcs(cut):
    """The uint8 ratio of any two strings is the table's entry for their length sum and LCS."""
    rng = np.random.default_rng(5)
    table = score._RatioTable(cut)
    for la in range(0, 30):
        for lb in range(0, 30):
            for lcs in range(0, min(la, lb) + 1):
                common = "".join(rng.choice(list("abc"), lcs))
                s1, s2 = list(common), list(common)
                for _ in range(la - lcs):
                    s1.insert(int(rng.integers(0, len(s1) + 1)), "x")
                for _ in range(lb - lcs):
                    s2.insert(int(rng.integers(0, len(s2) + 1)), "y")
                s1, s2 = "".join(s1), "".join(s2)
                want = process.cdist([s1], [s2], scorer=fuzz.ratio, dtype=np.uint8, score_cutoff=cut)[0, 0]
                got_lcs = process.cdist([s1], [s2], scorer=score.LCSseq.similarity, dtype=np.uint8)[0, 0]
                assert got_lcs == lcs and table.scores(la + lb)[lcs] == want, (s1, s2)
    assert (np.diff(table.scores(57).astype(int)) >= 0).all()


def test_topk_score_blocks_stay_within_block_bytes(monkeypatch):
    cells = []
    real = process.cdist

    def counting(a, b, **kw):
        cells.append(len(a) * len(b))
        return real(a, b, **kw)

    monkeypatch.setattr(score.process, "cdist", counting)
    rng = np.random.default_rng(3)
    words = ["".join(rng.choice(list("abcdefgh"), rng.integers(3, 12))) for _ in range(3000)]
    with bands(score.BAND_MAX_COLS, score.BAND_MIN_COLS, score.DENSE_SLACK):  # not the one-pass path of small inputs
        topk(words[:500], words, k=5, block_bytes=20_000)
    assert cells and max(cells) <= max(20_000, score.BAND_MAX_COLS)
    assert sum(cells) < 500 * 3000  # the length bound skipped pairs


def test_topk_bad_input():
    with pytest.raises(ValueError, match="k must be"):
        topk(["a"], ["a"], k=0)
    with pytest.raises(ValueError, match="score_cutoff"):
        topk(["a"], ["a"], score_cutoff=101)
    with pytest.raises(ValueError, match="choice_groups"):
        topk(["a"], ["a", "b"], choice_groups=[0])
    with pytest.raises(ValueError, match="choice_groups"):
        topk(["a"], ["a"], choice_groups=[-1])
    idx, sc = topk([], ["a"], k=3)
    assert idx.shape == sc.shape == (0, 3)
    idx, sc = topk(["a", ""], [], k=2)
    assert (idx == -1).all() and (sc == 0).all() and idx.shape == (2, 2)


def test_order_falls_back_to_lexsort_for_wide_keys():
    rng = np.random.default_rng(2)
    a, b, c = rng.integers(0, 3, 200), rng.integers(0, 2**40, 200), rng.integers(0, 2**30, 200)
    for keys in ([(a, 3), (b, 2**40)], [(a, 3), (b, 2**40), (c, 2**30)]):  # fits / does not fit an int64
        o = score._order(keys)
        rows = [tuple(int(arr[i]) for arr, _ in keys) for i in o]
        assert sorted(o.tolist()) == list(range(200)) and rows == sorted(rows)
