"""Decisions from scores: accepted / review / unmatched (thresholds in matching/defaults.toml).

Rules (the Data Hub's practice: a certain match is kept, anything else is checked by hand), per
provider row:
- code, alias and composite matches pointing to exactly one entity are accepted (score 100);
- exact name matches (tiers 0-3, see levelmatch.py) to exactly one area are accepted (100);
  several areas sharing the name -> review with all of them as candidates, never a guess;
- fuzzy: accepted when the best score >= ``accept_score`` and it leads the runner-up (another
  area) by >= ``accept_margin``; review when >= ``review_score``; else unmatched.
"""

from __future__ import annotations

import numpy as np

from geolookup.core.config import section


def settings() -> dict:
    """matching/defaults.toml merged with the user's [matching] table."""
    return section("matching")


def fuzzy_status(scores: np.ndarray, cfg: dict) -> np.ndarray:
    """Status per row from the fuzzy top-k scores (n, k), best first (0 = none).

    Output: object array (n,) of "accepted" | "review" | "unmatched".
    """
    best = scores[:, 0]
    second = scores[:, 1] if scores.shape[1] > 1 else np.zeros(len(scores))
    ok = (best >= cfg["accept_score"]) & (best - second >= cfg["accept_margin"])
    return np.where(ok, "accepted", np.where(best >= cfg["review_score"], "review", "unmatched")).astype(object)


def format_candidates(pairs) -> str:
    """[(gid, score), ...] -> "GID:score|GID:score" (best first, duplicates dropped, max 5)."""
    seen, out = set(), []
    for g, s in sorted(pairs, key=lambda x: -x[1]):
        if g and g not in seen:
            seen.add(g)
            out.append(f"{g}:{round(float(s), 1):g}")
    return "|".join(out[:5])
