"""One-time download into the cache, offline messages and atomic downloads, with a local HTTP server."""

from __future__ import annotations

import http.server
import io
import threading
from pathlib import Path

import pandas as pd
import pytest

from geolookup import gadm
from geolookup import nuts
from geolookup.gadm import loader
from geolookup.core import datafiles
from geolookup.cli import main
from geolookup.core.errors import DataNotFoundError
from geolookup.nuts import loader as nuts_loader


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        self.requests.append(self.path)
        name = self.path.rsplit("/", 1)[-1]
        body = None if self.path.startswith("/missing/") else self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path.startswith("/truncated/"):
            body = body[: len(body) // 2]  # the connection drops half-way
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(data_root, monkeypatch):
    """A local server with the real HKG archive and NUTS file; GEOLOOKUP_DATA unset (nothing local)."""
    _Handler.files = {
        "gadm36_HKG_gpkg.zip": (data_root / "gadm36" / "gadm36_HKG_gpkg.zip").read_bytes(),
        "NUTS_RG_20M_2021_4326.geojson": (data_root / "nuts" / "NUTS_RG_20M_2021_4326_LEVL_3.geojson").read_bytes(),
    }
    _Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.delenv("GEOLOOKUP_DATA", raising=False)
    monkeypatch.setattr(datafiles, "GADM36_URL", base + "/gadm3.6/{fmt}/gadm36_{iso}_{fmt}.zip")
    monkeypatch.setattr(datafiles, "GISCO_NUTS_URL", base + "/nuts/geojson/{name}")
    loader._load.cache_clear()
    loader._stored_levels.cache_clear()
    nuts_loader._load.cache_clear()
    yield base
    httpd.shutdown()
    httpd.server_close()


def test_gadm_downloaded_once_then_cached(server, data_root):
    areas = gadm.load_areas("HKG", 1)
    inventory = pd.read_csv(data_root / "gadm36" / "INVENTORY.csv").set_index(["iso", "level"])
    assert len(areas) == inventory.loc[("HKG", 1), "features"]
    assert _Handler.requests == ["/gadm3.6/gpkg/gadm36_HKG_gpkg.zip"]
    cached = datafiles.cache_dir() / "gadm36" / "gadm36_HKG_gpkg.zip"
    assert cached.read_bytes() == _Handler.files["gadm36_HKG_gpkg.zip"]
    loader._load.cache_clear()
    loader._stored_levels.cache_clear()
    assert gadm.load_areas("HKG", 0)["gid"].tolist() == ["HKG"]
    assert gadm.available_levels("HKG") == [0, 1]
    assert len(_Handler.requests) == 1  # never downloaded again
    assert not list(cached.parent.glob("*.part"))


def test_nuts_downloaded_once(server):
    regions = nuts.load_nuts("20M", 2021)
    assert (regions["LEVL_CODE"] == 3).all() and len(regions) > 1000
    nuts_loader._load.cache_clear()
    nuts.load_nuts("20M", 2021)
    assert _Handler.requests == ["/nuts/geojson/NUTS_RG_20M_2021_4326.geojson"]


def test_offline_error_names_file_url_and_place(server, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(datafiles, "GADM36_URL", server + "/missing/{fmt}/gadm36_{iso}_{fmt}.zip")
    with pytest.raises(DataNotFoundError) as exc:
        gadm.load_areas("HKG", 1)
    msg = str(exc.value)
    assert "gadm36_HKG_gpkg.zip" in msg
    assert server + "/missing/gpkg/gadm36_HKG_gpkg.zip" in msg
    assert str(datafiles.cache_dir() / "gadm36") in msg and "GEOLOOKUP_DATA" in msg
    assert not (datafiles.cache_dir() / "gadm36" / "gadm36_HKG_gpkg.zip").exists()
    with pytest.raises(SystemExit) as stop:
        main(["areas", "HKG", "--level", "1", "-o", str(tmp_path / "hkg.csv")])
    err = capsys.readouterr().err
    assert stop.value.code == 1 and err.startswith("error: gadm36_HKG_gpkg.zip") and err.count("\n") == 1


def test_interrupted_download_leaves_no_file(server, monkeypatch):
    monkeypatch.setattr(datafiles, "GADM36_URL", server + "/truncated/{fmt}/gadm36_{iso}_{fmt}.zip")
    with pytest.raises(DataNotFoundError, match="gadm36_HKG_gpkg.zip"):
        gadm.load_areas("HKG", 1)
    folder = datafiles.cache_dir() / "gadm36"
    assert not folder.exists() or list(folder.iterdir()) == []  # no partial file, no .part leftover


def test_interrupted_by_opener(server, monkeypatch):
    class Dropping(io.RawIOBase):
        def __init__(self):
            self.sent = False

        def readinto(self, buf):
            if self.sent:
                raise ConnectionResetError("connection reset by peer")
            self.sent = True
            buf[:4] = b"PK\x03\x04"
            return 4

        def __exit__(self, *a):
            return False

    with pytest.raises(DataNotFoundError, match="connection reset"):
        gadm.archive("HKG", opener=lambda url, timeout: Dropping())
    folder = datafiles.cache_dir() / "gadm36"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_local_data_dir_wins(server, data_root):
    path, fmt = gadm.archive("HKG", data_root)
    assert Path(path) == data_root / "gadm36" / "gadm36_HKG_gpkg.zip" and fmt == "gpkg"
    assert _Handler.requests == []
