"""Territories: places a country's providers name that GADM 3.6 files under another ISO3.

GADM files dependent territories as countries of their own (Puerto Rico under PRI, Guam under GUM,
the Faroe Islands under FRO, ...), while providers publish them as regions of the sovereign
country (JHU and NYT report Puerto Rico as a US state; the Data Hub's USA.csv has a Data Hub
level-2 row "Puerto Rico" with key_gadm "PRI" and level-3 rows with key_gadm "PRI.1_1", ...).
The list of territories is derived from well-kept data, never typed:

1. ISO 3166-2: a subdivision of the country whose code suffix is itself another country's ISO
   3166-1 alpha-2 code, of a minority subdivision type, named like that country (US-PR -> PR ->
   PRI; the rule and its sources are curation.territories, shared with the curators' checks);
2. ISO 3166-1 names (pycountry): a provider row at Data Hub level 2 whose name is another country's
   name and not the name of one of the country's own GADM level-1 areas (JHU's "Bermuda" under
   the United Kingdom -> BMU; the US state "Georgia" stays a US state).
"""

from __future__ import annotations

import functools

import numpy as np
import pycountry

from geolookup.curation.territories import territories
from geolookup.matching.normalize import fold

from .providers import country_iso3


def _names(country) -> set[str]:
    """Folded ISO 3166-1 names of a country; "Virgin Islands, U.S." also gives "virgin islands"
    (ISO's "name, qualifier" form; providers write the name alone)."""
    raw = [getattr(country, a) for a in ("name", "common_name", "official_name") if getattr(country, a, None)]
    return {fold(n) for n in raw} | {fold(n.split(",")[0]) for n in raw if "," in n}


@functools.lru_cache(maxsize=256)
def iso_territories(iso3: str) -> dict[str, str]:
    """Rule 1 of the module doc: folded name -> territory ISO3 for one country (ISO3).

    Output: dict of each territory's ISO 3166-1 names and its ISO 3166-2 subdivision name, folded
    (matching.normalize.fold), -> the territory's alpha-3 code. Empty for a code pycountry lacks.
    """
    country = pycountry.countries.get(alpha_3=iso3)
    out = {}
    for t in sorted(territories(iso3)) if country else []:
        other = pycountry.countries.get(alpha_3=t)
        sub = pycountry.subdivisions.get(code=f"{country.alpha_2}-{other.alpha_2}")
        for n in _names(other) | ({fold(sub.name)} if sub else set()):
            out[n] = t
    return out


@functools.lru_cache(maxsize=1)
def _countries_by_name() -> dict[str, str]:
    """Folded ISO 3166-1 names (pycountry, :func:`_names`) -> alpha-3: "reunion" -> REU."""
    return {n: c.alpha_3 for c in pycountry.countries for n in _names(c)}


def territory_of(names, iso3: str, own_names=()) -> np.ndarray:
    """Territory ISO3 per provider name (rules 1 and 2 of the module doc), "" for the country's own areas.

    Input: names (Data Hub level-2 names, or the parent names of level-3 rows), the country's ISO3,
    and ``own_names`` the names of the country's own GADM level-1 areas (rule 2 never takes
    those). Output: object array of str, same length as ``names``.
    """
    known = iso_territories(iso3)
    own = {fold(n) for n in own_names}
    out = []
    for n in names:
        f = fold(n)
        t = known.get(f, "")
        if not t and f and f not in own:
            # names only ("PR" could be a state code); accents and punctuation folded: JHU's "Reunion"
            t = (_countries_by_name().get(f) or country_iso3(str(n))) if len(str(n)) > 3 else ""
            t = "" if t == iso3 else t
        out.append(t)
    return np.array(out, dtype=object)
