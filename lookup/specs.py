"""Source specs: declarative TOML files describing one provider table each.

Shipped specs live in ``lookup/sources/*.toml``; a user folder of specs can replace them. Keys:

- ``country`` (ISO3), ``source`` (the Data Hub source name: the row's ids go into column
  ``id_<source>``), ``admin_level`` (Data Hub administrative_area_level: 2 or 3; GADM level is
  one less), ``order`` (within a country and level, lower orders create rows first; later specs
  attach to existing rows, as the Data Hub merges several providers into one table);
- ``file`` (path under the data folder, e.g. ``providers/nyt/live_us-counties_20201013.csv``) and
  ``url`` (downloaded once into the cache when the file is not local);
- ``[columns]``: ``key`` (the provider identifier hashed into the id), ``name``, and optional
  ``parent`` (name of the admin-2 area for admin-3 rows), ``code``, ``latitude``, ``longitude``
  (degrees WGS84), ``population``, ``key_local``;
- ``[values]``: ``id_value`` = ``"text"`` (default; written into id_<source> as is) or
  ``"integer"`` (as R would store a numeric column: "01001" -> "1001"); ``key_local_width``
  (zero-pad key_local to this many digits, e.g. JHU FIPS 1001 -> "01001"); ``nuts_level``
  (NUTS level assigned; default = admin_level, capped at 3);
- ``[population]``: ``source`` and ``url`` written to population_data_source(_url);
- ``[filter]``: ``equals`` (column = value), ``require`` (cells that must be non-empty),
  ``empty`` (cells that must be empty). Filtered rows are counted in the build summary;
- ``[keys]``: ``"<parent>/<name>" = "<key>"`` for rows the provider publishes without a key, with
  the key the Data Hub gives them (NYT reports New York City, Kansas City and Joplin without FIPS;
  the Data Hub's USA table keys them 36061, 29901 and 29592). Only empty keys are filled.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath

import pandas as pd

from geolookup.core.datafiles import fetch
from geolookup.core.errors import GeolookupError, InputError, where
from geolookup.core.tableio import check_columns, numeric_column, read_csv_text

COLUMN_KEYS = ("key", "name", "parent", "code", "latitude", "longitude", "population", "key_local")


@dataclass(frozen=True)
class Spec:
    """One provider table (see module doc); ``path`` is the TOML file it came from."""

    country: str
    source: str
    admin_level: int
    file: str
    url: str = ""
    order: int = 100
    columns: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    population: dict = field(default_factory=dict)
    filter: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)
    path: str = ""

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

    def col(self, key: str) -> str | None:
        """The provider column named for ``key`` in ``[columns]`` (e.g. "latitude"), None when unset."""
        return self.columns.get(key) or None


def parse_spec(text: str, label: str) -> Spec:
    """Parse and check one spec (TOML text; ``label`` names its file in messages).

    Output: a :class:`Spec`. Raises GeolookupError (one line naming the file and the key) for
    invalid TOML, a missing country/source/admin_level/file/columns.key/columns.name, an unknown
    ``[columns]`` key, an admin_level other than 2 or 3, or a bad ``values.id_value``.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GeolookupError(f"{label}: invalid TOML ({exc}); fix the spec") from None
    missing = [k for k in ("country", "source", "admin_level", "file") if k not in raw]
    cols = raw.get("columns", {})
    missing += [f"columns.{k}" for k in ("key", "name") if not cols.get(k)]
    if missing:
        raise GeolookupError(f"{label}: spec lacks {', '.join(missing)}; see lookup/specs.py for the keys")
    unknown = sorted(set(cols) - set(COLUMN_KEYS))
    if unknown:
        raise GeolookupError(f"{label}: unknown [columns] key(s) {unknown}; allowed: {', '.join(COLUMN_KEYS)}")
    if raw["admin_level"] not in (2, 3):
        raise GeolookupError(f"{label}: admin_level must be 2 or 3 (Data Hub administrative_area_level)")
    if raw.get("values", {}).get("id_value", "text") not in ("text", "integer"):
        raise GeolookupError(f"{label}: values.id_value must be \"text\" or \"integer\"")
    return Spec(country=str(raw["country"]).upper(), source=str(raw["source"]), admin_level=int(raw["admin_level"]),
                file=str(raw["file"]), url=str(raw.get("url", "")), order=int(raw.get("order", 100)), columns=cols,
                values=raw.get("values", {}), population=raw.get("population", {}), filter=raw.get("filter", {}),
                keys={str(k): str(v) for k, v in raw.get("keys", {}).items()}, path=label)


def load_specs(iso3: str, spec_dir=None) -> list[Spec]:
    """Specs of one country, sorted by (admin_level, order, file name).

    Input: ISO3 code; ``spec_dir`` a folder of ``*.toml`` (default: the shipped lookup/sources).
    Raises GeolookupError when no spec exists for the country (lists the countries that have one).
    """
    iso3 = iso3.strip().upper()
    if spec_dir:
        files = [(p.name, p.read_text(encoding="utf-8"), str(p)) for p in sorted(Path(spec_dir).glob("*.toml"))]
    else:
        root = resources.files("geolookup.lookup") / "sources"
        files = [(f.name, f.read_text(encoding="utf-8"), f"lookup/sources/{f.name}")
                 for f in sorted(root.iterdir(), key=lambda f: f.name) if f.name.endswith(".toml")]
    specs = [parse_spec(text, label) for _, text, label in files]
    mine = sorted((s for s in specs if s.country == iso3), key=lambda s: (s.admin_level, s.order, s.path))
    if not mine:
        have = sorted({s.country for s in specs})
        raise GeolookupError(f"no source spec for {iso3}; specs exist for {', '.join(have) or 'no country'} "
                             "(add a TOML file, see lookup/specs.py)")
    return mine


def provider_path(spec: Spec, data_dir=None) -> Path:
    """Local path of the spec's provider file: data folder, cache, else one download (datafiles.fetch).
    Raises DataNotFoundError (file, URL, where to put it) when none works."""
    p = PurePosixPath(spec.file)
    return fetch(str(p.parent), p.name, spec.url, data_dir)


def _pad(values: pd.Series, width: int) -> pd.Series:
    digits = values.str.fullmatch(r"\d+")
    return values.where(~digits | (width <= 0), values.str.zfill(width))


def read_provider(spec: Spec, data_dir=None) -> tuple[pd.DataFrame, int, Path]:
    """Read, filter and normalise a provider table.

    Output: (rows, filtered, path). ``rows`` keeps every provider column and adds text columns
    ``_key`` (filled from ``[keys]`` where the provider gives none), ``_name``, ``_parent``, ``_key_local``,
    ``_id_value``, ``_row`` (spreadsheet row: header = row 1 in the file); ``filtered`` counts rows the spec's [filter] removed. Raises InputError (file,
    spreadsheet row, column, fix) for a missing/empty file, missing columns, a key used by two
    rows, and a latitude/longitude that is not a number or outside [-90, 90] / [-180, 180] degrees;
    DataNotFoundError when the file is neither local nor downloadable.
    """
    path = provider_path(spec, data_dir)
    label = str(path)
    df = read_csv_text(path, label=label)
    check_columns(df, [c for c in spec.columns.values() if c], label)
    check_columns(df, list(spec.filter.get("equals", {})) + spec.filter.get("require", [])
                  + spec.filter.get("empty", []), label)
    df = df.assign(_row=range(2, len(df) + 2))
    keep = pd.Series(True, index=df.index)
    for c, v in spec.filter.get("equals", {}).items():
        keep &= df[c].str.strip() == str(v)
    for c in spec.filter.get("require", []):
        keep &= df[c].str.strip() != ""
    for c in spec.filter.get("empty", []):
        keep &= df[c].str.strip() == ""
    filtered = int((~keep).sum())
    for key, lo, hi in (("latitude", -90, 90), ("longitude", -180, 180)):
        if spec.col(key):  # degrees WGS84; rows the filter drops are not checked (blanked)
            numeric_column(df[[spec.col(key)]].where(keep.to_numpy()[:, None], ""), spec.col(key), label, lo, hi)
    df = df[keep].reset_index(drop=True)
    text = lambda k: df[spec.col(k)].astype(str).str.strip() if spec.col(k) else pd.Series([""] * len(df), dtype=object)
    df["_key"] = text("key")
    df["_name"] = text("name")
    df["_parent"] = text("parent")
    if spec.keys:
        given = (df["_parent"] + "/" + df["_name"]).map(spec.keys)
        df["_key"] = df["_key"].where((df["_key"] != "") | given.isna(), given)
    key_local = df["_key"] if spec.col("key_local") == spec.col("key") else text("key_local")  # filled keys too
    df["_key_local"] = _pad(key_local, int(spec.values.get("key_local_width", 0)))
    integer = spec.values.get("id_value", "text") == "integer"
    df["_id_value"] = df["_key"].map(lambda k: str(int(k)) if integer and k.isdigit() else k)
    dup = (df["_key"] != "") & df["_key"].duplicated(keep="first")
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise InputError(f"{where(label, int(df['_row'].iloc[i]), spec.col('key'))}: key {df['_key'].iloc[i]!r} "
                         f"is used by an earlier row too; keys must be unique (spec {spec.path})")
    return df, filtered, path
