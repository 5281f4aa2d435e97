"""The simulator speaks wan2.7's input.media[] and the kf2v body, over real HTTP: every allowed
combination renders what the spec says, every other one fails, with the wire field named."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from client import catalog
from client.catalog import DRIVING_AUDIO, FIRST_CLIP, FIRST_FRAME, LAST_FRAME, Protocol
from client.media import KF2V_IMAGE
from client.protocols import IMAGE2VIDEO_PATH, ROLES, VIDEO_GENERATION_PATH
from client.request import predict_output_size
from tests.hardening.loopback import file_body, serving
from tests.integration.helpers import Raw, as_data_uri, data_uri
from tests.integration.media_checks import (
    create,
    diff,
    dominant_hz,
    fitted,
    frames,
    poster,
    sound,
    upload,
)
from tests.media_factory import image_bytes, wav_bytes, write_clip

WAN27 = "wan2.7-i2v"
FIRST = (480, 360)  # the first frame; the clip below has the same 4:3 shape
CLIP = (320, 240)
CLIP_SECONDS, DURATION, AUDIO_SECONDS = 2.0, 3, 2.5  # 2.5 s: under the legacy 3 s minimum
OUT_720P = predict_output_size(*FIRST, "720P")
WIRE_ROLE = re.compile(r"^input\.media\[(first_frame|last_frame|first_clip|driving_audio)\]: ")


def media_body(media: dict[str, str] | list[dict[str, str]], model: str = WAN27,
               **parameters: Any) -> dict[str, Any]:
    items = media if isinstance(media, list) else [{"type": t, "url": u} for t, u in media.items()]
    return {"model": model, "input": {"prompt": "a lighthouse at dusk", "media": items},
            "parameters": {"resolution": "720P", "duration": DURATION, **parameters}}


def kf2v_body(model: str, first: str | None, last: str | None = None,
              **extra: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {"prompt": "the cat looks up"}
    if first is not None:
        inputs["first_frame_url"] = first
    if last is not None:
        inputs["last_frame_url"] = last
    for key in ("template",):
        if key in extra:
            inputs[key] = extra.pop(key)
    return {"model": model, "input": inputs, "parameters": extra}


def submitted(answer) -> str:
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["task_status"] == "PENDING"
    return answer.json()["output"]["task_id"]


def failed(raw: Raw, answer) -> tuple[str, str]:
    """A create the service accepts and then fails: the task's (code, message)."""
    done = raw.wait(submitted(answer))["output"]
    assert done["task_status"] == "FAILED", done
    return done["code"], done["message"]


def refused(answer, status: int = 400, code: str = "InvalidParameter") -> str:
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code, answer.json()
    return answer.json()["message"]


def statuses(raw: Raw, task_id: str) -> list[dict[str, Any]]:
    """Every answer to polls of the task until it ends."""
    seen = []
    while True:
        body = raw.status(task_id)
        seen.append(body)
        if body["output"]["task_status"] in ("SUCCEEDED", "FAILED"):
            return seen


def video_of(raw: Raw, body: dict[str, Any], dest: Path) -> Path:
    assert body["output"]["task_status"] == "SUCCEEDED", body
    return raw.download(body["output"]["video_url"], dest)


# --- wan2.7: every allowed combination ----------------------------------------------------------


@pytest.fixture
def sources(raw: Raw, tmp_path: Path) -> dict[str, str]:
    """One source per role: pictures inline, the audio and the clip uploaded (data: is refused
    for those)."""
    clip = write_clip(tmp_path / "clip.mp4", CLIP_SECONDS, *CLIP).read_bytes()
    return {
        FIRST_FRAME: data_uri(*FIRST),
        LAST_FRAME: as_data_uri(poster(360, 480)),  # another shape: cover-fitted
        DRIVING_AUDIO: upload(raw, WAN27, "voice.wav", wav_bytes(AUDIO_SECONDS)),
        FIRST_CLIP: upload(raw, WAN27, "clip.mp4", clip),
    }


@pytest.mark.parametrize("roles", catalog.WAN27_MEDIA, ids=lambda c: "+".join(sorted(c)))
def test_every_allowed_combination_renders(raw, sources, roles, sim, tmp_path):
    order = [r for r in (LAST_FRAME, DRIVING_AUDIO, FIRST_FRAME, FIRST_CLIP) if r in roles]
    task_id = submitted(create(raw, VIDEO_GENERATION_PATH,
                               media_body({r: sources[r] for r in order}), oss=True))
    for role in {DRIVING_AUDIO, FIRST_CLIP} & roles:  # the task no longer needs its uploads
        assert sim.sim.store.upload(sources[role].removeprefix("oss://")) is None
    polls = statuses(raw, task_id)
    assert all("task_metrics" not in p["output"] for p in polls)  # kf2v's, not wan2.7's
    done = polls[-1]
    video = video_of(raw, done, tmp_path / "out.mp4")
    assert "actual_prompt" not in done["output"]
    clip = FIRST_CLIP in roles
    assert done["usage"] == {
        "duration": DURATION,
        "input_video_duration": CLIP_SECONDS if clip else 0,
        "output_video_duration": DURATION - CLIP_SECONDS if clip else DURATION,
        "SR": 720,
        "video_count": 1,
    }
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == OUT_720P  # 4:3 from the frame or the clip
        assert abs(float(stream.duration * stream.time_base) - DURATION) < 0.05
        assert stream.codec_context.name == "h264" and stream.average_rate == 30
        assert len(container.streams.audio) == 1  # wan2.7 always has sound
    made = frames(video)
    samples, rate = sound(video)
    assert abs(len(samples) / rate - DURATION) < 0.1
    is_tone = abs(dominant_hz(samples[: int(2 * rate)], rate) - 440) < 5
    assert is_tone is (DRIVING_AUDIO in roles)  # the track, or a sound bed made without one
    if LAST_FRAME in roles:
        last = fitted(poster(360, 480), OUT_720P)
        assert diff(made[-1], last) < 6  # the final frame is the last picture, fitted
        assert diff(made[0], last) > 30
    if clip:
        clip_file = write_clip(tmp_path / "c.mp4", CLIP_SECONDS, *CLIP)
        source = Image.fromarray(frames(clip_file)[0].astype(np.uint8))
        start = np.asarray(source.resize(OUT_720P, Image.Resampling.BILINEAR)).astype(np.int16)
        assert diff(made[0], start) < 8  # the output begins with the clip


def test_driving_audio_is_muxed_and_padded_with_silence(raw, sources, tmp_path):
    body = media_body({FIRST_FRAME: sources[FIRST_FRAME], DRIVING_AUDIO: sources[DRIVING_AUDIO]})
    video = video_of(raw, raw.wait(submitted(create(raw, VIDEO_GENERATION_PATH, body, oss=True))),
                     tmp_path / "v.mp4")
    samples, rate = sound(video)
    assert abs(dominant_hz(samples[int(0.5 * rate):int(2.0 * rate)], rate) - 440) < 5  # the track
    assert np.abs(samples[int(0.5 * rate):int(2.0 * rate)]).max() > 0.1
    assert np.abs(samples[int(2.7 * rate):]).max() < 0.01  # silence after its 2.5 s


def test_a_mov_clip_is_continued(raw, tmp_path):
    mov = write_clip(tmp_path / "clip.mov", CLIP_SECONDS, 240, 320, container="mov")
    body = media_body({FIRST_CLIP: upload(raw, WAN27, "clip.mov", mov.read_bytes())},
                      resolution="720P")
    video = video_of(raw, raw.wait(submitted(create(raw, VIDEO_GENERATION_PATH, body, oss=True))),
                     tmp_path / "v.mp4")
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == predict_output_size(240, 320, "720P")  # portrait


def test_ignored_parameters_and_img_url_beside_media_are_accepted(raw, tmp_path):
    """Spec §5 decisions 3 and 4: what the SDK forwards to wan2.7 is ignored, not refused."""
    body = media_body({FIRST_FRAME: data_uri(*FIRST)}, duration=2, audio=True, shot_type="multi",
                      ratio="16:9")
    body["input"].update(template="flying", img_url="https://example.com/ignored.png",
                         audio_url="https://example.com/ignored.mp3", extend_prompt=True,
                         function="video-synthesis")
    done = raw.wait(submitted(create(raw, VIDEO_GENERATION_PATH, body)))
    assert done["output"]["task_status"] == "SUCCEEDED", done
    assert done["usage"]["duration"] == 2


# --- wan2.7: what fails, asynchronously ------------------------------------------------------------

DISALLOWED = [frozenset(c) for n in range(1, 5) for c in itertools.combinations(ROLES, n)
              if frozenset(c) not in catalog.WAN27_MEDIA]
ANY_URL = {FIRST_FRAME: data_uri(*FIRST), LAST_FRAME: data_uri(*FIRST),
           DRIVING_AUDIO: "https://example.com/voice.mp3", FIRST_CLIP: "https://example.com/c.mp4"}


def test_the_disallowed_list_is_the_spec_s():
    assert len(DISALLOWED) == 2 ** 4 - 1 - 6
    assert {frozenset({LAST_FRAME}), frozenset({DRIVING_AUDIO}),
            frozenset({FIRST_FRAME, FIRST_CLIP}), frozenset({FIRST_CLIP, DRIVING_AUDIO})} <= \
        set(DISALLOWED)


@pytest.mark.parametrize("roles", DISALLOWED, ids=lambda c: "+".join(sorted(c)))
def test_a_disallowed_combination_fails_the_task(raw, roles):
    code, message = failed(raw, create(raw, VIDEO_GENERATION_PATH,
                                       media_body({r: ANY_URL[r] for r in roles})))
    # InvalidParameter, not a download's DataInspection: the links were never fetched.
    assert code == "InvalidParameter"
    assert WIRE_ROLE.match(message), message


@pytest.mark.parametrize("media, words", [
    ([], "input.media: must be a non-empty list"),
    ([{"type": "first_frame", "url": ANY_URL[FIRST_FRAME]}] * 2,
     "input.media: type first_frame appears twice"),
    ([{"type": "reference_image", "url": ANY_URL[FIRST_FRAME]}],
     "input.media: item 0 has type 'reference_image'"),
    ([{"type": "first_frame"}], "input.media: item 0 must be an object with a string url"),
])
def test_an_unreadable_media_list_fails_the_task(raw, media, words):
    code, message = failed(raw, create(raw, VIDEO_GENERATION_PATH, media_body(media)))
    assert code == "InvalidParameter" and message.startswith(words), message


def test_a_legacy_img_url_body_to_wan27_fails_with_field_required(raw):
    body = {"model": WAN27, "input": {"prompt": "a cat", "img_url": data_uri()},
            "parameters": {"resolution": "720P"}}
    assert failed(raw, create(raw, VIDEO_GENERATION_PATH, body)) == (
        "InvalidParameter", "Field required: input.media")


def _clip_url(raw: Raw, tmp_path: Path, seconds: float) -> str:
    data = write_clip(tmp_path / f"c{seconds}.mp4", seconds, *CLIP).read_bytes()
    return upload(raw, WAN27, f"c{seconds}.mp4", data)


@pytest.mark.parametrize("role, make, words", [
    (FIRST_FRAME, lambda raw, tmp: data_uri(9000, 300, "PNG"), "the width is 9000 px"),
    (FIRST_FRAME, lambda raw, tmp: data_uri(240, 2160, "PNG"), "it must be between 1:8 and 8:1"),
    (LAST_FRAME, lambda raw, tmp: data_uri(200, 200),
     "the width is 200 px; each side must be 240–8000 px"),
    (FIRST_CLIP, lambda raw, tmp: _clip_url(raw, tmp, 12.0), "the video lasts 12.0 s"),
    (FIRST_CLIP, lambda raw, tmp: _clip_url(raw, tmp, 1.0), "the video lasts 1.0 s"),
    (FIRST_CLIP, lambda raw, tmp: upload(raw, WAN27, "c.mp4", image_bytes(320, 240)),
     "this is not an MP4 or MOV video"),
    (FIRST_CLIP, lambda raw, tmp: upload(raw, WAN27, "c.mp4", b""), "the file is empty"),
    (FIRST_CLIP, lambda raw, tmp: "data:video/mp4;base64,AAAA",
     "video cannot be sent as a data URI"),
    (DRIVING_AUDIO, lambda raw, tmp: upload(raw, WAN27, "a.wav", wav_bytes(1.0)),
     "the audio lasts 1.0 s; it must last 2–30 s"),
    (DRIVING_AUDIO, lambda raw, tmp: "data:audio/wav;base64,AAAA",
     "audio cannot be sent as a data URI"),
], ids=["9000px", "1to9", "small-last", "clip12s", "clip1s", "clip-jpeg", "clip-empty",
        "clip-data", "audio1s", "audio-data"])
def test_a_medium_off_the_rules_fails_naming_its_wire_field(raw, tmp_path, role, make, words):
    media = {role: make(raw, tmp_path)}
    if role in (LAST_FRAME, DRIVING_AUDIO):
        media[FIRST_FRAME] = data_uri(*FIRST)
    code, message = failed(raw, create(raw, VIDEO_GENERATION_PATH, media_body(media), oss=True))
    assert code == "InvalidParameter"
    assert message.startswith(f"input.media[{role}]: ") and words in message, message


def test_a_clip_as_long_as_the_duration_fails(raw, tmp_path):
    body = media_body({FIRST_CLIP: _clip_url(raw, tmp_path, 3.0)}, duration=3)
    code, message = failed(raw, create(raw, VIDEO_GENERATION_PATH, body, oss=True))
    assert code == "InvalidParameter"
    assert message.startswith("parameters.duration: the duration counts the 3.0 s clip") and \
        "choose at least 4 s" in message, message


def test_wan27_keeps_the_sync_refusals(raw):
    body = media_body({FIRST_FRAME: data_uri(*FIRST)})
    assert refused(create(Raw(raw.sim, None), VIDEO_GENERATION_PATH, body), 401,
                   "InvalidApiKey")
    oss = media_body({FIRST_FRAME: "oss://dashscope-instant/x/2026-01-01/y/a.png"})
    refused(create(raw, VIDEO_GENERATION_PATH, oss), 400, "invalid_parameter_error")
    typed = media_body({FIRST_FRAME: data_uri(*FIRST)}, watermark="yes")
    assert refused(create(raw, VIDEO_GENERATION_PATH, typed)).startswith("parameters.watermark:")
    message = refused(create(raw, IMAGE2VIDEO_PATH, body))
    assert message.startswith("url error, please check url!")
    assert f"/api/v1{VIDEO_GENERATION_PATH}" in message


def test_wan27_is_not_served_in_virginia(regional_simulator, api_key):
    raw = Raw(regional_simulator("virginia"), api_key)
    body = media_body({FIRST_FRAME: data_uri(*FIRST)})
    assert refused(create(raw, VIDEO_GENERATION_PATH, body), 404, "ModelNotFound")


def test_links_are_capped_by_the_role_s_rules(start_sim, api_key):
    """A 15 MB picture: within wan2.7's 20 MB, over the legacy 10 MB; 21 MB is over both."""
    pictures = {"15mb.bmp": image_bytes(2600, 2000, "BMP"), "21mb.bmp": image_bytes(3000, 2400,
                                                                                   "BMP")}

    def respond(handler) -> None:
        file_body(pictures[handler.path.lstrip("/")], "image/bmp")(handler)

    with serving(respond) as server:
        raw = Raw(start_sim(link_allow=(server.where,)), api_key)
        link = f"http://{server.where}/15mb.bmp"
        done = raw.wait(submitted(create(raw, VIDEO_GENERATION_PATH,
                                         media_body({FIRST_FRAME: link}, duration=2))))
        assert done["output"]["task_status"] == "SUCCEEDED", done
        legacy = {"model": "wan2.2-i2v-flash", "input": {"img_url": link},
                  "parameters": {"resolution": "480P"}}
        assert "input.img_url: the file is over the 10 MB limit for a picture" in refused(
            create(raw, VIDEO_GENERATION_PATH, legacy), 400, "InvalidParameter.DataInspection")
        code, message = failed(raw, create(raw, VIDEO_GENERATION_PATH, media_body(
            {FIRST_FRAME: f"http://{server.where}/21mb.bmp"})))
        assert code == "InvalidParameter.DataInspection"
        assert "input.media[first_frame]: the file is over the 20 MB limit" in message
    raw.close()


# --- kf2v ---------------------------------------------------------------------------------------


def test_kf2v_first_to_last_renders_silent_and_reports_its_metrics(raw, tmp_path):
    body = kf2v_body("wan2.2-kf2v-flash", data_uri(*FIRST), as_data_uri(poster(360, 480)),
                     resolution="480P", prompt_extend=True)
    polls = statuses(raw, submitted(create(raw, IMAGE2VIDEO_PATH, body)))
    seen = {p["output"]["task_status"]: p["output"] for p in polls}
    assert seen["RUNNING"]["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0}
    assert "task_metrics" not in seen.get("PENDING", {})
    done = polls[-1]
    assert done["output"]["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    assert done["usage"] == {"video_duration": 5, "video_count": 1, "SR": 480}
    assert done["output"]["orig_prompt"] == "the cat looks up"
    assert done["output"]["actual_prompt"].startswith("the cat looks up. ")
    video = video_of(raw, done, tmp_path / "kf2v.mp4")
    size = predict_output_size(*FIRST, "480P")
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == size
        assert abs(float(stream.duration * stream.time_base) - 5) < 0.05
        assert not container.streams.audio  # kf2v is silent
    assert diff(frames(video)[-1], fitted(poster(360, 480), size)) < 6
    row = raw.list(model_name="wan2.2-kf2v-flash").json()["data"][0]
    assert row["user_api_unique_key"] == \
        "apikey:v1:aigc:image2video:video-synthesis:wan2.2-kf2v-flash"


def test_kf2v_template_ignores_the_last_frame(raw, tmp_path):
    body = kf2v_body("wanx2.1-kf2v-plus", data_uri(*FIRST), as_data_uri(poster(360, 480)),
                     template="hanfu-1", resolution="720P")
    done = raw.wait(submitted(create(raw, IMAGE2VIDEO_PATH, body)))
    assert done["usage"] == {"video_duration": 5, "video_count": 1, "video_ratio": "standard"}
    assert "actual_prompt" not in done["output"]  # a template drives the video, not a prompt
    video = video_of(raw, done, tmp_path / "t.mp4")
    size = predict_output_size(*FIRST, "720P")
    assert diff(frames(video)[-1], fitted(poster(360, 480), size)) > 30


def test_a_failed_kf2v_task_counts_its_failure(raw):
    body = kf2v_body("wan2.2-kf2v-flash", data_uri(*FIRST), data_uri(*FIRST), resolution="480P")
    answer = raw.http.post(IMAGE2VIDEO_PATH, json=body, headers={
        **raw.headers, "X-DashScope-Async": "enable", "X-Wan-Sim-Fault": "fail"})
    done = raw.wait(submitted(answer))["output"]
    assert done["task_status"] == "FAILED"
    assert done["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 1}


@pytest.mark.parametrize("body, words", [
    (kf2v_body("wan2.2-kf2v-flash", data_uri(*FIRST)), "input.last_frame_url: add the last frame"),
    (kf2v_body("wanx2.1-kf2v-plus", data_uri(*FIRST)),
     ("input.last_frame_url: add the last frame: the picture the video should end on, or "
      "choose an effect template")),
    (kf2v_body("wanx2.1-kf2v-plus", None, data_uri(*FIRST), template="hanfu-1"),
     "input.first_frame_url: a first-frame picture is required"),
    (kf2v_body("wan2.2-kf2v-flash", data_uri(*FIRST), data_uri(*FIRST), duration=10),
     "parameters.duration:"),
    (kf2v_body("wan2.2-kf2v-flash", data_uri(200, 300), data_uri(*FIRST)),
     "input.first_frame_url: the width is 200 px; each side must be 240–8000 px"),
    (kf2v_body("wan2.2-kf2v-flash", data_uri(*FIRST), data_uri(300, 9000, "PNG")),
     "input.last_frame_url: the height is 9000 px"),
])
def test_kf2v_refuses_at_once_naming_the_field(raw, body, words):
    assert refused(create(raw, IMAGE2VIDEO_PATH, body)).startswith(words)


def test_kf2v_takes_the_newest_image_sides_unless_configured(raw, start_sim, api_key):
    body = kf2v_body("wan2.2-kf2v-flash", data_uri(300, 300), data_uri(300, 300),
                     resolution="480P")
    submitted(create(raw, IMAGE2VIDEO_PATH, body))  # 300 px: under the client's strict 360
    strict = Raw(start_sim(image_rules_by_protocol={Protocol.KF2V: KF2V_IMAGE}), api_key)
    assert refused(create(strict, IMAGE2VIDEO_PATH, body)).startswith(
        "input.first_frame_url: the width is 300 px; each side must be 360–2000 px")
    strict.close()


def test_a_model_on_the_other_protocol_s_endpoint_is_refused(raw):
    body = kf2v_body("wan2.2-kf2v-flash", data_uri(*FIRST), data_uri(*FIRST))
    message = refused(create(raw, VIDEO_GENERATION_PATH, body))
    assert message == ("url error, please check url! (wan2.2-kf2v-flash is served at "
                       f"/api/v1{IMAGE2VIDEO_PATH})")
    legacy = {"model": "wan2.2-i2v-flash", "input": {"img_url": data_uri()}}
    assert f"/api/v1{VIDEO_GENERATION_PATH}" in refused(create(raw, IMAGE2VIDEO_PATH, legacy))


def test_singapore_kf2v_plus_is_720p_only_and_has_no_templates(regional_simulator, api_key):
    raw = Raw(regional_simulator("singapore"), api_key)
    body = kf2v_body("wan2.1-kf2v-plus", data_uri(*FIRST), data_uri(*FIRST), resolution="480P")
    assert refused(create(raw, IMAGE2VIDEO_PATH, body)).startswith("parameters.resolution:")
    themed = kf2v_body("wan2.1-kf2v-plus", data_uri(*FIRST), template="hanfu-1")
    assert refused(create(raw, IMAGE2VIDEO_PATH, themed)).startswith("input.template:")
    beijing_only = kf2v_body("wanx2.1-kf2v-plus", data_uri(*FIRST), data_uri(*FIRST))
    assert refused(create(raw, IMAGE2VIDEO_PATH, beijing_only), 404, "ModelNotFound")
    raw.close()
