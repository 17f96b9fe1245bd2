"""`geolookup match` CLI contract: columns, order, encodings, one-line errors."""

import pytest

from geolookup.cli import main
from geolookup.core.tableio import read_csv_text

CONTRACT = ["gid", "gid_parts", "match_status", "match_score", "match_method", "candidates", "match_reason"]


@pytest.fixture(autouse=True)
def _data(data_root, monkeypatch, tmp_path):
    monkeypatch.setenv("GEOLOOKUP_DATA", str(data_root))
    monkeypatch.setenv("GEOLOOKUP_STATE", str(tmp_path / "state"))


def test_latin1_semicolon_input_keeps_rows_and_columns(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_bytes("regione;provincia;codice\nAbruzzo;L'Aquila;066\nValle d'Aosta;Aosta;007\nPiemonte;Forlì;\n"
                    .encode("latin-1"))
    out = tmp_path / "out.csv"
    main(["match", str(src), "--country", "ITA", "--gadm-level", "2", "--name-col", "provincia",
          "--parent-col", "regione", "--code-col", "codice", "-o", str(out)])
    df = read_csv_text(out)
    assert list(df.columns) == ["regione", "provincia", "codice"] + CONTRACT
    assert list(df["provincia"]) == ["L'Aquila", "Aosta", "Forlì"] and list(df["codice"])[:2] == ["066", "007"]
    assert list(df["gid"][:2]) == ["ITA.1.2_1", "ITA.19.1_1"]
    assert df["match_status"].iloc[2] in ("review", "unmatched")  # Forlì is not in Piemonte


def test_bom_utf8_and_errors_are_one_line(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("\ufeffname\nPuglia\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    main(["match", str(src), "--country", "ITA", "--gadm-level", "1", "--name-col", "name", "-o", str(out)])
    assert read_csv_text(out)["gid"].tolist() == ["ITA.2_1"]
    capsys.readouterr()  # the first run's summary line
    with pytest.raises(SystemExit) as e:
        main(["match", str(src), "--country", "ITA", "--gadm-level", "1", "--name-col", "nome", "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 1 and err.startswith("error:") and "nome" in err and "\n" not in err
    assert read_csv_text(out)["gid"].tolist() == ["ITA.2_1"]  # old output untouched
    with pytest.raises(SystemExit) as e:
        main(["match", str(src), "--country", "ITA", "--gadm-level", "1", "--name-col", "name", "--lat-col", "x",
              "-o", str(out)])
    assert e.value.code == 1


def test_curator_decisions_override_automatic_matches(tmp_path):
    """A stored decision, keyed by (source, provider key), wins over the matcher: method manual."""
    from geolookup.curation.store import Decision, record_decisions

    src = tmp_path / "prov.csv"
    src.write_text("regione,provincia\nSardegna,Sud Sardegna\nAbruzzo,L'Aquila\nAbruzzo,Teramo\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    args = ["match", str(src), "--country", "ITA", "--gadm-level", "2", "--name-col", "provincia",
            "--parent-col", "regione", "-o", str(out)]
    main(args)
    auto = read_csv_text(out).set_index("provincia")
    assert auto.loc["Teramo", "match_method"] != "manual"
    record_decisions([
        Decision(source="prov", provider_key="Sardegna/Sud Sardegna", iso3="ITA", kind="gid",
                 value="ITA.14.2_1", gid="ITA.14.2_1", gid_parts="ITA.14.2_1"),
        Decision(source="prov", provider_key="Abruzzo/Teramo", iso3="ITA", kind="skip", value="skip"),
    ], reviewer="test", state_dir=tmp_path / "state")
    main(args)
    got = read_csv_text(out).set_index("provincia")
    assert got.loc["Sud Sardegna", ["gid", "match_status", "match_method"]].tolist() == ["ITA.14.2_1", "accepted", "manual"]
    assert got.loc["Teramo", ["gid", "match_status", "match_method"]].tolist() == ["", "unmatched", "manual"]
    assert got.loc["L'Aquila"].tolist() == auto.loc["L'Aquila"].tolist()  # undecided rows untouched


def test_summary_names_minted_ids_and_dry_run_stores_nothing(tmp_path, capsys):
    """Kansas City's point lies in Jackson County: the split rule mints two ids under USA.26.48_1."""
    import json

    src = tmp_path / "in.csv"
    src.write_text("county,state,lat,lon\nJackson,Missouri,39.0,-94.3\nKansas City,Missouri,39.0997,-94.5786\n",
                   encoding="utf-8")
    state = tmp_path / "state"
    args = ["match", str(src), "--country", "USA", "--gadm-level", "2", "--name-col", "county", "--parent-col", "state",
            "--lat-col", "lat", "--lon-col", "lon", "-o", str(tmp_path / "out.csv"), "--json"]
    main(args + ["--dry-run"])
    dry = json.loads(capsys.readouterr().out)
    assert [m["gid"] for m in dry["minted"]] == ["USA.26.48.1_0", "USA.26.48.2_0"] and dry["minted_file"] is None
    assert not (state / "minted_ids.csv").exists()
    main(args)
    real = json.loads(capsys.readouterr().out)
    assert real["minted"] == dry["minted"] and (state / "minted_ids.csv").is_file()
    assert read_csv_text(tmp_path / "out.csv")["match_reason"].str.contains("minted USA.26.48").all()
