"""Name matching for the service: ``geolookup match`` on one name, read-only, many names per call.

Each answer is what ``geolookup match`` writes for a one-row input file holding that name (and its
parent and code): :func:`geolookup.matching.match_places`, then the curators' decisions
(:func:`geolookup.curation.apply_decisions`), keyed by ``source`` and the provider key
(:func:`geolookup.matching.provider_keys`).

Read-only: the state folder is read once, at load, into a private snapshot (minted ids and
decisions); calls run on a private working copy of the minted ids, put back from the snapshot after
any call that wrote it, so nothing a call could write (``match_places`` mints when several rows
claim one area) reaches the state folder or a later call.

Speed: one ``match_places`` call has a fixed cost of milliseconds, whatever its number of rows, so
names that arrive together are matched in one call. Rows of one call interact only through the
split rule (several rows claiming one GADM area; matching/spatial.py), so rows whose claimed areas
(GID, parts, best candidate, and the parent of a minted id) meet another row's are matched again in
rounds of rows that claim nothing in common (each round one call; a row that still meets another
is matched alone): every answer stays that of its name alone.
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
        self.work = self.snapshot / "work"  # the calls' state folder: minted ids only
        self.work.mkdir()
        self._restore()

    def _stamp(self):
        p = self.work / self.minted.name
        return (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else None

    def _restore(self) -> None:
        """Put the working copy of the minted ids back to the snapshot (modification time included,
        so that matching's cache of the minted table, keyed by it, stays valid)."""
        target = self.work / self.minted.name
        if self.minted.is_file():
            shutil.copy2(self.minted, target)
        else:
            target.unlink(missing_ok=True)
        self._clean = self._stamp()

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
        try:
            res = match_places(df, country, gadm_level, "name", code_col="code", parent_col="parent",
                               data_dir=self.data_dir, state_dir=self.work, source=source, label="request")
        finally:
            if self._stamp() != self._clean:  # the call minted: forget it
                self._restore()
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
        records = self._run(df, country, gadm_level, source).to_dict("records")
        todo = _meeting([_claims(r) for r in records], range(len(records)))
        while todo:  # rows that met another: again, in rounds of rows claiming nothing in common
            rnd, taken = [], set()
            for i in todo:
                c = _claims(records[i])
                if not c & taken:
                    rnd.append(i)
                    taken |= c
            res = self._run(df.iloc[rnd].reset_index(drop=True), country, gadm_level, source).to_dict("records")
            met = set(_meeting([_claims(r) for r in res], range(len(rnd)))) if len(rnd) > 1 else set()
            for j, i in enumerate(rnd):
                if j not in met:
                    records[i] = res[j]
            lone = [rnd[j] for j in sorted(met)]  # met again: each alone
            for i in lone:
                records[i] = self._run(df.iloc[[i]].reset_index(drop=True), country, gadm_level, source) \
                    .to_dict("records")[0]
            todo = [i for i in todo if i not in set(rnd)]
        answers = {item: _answer(r) for item, r in zip(uniq, records)}
        return [answers[item] for item in items]


def _meeting(claims: list, rows) -> list:
    """The rows (of ``rows``, in order) whose claimed areas meet another row's."""
    seen: dict = {}
    for i, c in zip(rows, claims):
        for g in c:
            seen.setdefault(g, []).append(i)
    met = {i for r in seen.values() if len(r) > 1 for i in r}
    return [i for i in rows if i in met]


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
