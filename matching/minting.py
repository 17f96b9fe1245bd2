"""Stable ``.n_0`` ids for provider subdivisions that GADM lacks (the Data Hub's convention).

Id form: ``<parent GID without _version>.<n>_0`` -- Kansas City inside Jackson County USA.26.48_1
becomes USA.26.48.2_0 (COVID-19 Data Hub USA table, where Jackson County minus Kansas City is
USA.26.48.1_0).

Numbering rule: n counts per parent from 1 + the largest n already used under that parent, where
"used" covers every id in ``<state_dir>/minted_ids.csv`` for that parent and every GADM child the
caller passes in ``existing_gids`` (so a new area under ITA.14_1, whose GADM provinces are
ITA.14.1_1 .. ITA.14.4_1, becomes ITA.14.5_0, never a second "ITA.14.1"). Ids are never reused nor
renumbered: once (source, provider_key) has an id it gets the same id in every later run. The
file is rewritten atomically (columns source, provider_key, parent_gid, gid); rows are never deleted.

When matching mints automatically (matching/core.py): a GADM area claimed by several provider
rows of one run -- by exact name (full or with type words stripped) or, for a row whose name fits
no area, by its coordinates falling inside it -- is split: every claimant gets an id under that
area, in the order of their normalised names (Jackson -> .1_0, Kansas City -> .2_0, as in the
Data Hub).
"""

from __future__ import annotations

import re

import pandas as pd

from geolookup.errors import GeolookupError, InputError
from geolookup.state import state_dir as _state_dir
from geolookup.tableio import read_csv_text, write_csv_atomic

COLUMNS = ["source", "provider_key", "parent_gid", "gid"]
_GID = re.compile(r"^[A-Z]{3}(\.\d+)*_\d+$")


def minted_path(state_dir=None):
    return _state_dir(state_dir) / "minted_ids.csv"


def load_minted(state_dir=None) -> pd.DataFrame:
    """All minted ids (columns source, provider_key, parent_gid, gid; str); empty frame if none."""
    p = minted_path(state_dir)
    if not p.is_file():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    df = read_csv_text(p, required=COLUMNS)
    return df[COLUMNS]


def _n_of(gid: str) -> int:
    return int(gid.rsplit("_", 1)[0].rsplit(".", 1)[1])


def mint(parent_gid, source, provider_key, state_dir=None, existing_gids=()) -> str:
    """Return the stable minted id of (source, provider_key) under ``parent_gid``.

    Input: ``parent_gid`` a GADM GID ("USA.26.48_1"), ``source`` provider name, ``provider_key``
    the provider's own key, ``existing_gids`` the GADM GIDs one level below the parent (their n
    are never reused). Output: id str ``<parent without _version>.<n>_0``; the same call
    returns the same id forever. Raises GeolookupError for a malformed parent GID and InputError
    when (source, provider_key) is already minted under another parent (fix: a curator decision).
    """
    many = mint_many([(parent_gid, source, provider_key)], state_dir, existing_gids)
    return many[0]


def mint_many(requests, state_dir=None, existing_gids=()) -> list[str]:
    """Vector form of :func:`mint`: ``requests`` list of (parent_gid, source, provider_key) in the
    order new n are handed out; one atomic rewrite of minted_ids.csv for all of them."""
    table = load_minted(state_dir)
    known = {(s, k): (p, g) for s, k, p, g in table[COLUMNS].itertuples(index=False)}
    top: dict[str, int] = {}
    for p, g in zip(table["parent_gid"], table["gid"]):
        top[p] = max(top.get(p, 0), _n_of(g))
    child_top: dict[str, int] = {}  # parent stem -> largest n of its GADM children
    for g in existing_gids:
        if _GID.match(str(g)) and "." in str(g):
            stem = str(g).rsplit("_", 1)[0].rsplit(".", 1)[0]
            child_top[stem] = max(child_top.get(stem, 0), _n_of(str(g)))
    out, new = [], []
    for parent, source, key in requests:
        parent, source, key = str(parent), str(source), str(key)
        if not _GID.match(parent):
            raise GeolookupError(f"cannot mint under {parent!r}: not a GADM GID like 'USA.26.48_1'")
        if (source, key) in known:
            p, g = known[(source, key)]
            if p != parent:
                raise InputError(
                    f"{minted_path(state_dir)}: {source}/{key} was minted as {g} under {p}, now placed under {parent}; "
                    "record a curator decision instead of re-minting")
            out.append(g)
            continue
        n = max(top.get(parent, 0), child_top.get(parent.rsplit("_", 1)[0], 0)) + 1
        top[parent] = n
        gid = f"{parent.rsplit('_', 1)[0]}.{n}_0"
        known[(source, key)] = (parent, gid)
        new.append((source, key, parent, gid))
        out.append(gid)
    if new:
        table = pd.concat([table, pd.DataFrame(new, columns=COLUMNS)], ignore_index=True)
        write_csv_atomic(table, minted_path(state_dir))
    return out
