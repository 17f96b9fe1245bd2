"""Name matching for the service: ``geolookup match`` on one name, read-only, many names per call.

Each answer is what ``geolookup match`` writes for a one-row input file holding that name (and its
parent and code): :func:`geolookup.matching.match_places`, then the curators' decisions
(:func:`geolookup.curation.apply_decisions`), keyed by ``source`` and the provider key
(:func:`geolookup.matching.provider_keys`).

Read-only: the state folder is read once, at load, into a private snapshot (minted ids and
decisions); every call runs on a fresh temporary copy of the minted ids, so nothing a call could
write (``match_places`` mints when several rows claim one area) reaches the state folder or a later
call.

Speed: one ``match_places`` call has a fixed cost of tens of milliseconds, whatever its number of
rows, so names that arrive together are matched in one call. Rows of one call interact only
through the split rule (several rows claiming one GADM area; matching/spatial.py), so any row whose
claimed areas (its GID, parts, best candidate, and the parent of a minted id) meet another row's is
matched again alone: every answer stays that of its name alone.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from geolookup.core.errors import InputError
from geolookup.core.state import state_dir as _state_dir
from geolookup.curation import apply_decisions
from geolookup.curation.store import load_decisions
from geolookup.gadm.gids import parent_stem
from geolookup.matching import match_places, provider_keys

STATE_FILES = ("minted_ids.csv", "decisions.csv", "decisions_log.csv")
COLUMNS = ["name", "parent", "code"]


def _candidates(text: str) -> list[dict]:
    """``"GID:score|GID:score"`` (the match output column) -> [{"gid", "score"}, ...]."""
    out = []
    for part in str(text or "").split("|"):
        if part:
            gid, _, score = part.rpartition(":")
            out.append({"gid": gid, "score": float(score)})
    return out


def _claims(row) -> set:
    """GADM areas a result claims, for the split-rule interaction check (module doc)."""
    gids = {row["gid"], *str(row["gid_parts"]).split("|")}
    cands = _candidates(row["candidates"])
    if cands:
        gids.add(cands[0]["gid"])
    gids |= {parent_stem(g) for g in list(gids) if g.endswith("_0")}
    gids.discard("")
    return gids


class Matcher:
    """Matches names against the GADM areas of the served countries without writing any state.

    Parameters
    ----------
    levels : dict of str to list of int
        ISO3 -> available GADM levels (levels >= 1 can be matched).
    data_dir : str, optional
        Data folder.
    state_dir : str, optional
        The state folder to read (default as the CLI: $GEOLOOKUP_STATE, then ./.geolookup).
    """

    def __init__(self, levels: dict, data_dir=None, state_dir=None):
        self.levels, self.data_dir = levels, data_dir
        real = _state_dir(state_dir, create=False)
        self.snapshot = Path(tempfile.mkdtemp(prefix="geolookup-serve-state-"))
        for name in STATE_FILES:
            if (real / name).is_file():
                shutil.copyfile(real / name, self.snapshot / name)
        self.decisions = load_decisions(self.snapshot)
        self.minted = self.snapshot / "minted_ids.csv"

    def close(self) -> None:
        shutil.rmtree(self.snapshot, ignore_errors=True)

    def check(self, country: str, gadm_level: int) -> None:
        """Raise InputError (field and fix) for a country not served or a GADM level it lacks."""
        if country not in self.levels:
            raise InputError(f"country: {country!r} is not served; use one of {', '.join(self.levels)}")
        have = [k for k in self.levels[country] if k >= 1]
        if gadm_level not in have:
            raise InputError(f"gadm_level: GADM level {gadm_level} cannot be matched for {country}; "
                             f"use one of {', '.join(map(str, have))}")

    def _run(self, df: pd.DataFrame, country: str, gadm_level: int, source: str) -> pd.DataFrame:
        with tempfile.TemporaryDirectory(prefix="geolookup-serve-call-") as tmp:
            if self.minted.is_file():
                shutil.copyfile(self.minted, Path(tmp) / self.minted.name)
            res = match_places(df, country, gadm_level, "name", code_col="code", parent_col="parent",
                               data_dir=self.data_dir, state_dir=tmp, source=source, label="request")
        keys = provider_keys(df, "name", "code", "parent")
        return apply_decisions(res.assign(source=source, provider_key=[str(k) for k in keys]),
                               decisions=self.decisions)

    def match(self, country: str, gadm_level: int, source: str, items: list[tuple]) -> list[dict]:
        """Match names of one country and GADM level, each as if alone in a ``geolookup match`` input.

        Parameters
        ----------
        country : str
            ISO3 code of a served country.
        gadm_level : int
            GADM level searched (>= 1; Data Hub administrative_area_level minus one).
        source : str
            Provider name keying the curators' decisions (as ``geolookup match --source``).
        items : list of (name, parent, code)
            Text, "" = none; duplicates allowed.

        Returns
        -------
        list of dict, one per item, in order
            decision (accepted|review|unmatched), gid (None unless accepted), gid_parts (list of str),
            score (float 0-100), method, reason, match_gadm_level (int) and candidates (<= 5
            {"gid", "score"}, best first): the columns ``geolookup match`` writes.

        Raises
        ------
        InputError, GeolookupError
            From :func:`geolookup.matching.match_places` (call :meth:`check` first for the fields).
        """
        uniq = list(dict.fromkeys(items))
        df = pd.DataFrame(uniq, columns=COLUMNS, dtype=object)
        res = self._run(df, country, gadm_level, source)
        claims = [_claims(r) for r in res.to_dict("records")]
        seen: dict = {}
        for i, c in enumerate(claims):
            for g in c:
                seen.setdefault(g, []).append(i)
        redo = sorted({i for rows in seen.values() if len(rows) > 1 for i in rows})
        records = res.to_dict("records")
        for i in redo:  # met another row: match it alone (module doc)
            records[i] = self._run(df.iloc[[i]].reset_index(drop=True), country, gadm_level, source) \
                .to_dict("records")[0]
        answers = {item: _answer(r) for item, r in zip(uniq, records)}
        return [answers[item] for item in items]


def _answer(r: dict) -> dict:
    parts = [p for p in str(r["gid_parts"]).split("|") if p]
    return {
        "decision": r["match_status"],
        "gid": r["gid"] or None,
        "gid_parts": parts,
        "score": float(r["match_score"]),
        "method": r["match_method"],
        "reason": str(r.get("match_reason", "")),
        "match_gadm_level": int(np.int64(r["match_gadm_level"])),
        "candidates": _candidates(r["candidates"]),
    }
