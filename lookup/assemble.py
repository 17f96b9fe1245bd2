"""From matched provider entities to lookup-table rows, the way the Data Hub merges providers.

The Data Hub builds one table per country from several providers: the first provider of a level
creates the rows (id = ``digest(c(iso3, key))`` of its key); a later provider of the same level
attaches to an existing row with the same key_local, else with the same key_gadm, and fills its
own ``id_<source>`` column; only what matches nothing becomes a new row (Guidotti & Ardia 2022,
"Methods"; e.g. USA: JHU UID rows, NYT attaches by FIPS).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geolookup import matching
from geolookup.gadm.gids import parent_stem

from .ids import datahub_id
from .providers import values_of
from .specs import FILL_KEYS
from .rebuild import STATUS_COLUMN
from .table import column_order, r_format_number


def id_country(iso3: str, gid: str) -> str:
    """The ISO3 code hashed into a new row's id (the Data Hub's USA table): an area inside another
    GADM country than the table's (a municipality of Puerto Rico, key_gadm "PRI.1_1") hashes that
    country's code, ``digest(c("PRI", key))``; every other row, the territory's own row included
    (key_gadm "PRI", a Data Hub level-2 row of USA), hashes the table's code."""
    gid = str(gid)
    prefix = gid.split(".", 1)[0]
    return prefix if "." in gid and len(prefix) == 3 and prefix.isalpha() and prefix.isupper() else iso3


def parent_names(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each Data Hub level-3 row's administrative_area_level_2 set to the name of the
    level-2 row whose key_gadm is its GADM parent ("ESP.1.2_1" -> the row of "ESP.1_1"; a territory's
    area "PRI.1_1" -> the row of "PRI"), as in the Data Hub's tables, where a province names its
    region as the region's row does. Providers name regions differently (Google's "Buenos Aires
    Province", JHU's "Buenos Aires"); rows without such a parent row keep the provider's name."""
    lvl = table["administrative_area_level"].astype(str)
    gid = table["key_gadm"].astype(str)
    regions = table[(lvl == "2") & (gid != "")].drop_duplicates("key_gadm")
    name_of = dict(zip(regions["key_gadm"], regions["administrative_area_level_2"]))
    stem = gid.map(lambda g: parent_stem(g) if "." in g else "")
    parent = stem.map(lambda p: p + "_1" if "." in p else p)
    new = parent.map(name_of)
    use = (lvl == "3") & new.notna()
    out = table.copy()
    out.loc[use, "administrative_area_level_2"] = new[use]
    return out


def hold_orphans(merged) -> tuple[object, pd.Series]:
    """Take out of a merged rebuild (lookup.rebuild.RebuildResult) the NEW Data Hub level-3 rows
    whose administrative_area_level_2 names no level-2 row of the table (their region waits for a
    curator, e.g. GADM's "Distrito Federal" for Google's "Mexico City"): they would fail the Data
    Hub's orphan check, so they wait in the review queue with their region instead. Stored rows are
    never taken out. Output: (the result, modified in place; Series id -> region name of the rows held)."""
    t = merged.table
    lvl = t["administrative_area_level"].astype(str)
    known = set(t.loc[lvl == "2", "administrative_area_level_2"])
    held = ((lvl == "3") & ~t["administrative_area_level_2"].isin(known) & (merged.row_status == "new")).to_numpy()
    out = pd.Series(t.loc[held, "administrative_area_level_2"].to_numpy(), index=t.loc[held, "id"].to_numpy())
    if held.any():
        merged.table = t[~held].reset_index(drop=True)
        merged.row_status = merged.row_status[~held].reset_index(drop=True)
        merged.diff = merged.diff[~merged.diff["id"].isin(set(out.index))].reset_index(drop=True)
    return merged, out


def provider_keys(rows: pd.DataFrame) -> pd.Series:
    """The matches-file provider_key per row of :func:`lookup.specs.read_provider`'s output (needs
    ``_key``, ``_name``, ``_parent``): the spec key, else ``"<parent>/<name>"`` (or the name) for
    keyless rows, e.g. NYT's "Alaska/Unknown" (the keying of :func:`matching.provider_keys`).
    Output: object Series of str, same index."""
    fallback = matching.provider_keys(rows, "_name", parent_col="_parent")
    return pd.Series(np.where(rows["_key"] != "", rows["_key"], fallback), index=rows.index, dtype=object)


def matches_rows(spec, rows: pd.DataFrame, matched: pd.DataFrame) -> pd.DataFrame:
    """One matches-file row per provider entity (the schema curation.apply reads) plus build-only columns
    ``match_reason``, ``_key``, ``_key_local``, ``_id_value``, ``_row``, ``_population``, ``_file`` and
    ``_fill_<key>`` for the key columns a provider fills (lookup.specs.FILL_KEYS)."""
    col = lambda k: values_of(rows, spec.col(k))
    out = pd.DataFrame({
        "source": spec.source, "provider_key": provider_keys(rows).to_numpy(), "name": rows["_name"].to_numpy(),
        "parent": rows["_parent"].to_numpy(), "admin_level": spec.admin_level, "gadm_level": spec.gadm_level,
        "latitude": col("latitude").to_numpy(), "longitude": col("longitude").to_numpy(),
    })
    for c in ("gid", "gid_parts", "match_status", "match_score", "match_method", "candidates", "match_reason"):
        out[c] = matched[c].to_numpy() if c in matched else ""
    out["_key"] = rows["_key"].to_numpy()
    out["_key_local"] = rows["_key_local"].to_numpy()
    out["_id_value"] = rows["_id_value"].to_numpy()
    out["_row"] = rows["_row"].to_numpy()
    out["_population"] = col("population").to_numpy()
    for k in FILL_KEYS:
        out[f"_fill_{k}"] = rows[f"_fill_{k}"].to_numpy() if f"_fill_{k}" in rows else ""
    out["_file"] = spec.file
    return out


def points(gids, parts, geoms: dict, plon, plat) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Geometry and point per entity.

    Inputs: N-length arrays of key_gadm and "|"-joined gid_parts, ``geoms`` GID -> shapely
    geometry (EPSG:4326), and provider coordinates (float64 degrees WGS84, NaN when missing).
    Output: (geometry object array, lon, lat, point_method), each of length N, where the point is
    the interior point (GEOS PointOnSurface; paper "Spatial data") of the GADM area
    ("interior_point"), of the union of the parts for composites ("interior_point_union"), else
    the provider's coordinates ("provider"; e.g. minted .n_0 areas GADM lacks), else NaN ("none").
    """
    n = len(gids)
    geom = np.empty(n, dtype=object)
    method = np.full(n, "none", dtype=object)
    for i, (g, p) in enumerate(zip(gids, parts)):
        pieces = [geoms.get(x) for x in p.split("|") if x] if p else []
        if len(pieces) > 1 and all(x is not None for x in pieces):
            geom[i] = shapely.union_all(pieces)
            method[i] = "interior_point_union"
        elif g and geoms.get(g) is not None:
            geom[i] = geoms[g]
            method[i] = "interior_point"
    has = ~shapely.is_missing(geom)
    lon = np.asarray(plon, dtype=float).copy()
    lat = np.asarray(plat, dtype=float).copy()
    if has.any():
        pts = shapely.point_on_surface(geom[has])
        lon[has], lat[has] = shapely.get_x(pts), shapely.get_y(pts)
    prov = ~has & ~np.isnan(lon) & ~np.isnan(lat)
    method[prov] = "provider"
    return geom, lon, lat, method


class TableBuilder:
    """Accumulates table rows of one country over the specs, in spec order (module doc).

    ``table()`` gives the Data Hub layout plus ``_status`` (match status of the entity that made
    or upgraded the row); ``provenance`` one dict per (id, source); ``geometry`` id -> area.
    """

    def __init__(self, iso3: str):
        self.iso3 = iso3
        self.rows: list[dict] = []
        self.id_columns: list[str] = []
        self.by_local: dict[tuple, int] = {}
        self.by_gid: dict[tuple, list[int]] = {}
        self.provenance: list[dict] = []
        self.geometry: dict[str, object] = {}

    def table(self) -> pd.DataFrame:
        """The rows so far: one per place, every standard Data Hub column (lookup.table.column_order) plus
        ``_status``; every cell str, "" for NA. Input order of the specs is kept."""
        columns = column_order(self.id_columns, standard=True) + [STATUS_COLUMN]
        df = pd.DataFrame(self.rows, columns=columns).astype(object)
        return df.where(df.notna(), "")  # fillna("") on a float column is deprecated in pandas

    def _find(self, level: str, key_local: str, gid: str, idcol: str) -> int | None:
        """Row to attach to: same level and key_local, else the one row with that key_gadm; a row
        already holding an entity of this source (its id_<source> filled) is never a target."""
        free = lambda i: not self.rows[i].get(idcol)
        if key_local and (level, key_local) in self.by_local and free(self.by_local[(level, key_local)]):
            return self.by_local[(level, key_local)]
        hits = self.by_gid.get((level, gid), []) if gid else []
        return hits[0] if len(hits) == 1 and free(hits[0]) else None

    def _index(self, i: int) -> None:
        row = self.rows[i]
        lvl = row["administrative_area_level"]
        if row.get("key_local"):
            self.by_local.setdefault((lvl, row["key_local"]), i)
        if row.get("key_gadm"):
            hits = self.by_gid.setdefault((lvl, row["key_gadm"]), [])
            if i not in hits:
                hits.append(i)

    def add(self, spec, ent: pd.DataFrame, hasc: dict, population_source=("", "")) -> None:
        """Add one spec's entities (matches rows after decisions, with ``_lon``, ``_lat`` in
        degrees, ``_point_method``, ``_geometry``, ``nuts``, ``nuts_method``, ``nuts_distance_km``).

        Keyless and skipped entities are left out (the build queues keyless ones for review). An
        entity attaches to an existing row of its level by key_local, else by a unique key_gadm
        (module doc, the Data Hub's merge of providers); otherwise it makes a row whose id is
        ``datahub_id(iso, key)`` (``iso`` by :func:`id_country`), unless ``spec.create`` is false
        (the entity is then left out). Only accepted entities fill key_gadm/key_nuts/coordinates;
        every entity fills the key columns its provider publishes (``_fill_<key>``) where empty.
        ``hasc`` maps GID -> HASC; ``population_source`` is (source, url) for rows with population.
        """
        level = str(spec.admin_level)
        # a provider that only fills key columns (``[values] write_id = false``) marks the rows it
        # attached to under a private name, so that each row takes one of its entities
        idcol = spec.id_column if spec.values.get("write_id", True) else f"_src:{spec.source}"
        if idcol.startswith("id_") and idcol not in self.id_columns:
            self.id_columns.append(idcol)
        for e in ent.to_dict("records"):
            if e["_key"] == "" or bool(e.get("skipped", False)):
                continue
            accepted = e["match_status"] == "accepted"
            gid = e["gid"] if accepted else ""
            values = {
                "key_gadm": gid, "key_hasc": hasc.get(gid, "") if gid else "", "key_local": e["_key_local"],
                "key_nuts": e["nuts"] if accepted else "",
                "latitude": e["_lat"] if accepted else np.nan, "longitude": e["_lon"] if accepted else np.nan,
                "population": e["_population"],
                "population_data_source": population_source[0] if e["_population"] else "",
                "population_data_source_url": population_source[1] if e["_population"] else "",
                **{k: e.get(f"_fill_{k}", "") for k in FILL_KEYS},
            }
            i = self._find(level, e["_key_local"], gid, idcol)
            if i is None and not spec.create:
                continue
            if i is None:
                row = {"id": datahub_id(id_country(self.iso3, gid), e["_key"]), "administrative_area_level": level,
                       idcol: e["_id_value"], STATUS_COLUMN: e["match_status"],
                       "administrative_area_level_2": e["name"] if spec.admin_level == 2 else e["parent"],
                       "administrative_area_level_3": e["name"] if spec.admin_level == 3 else ""}
                self.rows.append(row)
                i = len(self.rows) - 1
                fill_all = True
            else:
                row = self.rows[i]
                row[idcol] = row.get(idcol) or e["_id_value"]
                fill_all = accepted and row[STATUS_COLUMN] != "accepted"
                if fill_all:
                    row[STATUS_COLUMN] = "accepted"
            for c, v in values.items():
                text = r_format_number(v) if isinstance(v, float) else str(v)
                if text and (fill_all or not row.get(c)):
                    row[c] = text
            self._index(i)
            rid = row["id"]
            if accepted and rid not in self.geometry:
                self.geometry[rid] = e["_geometry"]
            self.provenance.append(dict(
                id=rid, iso3=self.iso3, source=spec.source, provider_key=e["provider_key"],
                match_status=e["match_status"], match_method=e["match_method"], match_score=e["match_score"],
                candidates=e["candidates"], match_reason=e.get("match_reason", ""),
                point_method=e["_point_method"] if accepted else "none",
                nuts_method=e["nuts_method"] if accepted else "",
                nuts_distance_km=e["nuts_distance_km"] if accepted else np.nan))
