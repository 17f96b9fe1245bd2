"""Review queues round trips on real provider lists (NYT US counties, Italian Civil Protection
provinces) against real GADM 3.6 areas: export, spreadsheet save, import, store, apply, map."""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import fuzz, process
from unidecode import unidecode

from geolookup.curation.apply import apply_decisions, matches_path
from geolookup.curation.importer import QueueImportError, import_queue
from geolookup.curation.queue import QUEUE_COLUMNS, build_queue, export_queue
from geolookup.curation.store import load_decisions, load_log
from geolookup.gadm import load_areas
from geolookup.core.tableio import write_csv_atomic
from clihelp import assert_one_line_error, run_cli

NYT_STATES = ["Alabama", "Missouri", "New York", "Puerto Rico"]
BOROUGHS = "USA.33.3_1|USA.33.24_1|USA.33.32_1|USA.33.42_1|USA.33.44_1"


def _fold(s):
    return re.sub(r"[^a-z0-9]+", " ", unidecode(str(s)).lower()).strip()


def _fuzzy(names, area_names, area_gids):
    """Top-5 fuzzy candidates (WRatio on folded names): status accepted when one area scores 100,
    review from 80, else unmatched. A deliberately plain matcher, independent of matching/."""
    n = len(names)
    status, gid, cands, best = ["unmatched"] * n, [""] * n, [""] * n, np.zeros(n)
    if len(area_names):
        sc = process.cdist([_fold(x) for x in names], [_fold(x) for x in area_names], scorer=fuzz.WRatio)
        order = np.argsort(-sc, axis=1, kind="stable")[:, :5]
        for i in range(n):
            top = [(area_gids[j], float(sc[i, j])) for j in order[i] if sc[i, j] > 0]
            cands[i] = "|".join(f"{g}:{s:g}" for g, s in top)
            best[i] = top[0][1] if top else 0
            if top and top[0][1] == 100 and (len(top) == 1 or top[1][1] < 100):
                status[i], gid[i] = "accepted", top[0][0]
            elif top and top[0][1] >= 80:
                status[i] = "review"
    return status, gid, cands, best


def _matches(source, keys, names, parents, lat, lon, areas, parent_col):
    out = []
    groups = pd.Series(parents).groupby(parents).indices if parent_col else {None: np.arange(len(names))}
    for parent, idx in groups.items():
        sub = areas if parent is None else areas[areas[parent_col] == parent]
        st, gid, cands, best = _fuzzy(np.asarray(names)[idx], sub["name"].to_numpy(), sub["gid"].to_numpy())
        out.append(pd.DataFrame({
            "source": source, "provider_key": np.asarray(keys)[idx], "name": np.asarray(names)[idx],
            "parent": np.asarray(parents)[idx], "admin_level": "3", "gadm_level": "2",
            "latitude": np.asarray(lat)[idx], "longitude": np.asarray(lon)[idx], "gid": gid,
            "gid_parts": gid, "match_status": st, "match_score": [f"{b:g}" for b in best],
            "match_method": np.where(np.asarray(st) == "accepted", "exact", "fuzzy"), "candidates": cands,
        }, index=idx))
    return pd.concat(out).sort_index().reset_index(drop=True)


@pytest.fixture(scope="module")
def usa_matches(data_root):
    nyt = pd.read_csv(data_root / "providers/nyt/live_us-counties_20201013.csv", dtype=str, keep_default_na=False)
    nyt = nyt[nyt["state"].isin(NYT_STATES)].reset_index(drop=True)
    keys = np.where(nyt["fips"] != "", nyt["fips"], nyt["county"] + ", " + nyt["state"])
    areas = load_areas("USA", 2)
    return _matches("nyt", keys, nyt["county"], nyt["state"], [""] * len(nyt), [""] * len(nyt), areas, "name_1")


@pytest.fixture(scope="module")
def ita_matches(data_root):
    p = pd.read_csv(data_root / "providers/pcm_dpc/dpc-covid19-ita-province-latest.csv", dtype=str,
                    keep_default_na=False)
    areas = load_areas("ITA", 2)
    return _matches("pcm_dpc", p["codice_provincia"], p["denominazione_provincia"], p["denominazione_regione"],
                    p["lat"], p["long"], areas, None)


def _state(tmp_path, **matches):
    state = tmp_path / "state"
    for iso, df in matches.items():
        write_csv_atomic(df, matches_path(iso, state))
    return state


def _decide(queue_path, decisions: dict, out_path=None, sep=",", excel=False):
    """Fill the decision column like a curator (rows by name) and save; ``excel`` imitates Excel's
    CSV save: formulas ="..." evaluated to text, ``;`` separators, CRLF, UTF-8 with BOM."""
    with open(queue_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    di, ni = head.index("decision"), head.index("name")
    for r in rows[1:]:
        if r[ni] in decisions:
            r[di] = decisions[r[ni]]
        if excel:
            r[:] = [re.sub(r'^="(.*)"$', r"\1", c) for c in r]
    out_path = out_path or queue_path
    with open(out_path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, delimiter=sep, lineterminator="\r\n").writerows(rows)
    return out_path


def test_usa_queue_lists_uncertain_entities_with_candidates(tmp_path, usa_matches):
    state = _state(tmp_path, USA=usa_matches)
    q = build_queue("USA", state_dir=state)
    assert list(q.columns) == QUEUE_COLUMNS
    assert set(q["status"]) <= {"review", "unmatched"}
    assert {"New York City", "Kansas City", "Unknown"} <= set(q["name"])
    assert "Autauga" not in set(q["name"])  # accepted automatically
    kc = q[q["name"] == "Kansas City"].iloc[0]
    assert kc["cand1_gid"].startswith("USA.26.") and kc["cand1_name"] and kc["cand1_parent"] == "Missouri"
    assert kc["cand1_gadm_level"] == 2
    assert len(build_queue("USA", state_dir=state, include_all=True)) == len(usa_matches)


def test_ita_queue_distances_use_provider_points(tmp_path, ita_matches):
    state = _state(tmp_path, ITA=ita_matches)
    q = build_queue("ITA", state_dir=state, include_all=True)
    aq = q[q["name"] == "L'Aquila"].iloc[0]
    assert aq["provider_key"] == "066" and aq["cand1_gid"] == "ITA.1.2_1"
    assert aq["cand1_distance_km"] == 0.0  # the provincial capital lies inside its province
    far = q["cand2_distance_km"].dropna()
    assert (far > 0).any()
    assert q.loc[q["latitude"].isna(), "cand1_distance_km"].isna().all()  # no coordinates, no distance


USA_DECISIONS = {
    "New York City": "composite:" + BOROUGHS,
    "Kansas City": "new:USA.26.48_1",  # Jackson County; the Data Hub has USA.26.48.2_0
    "Unknown": "skip",
    "DeKalb": "accept",
    "St. Louis city": "new:USA.26.95_1",
}


def _key(q, name):
    return q.loc[q["name"] == name, "provider_key"].iloc[0]


@pytest.mark.parametrize("excel", [True, False], ids=["excel-evaluates-formulas", "libreoffice-keeps-formulas"])
def test_usa_spreadsheet_round_trip_composite_new_skip(tmp_path, usa_matches, excel):
    state = _state(tmp_path, USA=usa_matches)
    q = export_queue("USA", tmp_path / "queue.csv", state_dir=state, include_all=True)
    raw = (tmp_path / "queue.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b'"=""01001"""' in raw
    saved = _decide(tmp_path / "queue.csv", USA_DECISIONS, tmp_path / "saved.csv", sep=";", excel=excel)
    rep = import_queue(saved, reviewer="alice", state_dir=state)
    assert len(rep.added) == 1 + 1 + 1 + 2 + 1 and not rep.errors  # NYC, KC, Unknown (PR), 2 DeKalb, St. Louis city
    dec = load_decisions(state).set_index("provider_key")
    nyc = dec.loc[_key(q, "New York City")]
    assert nyc["kind"] == "composite" and set(nyc["gid_parts"].split("|")) == set(BOROUGHS.split("|"))
    from geolookup.matching import resolve_composite

    assert nyc["gid"] == resolve_composite(BOROUGHS.split("|"), load_areas("USA", 2))[0]
    kc = dec.loc[_key(q, "Kansas City")]["gid"]
    assert re.fullmatch(r"USA\.26\.48\.\d+_0", kc)
    # accept = cand1: GADM's "De Kalb" in each state; FIPS 01049 (Alabama) keeps its leading zero
    dekalb = load_areas("USA", 2).query("name == 'De Kalb'").set_index("name_1")["gid"]
    assert dec.loc["01049", "gid"] == dekalb["Alabama"] and dec.loc["29063", "gid"] == dekalb["Missouri"]

    applied = apply_decisions(usa_matches, state_dir=state).set_index("provider_key")
    assert applied.loc["01049", "match_method"] == "manual" and applied.loc["01049", "match_status"] == "accepted"
    assert applied.loc[_key(q, "Kansas City"), "gid"] == kc
    unk = applied.loc[_key(q, "Unknown")]
    assert bool(unk["skipped"]) and unk["match_status"] == "unmatched" and unk["gid"] == ""
    assert applied.loc["01001", "match_method"] == "exact" and not applied.loc["01001", "skipped"]

    # decided entities leave the queue; a second import of the same file changes nothing
    assert not {"Kansas City", "New York City", "DeKalb"} & set(build_queue("USA", state_dir=state)["name"])
    log_before = (state / "decisions_log.csv").read_bytes()
    again = import_queue(saved, reviewer="bob", state_dir=state)
    assert not again.added and not again.changed and len(again.unchanged) == 6
    assert (state / "decisions_log.csv").read_bytes() == log_before


def test_conflicting_reimport_needs_force_and_is_logged(tmp_path, usa_matches):
    state = _state(tmp_path, USA=usa_matches)
    export_queue("USA", tmp_path / "q.csv", state_dir=state)
    import_queue(_decide(tmp_path / "q.csv", USA_DECISIONS, tmp_path / "a.csv"), reviewer="alice", state_dir=state)
    q2 = export_queue("USA", tmp_path / "q2.csv", state_dir=state, include_all=True)
    changed = _decide(tmp_path / "q2.csv", {"New York City": "USA.33.32_1"}, tmp_path / "b.csv")
    row = int(np.flatnonzero(q2["name"] == "New York City")[0]) + 2
    with pytest.raises(QueueImportError) as err:
        import_queue(changed, reviewer="bob", state_dir=state)
    assert err.value.errors[0].row == row and "--force" in str(err.value) and f"row {row}, column 'decision':" in str(err.value)
    assert load_decisions(state).set_index("provider_key").loc[_key(q2, "New York City"), "kind"] == "composite"
    rep = import_queue(changed, reviewer="bob", state_dir=state, force=True)
    assert len(rep.changed) == 1
    log = load_log(state)
    last = log.iloc[-1]
    assert (last["who"], last["action"], last["new_value"]) == ("bob", "change", "USA.33.32_1")
    assert last["old_value"].startswith("composite:") and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", last["when"])
    assert len(log) == 7  # 6 first decisions + 1 forced change


def test_invalid_gid_reported_with_spreadsheet_row_and_nothing_imported(tmp_path, usa_matches):
    state = _state(tmp_path, USA=usa_matches)
    q = export_queue("USA", tmp_path / "q.csv", state_dir=state)
    bad = dict(USA_DECISIONS, **{"St. Clair": "USA.26.999_1", "Ste. Genevieve": "USA.26_1"})
    path = _decide(tmp_path / "q.csv", bad, tmp_path / "bad.csv", sep=";", excel=True)
    with pytest.raises(QueueImportError) as err:
        import_queue(path, state_dir=state)
    rows = {e.row: e.message for e in err.value.errors}
    stclair = [int(i) + 2 for i in np.flatnonzero(q["name"] == "St. Clair")]
    assert set(stclair) <= set(rows) and "not a GADM 3.6 GID" in rows[stclair[0]]
    gen = int(np.flatnonzero(q["name"] == "Ste. Genevieve")[0]) + 2
    assert "GADM level 1" in rows[gen]
    assert "header = row 1" in str(err.value)
    assert not (state / "decisions.csv").exists() and not (state / "minted_ids.csv").exists()
    rep = import_queue(path, state_dir=state, partial=True)  # valid rows only
    assert len(rep.errors) == len(rows) and len(rep.added) == 6


def test_shared_gid_refused_unless_allowed(tmp_path, usa_matches):
    state = _state(tmp_path, USA=usa_matches)
    export_queue("USA", tmp_path / "q.csv", state_dir=state)
    path = _decide(tmp_path / "q.csv", {"Joplin": "USA.26.49_1"}, tmp_path / "j.csv")  # Jasper, auto-accepted
    with pytest.raises(QueueImportError, match="already the gid of nyt '29097'"):
        import_queue(path, state_dir=state)
    assert len(import_queue(path, state_dir=state, allow_shared=True).added) == 1


def test_leading_zero_lost_by_spreadsheet_is_caught(tmp_path, usa_matches):
    state = _state(tmp_path, USA=usa_matches)
    export_queue("USA", tmp_path / "q.csv", state_dir=state)
    path = _decide(tmp_path / "q.csv", {"DeKalb": "accept"}, tmp_path / "z.csv", excel=True)
    text = path.read_text(encoding="utf-8-sig").replace(",01049,", ",1049,")
    path.write_text(text, encoding="utf-8-sig")
    with pytest.raises(QueueImportError, match="leading zeros.*'01049'"):
        import_queue(path, state_dir=state)


PLACEHOLDERS = ("Fuori Regione / Provincia Autonoma", "In fase di definizione/aggiornamento")


def test_ita_skips_and_plain_gid(tmp_path, ita_matches, data_root):
    state = _state(tmp_path, ITA=ita_matches)
    q = export_queue("ITA", tmp_path / "q.csv", state_dir=state)
    ref = pd.read_csv(data_root / "reference/covid19datahub/ITA.csv", dtype=str, keep_default_na=False)
    by_name = ref.set_index("administrative_area_level_3")["key_gadm"]  # the Data Hub's curated GIDs
    sud, firenze = by_name["Sud Sardegna"], by_name["Firenze"]  # GADM names Firenze "Florence"
    decisions = {PLACEHOLDERS[0]: "skip", PLACEHOLDERS[1]: "skip", "Sud Sardegna": sud, "Firenze": "accept"}
    assert q.loc[q["name"] == "Firenze", "cand1_gid"].tolist() == [firenze]  # accept takes candidate 1
    rep = import_queue(_decide(tmp_path / "q.csv", decisions, tmp_path / "d.csv", sep=";", excel=True),
                       reviewer="curator", state_dir=state)
    raw = pd.read_csv(data_root / "providers/pcm_dpc/dpc-covid19-ita-province-latest.csv", dtype=str,
                      keep_default_na=False)
    n_skip = int(raw["denominazione_provincia"].isin(PLACEHOLDERS).sum())  # placeholder rows of the raw file
    assert n_skip > 0 and int(q["name"].isin(PLACEHOLDERS).sum()) == n_skip  # all of them queued
    assert len(rep.added) == n_skip + 2 and not rep.errors
    applied = apply_decisions(ita_matches, state_dir=state)
    assert int(applied["skipped"].sum()) == n_skip
    code = lambda name: raw.loc[raw["denominazione_provincia"] == name, "codice_provincia"].item()  # noqa: E731
    assert applied.set_index("provider_key").loc[code("Firenze"), "gid"] == firenze
    assert applied.set_index("provider_key").loc[code("Sud Sardegna"), "gid"] == sud
    left = build_queue("ITA", state_dir=state)
    assert "Sud Sardegna" not in set(left["name"]) and len(left) == len(q) - n_skip - 2


def test_cli_export_and_map_png_html(tmp_path, ita_matches, data_root, capsys):
    from geolookup.cli import main

    state = _state(tmp_path, ITA=ita_matches)
    common = ["--state-dir", str(state), "--data-dir", str(data_root)]
    main(["review", "export", "ita", "-o", str(tmp_path / "q.csv"), "--sep", ";", *common])
    text = (tmp_path / "q.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("iso3;source;provider_key;") and ';"=""020""";Mantova;' in text
    queued = len(pd.read_csv(tmp_path / "q.csv", sep=";", dtype=str, encoding="utf-8-sig"))
    assert f"{queued} entities to review" in capsys.readouterr().err
    main(["review", "map", "ITA", "-o", str(tmp_path / "m.png"), *common])
    assert f"{queued} queued entities drawn" in capsys.readouterr().err
    png = (tmp_path / "m.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    pages = sorted(tmp_path.glob("m-*.png"))  # every entity has a panel: 12 per page
    assert len(pages) == -(-queued // 12)
    import matplotlib.colors as mcolors
    import matplotlib.image as mimage

    from geolookup.curation.mapplot import CAND1_COLOR, POINT_COLOR

    pixels = np.vstack([(mimage.imread(p)[..., :3] * 255).round().astype(np.int32).reshape(-1, 3) for p in pages])
    packed = np.unique(pixels @ np.array([65536, 256, 1], dtype=np.int32))
    for colour in (CAND1_COLOR, POINT_COLOR):  # candidate areas and provider points are drawn
        r, g, b = (round(v * 255) for v in mcolors.to_rgb(colour))
        assert r * 65536 + g * 256 + b in packed
    (tmp_path / "small").mkdir()
    small = _state(tmp_path / "small", ITA=ita_matches.iloc[:20])  # the .html page, on fewer entities
    few = len(build_queue("ITA", state_dir=small))
    main(["review", "map", "ITA", "-o", str(tmp_path / "m.html"), "--state-dir", str(small), "--data-dir", str(data_root)])
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "Fuori Regione" in page and "<table" in page
    assert page.count("<img") == 1 + -(-few // 12)
    assert f"{few} queued entities drawn" in capsys.readouterr().err
    code, _, err = run_cli(capsys, "review", "map", "ITA", "-o", tmp_path / "m.jpg", *common)
    assert_one_line_error(code, err, ".pdf, .png or .html")


def test_cli_review_bad_input_isassert_one_line_error(tmp_path, usa_matches, data_root, capsys):
    common = ["--state-dir", tmp_path / "state", "--data-dir", data_root]
    # export before any build: no matches file
    code, _, err = run_cli(capsys, "review", "export", "USA", "-o", tmp_path / "q.csv", *common)
    assert_one_line_error(code, err, "matches", "USA.csv", "no matches file for USA", "geolookup build")
    # a matches file with a latitude out of range names its row and column
    bad = usa_matches.copy()
    queued = int(np.flatnonzero(bad["match_status"] != "accepted")[0])  # export parses queued rows
    bad.loc[queued, "latitude"] = "123"
    state = _state(tmp_path, USA=bad)
    code, _, err = run_cli(capsys, "review", "export", "USA", "-o", tmp_path / "q.csv", *common)
    assert_one_line_error(code, err, str(matches_path("USA", state)), f"row {queued + 2}, column 'latitude'", "outside [-90, 90]")
    # a duplicate entity in the matches file
    _state(tmp_path, USA=pd.concat([usa_matches, usa_matches.iloc[[4]]], ignore_index=True))
    code, _, err = run_cli(capsys, "review", "export", "USA", "-o", tmp_path / "q.csv", *common)
    assert_one_line_error(code, err, f"row {len(usa_matches) + 2}", "duplicate entity")
    assert not (tmp_path / "q.csv").exists()

    _state(tmp_path, USA=usa_matches)
    queue = tmp_path / "queue.csv"
    queue.write_text("iso3,source,provider_key,gadm_level\nUSA,nyt,01001,2\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "review", "import", queue, *common)
    assert_one_line_error(code, err, str(queue), "missing column(s) decision")
    queue.write_text("", encoding="utf-8")
    code, _, err = run_cli(capsys, "review", "import", queue, *common)
    assert_one_line_error(code, err, str(queue), "file is empty")
    code, _, err = run_cli(capsys, "review", "import", tmp_path / "nope.csv", *common)
    assert_one_line_error(code, err, "nope.csv", "file not found")
    assert not (tmp_path / "state" / "decisions.csv").exists()


def test_import_cp1252_queue_and_conflicting_rows(tmp_path, usa_matches, capsys, data_root):
    state = _state(tmp_path, USA=usa_matches)
    q = export_queue("USA", tmp_path / "q.csv", state_dir=state)
    assert q["provider_key"].str.startswith("0").any()
    key, gid = q.loc[q["name"] == "DeKalb", ["provider_key", "cand1_gid"]].iloc[0]
    # two rows deciding the same entity differently: both rows are reported, nothing stored
    text = ("iso3;source;provider_key;decision;note\r\n"
            f"USA;nyt;{key};{gid};vérifié\r\nUSA;nyt;{key};skip;déjà vu\r\n").encode("cp1252")
    (tmp_path / "d.csv").write_bytes(text)
    with pytest.raises(QueueImportError) as err:
        import_queue(tmp_path / "d.csv", state_dir=state, data_dir=data_root)
    assert [e.row for e in err.value.errors] == [3] and "decided differently in row 2" in str(err.value)
    assert load_decisions(state).empty
    # the same cp1252 file with one row imports, and the accented note survives
    (tmp_path / "d.csv").write_bytes(text.split(b"\r\n")[0] + b"\r\n" + text.split(b"\r\n")[1] + b"\r\n")
    rep = import_queue(tmp_path / "d.csv", state_dir=state, data_dir=data_root)
    assert len(rep.added) == 1
    stored = load_decisions(state).set_index("provider_key").loc[key]
    assert (stored["gid"], stored["note"]) == (gid, "vérifié")
