"""Territories a country's provider lists name but GADM files under another ISO3 (USA: PRI, GUM, VIR, ...).

Derived from ISO 3166-2 (pycountry's subdivisions, with iso3166-2's other names), never typed: a
subdivision of country C is territory T when

- its code suffix is itself an ISO 3166-1 alpha-2 code T other than C (``US-PR`` -> PR -> PRI);
- its subdivision type is a minority type of C (fewer than a third of C's subdivisions have it:
  "Outlying area" in the USA, "Overseas collectivity" in France, "Country" in the Netherlands,
  "Special administrative region" in China); a suffix that happens to equal a country code (US-ID Idaho,
  AU-SA South Australia, GN-ML Mali) sits among the country's ordinary states or provinces;
- its name or one of its other names and one of T's ISO 3166-1 names share all the words of the shorter
  one (accents and punctuation folded: "Saint-Martin" and "Saint Martin (French part)").
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from geolookup.matching.normalize import fold


def _fold(text: str) -> frozenset[str]:
    """The words of a name, folded as matching folds names (iso3166-2 language tags dropped: "Guam (eng)")."""
    return frozenset(fold(re.sub(r"\([a-z]{3}\)", " ", str(text))).split())


def _other_names(alpha2: str) -> dict:
    try:
        from iso3166_2 import Subdivisions

        return dict(Subdivisions()[alpha2])
    except Exception:  # noqa: BLE001 - the library lacks the country: pycountry's names suffice
        return {}


@lru_cache(maxsize=None)
def territories(iso3: str) -> frozenset[str]:
    """ISO3 codes of the territories of ``iso3`` (module docstring); empty for an unknown country.

    Output: frozenset of ISO 3166-1 alpha-3 codes, e.g. ``territories("USA")`` holds ASM, GUM, MNP, PRI,
    UMI and VIR. Source of the rule: ISO 3166-2 subdivision codes and types (pycountry, iso3166-2).
    """
    import pycountry

    country = pycountry.countries.get(alpha_3=str(iso3).upper())
    if country is None:
        return frozenset()
    subs = list(pycountry.subdivisions.get(country_code=country.alpha_2) or [])
    types = Counter(s.type for s in subs)
    other = None
    out = set()
    for s in subs:
        suffix = s.code.split("-", 1)[1]
        target = pycountry.countries.get(alpha_2=suffix) if len(suffix) == 2 else None
        if target is None or target.alpha_2 == country.alpha_2 or types[s.type] * 3 >= len(subs):
            continue
        if other is None:
            other = _other_names(country.alpha_2)
        names = {_fold(s.name)} | {_fold(n) for n in str((other.get(s.code) or {}).get("localOtherName") or "").split(",")}
        wanted = {_fold(getattr(target, k)) for k in ("name", "common_name", "official_name") if getattr(target, k, None)}
        if any(a and b and (a <= b or b <= a) for a in names for b in wanted):
            out.add(target.alpha_3)
    return frozenset(out)
