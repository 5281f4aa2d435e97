"""SimConfig.result_bytes_per_second: result downloads paced to a realistic link (benchmarks)."""

from __future__ import annotations

import time

import httpx
import pytest

from client.simulator.server import SimConfig
from tests.integration.helpers import Raw, payload


def test_throttled_download_is_whole_and_takes_its_time(start_sim, api_key):
    rate = 400_000.0  # bytes per second
    raw = Raw(start_sim(result_bytes_per_second=rate, limits=False), api_key)
    body = raw.wait(raw.submit(payload("wan2.2-i2v-flash", resolution="480P")))
    started = time.monotonic()
    answer = httpx.get(body["output"]["video_url"], timeout=60)
    took = time.monotonic() - started
    assert answer.status_code == 200 and answer.content[4:8] == b"ftyp"
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert took >= 0.9 * len(answer.content) / rate


def test_a_zero_rate_is_refused():
    with pytest.raises(ValueError, match="result_bytes_per_second"):
        SimConfig(result_bytes_per_second=0)
