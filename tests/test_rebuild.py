"""Safe rebuilds (lookup.rebuild): ids kept, rows never deleted, changes reported."""

import pandas as pd
import pytest

from geolookup.core.errors import GeolookupError
from geolookup.lookup.ids import datahub_id
from geolookup.lookup.rebuild import merge_rebuild
from geolookup.lookup.table import read_table

SRC = ["id_github.pcmdpc.covid19"]


@pytest.fixture
def stored(data_root):
    return read_table(data_root / "reference" / "covid19datahub" / "ITA.csv")


def fresh(stored):
    """What a build would produce now: recomputed ids, only our source's columns."""
    new = stored[["id", "id_github.pcmdpc.covid19", "administrative_area_level", "administrative_area_level_2",
                  "administrative_area_level_3", "key_gadm", "key_local", "key_nuts", "latitude", "longitude"]].copy()
    new["id"] = [datahub_id("ITA", k) for k in new["id_github.pcmdpc.covid19"]]
    new["_status"] = "accepted"
    return new


def test_identical_rebuild_changes_nothing(stored):
    res = merge_rebuild(stored, fresh(stored), SRC)
    assert res.diff.empty and set(res.row_status) == {"unchanged"}
    assert res.table.values.tolist() == stored[res.table.columns].values.tolist()


def test_stored_id_wins_over_recomputed(stored):
    stored = stored.copy()
    stored.loc[0, "id"] = "6ka7j29d"  # a hand-made id in the registry
    res = merge_rebuild(stored, fresh(stored), SRC)
    assert "6ka7j29d" in set(res.table["id"])
    assert datahub_id("ITA", stored.loc[0, "id_github.pcmdpc.covid19"]) not in set(res.table["id"])


def test_other_providers_columns_are_kept(stored):
    res = merge_rebuild(stored, fresh(stored), SRC)
    assert res.table["key_google_mobility"].tolist() == stored["key_google_mobility"].tolist()
    assert res.table["population"].tolist() == stored["population"].tolist()


def test_changes_are_reported_per_column(stored):
    new = fresh(stored)
    new.loc[5, "key_gadm"] = "ITA.99_1"
    new.loc[6, "latitude"] = str(float(new.loc[6, "latitude"]) + 0.5)
    new.loc[7, "longitude"] = str(float(new.loc[7, "longitude"]) + 1e-6)
    res = merge_rebuild(stored, new, SRC, coordinate_change_km=1.0)
    d = res.diff.set_index("id")
    assert d.loc[stored.loc[5, "id"], "note"] == "key_gadm changed"
    assert d.loc[stored.loc[6, "id"], "note"].startswith("coordinates moved 55.")
    assert d.loc[stored.loc[7, "id"], "note"] == ""  # a sub-metre move is a change, not a move
    assert set(res.table["id"]) == set(stored["id"])
    s = res.summary().set_index("column")
    assert s.loc["key_gadm", "changed"] == 1 and s.loc["latitude", "changed"] == 1


def test_disappeared_rows_stop_the_rebuild_unless_forced(stored):
    new = fresh(stored).drop(index=[3, 4])
    with pytest.raises(GeolookupError, match="2 stored row.*--force"):
        merge_rebuild(stored, new, SRC, label="ITA.csv")
    res = merge_rebuild(stored, new, SRC, force=True)
    gone = res.table[res.row_status == "disappeared"]["id"]
    assert sorted(gone) == sorted(stored.loc[[3, 4], "id"])
    assert len(res.table) == len(stored)
    assert (res.diff["change"] == "disappeared").sum() == 2


def test_rows_of_other_sources_are_not_disappeared(stored):
    other = stored.copy()
    other.loc[len(other)] = {c: "" for c in other.columns} | {
        "id": "deadbeef", "administrative_area_level": "2", "id_github.ceedsdemm.covidprodataset": "X"}
    res = merge_rebuild(other, fresh(stored), SRC)
    assert res.row_status[res.table["id"] == "deadbeef"].tolist() == ["kept_other_source"]


def test_unaccepted_entity_keeps_its_stored_row_and_new_ones_are_not_added(stored):
    new = fresh(stored)
    new.loc[10, "_status"] = "review"
    new.loc[10, "key_gadm"] = ""
    extra = new.iloc[[0]].copy()
    extra[["id", "id_github.pcmdpc.covid19", "key_local"]] = ["12345678", "Nowhere", "999"]
    extra["_status"] = "review"
    res = merge_rebuild(stored, pd.concat([new, extra], ignore_index=True), SRC)
    row = res.table[res.table["id"] == stored.loc[10, "id"]].iloc[0]
    assert row["key_gadm"] == stored.loc[10, "key_gadm"]
    assert "12345678" not in set(res.table["id"])


def test_new_rows_are_added(stored):
    new = fresh(stored)
    base = stored.drop(index=[0])
    res = merge_rebuild(base, new, SRC)
    assert res.row_status[res.table["id"] == stored.loc[0, "id"]].tolist() == ["new"]
    assert (res.diff["change"] == "added").any()


def test_first_build(stored):
    res = merge_rebuild(None, fresh(stored), SRC)
    assert len(res.table) == len(stored) and set(res.row_status) == {"new"}
