"""gadm.gids: GID grammar shared by matching and curation (hypothesis)."""

from hypothesis import given, strategies as st

from geolookup.gadm.gids import GID_RE, gid_country, gid_level, gid_number, gid_stem, is_minted, parent_stem

iso3 = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)
numbers = st.lists(st.integers(1, 999), min_size=1, max_size=4)


@given(iso3, numbers, st.sampled_from([0, 1, 2]))
def test_gid_parts_round_trip(country, nums, version):
    stem = ".".join([country, *map(str, nums)])
    gid = f"{stem}_{version}"
    assert GID_RE.match(gid)
    assert gid_country(gid) == country and gid_stem(gid) == stem
    assert gid_level(gid) == len(nums)  # GADM level; the Data Hub level is one more
    assert gid_number(gid) == nums[-1]
    assert is_minted(gid) == (version == 0)
    assert parent_stem(gid) == ".".join([country, *map(str, nums[:-1])])
    assert gid_level(country) == 0 and parent_stem(country) == "" and not is_minted(country + "_0")
