"""Building many countries at once: ``geolookup build ISO3 [ISO3 ...]`` and ``geolookup build --all``.

The national rows (Data Hub level 1, ``OUT/ISO.csv``: lookup.national) are built first, then each
country with :func:`geolookup.pipeline.build`. A country that fails (no local GADM file and no
network, bad provider data, validation errors) is reported in one line and the others still build.
``--all`` builds every country that has a local GADM 3.6 archive and rows in some provider at Data
Hub level 2 or 3 (lookup/sources).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

import pandas as pd

from geolookup.core.datafiles import local_candidates
from geolookup.core.errors import GeolookupError
from geolookup.lookup.generation import Publisher
from geolookup.lookup.national import build_national
from geolookup.lookup.outputs import PROVENANCE_COLUMNS, write_sqlite
from geolookup.lookup.routing import download_hint
from geolookup.lookup.specs import all_specs, read_provider
from geolookup.lookup.table import write_table

from .pipeline import BuildSummary, build

logger = logging.getLogger(__name__)


@dataclass
class WorldSummary:
    """Outcome of :func:`build_many`: one BuildSummary per built country, ``failed`` ISO3 -> the
    one-line error, ``national`` rows written to ``OUT/ISO.csv`` and ``errors`` of level-1 sources."""

    built: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    national: int = 0
    errors: list = field(default_factory=list)
    no_gadm: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)

    def table(self) -> str:
        """The world summary: one line per country (rows, accepted, in review, kept without a GID
        and the GADM file that would give them one), then the failed countries and a total line."""
        head = (f"{'country':<8}{'rows':>7}{'accepted':>10}{'review':>8}{'no GID':>8}{'seconds':>9}  "
                "download for the rows without GID")
        lines = [head]
        for s in self.built:
            lines.append(f"{s.iso3:<8}{s.rows:>7}{s.accepted:>10}{s.in_review:>8}{s.kept_without_gid:>8}"
                         f"{self.seconds.get(s.iso3, 0):>9.1f}  " + "; ".join(s.download))
        for iso, msg in sorted(self.failed.items()):
            lines.append(f"{iso:<8}{'failed':>7}  {msg}")
        tot = lambda k: sum(getattr(s, k) for s in self.built)  # noqa: E731
        lines.append(f"{'total':<8}{tot('rows'):>7}{tot('accepted'):>10}{tot('in_review'):>8}"
                     f"{tot('kept_without_gid'):>8}  {len(self.built)} built, {len(self.failed)} failed, "
                     f"{self.national} national rows in ISO.csv")
        if self.no_gadm:
            lines.append(f"not built, no local GADM file ({len(self.no_gadm)}): "
                         + "; ".join(f"{i}: put {download_hint(i)} in {gadm_folder()}" for i in self.no_gadm))
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """JSON-ready summary (``--json``)."""
        return {"countries": [s.as_dict() for s in self.built], "failed": self.failed,
                "national_rows": self.national, "source_errors": self.errors, "no_local_gadm": self.no_gadm}


def local_gadm_countries(data_dir=None) -> list[str]:
    """ISO3 codes with a local GADM 3.6 archive (``gadm36_<ISO3>_gpkg.zip`` or ``_shp.zip``)."""
    found = set()
    for cand in local_candidates("gadm36", "x", data_dir):
        if cand.parent.is_dir():
            found |= {m.group(1) for p in cand.parent.glob("gadm36_*_*.zip")
                      if (m := re.fullmatch(r"gadm36_([A-Z]{3})_(gpkg|shp)\.zip", p.name))}
    return sorted(found)


def provider_countries(data_dir=None, spec_dir=None) -> list[str]:
    """ISO3 codes with rows in some source spec at Data Hub level 2 or 3 (global specs read once)."""
    found = set()
    for spec in all_specs(spec_dir):
        if spec.admin_level == 1:
            continue
        if not spec.is_global:
            found.add(spec.country)
            continue
        try:
            rows, _, _ = read_provider(spec, data_dir)
        except GeolookupError as exc:
            logger.warning("%s", exc)
            continue
        found |= set(rows["_country"])
    return sorted(c for c in found if re.fullmatch(r"[A-Z]{3}", c))


def write_national(out_dir, data_dir=None, spec_dir=None) -> tuple[int, list[str]]:
    """Build the national rows and publish ``OUT/ISO.csv`` (a new generation of OUT).
    Returns (rows, errors of level-1 sources)."""
    table, columns, errors = build_national(data_dir, spec_dir)
    with Publisher(out_dir, "build national rows") as gen:
        write_table(table, gen.dir / "ISO.csv", sort=False, columns=columns)
        # lookup.sqlite's location table gets them too, under iso3 "ISO" (the Data Hub's file name), so
        # that a rebuild of one country never replaces the national rows
        write_sqlite(gen.dir / "lookup.sqlite", "ISO", table, pd.DataFrame(columns=PROVENANCE_COLUMNS), locked=True)
    return len(table), errors


def build_many(isos, data_dir=None, out_dir="out", state_dir=None, force=False, spec_dir=None,
               progress=None, no_gadm=()) -> WorldSummary:
    """Build ``OUT/ISO.csv`` and every country of ``isos`` (see module doc).

    ``progress`` is called with (ISO3, BuildSummary or None) after each country; ``no_gadm`` lists
    countries left out for want of a local GADM file (shown in the summary). Output:
    :class:`WorldSummary`; failures are collected, not raised.
    """
    ws = WorldSummary(no_gadm=list(no_gadm))
    ws.national, ws.errors = write_national(out_dir, data_dir, spec_dir)
    for e in ws.errors:
        logger.warning("%s", e)
    for iso in isos:
        t0 = time.perf_counter()
        try:
            s: BuildSummary = build(iso, data_dir=data_dir, out_dir=out_dir, state_dir=state_dir, force=force,
                                    spec_dir=spec_dir)
            ws.built.append(s)
            for e in s.source_errors:
                logger.warning("%s: %s", iso, e)
        except GeolookupError as exc:
            ws.failed[iso] = " ".join(str(exc).split())
            s = None
        ws.seconds[iso] = time.perf_counter() - t0
        if progress:
            progress(iso, s)
    return ws


def all_countries(data_dir=None, spec_dir=None) -> tuple[list[str], list[str]]:
    """Countries ``--all`` builds: a local GADM archive and provider rows at Data Hub level 2 or 3;
    and the provider countries it leaves out for want of a local GADM file (listed in the summary
    with the file to download: ``--all`` never downloads)."""
    local, named = set(local_gadm_countries(data_dir)), set(provider_countries(data_dir, spec_dir))
    return sorted(local & named), sorted(named - local)


def gadm_folder(data_dir=None) -> str:
    """Where a GADM archive goes: the data folder's gadm36/ (else the cache's)."""
    return str(local_candidates("gadm36", "x", data_dir)[0].parent) + "/"
