"""The new media attacked the way an anonymous visitor can: events called by index through the raw
queue with paths they must not read, fake and oversized clips, forged records, a flood of shots.
Nothing is read, nothing is sent, every answer is a sentence naming the field."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hardening.conftest import launched
from tests.hardening.studio_http import Call, call, fn_index, generate_data, upload
from tests.media_factory import write_clip, write_image
from ui.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SECRET_TEXT = "the studio's state secret"
MARKERS = (SECRET_TEXT, "root:x:", "[project]", "def load_settings")


@pytest.fixture
def settings(sim: Any, tmp_path: Path) -> Settings:
    settings = Settings(simulator_url=sim.base_url, cache_dir=tmp_path / "cache",
                        task_seconds_hint=0.3, state_secret="media-attacks")
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    (settings.cache_dir / "state-secret").write_text(SECRET_TEXT)
    return settings


def _file(path: Path | str) -> dict[str, Any]:
    """A FileData naming a server path, as a forged page would send it."""
    return {"path": str(path), "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}


def _component(config: dict[str, Any], elem_id: str) -> int:
    return next(int(c["id"]) for c in config["components"]
                if c.get("props", {}).get("elem_id") == elem_id)


def _event(config: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    """The event that reads component `source` and writes `target` (by elem_id)."""
    src, out = _component(config, source), _component(config, target)
    return next(d for d in config["dependencies"]
                if src in d["inputs"] and out in d["outputs"] and d.get("backend_fn"))


def _leaks(calls: list[Call]) -> list[str]:
    return [marker for c in calls for marker in MARKERS if marker in c.text]


def test_media_paths_a_page_may_not_name_are_never_read(settings: Settings, sim: Any,
                                                        tmp_path: Path) -> None:
    targets = [Path("/etc/passwd"), settings.cache_dir / "state-secret", REPO / "pyproject.toml",
               REPO / "ui" / "settings.py"]
    image = write_image(tmp_path / "in.jpg", 640, 480)

    async def attack(url: str) -> tuple[list[Call], list[Call]]:
        async with httpx.AsyncClient(timeout=60) as http:
            config = (await http.get(f"{url}/config")).json()
            generate = fn_index(config, "generate")
            uploaded = await upload(http, url, image)
            made = []
            for target in targets:
                for name in ("first_clip", "last_frame"):
                    data = generate_data(uploaded, "", model="wan2.7-i2v", resolution="720P",
                                         **{name: _file(target)})
                    made.append(await call(http, url, generate, data))
            described = []
            for source in ("first-clip", "last-frame"):
                dep = _event(config, source, f"{source}-info")
                for target in targets:
                    values = {_component(config, source): _file(target),
                              _component(config, f"{source}-url"): "",
                              _component(config, "model"): "wan2.7-i2v",
                              _component(config, "region"): "beijing"}
                    data = [values.get(i) for i in dep["inputs"]]
                    described.append(await call(http, url, int(dep["id"]), data))
            return made, described

    before = len(sim.requests)
    with launched(settings) as url:
        made, described = asyncio.run(attack(url))
    sent = len(sim.requests) - before
    refused = [c for c in made + described if c.error]
    print(f"\nserver paths named as a clip or last frame: events called {len(made + described)}, "
          f"refused {len(refused)}, contents leaked {len(_leaks(made + described))}, "
          f"requests sent {sent}")
    assert not _leaks(made + described)
    assert len(refused) == len(made + described)  # Gradio refuses a path it did not receive
    assert sent == 0


def test_fake_and_oversized_clips_are_refused_before_anything_is_sent(
        settings: Settings, sim: Any, tmp_path: Path) -> None:
    image = write_image(tmp_path / "in.jpg", 640, 480)
    fake = tmp_path / "clip.mp4"  # a picture with a clip's name
    fake.write_bytes(image.read_bytes())
    text = tmp_path / "notes.mov"
    text.write_text("ftyp" * 1000)
    short = write_clip(tmp_path / "short.mp4", 1.0, 320, 240)  # under the 2 s minimum

    async def attack(url: str) -> tuple[list[Call], int, float]:
        async with httpx.AsyncClient(timeout=60) as http:
            generate = fn_index((await http.get(f"{url}/config")).json(), "generate")
            calls = []
            for clip in (fake, text, short):
                data = generate_data(None, "", model="wan2.7-i2v", resolution="720P",
                                     first_clip=await upload(http, url, clip))
                calls.append(await call(http, url, generate, data))
            started = time.perf_counter()
            big = await http.post(f"{url}/gradio_api/upload", files={
                "files": ("big.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * (100 * 1024 * 1024))})
            return calls, big.status_code, time.perf_counter() - started

    before = len(sim.requests)
    with launched(settings) as url:
        calls, big_status, big_seconds = asyncio.run(attack(url))
    sent = len(sim.requests) - before
    print(f"\nfake, unreadable and 1 s clips: refused {sum(bool(c.error) for c in calls)} of "
          f"{len(calls)}; a 100 MB + 12 byte upload: HTTP {big_status} in {big_seconds:.1f} s; "
          f"requests sent {sent}")
    assert all(c.error and "“clip to continue”" in c.error for c in calls), \
        [c.error for c in calls]
    assert "not an MP4 or MOV video" in calls[0].error and "2–10 s" in calls[2].error
    assert all("Traceback" not in c.text for c in calls)
    assert big_status == 413 and sent == 0


def test_forged_records_and_shot_floods_are_answered_cheaply(settings: Settings,
                                                             tmp_path: Path) -> None:
    async def attack(url: str) -> tuple[Call, list[Call], float]:
        async with httpx.AsyncClient(timeout=60) as http:
            config = (await http.get(f"{url}/config")).json()
            shown = _event(config, "record", "actual-prompt")
            forged = {"v": 1, "sig": "0" * 64, "token": "someone", "task_id": str(uuid.uuid4()),
                      "status": "SUCCEEDED", "actual_prompt": "forged", "region": "beijing"}
            record_call = await call(http, url, int(shown["id"]), [forged])
            shots = _event(config, "shots-table", "shots-info")
            started = time.perf_counter()
            floods = []
            # 10,000 rows of 1,000 characters: 10 MB the page would never send.
            for rows in ([[0, 1, "x" * 1000]] * 10_000, "rows", [[{"a": 1}, [2], None]]):
                table = {"data": rows, "headers": ["a", "b", "c"]}
                values = {_component(config, "shots-table"): table,
                          _component(config, "prompt"): "p",
                          _component(config, "duration-value"): 5}
                floods.append(await call(http, url, int(shots["id"]),
                                         [values.get(i) for i in shots["inputs"]]))
            return record_call, floods, time.perf_counter() - started

    with launched(settings) as url:
        record_call, floods, seconds = asyncio.run(attack(url))
    print(f"\nforged record for the rewritten prompt: shown "
          f"{int('forged' in str(record_call.output))}; shot floods answered in {seconds:.1f} s")
    assert record_call.error is None and record_call.output is not None
    assert "forged" not in str(record_call.output[1])  # the text box stays empty
    for flood in floods:  # each refused in a sentence, or by Gradio's own check, not a crash
        assert flood.error or "⚠" in str(flood.output), flood.text[:300]
        assert "Traceback" not in flood.text
    assert "1–15 shots" in str(floods[0].output)  # the list is refused by its length
    assert seconds < 10
