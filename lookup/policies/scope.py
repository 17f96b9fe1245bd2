"""The long table's key columns and the scope rule shared by every OxCGRT reader (long and wide layouts).

Scope rules (OxCGRT's Jurisdiction vocabularies; see :mod:`.readers` for the layouts): ``NAT_*`` or no
region and no city -> ``national``; ``STATE_*`` or a region without a city -> ``region``; ``CITY_*`` or
a city code -> ``city``; Brazil's ``CityCode`` ``STATE_GOV`` with no Jurisdiction is its state's row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geolookup.core.errors import InputError, where

from .table import indicators

KEY_COLUMNS = ("country_code", "region_code", "city_code", "jurisdiction", "scope")


def long_columns() -> list[str]:
    """Columns of the long table, in order (see :func:`read_oxcgrt`)."""
    cols = [*KEY_COLUMNS, "date", "file_order", "source_file"]
    for ind in indicators():
        cols.append(ind["column"])
        if ind["kind"] == "policy":
            cols.append(f"{ind['column']}_flag")
    return cols


def _scope(country, region, city, jur, label) -> tuple[np.ndarray, ...]:
    """Vectorised scope rules (module docstring). Returns (region, city, jurisdiction, scope) arrays."""
    region, city, jur = (np.asarray(a, dtype=object) for a in (region, city, jur))
    brazil_state = (jur == "") & (city == "STATE_GOV")
    jur = np.where(brazil_state, "STATE_GOV", jur).astype(object)
    city = np.where(brazil_state, "", city).astype(object)
    j = pd.Series(jur, dtype=object)
    nat = j.str.startswith("NAT_").to_numpy() | ((jur == "") & (region == "") & (city == ""))
    reg = j.str.startswith("STATE_").to_numpy() | ((jur == "") & (region != "") & (city == ""))
    cit = j.str.startswith("CITY_").to_numpy() | ((jur == "") & (city != ""))
    unknown = ~(nat | reg | cit)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputError(f"{where(label, i + 2, 'Jurisdiction')}: unknown jurisdiction {jur[i]!r}; "
                         "expected NAT_GOV, NAT_TOTAL, STATE_ALL, STATE_TOTAL, STATE_WIDE, STATE_GOV or CITY_*")
    bad = reg & (region == "")
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where(label, i + 2, 'RegionCode')}: sub-national row without a RegionCode; fill it in")
    empty = np.asarray(country, dtype=object) == ""
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(f"{where(label, i + 2, 'CountryCode')}: empty country code; fill in the ISO3 code")
    scope = np.where(nat, "national", np.where(reg, "region", "city")).astype(object)
    region = np.where(nat, "", region).astype(object)
    return region, city, jur, scope
