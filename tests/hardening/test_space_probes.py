"""A visitor's lying MP3 (its header says 10 s, it holds four hours) sent through the launched
studio: refused quickly, and every other page keeps being answered while it is probed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from client import media
from tests.hardening.conftest import launched
from tests.hardening.studio_http import Call, call, fn_index, generate_data, upload
from tests.hardening.test_probes import lying_mp3
from tests.media_factory import write_image
from ui.settings import Settings

REFUSED_WITHIN = 0.5  # the figure; the test allows a loaded CI machine twice that
INFO_WITHIN = 0.2


def test_a_lying_mp3_is_refused_while_other_pages_are_answered(sim: Any, tmp_path: Path) -> None:
    settings = Settings(simulator_url=sim.base_url, cache_dir=tmp_path / "cache",
                        task_seconds_hint=0.3, state_secret="probes")
    mp3 = lying_mp3(tmp_path / "voice.mp3")
    image = write_image(tmp_path / "in.jpg", 640, 480)
    media.clear_probe_cache()
    before = len(sim.requests)

    async def scenario(url: str) -> tuple[Call, float, list[float]]:
        async with httpx.AsyncClient(timeout=60) as http:
            index = fn_index((await http.get(f"{url}/config")).json(), "generate")
            picture, audio = await upload(http, url, image), await upload(http, url, mp3)
            data = generate_data(picture, "", model="wan2.6-i2v-flash", resolution="720P",
                                 audio_file=audio)
            started = time.monotonic()
            generating = asyncio.create_task(call(http, url, index, data))
            latencies = []
            while not generating.done():
                sent = time.monotonic()
                answer = await http.get(f"{url}/gradio_api/info")
                assert answer.status_code == 200
                latencies.append(time.monotonic() - sent)
                await asyncio.sleep(0.02)
            result = await generating
            return result, time.monotonic() - started, latencies

    with launched(settings) as url:
        result, took, latencies = asyncio.run(scenario(url))
    slowest = max(latencies, default=0.0)
    print(f"\nlying MP3 through the studio: refused in {took:.2f} s, /gradio_api/info answered "
          f"{len(latencies)} times meanwhile, slowest {slowest * 1000:.0f} ms, requests sent "
          f"{len(sim.requests) - before}")
    assert result.error is not None and "more than 30 s" in result.error
    assert len(sim.requests) == before  # refused before anything was sent
    assert took <= 2 * REFUSED_WITHIN
    assert slowest <= 2 * INFO_WITHIN
