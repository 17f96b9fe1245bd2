"""Stable ``.n_0`` ids for provider subdivisions that GADM lacks (the Data Hub's convention).

Id form: ``<parent GID without _version>.<n>_0`` -- Kansas City inside Jackson County USA.26.48_1
becomes USA.26.48.2_0 (COVID-19 Data Hub USA table, where Jackson County minus Kansas City is
USA.26.48.1_0).

Numbering rule: n counts per parent from 1 + the largest n already used under that parent, where
"used" covers every id in ``<state_dir>/minted_ids.csv`` for that parent and every GADM child the
caller passes in ``existing_gids`` (so a new area under ITA.14_1, whose GADM provinces are
ITA.14.1_1 .. ITA.14.4_1, becomes ITA.14.5_0, never a second "ITA.14.1"). Ids are never reused nor
renumbered: once (source, provider_key) has an id it gets the same id in every later run. The
file is rewritten atomically (columns source, provider_key, parent_gid, gid, name, parent_name);
rows are never deleted. ``name`` is the provider's name as written and ``parent_name`` its parent
as written ("" when unknown): later matching runs, of any source, match these names like GADM
names (matching/minted.py), so a place minted once is found again instead of being re-minted.
Files written before those two columns existed still load (the columns read as ""; the name is
filled in the next time the same (source, provider_key) is minted); other columns a user added
are kept.

When matching mints automatically (matching/core.py): a GADM area claimed by several provider
rows of one run -- by exact name (full or with type words stripped) or, for a row whose name fits
no area, by its coordinates falling inside it -- is split: every claimant gets an id under that
area, in the order of their normalised names (Jackson -> .1_0, Kansas City -> .2_0, as in the
Data Hub). Ids minted in earlier runs are reused before any new one (spatial.split_and_mint).
"""

from __future__ import annotations

import re

import pandas as pd

from geolookup.gadm.gids import gid_number, gid_stem, parent_stem
from geolookup.core.errors import GeolookupError, InputError
from geolookup.core.state import state_dir as _state_dir
from geolookup.core.tableio import read_csv_text, write_csv_atomic

COLUMNS = ["source", "provider_key", "parent_gid", "gid", "name", "parent_name"]
REQUIRED = COLUMNS[:4]  # files written before name/parent_name existed lack the last two
_GID = re.compile(r"^[A-Z]{3}(\.\d+)*_\d+$")


def minted_path(state_dir=None, create=True):
    """``<state_dir>/minted_ids.csv`` (the folder is created unless ``create`` is False)."""
    return _state_dir(state_dir, create=create) / "minted_ids.csv"


def load_minted(state_dir=None) -> pd.DataFrame:
    """All minted ids, one row per (source, provider_key): columns COLUMNS (str; ``name`` and
    ``parent_name`` "" in files written before they existed) followed by any extra columns the
    file has. Empty frame when there is no file. Raises InputError for a file lacking one of
    source, provider_key, parent_gid, gid."""
    p = minted_path(state_dir, create=False)  # reading (every match_places call) creates nothing
    if not p.is_file():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    df = read_csv_text(p, required=REQUIRED)
    for c in COLUMNS[4:]:
        if c not in df.columns:
            df[c] = ""
    return df[COLUMNS + [c for c in df.columns if c not in COLUMNS]]


def mint(parent_gid, source, provider_key, state_dir=None, existing_gids=(), name="", parent_name="") -> str:
    """Return the stable minted id of (source, provider_key) under ``parent_gid``.

    Input: ``parent_gid`` a GADM GID ("USA.26.48_1"), ``source`` provider name, ``provider_key``
    the provider's own key, ``existing_gids`` the GADM GIDs one level below the parent (their n
    are never reused), ``name`` / ``parent_name`` the provider's name and parent name as written
    (stored so that later runs can match the id by name). Output: id str
    ``<parent without _version>.<n>_0``; the same call returns the same id forever. Raises
    GeolookupError for a malformed parent GID and InputError when (source, provider_key) is
    already minted under another parent (fix: a curator decision).
    """
    many = mint_many([(parent_gid, source, provider_key, name, parent_name)], state_dir, existing_gids)
    return many[0]


def mint_many(requests, state_dir=None, existing_gids=()) -> list[str]:
    """Vector form of :func:`mint`: ``requests`` list of (parent_gid, source, provider_key[, name,
    parent_name]) in the order new n are handed out; one atomic rewrite of minted_ids.csv for all
    of them (none when nothing is new). A known (source, provider_key) stored without a name gets
    the requested name filled in; a stored name is never changed."""
    table = load_minted(state_dir)
    known = {(s, k): (p, g, i) for i, (s, k, p, g) in enumerate(table[REQUIRED].itertuples(index=False))}
    top: dict[str, int] = {}
    for p, g in zip(table["parent_gid"], table["gid"]):
        top[p] = max(top.get(p, 0), gid_number(g))
    child_top: dict[str, int] = {}  # parent stem -> largest n of its GADM children
    for g in existing_gids:
        if _GID.match(str(g)) and "." in str(g):
            stem = parent_stem(str(g))
            child_top[stem] = max(child_top.get(stem, 0), gid_number(str(g)))
    out, new, filled = [], [], False
    for req in requests:
        parent, source, key = (str(x) for x in req[:3])
        name, pname = (str(x) if x is not None else "" for x in (list(req[3:5]) + ["", ""])[:2])
        if not _GID.match(parent):
            raise GeolookupError(f"cannot mint under {parent!r}: not a GADM GID like 'USA.26.48_1'")
        if (source, key) in known:
            p, g, i = known[(source, key)]
            if p != parent:
                raise InputError(
                    f"{minted_path(state_dir)}: {source}/{key} was minted as {g} under {p}, now placed under {parent}; "
                    "record a curator decision instead of re-minting")
            if i is not None and name and table.at[i, "name"] == "":
                table.at[i, "name"], table.at[i, "parent_name"], filled = name, pname, True
            out.append(g)
            continue
        n = max(top.get(parent, 0), child_top.get(gid_stem(parent), 0)) + 1
        top[parent] = n
        gid = f"{gid_stem(parent)}.{n}_0"
        known[(source, key)] = (parent, gid, None)
        new.append({"source": source, "provider_key": key, "parent_gid": parent, "gid": gid, "name": name,
                    "parent_name": pname})
        out.append(gid)
    if new or filled:
        if new:
            table = pd.concat([table, pd.DataFrame(new).reindex(columns=table.columns, fill_value="")],
                              ignore_index=True)
        write_csv_atomic(table, minted_path(state_dir))
    return out
