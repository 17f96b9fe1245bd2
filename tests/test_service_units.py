"""Properties of the service's own pieces: the POST /v1/locate body parser and the micro-batcher."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geolookup.core.errors import InputError
from geolookup.service.batcher import MicroBatcher
from geolookup.service.points import BatchTooLarge, parse_points

lats = st.floats(-90, 90, allow_nan=False)
lons = st.floats(-180, 180, allow_nan=False)
points = st.lists(st.tuples(lons, lats), max_size=50)


@given(points)
def test_both_body_forms_give_the_points_in_order(pts):
    array = json.dumps([{"lat": y, "lon": x} for x, y in pts]).encode()
    fc = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [x, y]}} for x, y in pts]})
    for body in (array, fc.encode()):
        lon, lat = parse_points(body, 100)
        assert lon.tolist() == [x for x, _ in pts] and lat.tolist() == [y for _, y in pts]


@given(points.filter(len), st.integers(0, 49), st.sampled_from(["lat", "lon"]),
       st.one_of(st.floats(90.0001, 1e6), st.just("12"), st.just(True), st.none(), st.just([1, 2])))
def test_a_bad_value_is_named_by_its_position(pts, i, key, bad):
    i %= len(pts)
    rows = [{"lat": y, "lon": x} for x, y in pts]
    if key == "lon" and isinstance(bad, float):
        bad += 90  # beyond 180
    rows[i][key] = bad
    with pytest.raises(InputError) as err:
        parse_points(json.dumps(rows).encode(), 100)
    assert str(err.value).startswith(f"body[{i}]")


def test_limits_and_malformed_json():
    with pytest.raises(BatchTooLarge):
        parse_points(json.dumps([{"lat": 0, "lon": 0}] * 3).encode(), 2)
    for raw in (b"[{", b"\xff", b'"text"', b'{"type": "Feature"}'):
        with pytest.raises(InputError, match="^body"):
            parse_points(raw, 10)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers()), max_size=60), st.integers(1, 7))
def test_batcher_answers_every_request_with_its_own_result(requests, max_batch):
    calls = []

    def square(key, items):
        calls.append(len(items))
        return [(key, x * x) for x in items]

    async def run():
        b = MicroBatcher(square, max_batch)
        out = await asyncio.gather(*(b.submit(k, x) for k, x in requests))
        await b.close()
        return out

    assert asyncio.run(run()) == [(k, x * x) for k, x in requests]
    assert all(n <= max_batch for n in calls) and sum(calls) == len(requests)
    # all requests were waiting when the runner started: one call per key and max_batch items
    per_key = {k: sum(1 for q, _ in requests if q == k) for k, _ in requests}
    assert len(calls) == sum(-(-n // max_batch) for n in per_key.values())


def test_batcher_fails_only_its_batch():
    def f(key, items):
        if key == "bad":
            raise ValueError("boom")
        return list(items)

    async def run():
        b = MicroBatcher(f)
        res = await asyncio.gather(b.submit("bad", 1), b.submit("ok", 2), return_exceptions=True)
        await b.close()
        return res

    bad, ok = asyncio.run(run())
    assert isinstance(bad, ValueError) and ok == 2


def test_batcher_waits_for_the_callers_of_a_large_batch_but_not_after_a_pause():
    """Right after a large batch, stragglers are merged with the callers coming back; a lone request
    after a pause is run at once."""
    import time

    calls = []

    def slow(key, items):
        calls.append(len(items))
        time.sleep(0.4)
        return list(items)

    async def run():
        b = MicroBatcher(slow, max_batch=64, max_linger_s=1.0)
        first = [asyncio.ensure_future(b.submit("k", i)) for i in range(16)]
        await asyncio.gather(*first)
        # the callers come back in two groups, 2 then 8, 20 ms apart: one call, not two
        early = [asyncio.ensure_future(b.submit("k", i)) for i in range(2)]
        await asyncio.sleep(0.02)
        late = [asyncio.ensure_future(b.submit("k", i)) for i in range(8)]
        await asyncio.gather(*early, *late)
        await asyncio.sleep(0.3)  # a pause longer than the linger window (0.4 s / 4 = 0.1 s)
        t0 = time.perf_counter()
        await b.submit("k", 99)
        lone = time.perf_counter() - t0
        await b.close()
        return lone

    lone = asyncio.run(run())
    assert calls == [16, 10, 1]
    assert lone < 0.4 + 0.08  # its own call, with no wait before it
