"""Keys: two people with their own keys generate at once on a launched studio; no request carries
the other's key, and neither key shows up in any log, page, API answer, message, history record or
cached file. With only a host key, gradio_client cannot spend it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file

from client.simulator.state import account_of
from tests.conftest import free_port
from tests.hardening.conftest import launched
from tests.hardening.studio_http import call, fn_index, generate_data, upload
from tests.media_factory import write_image
from ui.settings import Settings
from ui.store import VideoStore

REPO = Path(__file__).resolve().parents[2]
JOBS_PER_PERSON = 3
REAL = "198.51.100.23"  # a visitor's address, as the proxy in front of a Space reports it
PAGES = ("/", "/config", "/gradio_api/info", "/gradio_api/info?all_endpoints=true",
         "/gradio_api/openapi.json", "/gradio_api/queue/status", "/gradio_api/app_id")


def cross_use(sim: Any, keys: list[str]) -> tuple[int, dict[str, int]]:
    """(requests about a task that carried another account's key, creates per account)."""
    owner = {t.task_id: t.account for t in sim.sim.store.all_tasks()}
    crossed = 0
    creates = {account_of(k): 0 for k in keys}
    for record in sim.requests:
        match = re.search(r"/tasks/([^/?]+)", record.path)
        if match and match.group(1) in owner and record.account != owner[match.group(1)]:
            crossed += 1
        if record.account is not None and record.account not in creates:
            crossed += 1  # a key neither person gave
        if record.route == "create" and record.status == 200:
            creates[record.account] += 1
    return crossed, creates


def leaks(keys: list[str], texts: dict[str, str | bytes]) -> list[str]:
    found = []
    for where, text in texts.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
        found += [f"{where} holds key {k[:8]}…" for k in keys if k.encode() in data]
    return found


def files_under(*folders: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for folder in folders:
        for path in folder.rglob("*"):
            out[f"file name {path}"] = str(path).encode()
            if path.is_file():
                out[f"file {path}"] = path.read_bytes()
    return out


def test_two_people_two_keys_no_cross_use_no_leak(start_sim: Any, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, at its most talkative
    sim = start_sim(limits=False)
    keys = [f"sk-alice-{uuid.uuid4().hex}", f"sk-bob-{uuid.uuid4().hex}"]
    # Off the demo (no host key, one endpoint): each person's own key is used. On the demo a
    # typed key is not used at all.
    settings = Settings(base_url=sim.base_url, cache_dir=tmp_path / "cache",
                        task_seconds_hint=0.3, state_secret="keys-secret")
    image_path = write_image(tmp_path / "in.jpg", 640, 480)
    texts: dict[str, str | bytes] = {}

    async def session(http: httpx.AsyncClient, url: str, index: int, key: str) -> list[Any]:
        image = await upload(http, url, image_path)
        jobs = [call(http, url, index, generate_data(image, key, prompt=f"job {n}"))
                for n in range(JOBS_PER_PERSON)]
        refused = call(http, url, index, generate_data(image, key, model="wan2.5-i2v-preview",
                                                       duration=7, resolution="720P"))
        unusable = call(http, url, index, generate_data(image, key + " \x7f"))  # bad characters
        return list(await asyncio.gather(*jobs, refused, unusable))

    with launched(settings) as url:
        async def everyone() -> list[list[Any]]:
            async with httpx.AsyncClient(timeout=60) as http:
                config = (await http.get(f"{url}/config")).json()
                index = fn_index(config, "generate")
                results = await asyncio.gather(*(session(http, url, index, k) for k in keys))
                for page in PAGES:
                    texts[f"page {page}"] = (await http.get(url + page)).text
                return results

        results = asyncio.run(everyone())

    records: list[Any] = []
    for person, calls in zip(keys, results):
        *jobs, refused, unusable = calls
        for n, job in enumerate(jobs):
            assert job.error is None and job.records, job.error or job.raw
            texts[f"{person[:9]} job {n} stream"] = job.text
            records.append(job.records[-1])
        assert refused.error and "length" in refused.error
        assert unusable.error and "API key" in unusable.error, unusable.raw
        texts[f"{person[:9]} refused"] = refused.text
        texts[f"{person[:9]} bad key"] = unusable.text
    store = VideoStore(settings.cache_dir, 10**12)
    final = [r for r in records if r.get("status") == "SUCCEEDED" and store.video_for(r["task_id"])]
    texts["history records"] = json.dumps(records)
    texts["logs"] = caplog.text
    out, err = capfd.readouterr()
    texts["stdout"], texts["stderr"] = out, err
    texts.update(files_under(settings.cache_dir, Path(os.environ["GRADIO_TEMP_DIR"])))

    crossed, creates = cross_use(sim, keys)
    found = leaks(keys, texts)
    print(f"\nkeys: people 2, jobs {2 * JOBS_PER_PERSON}, videos {len(final)}, requests "
          f"{len(sim.requests)}, cross-use {crossed}, places searched {len(texts)}, "
          f"key leaks {len(found)}")
    assert len(final) == 2 * JOBS_PER_PERSON, json.dumps([r for r in records if r not in final])
    assert crossed == 0 and set(creates.values()) == {JOBS_PER_PERSON}, creates
    assert not found, found


def spawn_studio(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env, "GRADIO_SERVER_PORT": str(port),
            "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False",
            "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "ui"], cwd=REPO, env=full, stdout=out,
                                stderr=subprocess.STDOUT)


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path,
                  seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the studio exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the studio did not answer in {seconds} s: {log.read_text()[-2000:]}")


def test_host_key_is_private(sim: Any, tmp_path: Path) -> None:
    """A Space with only the host key (a secret in its environment): the generate endpoint is
    private, so gradio_client cannot call it by name or by index; the page's own route is
    capped per visitor, and a forged X-Forwarded-For does not reset the cap."""
    host_key = f"sk-host-{uuid.uuid4().hex}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "studio.log"
    process = spawn_studio({"DASHSCOPE_API_KEY": host_key, "DASHSCOPE_HTTP_BASE_URL": sim.base_url,
                            "WAN_STUDIO_CACHE_DIR": str(tmp_path / "cache"),
                            "WAN_STUDIO_HOST_KEY_LIMIT": "1",
                            # As on a Space: its proxy appends the caller's address to
                            # X-Forwarded-For, and SPACE_ID makes the studio trust that entry.
                            "SPACE_ID": "wan-studio/test"}, port, log)
    try:
        wait_until_up(url, process, log)
        assert "DASHSCOPE_API_KEY" not in os.environ or os.environ["DASHSCOPE_API_KEY"] != host_key
        before = len(sim.requests)
        client = Client(url, verbose=False)
        endpoints = client.view_api(return_format="dict", print_info=False)
        assert "/generate" not in endpoints["named_endpoints"]
        image = write_image(tmp_path / "in.jpg", 640, 480)
        args = generate_data(handle_file(str(image)), "")
        with pytest.raises(ValueError):
            client.predict(*args, api_name="/generate")
        index = fn_index(client.config, "generate")
        with pytest.raises(Exception, match="(?i)endpoint|index"):
            client.predict(*args, fn_index=index)
        assert len(sim.requests) == before, "gradio_client reached the service"

        async def page_calls() -> list[Any]:
            async with httpx.AsyncClient(timeout=60) as http:
                uploaded = await upload(http, url, image)
                data = generate_data(uploaded, "")
                # As behind a Space's proxy: it appends the caller's real address.
                first = await call(http, url, index, data, {"X-Forwarded-For": REAL})
                second = await call(http, url, index, data, {"X-Forwarded-For": REAL})
                forged = await call(http, url, index, data,
                                    {"X-Forwarded-For": f"203.0.113.7, {REAL}"})
                pages = [(await http.get(url + p)).text for p in PAGES]
                return [first, second, forged, pages]

        first, second, forged, pages = asyncio.run(page_calls())
        assert first.error is None, first.error
        assert second.error and "host" in second.error
        assert forged.error and "host" in forged.error, "a forged X-Forwarded-For reset the cap"
        creates = [r for r in sim.requests[before:] if r.route == "create"]
        assert len(creates) == 1 and creates[0].account == account_of(host_key)
        texts = {"pages": "\n".join(pages), "first": first.text, "second": second.text,
                 "forged": forged.text}
    finally:
        process.terminate()
        process.wait(timeout=20)
    texts["studio output"] = log.read_text()
    texts.update(files_under(tmp_path / "cache"))
    found = leaks([host_key], texts)
    print(f"\nhost key: gradio_client calls refused 2, requests sent by them 0, page calls "
          f"capped after 1 (forged address too), key leaks {len(found)}")
    assert not found, found
