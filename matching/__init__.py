"""matching: link provider place names and codes to GADM 3.6 GIDs.

Public API: :func:`match_places`, :func:`mint`, :func:`resolve_composite`; helpers
:func:`normalize` / :func:`normalize_array` (name normalisation) and :func:`topk` (bounded-memory
fuzzy top-k). Tunables live in ``matching/defaults.toml``; type words, abbreviations and aliases
are data files curators extend (``typewords.csv``, ``abbreviations.csv``, ``aliases/<ISO3>.csv``).
Ids minted into ``<state_dir>/minted_ids.csv`` are candidates of every later run, of any source
(``matching/minted.py``). Provider geometry (``match_places(..., geometry_col=...)``, WKT) makes
single-area and composite matches from the GADM areas it covers (``matching/geomatch.py``).
:func:`load_knowledge` (``matching.knowledge.knowledge``) is the per-country layer of names and codes from the libraries (iso3166-2,
pycountry) linked to GADM by the ISO 3166-2 <-> GADM crosswalk (``matching/knowledge.py``; cached).
"""

from .composite import resolve_composite
from .core import OUT_COLUMNS, match_places, provider_keys
from .knowledge import knowledge as load_knowledge
from .minting import mint
from .normalize import normalize, normalize_array
from .score import topk

__all__ = ["match_places", "provider_keys", "load_knowledge", "mint", "resolve_composite", "normalize", "normalize_array", "topk", "OUT_COLUMNS"]
