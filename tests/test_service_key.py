"""The API key switch of `geolookup serve`, over real HTTP (a server of its own: Italy, no lookup)."""

from __future__ import annotations

import httpx
import pytest
from test_service import serve, server_env

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def locked(data_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("service_key")
    env = {**server_env(data_root, tmp), "GEOLOOKUP_API_KEY": KEY}
    with serve(tmp, env, "--countries", "ITA") as s:
        yield s[0]


def test_api_key_when_configured(locked):
    # the key is read from GEOLOOKUP_API_KEY; probes stay open
    assert httpx.get(f"{locked}/healthz").status_code == 200
    res = httpx.get(f"{locked}/v1/locate", params={"lat": 41.9, "lon": 12.5})
    assert res.status_code == 401 and res.json()["field"] == "x-api-key"
    assert httpx.get(f"{locked}/v1/locate", params={"lat": 41.9, "lon": 12.5}, headers={"X-API-Key": "nope"}
                     ).status_code == 401
    ok = httpx.get(f"{locked}/v1/locate", params={"lat": 41.9, "lon": 12.5}, headers={"X-API-Key": KEY})
    assert ok.status_code == 200 and ok.json()["gadm"]["levels"][1]["name"] == "Lazio"
    # no lookup given: the lookup endpoints say so in JSON
    res = httpx.get(f"{locked}/v1/locations/abc", headers={"X-API-Key": KEY})
    assert res.status_code == 404 and "--lookup" in res.json()["error"]
    assert "access-control-allow-origin" not in ok.headers  # CORS off by default
