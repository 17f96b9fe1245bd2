"""National rows (Data Hub administrative_area_level 1) and ``ISO.csv`` in the Data Hub's layout.

The Data Hub keeps one national row per country in ``ISO.csv``: id = ``digest(c(code))`` of the
country's Data Hub code (``id_covid19datahub.io``: the ISO 3166-1 alpha-3 code; for entities
without one, such as cruise ships, the code the provider's key gives them), key_gadm = that code
for countries (GADM 3.6 names its level-0 areas by ISO3; the Data Hub writes its own code there for
every country, Kosovo's "RKS" included) and empty for ships, the ISO codes and, from providers,
names, coordinates, population and the key columns (Guidotti & Ardia 2022, "Methods").

Rows come from the level-1 source specs (lookup/sources/world_*_national.toml) in spec order: the
first provider naming a country creates its row; later ones attach by the same code, else (for a
code pycountry does not know, e.g. JHU's "XKS") by the same name, and fill empty cells. Every
ISO 3166-1 country no provider names still gets its row (pycountry). ISO alpha-2, numeric and
the name come from pycountry (current or withdrawn codes, e.g. ANT). ``iso_currency`` is the ISO 4217
code of the legal tender in use on 2020-01-01, from the CLDR territory data that Babel ships (pycountry
has no country-to-currency table).
"""

from __future__ import annotations

import datetime
from functools import lru_cache

import pandas as pd
import pycountry
from babel.numbers import get_territory_currencies

from geolookup.core.errors import GeolookupError
from geolookup.matching.normalize import fold

from .ids import datahub_id
from .providers import country_iso3, read_provider
from .specs import FILL_KEYS, all_specs
from .table import r_format_number

CODE = "id_covid19datahub.io"
ISO_HEAD = ["id", CODE]
ISO_TAIL = ["administrative_area_level", "administrative_area_level_1", "iso_alpha_3", "iso_alpha_2", "iso_numeric",
            "iso_currency", "latitude", "longitude", "population", "key_apple_mobility", "key_google_mobility",
            "key_jhu_csse", "key_gadm", "population_data_source", "population_data_source_url"]


def _iso(code: str):
    return pycountry.countries.get(alpha_3=code) or pycountry.historic_countries.get(alpha_3=code)


@lru_cache(maxsize=None)
def iso_currency(alpha_2: str) -> str:
    """ISO 4217 code of the tender used in country ``alpha_2`` on 2020-01-01 (CLDR via Babel); "" if unknown."""
    if not alpha_2:
        return ""
    try:
        found = get_territory_currencies(alpha_2, start_date=datetime.date(2020, 1, 1), tender=True)
    except Exception:  # Babel raises for territories CLDR does not know
        return ""
    return found[0] if found else ""


def _new_row(code: str, name: str, is_country: bool) -> dict:
    c = _iso(code)
    return {"id": datahub_id(code), CODE: code, "administrative_area_level": "1",
            "administrative_area_level_1": getattr(c, "common_name", None) or getattr(c, "name", None) or name,
            "iso_alpha_3": code if is_country else "", "iso_alpha_2": getattr(c, "alpha_2", ""),
            "iso_numeric": str(int(c.numeric)) if c is not None and getattr(c, "numeric", "") else "",
            "iso_currency": iso_currency(getattr(c, "alpha_2", "") if is_country else ""),
            "key_gadm": code if is_country else ""}


class NationalBuilder:
    """Accumulates national rows over the level-1 specs (module doc); ``table()`` gives ISO.csv rows."""

    def __init__(self):
        self.rows: dict[str, dict] = {}
        self.by_name: dict[str, str] = {}
        self.id_columns: set[str] = set()

    def add(self, spec, rows: pd.DataFrame) -> int:
        """Add one spec's provider rows (lookup.specs.read_provider output); returns rows attached or made."""
        idcol = spec.id_column if spec.values.get("write_id", True) else None
        if idcol:
            self.id_columns.add(idcol)
        src = spec.population.get("source", ""), spec.population.get("url", "")
        col = lambda k: rows[spec.col(k)].astype(str).str.strip() if spec.col(k) and "{" not in spec.col(k) \
            else pd.Series("", index=rows.index)  # noqa: E731
        lat, lon, pop = col("latitude"), col("longitude"), col("population")
        n = 0
        for i, r in rows.iterrows():  # a few hundred countries
            key, name, country = r["_key"], r["_name"], r["_country"]
            if not key and not country:
                continue
            known = bool(country) and country_iso3(country) == country
            code = country if known else key.upper()
            target = code if code in self.rows else (None if known else self.by_name.get(fold(name)))
            if target is None:
                if not spec.create:
                    continue
                self.rows[code] = _new_row(code, name, is_country=bool(country))
                target = code
            row = self.rows[target]
            self.by_name.setdefault(fold(name), target)
            self.by_name.setdefault(fold(row["administrative_area_level_1"]), target)
            vals = {"latitude": r_format_number(lat[i]) if lat[i] else "",
                    "longitude": r_format_number(lon[i]) if lon[i] else "",
                    **{k: r.get(f"_fill_{k}", "") for k in FILL_KEYS}}
            if idcol:
                vals[idcol] = r["_id_value"]
            if pop[i] and not row.get("population"):
                vals.update(population=r_format_number(pop[i]), population_data_source=src[0],
                            population_data_source_url=src[1])
            for c, v in vals.items():
                if v and not row.get(c):
                    row[c] = v
            n += 1
        return n

    def add_iso_countries(self) -> int:
        """A row for every ISO 3166-1 country (pycountry) no provider named (e.g. Åland, ALA): the
        Data Hub keeps a national row for every country. Returns the rows made."""
        made = 0
        for c in pycountry.countries:
            if c.alpha_3 not in self.rows and self.by_name.get(fold(c.name)) is None:
                self.rows[c.alpha_3] = _new_row(c.alpha_3, c.name, is_country=True)
                made += 1
        return made

    def table(self) -> pd.DataFrame:
        """ISO.csv rows: one per national entity, columns ``iso_columns()``, text cells ("" = NA),
        ordered by code."""
        df = pd.DataFrame(list(self.rows.values()), columns=self.columns()).fillna("")
        return df.sort_values(CODE, kind="stable").reset_index(drop=True)

    def columns(self) -> list[str]:
        """The Data Hub ISO.csv column order with this build's id_<source> columns."""
        return ISO_HEAD + sorted(self.id_columns) + ISO_TAIL


def build_national(data_dir=None, spec_dir=None) -> tuple[pd.DataFrame, list[str], list[str]]:
    """National rows of every country the level-1 specs name.

    Output: (table, columns, errors): the ISO.csv table (text cells, one row per country or special
    entity), its column order, and one line per level-1 spec that could not be read (that source is
    left out; the others still give their rows). Raises nothing for a bad spec file's data.
    """
    nb, errors = NationalBuilder(), []
    for spec in sorted((s for s in all_specs(spec_dir) if s.admin_level == 1), key=lambda s: (s.order, s.path)):
        try:
            rows, _, _ = read_provider(spec, data_dir)
        except GeolookupError as exc:
            errors.append(str(exc))
            continue
        nb.add(spec, rows)
    nb.add_iso_countries()
    return nb.table(), nb.columns(), errors
