"""Error kinds of one matching run, with concrete example rows, written as text for the matcher's authors."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from geolookup.core.tableio import write_text_atomic
from geolookup.gadm.gids import gid_level

from .measure import found, in_top5
from .truth import truth_name

PER_KIND = 20


def non_latin(s: str) -> bool:
    """Any letter outside the Latin script (Thai, Han, Cyrillic, Hangul, Arabic, Greek, ...)."""
    return any(ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN") for ch in str(s))


def kind_of(r) -> str:
    acc = r.match_status == "accepted"
    if str(r.match_reason).startswith("CRASH"):
        return "crash: match_places raised"
    if acc and found(r.gid, r.truth):
        return ""
    if acc:
        if r.gid.endswith("_0") and not r.truth.endswith("_0"):
            return "wrong accept: minted a new .n_0 id for a place GADM has"
        if r.truth.endswith("_0"):
            return "wrong accept: truth is a hand-minted part (.n_0) of another area; matcher gave a GADM area"
        if gid_level(r.gid) != gid_level(r.truth):
            return "wrong accept: an area of another GADM level"
        return "wrong accept: another area of the same GADM level"
    if r.group == "dev codes":
        part = "ISO 3166-2 code" if "-" in r.name else "subdivision part of the code"
        return f"code in the name column not accepted ({part})" + ("" if in_top5(r.candidates, r.truth) else ", truth not in top 5")
    script = "non-Latin script" if non_latin(r.name) else "Latin script"
    if not in_top5(r.candidates, r.truth):
        return f"not accepted, truth NOT in the top 5 ({script})"
    return f"not accepted, truth in the top 5 ({script}): curator work"


def _spread(g: pd.DataFrame, n: int) -> pd.DataFrame:
    """Up to ``n`` rows, taken round-robin over countries so that one country does not fill the list."""
    g = g.assign(_k=g.groupby("country").cumcount()).sort_values(["_k", "country"], kind="stable")
    return g.head(n)


def write(scored: pd.DataFrame, allrows: pd.DataFrame, path) -> dict:
    """Classify every row with a truth (see :func:`kind_of`), write counts and up to PER_KIND examples per
    kind to ``path`` (worst kinds first: wrong accepts, then missing truths, then curator work).
    Returns {kind: count}."""
    kinds = pd.Series([kind_of(r) for r in scored.itertuples(index=False)], index=scored.index)
    bad = scored.assign(kind=kinds)[kinds != ""]
    order = sorted(bad["kind"].unique(), key=lambda k: (not k.startswith(("crash", "wrong")), "NOT" not in k
                                                          and "not in top" not in k, -int((bad["kind"] == k).sum())))
    out = ["Error kinds of geolookup match on the development set (dev names / dev codes) and ITA/ESP/USA.",
           "Truth: bench/devset (ISO 3166-2 codes linked to GADM by agreeing evidence) and the Data Hub's key_gadm.",
           "Per row: [group | data set] input (parent) -> truth GID 'GADM NAME' | matcher: status gid method score "
           "| match_reason | candidates", ""]
    counts = {}
    for k in order:
        g = bad[bad["kind"] == k]
        counts[k] = len(g)
        by = g.groupby("group").size().to_dict()
        out.append(f"== {k}: {len(g)} rows ({', '.join(f'{a} {b}' for a, b in by.items())})")
        for r in _spread(g, PER_KIND).itertuples(index=False):
            parent = f" (parent {r.parent!r})" if r.parent else ""
            out.append(f"  [{r.group} | {r.part}] {r.name!r}{parent} -> truth {r.truth} {truth_name(r.truth)!r} | "
                       f"{r.match_status} {r.gid or '-'} {r.match_method} {r.match_score} | {r.match_reason} | {r.candidates}")
        out.append("")
    unk = allrows[(allrows["truth"] == "") & (allrows["group"].str.startswith("dev"))]
    out.append(f"(left out: {len(unk)} development rows whose truth is unknown, e.g. conflicting evidence)")
    write_text_atomic(Path(path), "\n".join(out) + "\n")
    return counts
