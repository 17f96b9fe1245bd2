"""The output of match_places: provider keys (how minted ids and curators' decisions are keyed) and
the result columns assembled from a matching pass (composites resolved by the paper's centroid
rule, matching/composite.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .composite import resolve_composite
from .decide import format_candidates
from .minted import geometry_areas

OUT_COLUMNS = ["gid", "gid_parts", "match_status", "match_score", "match_method", "candidates",
               "match_gadm_level", "match_reason"]


def _text(df, col) -> np.ndarray:
    """Column ``col`` of ``df`` as stripped str (object array; missing values ""); all "" when ``col``
    is None."""
    if not col:
        return np.full(len(df), "", dtype=object)
    return np.array([_cell(x) for x in df[col].to_numpy(dtype=object)], dtype=object)


def _cell(x) -> str:
    if isinstance(x, str):
        return x.strip()
    return "" if x is None or x is pd.NA or x != x else str(x).strip()


def provider_keys(df, name_col, code_col=None, parent_col=None, key_col=None) -> np.ndarray:
    """The provider key of each row, as minted ids and curators' decisions are keyed.

    Input: provider rows (text columns) and the column names. Output: object array of str, one per
    row: the key column when given, else the code column where it is not empty, else
    "parent/name" (or the name alone without a parent column; names repeat across parents, so
    the parent keeps e.g. the thirty "Washington" counties apart).
    """
    return _provider_keys(df, _text(df, name_col), _text(df, parent_col), key_col, code_col, parent_col)


def _provider_keys(df, raw, parents, key_col, code_col, parent_col):
    """Provider key per row: key column, else code column, else "parent/name" (or name)."""
    if key_col:
        return df[key_col].astype(str).to_numpy(dtype=object)
    if parent_col:
        keys = [f"{p}/{r}" if p != "" else r for r, p in zip(raw, parents)]
    else:
        keys = list(raw)
    keys = np.array(keys, dtype=object)
    if code_col:
        c = df[code_col].astype(str).to_numpy(dtype=object)
        keys = np.where(c != "", c, keys)
    return keys


def assemble(ctx, df, res) -> pd.DataFrame:
    out = df.drop(columns=[c for c in OUT_COLUMNS if c in df.columns])
    acc = np.array(res.status, dtype=object) == "accepted"
    parts = pd.Series(res.parts, dtype=object)
    first = parts.str[0].astype(object)
    gid = np.where(acc, first.where(first.notna(), ""), "").astype(object)
    parts_s = np.where(acc, parts.str.join("|"), "").astype(object)
    composites = np.flatnonzero(acc & (parts.str.len().to_numpy() > 1))
    if len(composites):  # the centroid rule; the parts' geometry read once for all of them
        geo = geometry_areas([p for i in composites for p in res.parts[i]], ctx.country, ctx.minted, ctx.data_dir)
    for i in composites:
        g, _, _ = resolve_composite(res.parts[i], geo)
        res.method[i] = "composite" if res.method[i] != "manual" else res.method[i]
        res.cands[i] = [(g, 100)] + [(p, 100) for p in res.parts[i] if p != g]
        gid[i] = g
    cols = pd.DataFrame({"gid": gid, "gid_parts": parts_s, "match_status": res.status,
                         "match_score": np.round(res.score, 1), "match_method": res.method,
                         "candidates": [format_candidates(c) for c in res.cands], "match_gadm_level": res.level,
                         "match_reason": res.reason}, index=out.index)
    return pd.concat([out, cols], axis=1)  # one concat: eight column inserts cost three times more
