"""`geolookup build` end to end on the real provider files and GADM/NUTS (geolookup.pipeline)."""

import sqlite3

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from curation.store import Decision, record_decisions
from geolookup.cli import cli
from geolookup.errors import GeolookupError
from geolookup.pipeline import build
from lookup.outputs import SHAPEFILE_FIELDS
from lookup.table import format_table, read_table


@pytest.fixture(scope="module")
def ita(data_root, tmp_path_factory):
    base = tmp_path_factory.mktemp("ita")
    summary = build("ITA", data_dir=data_root, out_dir=base / "out", state_dir=base / "state")
    return summary, base


def test_ita_agrees_with_the_data_hub(ita, data_root):
    summary, base = ita
    ref = read_table(data_root / "reference" / "covid19datahub" / "ITA.csv")
    ours = read_table(base / "out" / "ITA.csv")
    m = ref.merge(ours, on="id", how="left", suffixes=("_ref", ""))
    agree = ((m["key_gadm"] == m["key_gadm_ref"]) & (m["key_nuts"] == m["key_nuts_ref"])).mean()
    assert agree >= 0.95  # measured 128/128
    assert summary.rows == len(ours) == 128


def test_ita_outputs(ita):
    summary, base = ita
    out = base / "out"
    text = (out / "ITA.csv").read_text(encoding="utf-8")
    assert text == format_table(read_table(out / "ITA.csv"))  # our own file is in the Data Hub layout
    assert text.splitlines()[1].count('"-"') == 1
    with sqlite3.connect(out / "lookup.sqlite") as con:
        assert con.execute("select count(*) from location where iso3='ITA'").fetchone()[0] == 128
        prov = pd.read_sql_query("select * from provenance", con)
    assert set(prov["gadm_version"]) == {"3.6"} and prov["input_files"].str.contains("sha256:").all()
    assert set(prov["point_method"]) <= {"interior_point", "interior_point_union", "provider", "none"}
    assert (prov["nuts_method"].isin(["within", "nearest"])).all()
    gpkg = pyogrio.read_dataframe(out / "ITA_areas.gpkg", layer="ITA")
    assert len(gpkg) == 128 and gpkg.geometry.notna().all()
    shp = pyogrio.read_dataframe(out / "ITA_areas.shp")
    assert "GID" in shp.columns and all(len(c) <= 10 for c in shp.columns)
    assert set(shp.columns) - {"geometry"} <= set(SHAPEFILE_FIELDS.values())
    assert (shp["GID"] == gpkg["key_gadm"]).all()


def test_matches_file_and_review_queue(ita):
    summary, base = ita
    matches = pd.read_csv(base / "state" / "matches" / "ITA.csv", dtype=str, keep_default_na=False)
    assert list(matches.columns) == ["source", "provider_key", "name", "parent", "admin_level", "gadm_level",
                                     "latitude", "longitude", "gid", "gid_parts", "match_status", "match_score",
                                     "match_method", "candidates"]
    assert not matches.duplicated(["source", "provider_key"]).any()
    assert len(matches) == 21 + 107
    review = pd.read_csv(base / "out" / "ITA_review.csv", dtype=str, keep_default_na=False)
    assert len(review) == summary.in_review
    assert summary.accepted + summary.in_review == len(matches)


def test_rebuild_keeps_ids_and_stops_on_missing_rows(ita, data_root, tmp_path):
    summary, base = ita
    out = tmp_path / "out"
    out.mkdir()
    stored = read_table(base / "out" / "ITA.csv")
    stored.loc[0, "id"] = "0badc0de"  # registry wins over the recomputed digest
    extra = stored.iloc[[1]].copy()
    extra[["id", "id_github.pcmdpc.covid19", "key_local"]] = ["feedf00d", "Atlantide", "77"]
    pd.concat([stored, extra]).pipe(lambda t: (out / "ITA.csv").write_text(format_table(t), encoding="utf-8"))
    before = (out / "ITA.csv").read_bytes()
    with pytest.raises(GeolookupError, match="no longer published"):
        build("ITA", data_dir=data_root, out_dir=out, state_dir=base / "state")
    assert (out / "ITA.csv").read_bytes() == before  # nothing written
    s = build("ITA", data_dir=data_root, out_dir=out, state_dir=base / "state", force=True)
    table = read_table(out / "ITA.csv")
    assert {"0badc0de", "feedf00d"} <= set(table["id"]) and s.row_status.get("disappeared") == 1
    diff = pd.read_csv(out / "ITA_diff.csv", dtype=str, keep_default_na=False)
    assert (diff["change"] == "disappeared").sum() == 1


def test_curator_decision_wins(data_root, tmp_path):
    state = tmp_path / "state"
    record_decisions([Decision(source="github.pcmdpc.covid19", provider_key="CH", iso3="ITA", kind="gid",
                               value="ITA.1.2_1", gid="ITA.1.2_1", gid_parts="ITA.1.2_1", admin_level="3",
                               gadm_level="2")], reviewer="test", state_dir=state)
    build("ITA", data_dir=data_root, out_dir=tmp_path / "out", state_dir=state)
    t = read_table(tmp_path / "out" / "ITA.csv")
    assert t.loc[t["id_github.pcmdpc.covid19"] == "CH", "key_gadm"].tolist() == ["ITA.1.2_1"]


def test_usa_nyt_counties_agree_with_the_data_hub(data_root, tmp_path):
    build("USA", data_dir=data_root, out_dir=tmp_path / "out", state_dir=tmp_path / "state")
    col = "id_github.nytimes.covid19data"
    pick = lambda t: t[t["administrative_area_level"] == "3"].drop_duplicates(col).set_index(col)[["id", "key_gadm"]]
    ours = pick(read_table(tmp_path / "out" / "USA.csv"))
    ref = pick(read_table(data_root / "reference" / "covid19datahub" / "USA.csv"))
    nyt = pd.read_csv(data_root / "providers" / "nyt" / "live_us-counties_20201013.csv", dtype=str,
                      keep_default_na=False)
    keys = nyt.loc[nyt["fips"] != "", "fips"].astype(int).astype(str)
    m = ours.reindex(keys).reset_index(drop=True).join(ref.reindex(keys).reset_index(drop=True), rsuffix="_ref")
    agree = ((m["id"] == m["id_ref"]) & (m["key_gadm"] == m["key_gadm_ref"])).mean()
    assert agree >= 0.95  # measured 95.8%; Puerto Rico (GADM PRI) is the main gap
    review = pd.read_csv(tmp_path / "out" / "USA_review.csv", dtype=str, keep_default_na=False)
    assert (review["provider_key"] == "Alaska/Unknown").any()  # keyless rows are queued, not dropped


def test_cli_build(data_root, tmp_path):
    res = CliRunner().invoke(cli, ["build", "ITA", "--data-dir", str(data_root), "-o", str(tmp_path / "o"),
                                   "--state-dir", str(tmp_path / "s"), "--quiet"])
    assert res.exit_code == 0, res.output
    table = read_table(tmp_path / "o" / "ITA.csv")
    validation = pd.read_csv(tmp_path / "o" / "ITA_validation.csv", dtype=str, keep_default_na=False)
    review = pd.read_csv(tmp_path / "o" / "ITA_review.csv", dtype=str, keep_default_na=False)
    # 21 regions + 107 provinces; 42 province rows of pcm-dpc name no province and are filtered
    assert res.output.strip() == (f"ITA: {len(table)} rows, {len(table) - len(review)} accepted, {len(review)} in review, "
                                  f"{(validation['severity'] == 'warning').sum()} warnings, "
                                  "42 provider rows left out by the source specs' filters")
    assert len(table) == 128


def test_cli_unknown_country_is_one_line(tmp_path):
    from geolookup.cli import main
    with pytest.raises(SystemExit) as exc:
        main(["build", "XYZ", "-o", str(tmp_path)])
    assert exc.value.code == 1
