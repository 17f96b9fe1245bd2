"""The grammar of GADM 3.6 GIDs and of the Data Hub's minted ``.n_0`` ids.

``USA.33.32_1``: country USA, GADM level 2 (two dots: Data Hub administrative_area_level 3),
version suffix ``_1``. Minted ids end in ``_0`` (``USA.26.48.2_0`` = a new area numbered 2
inside ``USA.26.48_1``, as the COVID-19 Data Hub writes them). Pure string functions.
"""

from __future__ import annotations

import re

GID_RE = re.compile(r"^[A-Z]{3}(\.\d+)*(_\d+)?$")


def gid_country(gid: str) -> str:
    """``USA.33.32_1`` -> ``USA``."""
    return gid.split(".", 1)[0].split("_", 1)[0]


def gid_stem(gid: str) -> str:
    """``USA.33.32_1`` -> ``USA.33.32`` (version suffix removed)."""
    return gid.rsplit("_", 1)[0] if "_" in gid else gid


def gid_level(gid: str) -> int:
    """GADM level of a GID: the number of dots (``ITA`` 0, ``ITA.2_1`` 1, ``USA.33.32_1`` 2)."""
    return str(gid).count(".")


def gid_number(gid: str) -> int:
    """The last number of a GID below the country: ``USA.26.48.2_0`` -> 2, ``USA.47.41_1`` -> 41."""
    return int(gid_stem(gid).rsplit(".", 1)[1])


def is_minted(gid: str) -> bool:
    """True for ``.n_0`` ids (version suffix ``_0``, at least GADM level 1)."""
    return gid.endswith("_0") and "." in gid


def parent_stem(gid: str) -> str:
    """``USA.26.48.2_0`` -> ``USA.26.48``; "" at level 0."""
    stem = gid_stem(gid)
    return stem.rsplit(".", 1)[0] if "." in stem else ""
