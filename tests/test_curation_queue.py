"""A queue curators can finish, on the real Civil Protection province list matched by geolookup's own
matcher: every row says why it is queued, rows that name no place are skipped automatically, and the
map numbers, draws and labels every entry as the spreadsheet lists it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geolookup.curation.apply import MATCHES_FILE_COLUMNS, matches_path
from geolookup.curation.importer import import_queue
from geolookup.curation.queue import auto_skips, build_queue, export_queue
from geolookup.curation.store import load_decisions
from geolookup.core.tableio import write_csv_atomic
from geolookup.gadm.gids import gid_level
from clihelp import run_cli


@pytest.fixture(scope="module")
def ita_matched(data_root):
    """The matches file a build writes for the pcm-dpc provinces (matching.match_places, GADM level 2)."""
    from geolookup.matching import match_places

    p = pd.read_csv(data_root / "providers/pcm_dpc/dpc-covid19-ita-province-latest.csv", dtype=str,
                    keep_default_na=False)
    r = match_places(p, "ITA", 2, "denominazione_provincia", parent_col="denominazione_regione", data_dir=data_root,
                     state_dir=data_root / "__none__", source="pcm_dpc", key_col="codice_provincia")
    return pd.DataFrame({
        "source": "pcm_dpc", "provider_key": p["codice_provincia"], "name": p["denominazione_provincia"],
        "parent": p["denominazione_regione"], "admin_level": "3", "gadm_level": "2", "latitude": "", "longitude": "",
        "gid": r["gid"], "gid_parts": r["gid_parts"], "match_status": r["match_status"],
        "match_score": r["match_score"].astype(str), "match_method": r["match_method"], "candidates": r["candidates"],
        "match_reason": r["match_reason"]})[MATCHES_FILE_COLUMNS]


@pytest.fixture
def state(tmp_path, ita_matched):
    folder = tmp_path / "state"
    write_csv_atomic(ita_matched, matches_path("ITA", folder))
    return folder


def test_queue_says_why_and_gives_each_candidates_own_level(state, ita_matched, data_root):
    q = build_queue("ITA", state_dir=state, data_dir=data_root, include_all=True)
    assert (q["match_reason"].str.len() > 0).all()
    review = q[q["status"] == "review"].iloc[0]
    assert review["match_reason"] == ita_matched.set_index("provider_key").loc[review["provider_key"], "match_reason"]
    for k in range(1, 6):
        has = q[f"cand{k}_gid"] != ""
        assert (q.loc[has, f"cand{k}_gadm_level"].astype(int) == q.loc[has, f"cand{k}_gid"].map(gid_level)).all()


def test_placeholders_are_skipped_automatically_and_listed(state, ita_matched, data_root, tmp_path, capsys):
    raw = ita_matched["name"]
    n_ph = int(raw.str.startswith(("Fuori Regione", "In fase di definizione")).sum())  # the file's placeholder rows
    q = build_queue("ITA", state_dir=state, data_dir=data_root)
    assert n_ph > 0 and not q["name"].str.startswith(("Fuori Regione", "In fase")).any()
    skipped = auto_skips("ITA", state_dir=state)
    assert len(skipped) == n_ph and skipped["reason"].str.contains("names no place").all()
    code, out, err = run_cli(capsys, "review", "export", "ITA", "-o", tmp_path / "q.csv", "--state-dir", state,
                             "--data-dir", data_root, "--json")
    assert code == 0 and f"{n_ph} skipped automatically" in err
    import json

    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["queued"] == len(q) and len(summary["auto_skipped"]) == n_ph
    # queued on request, with skip pre-filled and the reason as note; importing it records the skips
    full = export_queue("ITA", tmp_path / "all.csv", state_dir=state, data_dir=data_root, include_placeholders=True)
    ph = full[full["name"].str.startswith(("Fuori Regione", "In fase"))]
    assert len(ph) == n_ph and (ph["decision"] == "skip").all() and ph["note"].str.contains("names no place").all()
    rep = import_queue(tmp_path / "all.csv", reviewer="curator", state_dir=state, data_dir=data_root)
    assert len(rep.added) == n_ph and set(load_decisions(state)["kind"]) == {"skip"}
    assert auto_skips("ITA", state_dir=state).empty  # decided by the curator now


def _annotations(fig):
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    texts = [t for t in ax.texts if t.get_text().isdigit()]
    boxes = np.array([t.get_window_extent(renderer).extents for t in texts]).reshape(-1, 4)
    return [t.get_text() for t in texts], boxes


def test_map_numbers_rows_draws_every_entry_keeps_labels_apart_and_levels(state, data_root):
    import matplotlib.pyplot as plt

    from geolookup.curation.areas import AreaIndex
    from geolookup.curation.mapplot import PANELS_PER_PAGE, level_ok, render_review_pages

    q = build_queue("ITA", state_dir=state, data_dir=data_root, include_all=True)
    q = q[q["cand1_gid"] != ""].reset_index(drop=True).iloc[:60]  # placeable entries, spread over Italy
    q.loc[0, ["cand2_gid", "cand2_gadm_level"]] = ["ITA.8_1", 1]  # a candidate of another level (Lazio)
    pages = render_review_pages(q, "ITA", areas=AreaIndex(data_root))
    try:
        labels, boxes = _annotations(pages[0])
        assert sorted(map(int, labels)) == list(range(2, len(q) + 2))  # spreadsheet rows: header = row 1
        w = np.clip(np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - np.maximum(boxes[:, None, 0], boxes[None, :, 0]), 0, None)
        h = np.clip(np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - np.maximum(boxes[:, None, 1], boxes[None, :, 1]), 0, None)
        overlap = np.triu(w * h > 1.0, k=1)  # more than one square pixel in common
        assert overlap.sum() == 0
        assert len(pages) == 1 + -(-len(q) // PANELS_PER_PAGE)
        titles = [ax.get_title(loc="left") for p in pages[1:] for ax in p.axes]
        assert [t.split(":")[0] for t in titles] == [f"row {i}" for i in range(2, len(q) + 2)]
        assert not level_ok(q, "ITA")[0, 1] and level_ok(q, "ITA")[0, 0]
        first_panel = pages[1].axes[0]
        assert any("other level: 2. ITA.8_1" in t.get_text() for t in first_panel.texts)
        assert not any(t.get_text().startswith("2. ") for t in first_panel.texts)  # not drawn
    finally:
        for p in pages:
            plt.close(p)
