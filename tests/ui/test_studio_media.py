"""The studio's new media: the last frame and the clip to continue follow the model, a clip
replaces what cannot go with it, each medium is described by its role's rules, the size preview
follows the first frame or the clip, the shot list writes the prompt, and a rewritten prompt is
shown only to the page that made the video."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from client import catalog
from client.catalog import DRIVING_AUDIO, FIRST_CLIP, FIRST_FRAME, LAST_FRAME
from client.errors import InvalidInput
from client.media import VIDEO_MAX_BYTES
from client.request import predict_output_size, validate
from client.simulator.api import rewritten_prompt as simulated_rewrite
from tests.conftest import FAST_TASK_SECONDS
from tests.media_factory import write_clip, write_image, write_wav
from ui import handlers
from ui.handlers import Form, Services
from ui.history import record_of, request_of
from ui.i18n import t
from ui.runner import Job, Phase
from ui.settings import Settings
from ui.shots import (
    MAX_SHOTS,
    Shot,
    headers,
    rows_in,
    shots_of,
    table_from_prompt,
    write_shots,
)

DEPLOYED = [(m.id, r) for r in catalog.REGIONS for m in catalog.models_in_region(r)]
COLUMNS = {FIRST_FRAME: "image-inputs", LAST_FRAME: "last-frame-inputs",
           FIRST_CLIP: "first-clip-inputs", DRIVING_AUDIO: "audio-inputs"}


def shown(updates: dict[str, dict]) -> set[str]:
    return {role for role, column in COLUMNS.items() if updates[column]["visible"]}


def collect(agen: Any) -> list[Any]:
    import asyncio

    async def run() -> list[Any]:
        return [item async for item in agen]
    return asyncio.run(run())


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "c.mp4", 3.0, 320, 240)


# --- controls follow the model (and the clip) ----------------------------------------------------

@pytest.mark.parametrize("model_id,region", DEPLOYED)
def test_media_inputs_and_shot_list_follow_the_model(model_id: str, region: str) -> None:
    model = catalog.model_in_region(model_id, region)
    assert model is not None
    u = handlers.model_updates(model_id, region, {}, "en")
    assert shown(u) == {FIRST_FRAME} | (model.roles - {FIRST_FRAME})
    assert u["shots"]["visible"] is model.shots_in_prompt


def test_a_clip_replaces_the_first_frame_and_the_audio_on_wan27() -> None:
    clip_link = {"first_clip_url": "https://example.com/c.mp4"}
    assert shown(handlers.model_updates("wan2.7-i2v", "beijing", clip_link, "en")) == \
        {LAST_FRAME, FIRST_CLIP}
    assert shown(handlers.media_updates("wan2.7-i2v", "beijing", {"first_clip": "/tmp/c.mp4"})) \
        == {LAST_FRAME, FIRST_CLIP}
    assert shown(handlers.media_updates("wan2.7-i2v", "beijing", {"first_clip_url": " "})) == \
        {FIRST_FRAME, LAST_FRAME, FIRST_CLIP, DRIVING_AUDIO}  # a blank link is no clip
    # wan2.6 takes no clip: a leftover one hides nothing (and is not sent).
    assert shown(handlers.media_updates("wan2.6-i2v", "beijing", clip_link)) == \
        {FIRST_FRAME, DRIVING_AUDIO}
    assert shown(handlers.media_updates("wan2.2-kf2v-flash", "beijing", clip_link)) == \
        {FIRST_FRAME, LAST_FRAME}


def test_the_request_drops_what_the_clip_replaces(tmp_path: Path, clip: Path) -> None:
    image = str(write_image(tmp_path / "p.jpg", 640, 480))
    form = Form(image=image, audio_url="https://example.com/a.mp3", first_clip=str(clip),
                last_frame_url="https://example.com/last.jpg", model="wan2.7-i2v", duration=8)
    req = handlers.build_request(form)
    assert (req.image, req.audio_url) == (None, None)
    assert (req.first_clip, req.last_frame) == (str(clip), "https://example.com/last.jpg")
    assert "3.0 s clip and 5.0 s of new video" in " ".join(validate(req).notices)
    on_wan26 = handlers.build_request(replace(form, model="wan2.6-i2v"))
    assert on_wan26.image == image and on_wan26.first_clip is None and on_wan26.last_frame is None
    assert on_wan26.audio_url == "https://example.com/a.mp3"


# --- the line under each medium ------------------------------------------------------------------

def test_pictures_are_described_by_their_models_rules(tmp_path: Path) -> None:
    small = str(write_image(tmp_path / "small.jpg", 300, 300))
    assert handlers.describe("last_frame", small, "", "wan2.7-i2v", "beijing", "en") == \
        "✓ 300×300 px, JPEG, " + handlers.describe(
            "image", small, "", "wan2.7-i2v", "beijing", "en").split("JPEG, ")[1]
    legacy = handlers.describe("image", small, "", "wan2.6-i2v", "beijing", "en")
    assert legacy.startswith("⚠") and "360–2000 px" in legacy  # wan2.6 keeps 360 px
    kf2v = handlers.describe("last_frame", small, "", "wan2.2-kf2v-flash", "beijing", "en")
    assert kf2v.startswith("⚠ Please fix “last frame”") and "360–2000 px" in kf2v
    narrow = str(write_image(tmp_path / "narrow.jpg", 240, 2200))
    refused = handlers.describe("last_frame", narrow, "", "wan2.7-i2v", "beijing", "zh")
    assert refused.startswith("⚠ 请修改“尾帧”") and "1:8" in refused
    assert handlers.describe("last_frame", small, "", "wan2.6-i2v", "beijing", "en") == \
        t("last_frame_unused")
    assert handlers.describe("last_frame", None, "https://example.com/l.jpg", "wan2.7-i2v",
                             "beijing", "en") == "✓ " + t("last_frame_url_ok")
    assert handlers.describe("last_frame", None, "http://192.168.1.2/l.jpg", "wan2.7-i2v",
                             "beijing", "en").startswith("⚠ Please fix “last-frame link”")


def test_driving_audio_on_wan27_may_be_two_seconds(tmp_path: Path) -> None:
    short = str(write_wav(tmp_path / "short.wav", 2.5))
    assert handlers.describe("audio_url", short, "", "wan2.7-i2v", "beijing", "en") \
        .startswith("✓ 2.5 s, WAV")
    assert "3–30 s" in handlers.describe("audio_url", short, "", "wan2.6-i2v", "beijing", "en")


def test_a_clip_is_described_from_its_headers(tmp_path: Path, clip: Path) -> None:
    line = handlers.describe("first_clip", str(clip), "", "wan2.7-i2v", "beijing", "en")
    assert line.startswith("✓ 3.0 s, 320×240 px, MP4 (h264), ")
    assert handlers.describe("first_clip", str(clip), "", "wan2.6-i2v", "beijing", "en") == \
        t("first_clip_unused")
    fake = tmp_path / "fake.mp4"  # a picture named like a clip
    fake.write_bytes(write_image(tmp_path / "p.jpg", 400, 400).read_bytes())
    refused = handlers.describe("first_clip", str(fake), "", "wan2.7-i2v", "beijing", "en")
    assert refused.startswith("⚠ Please fix “clip to continue”") and "MP4" in refused
    long = write_clip(tmp_path / "long.mp4", 11.0, 256, 240)
    assert "2–10 s" in handlers.describe("first_clip", str(long), "", "wan2.7-i2v", "beijing",
                                         "en")
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as f:  # sparse: 100 MB + 1 byte that take no disk and are never read
        f.write(clip.read_bytes()[:64])
        f.truncate(VIDEO_MAX_BYTES + 1)
    started = time.perf_counter()
    refused = handlers.describe("first_clip", str(huge), "", "wan2.7-i2v", "beijing", "en")
    assert "over the 100 MB limit" in refused and time.perf_counter() - started < 0.5
    gone = handlers.describe("first_clip", str(tmp_path / "missing.mp4"), "", "wan2.7-i2v",
                             "beijing", "en")
    assert gone.startswith("⚠") and "missing.mp4" in gone


# --- size, price and code -----------------------------------------------------------------------

def test_the_size_follows_the_clip_and_the_price_the_requested_length(clip: Path) -> None:
    form = Form(first_clip=str(clip), model="wan2.7-i2v", resolution="720P", duration=8,
                prompt="on")
    size, price, curl, sdk = handlers.preview_outputs(form, "en", simulated=False)
    width, height = predict_output_size(320, 240, "720P")
    assert size == (f"{width}×{height} px, 8 s in all: your 3.0 s clip, then 5.0 s of new "
                    "video; 30 fps, with sound")
    assert price.startswith("≈ 4.8 CNY (8 s × 0.6 CNY/s, prices of "
                            f"{catalog.PRICES_CHECKED_2026_10})")
    assert '"type": "first_clip"' in curl and "your-clip.mp4" in curl
    assert "media=[{'type': 'first_clip', 'url': 'file://" in sdk
    too_short, _, _, _ = handlers.preview_outputs(replace(form, duration=3), "en", True)
    assert too_short.startswith("⚠ Please fix “length”") and "at least 4 s" in too_short
    linked, _, _, _ = handlers.preview_outputs(
        replace(form, first_clip=None, first_clip_url="https://example.com/c.mp4"), "en", True)
    assert linked == t("size_from_clip_url", "en", pixels="921,600", resolution="720P")


def test_first_and_last_frame_code_names_both_and_the_kf2v_endpoint(tmp_path: Path) -> None:
    first = str(write_image(tmp_path / "f.jpg", 640, 480))
    form = Form(image=first, last_frame_url="https://example.com/last.jpg",
                model="wan2.2-kf2v-flash", resolution="480P", prompt="p")
    size, price, curl, sdk = handlers.preview_outputs(form, "en", simulated=True)
    assert size.startswith(f"{'×'.join(map(str, predict_output_size(640, 480, '480P')))} px, "
                           "5 s, 30 fps, silent")
    assert price.startswith("≈ 0.5 CNY (5 s × 0.1 CNY/s")  # kf2v's fixed 5 s at 480P
    assert "/services/aigc/image2video/video-synthesis" in curl
    assert '"last_frame_url": "https://example.com/last.jpg"' in curl
    assert 'first_frame_url="file://' in sdk
    missing, _, _, _ = handlers.preview_outputs(replace(form, last_frame_url=""), "en", True)
    assert missing.startswith("⚠ Please fix “last frame”")
    wan27 = replace(form, model="wan2.7-i2v", last_frame=first, last_frame_url="",
                    resolution="720P")
    curl27 = handlers.preview_outputs(wan27, "en", True)[2]
    assert curl27.startswith("# Your picture and last frame are local files")
    assert "your-last-frame.jpg" in curl27 and '"type": "last_frame"' in curl27


# --- "use these settings again" -----------------------------------------------------------------

def test_a_last_frame_and_a_clip_come_back_from_history(tmp_path: Path, clip: Path) -> None:
    services = Services.create(Settings(simulator_url="http://127.0.0.1:9/api/v1",
                                        cache_dir=tmp_path / "cache", state_secret="s"))
    store = services.store
    last = str(store.keep_upload(write_image(tmp_path / "last.jpg", 500, 400)))
    kept_clip = str(store.keep_upload(clip))
    req = handlers.build_request(Form(first_clip=kept_clip, last_frame=last, prompt="p",
                                      model="wan2.7-i2v", duration=9, resolution="720P"))
    record = record_of(Job(token="t", region="beijing", request=req, key_kind="simulator",
                           task_id="x", phase=Phase.SUCCEEDED), store, services.seal)
    settings = record["request"]
    assert settings["first_clip"] == "upload:" + Path(kept_clip).name  # names, never paths
    assert settings["last_frame"] == "upload:" + Path(last).name
    assert str(tmp_path) not in str(record)
    values = handlers.reuse_settings(services, record, "en")
    assert (values["first_clip"], values["first_clip_url"]) == (kept_clip, "")
    assert (values["last_frame"], values["last_frame_url"]) == (last, "")
    assert (values["image"], values["duration"], values["model"]) == (None, 9, "wan2.7-i2v")
    assert handlers.build_request(Form(**values)) == req
    # A record whose clip names a path (edited in the browser) is nobody's.
    forged = {**record, "request": {**settings, "first_clip": "/etc/passwd"}}
    assert handlers.reuse_settings(services, forged, "en")["first_clip"] != "/etc/passwd"
    resealed = services.seal.seal({k: v for k, v in forged.items() if k not in ("v", "sig")})
    reused = request_of(resealed, store)
    assert reused is not None and reused.first_clip is None  # even sealed: no path comes back


# --- the shot list ------------------------------------------------------------------------------

def test_the_shot_list_writes_the_prompt() -> None:
    rows = [[0, 3, "A girl looks out of the window."], [None, None, ""],
            [3, 5.5, " She turns\nto the camera. "]]
    shots = shots_of(rows, 8)
    assert shots == [Shot(0, 3, "A girl looks out of the window."),
                     Shot(3, 5.5, "She turns to the camera.")]
    prompt = "Realistic style, soft light.\nShot 1 [0-2 s]: an old shot line\n"
    assert write_shots(shots, prompt) == (
        "Realistic style, soft light.\n"
        "Shot 1 [0-3 s]: A girl looks out of the window.\n"
        "Shot 2 [3-5.5 s]: She turns to the camera.")
    written, line = handlers.shots_outputs(rows, "", 8.0, "zh")
    assert written.startswith("Shot 1 [0-3 s]:") and line == t("shots_written", "zh", count=2)


def test_shot_lines_edited_in_the_prompt_are_what_the_list_shows() -> None:
    prompt = ("Realistic style.\nShot 1 [0-3 s]: She looks up.\n"
              "Shot 2 [ 3 - 7.5 s ]:   She waves, then smiles.  \nShot x [1-2 s]: not one")
    assert rows_in(prompt) == [[0, 3, "She looks up."], [3, 7.5, "She waves, then smiles."]]
    # Read back and written again, the prompt keeps what the person wrote.
    assert write_shots(shots_of(rows_in(prompt), 8), prompt) == (
        "Realistic style.\nShot x [1-2 s]: not one\n"
        "Shot 1 [0-3 s]: She looks up.\nShot 2 [3-7.5 s]: She waves, then smiles.")
    assert table_from_prompt(prompt, "zh")["headers"] == headers("zh")
    assert table_from_prompt("No shot lines here.", "en") == gr.skip()  # the list stays
    many = "\n".join(f"Shot {n} [{n}-{n + 1} s]: beat {n}" for n in range(1, 40))
    assert len(rows_in(many)) == MAX_SHOTS  # a visitor's prompt never makes a longer table


@pytest.mark.parametrize("rows,duration,rule", [
    ([[0, 3, "a"], [2, 5, "b"]], 5, "shot 2 starts at 2 s, before shot 1 ends at 3 s"),
    ([[0, 3, "a"], [3, 7, "b"]], 5, "shot 2 ends at 7 s, after the video's 5 s"),
    ([[3, 3, "a"]], 5, "shot 1: give its start and end"),
    ([["soon", 3, "a"]], 5, "shot 1: give its start and end"),
    ([[0, 3, ""]], 5, "shot 1 says nothing"),
    ([[None, None, None]], 5, "add at least one shot"),
    ([[0, 1, "a"]] * (MAX_SHOTS + 1), 15, "add at least one shot"),
    ("not rows", 5, "add at least one shot"),
])
def test_a_wrong_shot_is_named_and_the_prompt_is_kept(rows: Any, duration: int,
                                                      rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        shots_of(rows, duration)
    assert caught.value.field == "shots" and caught.value.rule.startswith(rule)
    kept, line = handlers.shots_outputs(rows, "my prompt", duration, "en")
    assert kept == gr.skip() and line.startswith("⚠ Please fix “shots”: ")


# --- the rewritten prompt -----------------------------------------------------------------------

@pytest.fixture
def services(sim: Any, tmp_path: Path) -> Services:
    return Services.create(Settings(simulator_url=sim.base_url, cache_dir=tmp_path / "cache",
                                    task_seconds_hint=FAST_TASK_SECONDS))


def test_the_rewritten_prompt_is_shown_to_the_page_that_made_the_video(
        services: Services, tmp_path: Path) -> None:
    first = str(write_image(tmp_path / "f.jpg", 640, 480))
    last = str(write_image(tmp_path / "l.jpg", 640, 480))
    form = Form(image=first, last_frame=last, prompt="The cat looks up", resolution="480P",
                model="wan2.2-kf2v-flash")
    steps = collect(handlers.generate(services, form, None, "en", "v"))
    records = [s.record for s in steps if isinstance(s.record, dict) and "token" in s.record]
    assert records[-1]["status"] == "SUCCEEDED"
    assert handlers.rewritten_prompt(services, records[-1]) == simulated_rewrite("The cat looks up")
    assert all(handlers.rewritten_prompt(services, r) == "" for r in records[:-1])  # unfinished
    assert "looks up. The camera" not in str(records)  # the record does not carry it
    forged = {**records[-1], "status": "RUNNING"}
    assert handlers.rewritten_prompt(services, forged) == ""  # not sealed as it is
    # Someone resuming the task by its id sees the video, not the owner's (rewritten) prompt.
    viewer = collect(handlers.resume_by_id(services, records[-1]["task_id"], "beijing", None,
                                           "en"))
    assert viewer[-1].record["view"] is True
    assert handlers.rewritten_prompt(services, viewer[-1].record) == ""
    untouched = collect(handlers.generate(services, replace(form, prompt_extend=False), None,
                                          "en", "v"))
    assert handlers.rewritten_prompt(services, untouched[-1].record) == ""
    wan27 = collect(handlers.generate(services, replace(form, model="wan2.7-i2v",
                                                        resolution="720P"), None, "en", "v"))
    assert wan27[-1].status.startswith("✓")  # wan2.7 reports no rewrite: nothing is shown
    assert handlers.rewritten_prompt(services, wan27[-1].record) == ""


def test_a_record_of_the_longest_chinese_prompt_opens_again(tmp_path: Path) -> None:
    services = Services.create(Settings(simulator_url="http://127.0.0.1:9/api/v1",
                                        cache_dir=tmp_path / "cache", state_secret="s"))
    model = catalog.MODELS["wan2.7-i2v"]
    req = handlers.build_request(Form(img_url="https://example.com/a.jpg", model=model.id,
                                      prompt="字" * model.prompt_max,
                                      negative_prompt="否" * model.negative_prompt_max))
    record = record_of(Job(token="t", region="beijing", request=req, key_kind="simulator",
                           task_id="x", phase=Phase.RUNNING), services.store, services.seal)
    assert services.seal.open(record) == record  # kept in the history, resumed after a reload
    assert services.seal.open({**record, "padding": "x" * 70_000}) is None
