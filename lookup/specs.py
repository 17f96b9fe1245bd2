"""Source specs: declarative TOML files describing one provider table each.

Shipped specs live in ``lookup/sources/*.toml``; a user folder of specs can replace them. Keys:

- ``country``: an ISO3 code (the spec covers that country), or ``"*"`` (a global provider: the
  spec covers every country named in the ``[columns] country`` column; a country with a
  country-specific spec of the same source and level uses that one instead);
- ``source`` (the Data Hub source name: the row's ids go into column ``id_<source>``),
  ``admin_level`` (Data Hub administrative_area_level: 1 = national rows, 2 or 3; GADM level is one
  less), ``order`` (within a country and level, lower orders come first; later specs attach to
  existing rows, as the Data Hub merges several providers into one table), ``create`` (default
  true; false: the spec's entities only attach to rows made by earlier specs and fill their empty
  cells, e.g. mobility region names. An entity of a creating spec attaches to an earlier row of the
  same place too, and makes a row only when none exists: lookup.assemble. Where a country has specs
  of its own at a level, the global specs of that level only attach: geolookup/pipeline.py);
- ``file`` (path under the data folder, e.g. ``providers/nyt/live_us-counties_20201013.csv``) and
  ``url`` (downloaded once into the cache when the file is not local);
- ``[columns]``: ``key`` (the provider identifier hashed into the id), ``name``, and optional
  ``parent`` (name of the admin-2 area for admin-3 rows), ``code``, ``latitude``, ``longitude``
  (degrees WGS84), ``population``, ``key_local``, ``id_value`` (the text written into
  ``id_<source>``, default the key), ``country`` (one column or a list: the first whose value is an
  ISO 3166-1 alpha-2/alpha-3 code or country name, pycountry, gives the row's country) and the key
  columns a provider fills: ``key_apple_mobility``, ``key_google_mobility``, ``key_jhu_csse``. A
  value holding ``{column}`` is a template over the row's columns (Apple's county key
  ``"{region}, {sub-region}"``);
- ``[values]``: ``id_value`` = ``"text"`` (default; written into id_<source> as is) or
  ``"integer"`` (as R would store a numeric column: "01001" -> "1001"); ``key_local_width``
  (zero-pad key_local to this many digits, e.g. JHU FIPS 1001 -> "01001"); ``nuts_level``
  (NUTS level assigned; default = admin_level, capped at 3); ``dedupe`` (keep the first row of a
  repeated key: Apple publishes one row per transport type); ``write_id`` (default true; false:
  no ``id_<source>`` column, for providers that only fill key columns);
- ``[population]``: ``source`` and ``url`` written to population_data_source(_url);
- ``[filter]``: ``equals`` (column = value, or a list of accepted values), ``require`` (cells that
  must be non-empty), ``empty`` (cells that must be empty). Filtered rows are counted in the summary;
- ``[join]``: ``file``, ``on`` (column of both files), ``columns`` (list taken from the joined file),
  e.g. Google's knowledge graph place_id per location key;
- ``[keys]``: ``"<parent>/<name>" = "<key>"`` (``"<name>"`` for rows without a parent) for rows the
  provider publishes without a key, with the key the Data Hub gives them (NYT reports New York City
  without FIPS; the Data Hub's USA table keys it 36061). Only empty keys are filled.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from geolookup.core.errors import GeolookupError

COLUMN_KEYS = ("key", "name", "parent", "code", "latitude", "longitude", "population", "key_local", "id_value",
               "country", "key_apple_mobility", "key_google_mobility", "key_jhu_csse")
FILL_KEYS = ("key_apple_mobility", "key_google_mobility", "key_jhu_csse")


@dataclass(frozen=True)
class Spec:
    """One provider table (see module doc); ``path`` is the TOML file it came from."""

    country: str
    source: str
    admin_level: int
    file: str
    url: str = ""
    order: int = 100
    create: bool = True
    columns: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    population: dict = field(default_factory=dict)
    filter: dict = field(default_factory=dict)
    join: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)
    path: str = ""
    shared: bool = False  # a global spec restricted to one country (for_country)

    @property
    def is_global(self) -> bool:
        """True for a spec covering many countries (``country = "*"``)."""
        return self.country == "*"

    @property
    def gadm_level(self) -> int:
        """GADM level searched: Data Hub administrative_area_level - 1 (Data Hub level 2 = GADM level 1)."""
        return self.admin_level - 1

    @property
    def id_column(self) -> str:
        """The lookup-table column holding this provider's key: ``id_<source>``."""
        return f"id_{self.source}"

    @property
    def nuts_level(self) -> int:
        """NUTS level assigned to the rows: ``[values] nuts_level``, else admin_level capped at 3
        (Data Hub level 2 regions get NUTS 2, level 3 get NUTS 3, as in the reference ITA.csv)."""
        return int(self.values.get("nuts_level", min(self.admin_level, 3)))

    def col(self, key: str):
        """The provider column (or template, or list for ``country``) named for ``key`` in
        ``[columns]`` (e.g. "latitude"), None when unset."""
        return self.columns.get(key) or None

    def for_country(self, iso3: str) -> "Spec":
        """This spec restricted to one country (a global spec's rows are filtered by ``country``)."""
        return replace(self, country=iso3, shared=True) if self.is_global else self


def parse_spec(text: str, label: str) -> Spec:
    """Parse and check one spec (TOML text; ``label`` names its file in messages).

    Output: a :class:`Spec`. Raises GeolookupError (one line naming the file and the key) for
    invalid TOML, a missing country/source/admin_level/file/columns.key/columns.name, an unknown
    ``[columns]`` key, an admin_level other than 1, 2 or 3, a global spec without
    ``columns.country``, or a bad ``values.id_value``.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GeolookupError(f"{label}: invalid TOML ({exc}); fix the spec") from None
    missing = [k for k in ("country", "source", "admin_level", "file") if k not in raw]
    cols = raw.get("columns", {})
    missing += [f"columns.{k}" for k in ("key", "name") if not cols.get(k)]
    if raw.get("country") == "*" and not cols.get("country"):
        missing.append("columns.country (a global spec names each row's country)")
    if missing:
        raise GeolookupError(f"{label}: spec lacks {', '.join(missing)}; see lookup/specs.py for the keys")
    unknown = sorted(set(cols) - set(COLUMN_KEYS))
    if unknown:
        raise GeolookupError(f"{label}: unknown [columns] key(s) {unknown}; allowed: {', '.join(COLUMN_KEYS)}")
    if raw["admin_level"] not in (1, 2, 3):
        raise GeolookupError(f"{label}: admin_level must be 1, 2 or 3 (Data Hub administrative_area_level)")
    if raw.get("values", {}).get("id_value", "text") not in ("text", "integer"):
        raise GeolookupError(f"{label}: values.id_value must be \"text\" or \"integer\"")
    return Spec(country=str(raw["country"]).upper(), source=str(raw["source"]), admin_level=int(raw["admin_level"]),
                file=str(raw["file"]), url=str(raw.get("url", "")), order=int(raw.get("order", 100)),
                create=bool(raw.get("create", True)), columns=cols, values=raw.get("values", {}),
                population=raw.get("population", {}), filter=raw.get("filter", {}), join=raw.get("join", {}),
                keys={str(k): str(v) for k, v in raw.get("keys", {}).items()}, path=label)


def all_specs(spec_dir=None) -> list[Spec]:
    """Every spec of ``spec_dir`` (a folder of ``*.toml``; default the shipped lookup/sources)."""
    if spec_dir:
        files = [(p.read_text(encoding="utf-8"), str(p)) for p in sorted(Path(spec_dir).glob("*.toml"))]
    else:
        root = resources.files("geolookup.lookup") / "sources"
        files = [(f.read_text(encoding="utf-8"), f"lookup/sources/{f.name}")
                 for f in sorted(root.iterdir(), key=lambda f: f.name) if f.name.endswith(".toml")]
    return [parse_spec(text, label) for text, label in files]


def load_specs(iso3: str, spec_dir=None, levels=(2, 3)) -> list[Spec]:
    """Specs of one country at Data Hub ``levels``, sorted by (admin_level, order, file name).

    A global spec (``country = "*"``) is included, restricted to the country, unless the country
    has its own spec of the same source and level. Raises GeolookupError when no spec covers the
    country (lists the countries that have a country-specific one).
    """
    iso3 = iso3.strip().upper()
    specs = [s for s in all_specs(spec_dir) if s.admin_level in levels]
    own = [s for s in specs if s.country == iso3]
    if not own and country_iso3(iso3) != iso3:  # global specs cover ISO 3166-1 countries only
        specs = [s for s in specs if not s.is_global]
    taken = {(s.source, s.admin_level) for s in own}
    mine = own + [s.for_country(iso3) for s in specs if s.is_global and (s.source, s.admin_level) not in taken]
    mine.sort(key=lambda s: (s.admin_level, s.order, s.path))
    if not mine:
        have = sorted({s.country for s in specs if not s.is_global})
        raise GeolookupError(f"no source spec for {iso3}: the global specs cover ISO 3166-1 countries only and "
                             f"country specs exist for {', '.join(have) or 'no country'} (add a TOML file, see "
                             "lookup/specs.py)")
    return mine


from .providers import country_iso3, provider_path, read_provider  # noqa: E402  (re-exported: the reader of a spec)

__all__ = ["Spec", "parse_spec", "all_specs", "load_specs", "provider_path", "read_provider", "FILL_KEYS"]
