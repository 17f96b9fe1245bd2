"""`geolookup build` end to end on the real provider files and GADM/NUTS (geolookup.pipeline)."""

import functools
import json
import sqlite3

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from geolookup.curation.store import Decision, record_decisions
from geolookup.cli import cli
from geolookup.core.errors import GeolookupError
from geolookup.pipeline import build
from geolookup.lookup.outputs import SHAPEFILE_FIELDS
from geolookup.lookup.specs import load_specs
from geolookup.lookup.table import format_table, read_table
from clihelp import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def pcm(data_root):
    """The raw pcm-dpc files, read without our code: (regions, provinces)."""
    read = lambda name: pd.read_csv(data_root / "providers" / "pcm_dpc" / name, dtype=str,  # noqa: E731
                                    keep_default_na=False)
    return read("dpc-covid19-ita-regioni-latest.csv"), read("dpc-covid19-ita-province-latest.csv")


def expected_ita_rows(pcm):
    """One row per region plus one per real province. pcm-dpc's province file also lists, per region,
    "In fase di definizione/aggiornamento" and "Fuori Regione / Provincia Autonoma" rows that name no
    province and have no sigla_provincia (the Data Hub has no row for them)."""
    regions, provinces = pcm
    return regions["denominazione_regione"].nunique() + provinces.loc[provinces["sigla_provincia"] != "",
                                                                       "sigla_provincia"].nunique()


@pytest.fixture(scope="module")
def ita(data_root, tmp_path_factory):
    base = tmp_path_factory.mktemp("ita")
    summary = build("ITA", data_dir=data_root, out_dir=base / "out", state_dir=base / "state")
    return summary, base


def test_ita_agrees_with_the_data_hub(ita, data_root, pcm):
    summary, base = ita
    ref = read_table(data_root / "reference" / "covid19datahub" / "ITA.csv")
    ours = read_table(base / "out" / "ITA.csv")
    m = ref.merge(ours, on="id", how="left", suffixes=("_ref", ""))
    agree = ((m["key_gadm"] == m["key_gadm_ref"]) & (m["key_nuts"] == m["key_nuts_ref"])).mean()
    assert agree >= 0.95  # issue 4 target
    assert summary.rows == len(ours) == expected_ita_rows(pcm)
    assert ours["id"].is_unique


def test_ita_outputs(ita):
    summary, base = ita
    out = base / "out"
    n = summary.rows
    text = (out / "ITA.csv").read_text(encoding="utf-8")
    assert text == format_table(read_table(out / "ITA.csv"))  # our own file is in the Data Hub layout
    assert text.splitlines()[1].count('"-"') == 1
    with sqlite3.connect(out / "lookup.sqlite") as con:
        assert con.execute("select count(*) from location where iso3='ITA'").fetchone()[0] == n
        prov = pd.read_sql_query("select * from provenance", con)
    assert set(prov["gadm_version"]) == {"3.6"} and prov["input_files"].str.contains("sha256:").all()
    assert set(prov["point_method"]) <= {"interior_point", "interior_point_union", "provider", "none"}
    assert (prov["nuts_method"].isin(["within", "nearest"])).all()
    gpkg = pyogrio.read_dataframe(out / "ITA_areas.gpkg", layer="ITA")
    assert len(gpkg) == n and gpkg.geometry.notna().all()
    shp = pyogrio.read_dataframe(out / "ITA_areas.shp")
    assert "GID" in shp.columns and all(len(c) <= 10 for c in shp.columns)
    assert set(shp.columns) - {"geometry"} <= set(SHAPEFILE_FIELDS.values())
    assert (shp["GID"] == gpkg["key_gadm"]).all()


def test_matches_file_and_review_queue(ita, pcm):
    summary, base = ita
    matches = pd.read_csv(base / "state" / "matches" / "ITA.csv", dtype=str, keep_default_na=False)
    assert list(matches.columns) == ["source", "provider_key", "name", "parent", "admin_level", "gadm_level",
                                     "latitude", "longitude", "gid", "gid_parts", "match_status", "match_score",
                                     "match_method", "candidates", "match_reason"]
    assert not matches.duplicated(["source", "provider_key"]).any()
    # one entity per provider row the specs keep: every region, every province with a sigla (the
    # global providers' Italian rows attach to these and make no rows of their own)
    pcm_matches = matches[matches["source"] == "github.pcmdpc.covid19"]
    assert len(pcm_matches) == expected_ita_rows(pcm)
    review = pd.read_csv(base / "out" / "ITA_review.csv", dtype=str, keep_default_na=False)
    assert len(review) == summary.in_review
    # accepted and queued entities of the providers that make rows (not those that only fill keys)
    fills_only = {"github.cssegisanddata.covid19unified", "apple.mobility"}
    creating = matches[~matches["source"].isin(fills_only)]
    assert summary.accepted + summary.in_review <= len(creating)
    assert summary.accepted >= len(pcm_matches) - (review["source"] == "github.pcmdpc.covid19").sum()


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
    m = ours.reindex(keys).reset_index(drop=True).join(ref.reindex(keys).reset_index(drop=True).add_suffix("_ref"))
    agree = ((m["id"] == m["id_ref"]) & (m["key_gadm"] == m["key_gadm_ref"])).mean()
    assert agree >= 0.99  # issue 12 target; Puerto Rico's municipalities are matched in GADM's PRI file
    pr = m.index[keys.str.startswith("72").to_numpy()]
    assert len(pr) == 78 and (m.loc[pr, "key_gadm"] == m.loc[pr, "key_gadm_ref"]).all()
    assert m.loc[pr, "key_gadm"].str.match(r"PRI\.\d+_1$").all()
    review = pd.read_csv(tmp_path / "out" / "USA_review.csv", dtype=str, keep_default_na=False)
    # rows without FIPS are queued, never dropped, unless the spec's [keys] gives them the Data Hub's key
    keyed = set(next(s for s in load_specs("USA") if s.source == "github.nytimes.covid19data" and s.admin_level == 3).keys)
    keyless = nyt[(nyt["fips"] == "") & ~(nyt["state"] + "/" + nyt["county"]).isin(keyed)]  # "Unknown" counties
    assert len(keyless) and set(keyless["state"] + "/" + keyless["county"]) <= set(review["provider_key"])
    table = read_table(tmp_path / "out" / "USA.csv")
    nyc = table[table["administrative_area_level_3"] == "New York City"]
    assert nyc[[col, "key_gadm"]].values.tolist() == [["36061", "USA.33.32_1"]]  # merged with JHU's NYC row


def test_cli_build(data_root, tmp_path, pcm):
    res = CliRunner().invoke(cli, ["build", "ITA", "--data-dir", str(data_root), "-o", str(tmp_path / "o"),
                                   "--state-dir", str(tmp_path / "s"), "--quiet", "--json", "--allow-review"])
    assert res.exit_code == 0, res.output
    table = read_table(tmp_path / "o" / "ITA.csv")
    validation = pd.read_csv(tmp_path / "o" / "ITA_validation.csv", dtype=str, keep_default_na=False)
    review = pd.read_csv(tmp_path / "o" / "ITA_review.csv", dtype=str, keep_default_na=False)
    # the province rows of pcm-dpc without sigla_provincia name no province: the spec filters them
    filtered = int((pcm[1]["sigla_provincia"] == "").sum())
    assert filtered > 0
    got = json.loads(res.stdout)
    pcm_review = review[review["source"] == "github.pcmdpc.covid19"]
    assert (got["rows"], got["in_review"]) == (len(table), len(review)) and got["accepted"] >= len(table) - len(pcm_review)
    # one count per check: a summary finding (row empty) stands for the rows it counts
    per_check = validation.assign(n=pd.to_numeric(validation["value"].where(validation["row"] == "", "1"))
                                  ).groupby("check")["n"].sum().to_dict()
    assert got["warning_counts"] == per_check and got["filtered"] >= filtered
    assert len(table) == expected_ita_rows(pcm)


def test_cli_unknown_country_is_one_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, "build", "XYZ", "-o", tmp_path, "--quiet")
    assert_one_line_error(code, err, "no source spec for XYZ", "ITA", "USA")
    assert not any(tmp_path.iterdir())


SPEC = """country = "ITA"
source = "test.provider"
admin_level = 2
file = "prov/regions.csv"
[columns]
key = "code"
name = "name"
latitude = "lat"
longitude = "lon"
"""


def _spec_build(tmp_path, capsys, csv_bytes, spec=SPEC, data_root=None):
    """Run `geolookup build ITA` on one hand-made provider file through a --specs folder; the data
    folder links to the shared GADM and NUTS folders (links, not copies: GADM's licence)."""
    specs, data = tmp_path / "specs", tmp_path / "data"
    (data / "prov").mkdir(parents=True, exist_ok=True)
    specs.mkdir(exist_ok=True)
    for sub in ("gadm36", "nuts"):
        if data_root is not None and not (data / sub).exists():
            (data / sub).symlink_to(data_root / sub, target_is_directory=True)
    (specs / "ita_test.toml").write_text(spec, encoding="utf-8")
    (data / "prov" / "regions.csv").write_bytes(csv_bytes)
    return run_cli(capsys, "build", "ITA", "--specs", specs, "--data-dir", data, "-o", tmp_path / "out",
                    "--state-dir", tmp_path / "state", "--quiet")


def test_build_bad_provider_files_are_one_line_errors(tmp_path, capsys, data_root):
    path = tmp_path / "data" / "prov" / "regions.csv"
    _spec_build = functools.partial(globals()["_spec_build"], data_root=data_root)
    code, _, err = _spec_build(tmp_path, capsys, b"codice,name,lat,lon\n13,Abruzzo,42.35,13.39\n")
    assert_one_line_error(code, err, str(path), "column 'code' named by spec", "ita_test.toml", "columns: codice")
    code, _, err = _spec_build(tmp_path, capsys, b"")
    assert_one_line_error(code, err, str(path), "file is empty")
    code, _, err = _spec_build(tmp_path, capsys, b"code,name,lat,lon\n13,Abruzzo,42.35,13.39\n13,Molise,41.56,14.66\n")
    assert_one_line_error(code, err, str(path), "row 3, column 'code'", "'13'", "unique")
    code, _, err = _spec_build(tmp_path, capsys, b"code,name,lat,lon\n13,Abruzzo,95.1,13.39\n")
    assert_one_line_error(code, err, str(path), "row 2", "column 'lat'", "outside [-90, 90]")
    code, _, err = _spec_build(tmp_path, capsys, b"code,name,lat,lon\n13,Abruzzo,north,13.39\n")
    assert_one_line_error(code, err, str(path), "row 2", "column 'lat'", "not a number")
    code, _, err = _spec_build(tmp_path, capsys, b"code,name\n13,Abruzzo\n", spec=SPEC.replace("admin_level = 2", "admin_level = 7"))
    assert_one_line_error(code, err, "ita_test.toml", "admin_level must be 1, 2 or 3")
    assert not (tmp_path / "out" / "ITA.csv").exists()


def test_build_reads_excel_latin1_semicolon_provider(tmp_path, capsys, data_root):
    """A provider file saved by Excel (cp1252, ';', CRLF, decimal comma) builds exactly like the same
    rows saved as plain UTF-8 CSV."""
    regions = pd.read_csv(data_root / "providers" / "pcm_dpc" / "dpc-covid19-ita-regioni-latest.csv", dtype=str,
                          keep_default_na=False)
    names = regions["denominazione_regione"].replace({"Piemonte": "Piémont"})  # GADM VARNAME_1 of Piemonte
    rows = list(zip(regions["codice_regione"], names, regions["lat"], regions["long"]))
    clean = "code,name,lat,lon\n" + "".join(f"{c},{n},{la},{lo}\n" for c, n, la, lo in rows)
    excel = "code;name;lat;lon\r\n" + "".join(f"{c};{n};{la.replace('.', ',')};{lo.replace('.', ',')}\r\n"
                                              for c, n, la, lo in rows)
    spec = SPEC.replace("[columns]", "[columns]\nkey_local = \"code\"")
    tables = []
    for name, raw in (("clean", clean.encode("utf-8")), ("excel", excel.encode("cp1252"))):
        code, _, err = _spec_build(tmp_path / name, capsys, raw, spec=spec, data_root=data_root)
        assert code == 0, err
        tables.append((tmp_path / name / "out" / "ITA.csv").read_text(encoding="utf-8"))
    assert tables[0] == tables[1]
    table = read_table(tmp_path / "excel" / "out" / "ITA.csv")
    assert "Piémont" in set(table["administrative_area_level_2"])  # decoded from cp1252, not mojibake
    assert table["key_local"].str.fullmatch(r"\d\d").all()  # codes "01".."20" keep their zero


def test_crash_mid_write_leaves_the_old_table_whole(data_root, tmp_path, monkeypatch, capsys):
    """Issue 4: writes are a temporary file then a rename; a crash mid-write leaves the old table."""
    import geolookup.lookup.table
    from geolookup.core.tableio import atomic_path

    out, state = tmp_path / "out", tmp_path / "state"
    build("ITA", data_dir=data_root, out_dir=out, state_dir=state)
    before = (out / "ITA.csv").read_bytes()

    def half_then_disk_full(dest, text, encoding="utf-8"):
        with atomic_path(dest) as tmp:
            tmp.write_text(text[: len(text) // 2], encoding=encoding)
            raise OSError(28, "No space left on device", str(tmp))

    monkeypatch.setattr(geolookup.lookup.table, "write_text_atomic", half_then_disk_full)
    code, _, err = run_cli(capsys, "build", "ITA", "--data-dir", data_root, "-o", out, "--state-dir", state, "--quiet")
    assert_one_line_error(code, err, "No space left on device")
    assert (out / "ITA.csv").read_bytes() == before
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left behind
