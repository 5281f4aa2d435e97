"""The studio's /story endpoint, launched for real on the simulator and called with gradio_client,
and the Story tab's events called through the raw queue the way any visitor can (by index, with
made-up paths and forged browser state)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from gradio_client import Client, handle_file

from tests.hardening.conftest import launched
from tests.hardening.studio_http import Call, call, fn_index, upload
from tests.integration.helpers import creates
from tests.media_factory import write_image
from ui.app import build_app
from ui.settings import SIMULATOR_KEY, Settings

REPO = Path(__file__).resolve().parents[2]
SECRET = "the story test's state secret"


@pytest.fixture(scope="module")
def settings(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    cache = tmp_path_factory.mktemp("story-api") / "cache"
    cache.mkdir()
    (cache / "state-secret").write_text(SECRET)
    return Settings(simulator_url=simulator.base_url, cache_dir=cache, task_seconds_hint=0.3,
                    state_secret=SECRET)


@pytest.fixture(scope="module")
def studio(settings: Settings) -> Iterator[str]:
    with launched(settings) as url:
        yield url


def storyboard(*durations: int, **top: Any) -> str:
    shots = [{"prompt": f"shot {n + 1}", "duration": d} for n, d in enumerate(durations)]
    return json.dumps({"model": "wan2.6-i2v-flash", "resolution": "720P", **top,
                       "shots": shots})


def video_of(value: Any) -> str:
    return value if isinstance(value, str) else value["video"]


def probe(path: str) -> tuple[str, int, float, int]:
    """(codec, video frames, seconds, audio streams)"""
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for packet in container.demux(stream) if packet.size)
        seconds = float(container.duration or 0) / av.time_base
        return stream.codec_context.name, frames, seconds, len(container.streams.audio)


def test_story_returns_an_h264_film_of_the_right_length(studio: str, sim: Any,
                                                        tmp_path: Path) -> None:
    client = Client(studio, verbose=False)
    endpoint = client.view_api(return_format="dict", print_info=False)["named_endpoints"][
        "/story"]
    assert [p["parameter_name"] for p in endpoint["parameters"]] == [
        "storyboard", "image", "api_key"]
    picture = write_image(tmp_path / "first.jpg", 640, 480)
    before = len(creates(sim, SIMULATOR_KEY))
    status, film, shots = client.predict(storyboard(2, 3), handle_file(str(picture)), "",
                                         api_name="/story")
    assert status == "✓ The film is ready: 5 s from 2 shots."
    codec, frames, seconds, sound = probe(video_of(film))
    assert codec == "h264" and abs(frames - 5 * 30) <= 1 and abs(seconds - 5) < 0.1
    assert sound == 1  # wan2.6-i2v-flash makes sound: one track through the film
    assert [abs(probe(video_of(s))[1] - d * 30) <= 1 for s, d in zip(shots, (2, 3))] == [
        True, True]
    assert len(creates(sim, SIMULATOR_KEY)) - before == 2


def test_story_refuses_paths_inside_the_storyboard(studio: str, sim: Any,
                                                   tmp_path: Path) -> None:
    client = Client(studio, verbose=False)
    before = len(creates(sim, SIMULATOR_KEY))
    board = json.loads(storyboard(2, 2))
    board["shots"][1]["image"] = "../../ui/settings.py"
    picture = handle_file(str(write_image(tmp_path / "p.jpg", 640, 480)))
    with pytest.raises(Exception) as caught:
        client.predict(json.dumps(board), picture, "", api_name="/story")
    text = str(caught.value)
    assert "shot 2: image" in text and "not read on the server" in text
    assert "Traceback" not in text and "settings.py" not in text
    with pytest.raises(Exception, match="needs a first picture|send the picture"):
        client.predict(storyboard(2, image="/etc/hostname"), None, "", api_name="/story")
    assert len(creates(sim, SIMULATOR_KEY)) == before


def test_story_is_private_with_a_host_key(sim: Any, tmp_path: Path) -> None:
    demo = build_app(Settings(has_host_key=True, base_url=sim.base_url,
                              api_visibility="private", cache_dir=tmp_path, state_secret="s"))
    (story,) = [d for d in demo.get_config_file()["dependencies"]
                if d.get("api_name") == "story"]
    assert story["api_visibility"] == "private"


# --- the raw queue ------------------------------------------------------------------------------

def _ids(config: dict[str, Any]) -> dict[str, int]:
    return {c["props"]["elem_id"]: int(c["id"]) for c in config["components"]
            if c.get("props", {}).get("elem_id")}


def _data(config: dict[str, Any], dep: dict[str, Any], values: dict[int, Any]) -> list[Any]:
    """The event's inputs: the given values, else each component's default."""
    defaults = {int(c["id"]): c.get("props", {}).get("value") for c in config["components"]}
    return [values.get(i, defaults.get(i)) for i in dep["inputs"]]


def _dep(config: dict[str, Any], api_name: str) -> dict[str, Any]:
    index = fn_index(config, api_name)
    return next(d for d in config["dependencies"] if int(d.get("id", -1)) == index)


def _file(path: Path) -> dict[str, Any]:
    return {"path": str(path), "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def _named(calls: list[Call], markers: tuple[str, ...]) -> list[str]:
    return [m for c in calls for m in markers if m in c.text]


def test_the_tabs_events_by_index_read_no_server_file_and_trust_no_browser_state(
        studio: str, settings: Settings, sim: Any, tmp_path: Path) -> None:
    secret_file = settings.cache_dir / "state-secret"
    targets = [secret_file, REPO / "pyproject.toml", REPO / "ui" / "settings.py"]
    forged_states = [
        {"record": {"v": 1, "sig": "0" * 64, "kind": "story", "token": "x", "film": True,
                    "shots": [{"task_id": "../../state-secret", "status": "SUCCEEDED"}]},
         "storyboard": {"image": str(secret_file), "shots": [{"prompt": "p"}]}},
        {"record": None, "storyboard": {"image": "upload:../state-secret"}}, "forged", None]

    async def attack() -> tuple[list[Call], list[Call], int, Call]:
        async with httpx.AsyncClient(timeout=60) as http:
            config = (await http.get(f"{studio}/config")).json()
            ids = _ids(config)
            make, story = _dep(config, "story_make"), _dep(config, "story")
            short = {ids["story-resolution"]: "720P", ids["story-prompt-1"]: "x",
                     ids["story-duration-1"]: 2, ids["story-duration-2"]: 2}
            before = len(creates(sim, SIMULATOR_KEY))
            files = []
            for target in targets:  # a made-up path where an upload goes, or in the JSON
                files.append(await call(http, studio, int(make["id"]), _data(
                    config, make, {**short, ids["story-image-1"]: _file(target)})))
                files.append(await call(http, studio, int(story["id"]),
                                        [storyboard(2), _file(target), ""]))
                files.append(await call(http, studio, int(story["id"]), [
                    storyboard(2, image=str(target)), None, ""]))
            states = []
            state_id = next(int(c["id"]) for c in config["components"]
                            if c["type"] == "browserstate"
                            and c["props"].get("storage_key") == "wan-studio-story")
            for dep in config["dependencies"]:
                if state_id in dep["inputs"] and dep.get("backend_fn"):
                    for forged in forged_states:
                        states.append(await call(http, studio, int(dep["id"]),
                                                 _data(config, dep, {state_id: forged})))
            sent = len(creates(sim, SIMULATOR_KEY)) - before
            # The same event with a real upload makes a film: the refusals are not blanket.
            picture = await upload(http, studio, write_image(tmp_path / "p.jpg", 640, 480))
            fine = await call(http, studio, int(make["id"]), _data(
                config, make, {**short, ids["story-image-1"]: picture}))
            return files, states, sent, fine

    files, states, sent, fine = asyncio.run(attack())
    print(f"\nstory events by index: {len(files)} made-up paths refused "
          f"{sum(c.error is not None for c in files)}, {len(states)} forged states, "
          f"creates sent {sent}")
    assert [c.error is not None for c in files] == [True] * len(files)
    assert sent == 0
    assert len(states) >= 4 * len(forged_states)  # the restore, cancel, 8 redos, refilm, again
    assert not [c.error for c in states if c.error]
    shown = json.dumps([c.outputs for c in files + states]) + "".join(c.text for c in files)
    assert SECRET not in shown and "[project]" not in shown and "def load_settings" not in shown
    assert "state-secret" not in json.dumps([c.outputs for c in states])
    assert fine.error is None and "The film is ready" in fine.text
