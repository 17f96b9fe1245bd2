"""COVID-19 Data Hub ids: ``digest::digest(c(...), algo = "crc32")`` reproduced byte for byte.

The Data Hub (Guidotti & Ardia 2022, "Methods: identifiers") gives every place the id
``digest::digest(c(iso, key), algo = "crc32")`` computed in R; a country row uses the ISO code
alone. ``digest`` hashes R's ``serialize()`` output (XDR, format version 2) with its 14-byte header
skipped (``skip = "auto"``). What remains for a character vector is, all big-endian int32:

- ``16`` (SEXPTYPE STRSXP, no attributes), then the vector length;
- per element a CHARSXP: flags ``9 | (levels << 12)`` where levels is ``64`` (ASCII_MASK) for pure
  ASCII text and ``8`` (UTF8_MASK) otherwise, then the byte length, then the UTF-8 bytes;
- ``NA_character_`` is flags ``9`` (no encoding bits) and length ``-1`` with no bytes (R's
  ``WriteItem`` for ``NA_STRING``); pass ``None`` for it.

The CRC-32 (zlib polynomial, as digest's ``crc32``) is printed ``%08x``: eight lowercase hex
digits, leading zeros kept. Keys are hashed as text exactly as the provider writes them
("01001" and "1001" give different ids).
"""

from __future__ import annotations

import struct
import zlib
from typing import Iterable

STRSXP = 16
CHARSXP = 9
ASCII_MASK = 64
UTF8_MASK = 8


def charsxp_flags(text: str | None) -> int:
    """The serialize() flags int32 of one CHARSXP: ASCII, UTF-8, or bare 9 for NA."""
    if text is None:
        return CHARSXP
    return CHARSXP | ((ASCII_MASK if text.isascii() else UTF8_MASK) << 12)


def serialize_body(strings: Iterable[str | None]) -> bytes:
    """R ``serialize(c(...), NULL, version = 2)`` of a character vector without the 14-byte header.

    Input: strings (``None`` stands for ``NA_character_``). Output: bytes, length
    ``8 + sum(8 + len(utf8(s)))`` (NA contributes 8). Raises TypeError for non-str items.
    """
    items = list(strings)
    parts = [struct.pack(">ii", STRSXP, len(items))]
    for s in items:
        if s is None:
            parts.append(struct.pack(">ii", CHARSXP, -1))
            continue
        if not isinstance(s, str):
            raise TypeError(f"datahub_id takes text, got {type(s).__name__} {s!r}; pass keys as str")
        raw = s.encode("utf-8")
        parts.append(struct.pack(">ii", charsxp_flags(s), len(raw)))
        parts.append(raw)
    return b"".join(parts)


def datahub_id(*strings: str | None) -> str:
    """The Data Hub id of ``c(*strings)``: ``digest::digest(c(...), algo = "crc32")`` in R.

    Input: one or more strings, usually ``(iso3,)`` for a country or ``(iso3, key)``; ``None``
    is ``NA_character_``. Output: 8 lowercase hex digits, e.g. ``datahub_id("ITA", "Abruzzo")
    == "ed79e985"`` and ``datahub_id("ITA") == "03dcf038"``. Raises TypeError for non-text.
    """
    return "%08x" % (zlib.crc32(serialize_body(strings)) & 0xFFFFFFFF)
