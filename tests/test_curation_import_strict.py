"""`review import` refuses areas of another country (territories aside) with one line naming file,
row, column and fix; territories come from ISO 3166-2, not from a typed list."""

from __future__ import annotations

import pandas as pd
import pytest

from geolookup.curation.apply import MATCHES_COLUMNS, matches_path
from geolookup.curation.importer import QueueImportError, import_queue
from geolookup.curation.store import load_decisions
from geolookup.curation.territories import territories
from geolookup.core.tableio import write_csv_atomic
from clihelp import run_cli


def test_territories_come_from_iso_3166_2():
    assert territories("USA") >= {"PRI", "GUM", "VIR", "MNP", "ASM"}
    assert "IND" not in territories("USA") and "IDN" not in territories("USA")  # US-IN Indiana, US-ID Idaho
    assert territories("NLD") >= {"ABW", "CUW", "SXM"} and territories("FRA") >= {"NCL", "PYF"}
    assert not territories("ITA") and not territories("AUS")  # AU-SA is South Australia, not Saudi Arabia
    assert not territories("GIN")  # GN-ML is the prefecture of Mali, not the country


@pytest.fixture
def state(tmp_path):
    """A USA matches file with two counties in review (GADM level 2) and a Puerto Rico municipio."""
    rows = [("01001", "Autauga", "Alabama", "USA.1.1_1:90|USA.1.2_1:60"),
            ("01003", "Baldwin", "Alabama", "USA.1.2_1:90"),
            ("72001", "Adjuntas", "Puerto Rico", "PRI.1_1:95")]
    m = pd.DataFrame([{"source": "nyt", "provider_key": k, "name": n, "parent": p, "admin_level": "3",
                       "gadm_level": "2", "latitude": "", "longitude": "", "gid": "", "gid_parts": "",
                       "match_status": "review", "match_score": "90", "match_method": "fuzzy", "candidates": c}
                      for k, n, p, c in rows], columns=MATCHES_COLUMNS)
    folder = tmp_path / "state"
    write_csv_atomic(m, matches_path("USA", folder))
    return folder


def _queue(tmp_path, decisions):
    lines = ["iso3,source,provider_key,gadm_level,decision"]
    lines += [f"USA,nyt,{k},2,{d}" for k, d in decisions.items()]
    path = tmp_path / "queue.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("decision", ["ITA.8_1", "ITA.1.2_1", "new:ITA.1_1", "composite:USA.1.1_1|ITA.1.1_1",
                                      "composite:ITA.1.1_1|ITA.1.2_1"])
def test_area_of_another_country_is_refused(tmp_path, state, data_root, decision):
    q = _queue(tmp_path, {"01001": decision})
    with pytest.raises(QueueImportError) as err:
        import_queue(q, state_dir=state, data_dir=data_root)
    msg = str(err.value)
    assert "row 2, column 'decision'" in msg and "of ITA, not of USA" in msg and str(q) in msg and "\n" not in msg
    assert "give a GID of USA" in msg
    assert load_decisions(state).empty and not (state / "minted_ids.csv").exists()


def test_same_level_foreign_message_does_not_contradict_itself(tmp_path, state, data_root, capsys):
    q = _queue(tmp_path, {"01001": "ITA.1.2_1"})
    code, _, err = run_cli(capsys, "review", "import", q, "--state-dir", state, "--data-dir", data_root)
    assert code == 1 and "is GADM level 2 but the entity is matched at GADM level 2" not in err
    line = next(x for x in err.splitlines() if "row 2" in x)
    assert str(q) in line and "column 'decision'" in line and "ITA.1.2_1 is an area of ITA" in line


def test_territory_area_is_accepted_one_level_shallower(tmp_path, state, data_root):
    rep = import_queue(_queue(tmp_path, {"72001": "PRI.1_1"}), state_dir=state, data_dir=data_root)
    assert [d.gid for d in rep.added] == ["PRI.1_1"]
    with pytest.raises(QueueImportError, match="GADM level 2 is not available for PRI"):
        import_queue(_queue(tmp_path, {"01003": "PRI.1.1_1"}), state_dir=state, data_dir=data_root)
