"""Data Hub ids: digest::digest(c(...), algo = "crc32") reproduced (lookup.ids)."""

import re
import struct
import zlib

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geolookup.lookup.ids import datahub_id, serialize_body


def test_issue_vectors():
    assert datahub_id("ITA", "Abruzzo") == "ed79e985"
    assert datahub_id("ITA") == "03dcf038"


def test_body_layout_by_hand():
    # c("ITA", "Abruzzo"): STRSXP 16, length 2, then two ASCII CHARSXPs.
    body = serialize_body(["ITA", "Abruzzo"])
    assert body == (struct.pack(">ii", 16, 2) + struct.pack(">ii", 0x40009, 3) + b"ITA"
                    + struct.pack(">ii", 0x40009, 7) + b"Abruzzo")


def test_utf8_flag_and_na():
    body = serialize_body(["Südtirol", None])
    assert body[8:12] == struct.pack(">i", 9 | (8 << 12))
    assert body[12:16] == struct.pack(">i", len("Südtirol".encode()))
    assert body[-8:] == struct.pack(">ii", 9, -1)  # NA_character_: bare CHARSXP flags, length -1


def test_rejects_non_text():
    with pytest.raises(TypeError):
        datahub_id("USA", 1001)


text = st.text(max_size=30)


@given(st.lists(text, min_size=1, max_size=4))
def test_body_length_and_crc(strings):
    body = serialize_body(strings)
    assert len(body) == 8 + sum(8 + len(s.encode("utf-8")) for s in strings)
    assert struct.unpack(">ii", body[:8]) == (16, len(strings))
    out = datahub_id(*strings)
    assert out == "%08x" % zlib.crc32(body) and len(out) == 8 and out == out.lower()


@given(text)
def test_flag_follows_ascii(s):
    flags = struct.unpack(">i", serialize_body([s])[8:12])[0]
    assert flags == (0x40009 if s.isascii() else 0x8009)


@given(st.from_regex(r"[0-9]{1,6}", fullmatch=True))
def test_leading_zeros_are_part_of_the_key(code):
    assert serialize_body(["USA", "0" + code]) != serialize_body(["USA", code])
    assert datahub_id("USA", "0" + code) == "%08x" % zlib.crc32(serialize_body(["USA", "0" + code]))


def reproduction(path, iso):
    """(reproduced, hand-made, total) over the rows of a reference table that have an id.

    A row reproduces when ``datahub_id(ISO, v)`` equals its id for one of its ``id_*`` values, ISO
    being the country of the table or, for territories the Data Hub files under their own GADM
    code (USA.csv: PRI, VIR, MNP), the ISO3 prefix of the row's key_gadm. Ids that are not eight hex
    digits (e.g. "6ka7j29d") were typed by hand: no CRC-32 can produce them."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df[df["id"] != ""]  # the key_local "-" placeholder row has no id
    cols = [c for c in df.columns if c.startswith("id_")]
    ok, hand = 0, 0
    for r in df.to_dict("records"):
        isos = {iso, r["key_gadm"][:3]} if r.get("key_gadm") else {iso}
        hit = any(r[c] != "" and datahub_id(i, r[c]) == r["id"] for c in cols for i in isos)
        ok += hit
        if not re.fullmatch(r"[0-9a-f]{8}", r["id"]):
            hand += 1
            assert not hit
    return ok, hand, len(df)


@pytest.mark.parametrize("iso", ["ITA", "ESP", "USA"])
def test_reference_ids_reproduce(data_root, iso):
    hits, hand, total = reproduction(data_root / "reference" / "covid19datahub" / f"{iso}.csv", iso)
    print(f"{iso}: {hits}/{total} ids reproduce ({hits / total:.1%}), {hand} hand-made")
    # issue 4: "most rows do"; we hold the ids to the 95% agreement bar the issue sets for the build
    assert hits / (total - hand) >= 0.95


def test_iso_table_country_ids(data_root):
    df = pd.read_csv(data_root / "reference" / "covid19datahub" / "ISO.csv", dtype=str, keep_default_na=False)
    ok = sum(datahub_id(r["id_covid19datahub.io"]) == r["id"] for _, r in df.iterrows())
    assert len(df) > 0 and ok == len(df)  # country rows: digest of the 1-element vector c(iso)


def test_territory_rows_hash_their_own_country(data_root):
    """The Data Hub's USA table hashes areas inside Puerto Rico, the Northern Mariana Islands, ...
    with their own GADM country code (key_gadm prefix), and the territories' own rows with USA."""
    from geolookup.lookup.assemble import id_country
    from geolookup.lookup.table import read_table

    ref = read_table(data_root / "reference" / "covid19datahub" / "USA.csv")
    territory = ref[ref["key_gadm"].str.match(r"^(PRI|VIR|MNP|GUM|ASM)")]
    assert len(territory) > 0
    id_cols = [c for c in ref.columns if c.startswith("id_")]
    reproduced = [any(r[c] and datahub_id(id_country("USA", r["key_gadm"]), r[c]) == r["id"] for c in id_cols)
                  for _, r in territory.iterrows()]
    assert all(reproduced)
    assert id_country("USA", "USA.26.48.2_0") == "USA" and id_country("USA", "") == "USA"
    assert id_country("USA", "PRI") == "USA" and id_country("USA", "PRI.1_1") == "PRI"
