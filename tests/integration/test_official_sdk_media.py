"""The official dashscope SDK pointed at the simulator speaks wan2.7's media[] and kf2v, with
local files (its upload flow) and base64: the videos have the length, size, sound and last frame
the spec says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from dashscope import VideoSynthesis
from PIL import Image

from client.request import predict_output_size
from client.simulator.state import account_of
from tests.integration.helpers import as_data_uri, data_uri
from tests.integration.media_checks import (
    diff,
    dominant_hz,
    fitted,
    frames,
    poster,
    sound,
)
from tests.media_factory import write_clip, write_image, write_wav

FIRST = (480, 360)
CLIP = (320, 240)


def video(rsp: Any, dest: Path) -> Path:
    assert rsp.status_code == 200, (rsp.code, rsp.message)
    assert rsp.output.task_status == "SUCCEEDED", rsp.output
    answer = httpx.get(rsp.output.video_url, timeout=30)
    assert answer.status_code == 200
    dest.write_bytes(answer.content)
    return dest


def facts(path: Path) -> tuple[tuple[int, int], float, bool]:
    """(width × height, seconds, has sound)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        seconds = float(stream.duration * stream.time_base)
        return (stream.width, stream.height), round(seconds, 2), bool(container.streams.audio)


def uploads_of(sim, api_key: str) -> int:
    return sum(r.route == "policy" for r in sim.requests if r.account == account_of(api_key))


def test_first_and_last_frame_local_file_and_base64(sdk_sim, api_key, tmp_path):
    first = write_image(tmp_path / "first.jpg", *FIRST)
    last = poster(360, 480)
    media = [{"type": "first_frame", "url": f"file://{first}"},
             {"type": "last_frame", "url": as_data_uri(last)}]
    rsp = VideoSynthesis.call(api_key=api_key, model="wan2.7-i2v", prompt="the sun sets",
                              media=media, resolution="720P", duration=3, prompt_extend=False)
    out = video(rsp, tmp_path / "fl.mp4")
    size = predict_output_size(*FIRST, "720P")
    assert facts(out) == (size, 3.0, True)  # wan2.7 always has sound
    made = frames(out)
    assert diff(made[-1], fitted(last, size)) < 6 < diff(made[0], fitted(last, size))
    assert uploads_of(sdk_sim, api_key) == 1  # the local first frame went up, the base64 did not
    assert media[0]["url"].startswith("oss://")  # the SDK rewrote it in place
    assert rsp.usage.duration == 3 and rsp.usage.input_video_duration == 0
    assert rsp.usage.output_video_duration == 3 and rsp.usage.SR == 720
    assert not rsp.output.get("actual_prompt")


def test_first_frame_and_driving_audio_from_a_bare_path(sdk_sim, api_key, tmp_path):
    voice = write_wav(tmp_path / "voice.wav", 2.5)  # 2–30 s for wan2.7 (legacy: 3–30 s)
    media = [{"type": "first_frame", "url": data_uri(*FIRST)},
             {"type": "driving_audio", "url": str(voice)}]
    # audio=True as the SDK's own sample sends it: wan2.7 ignores it (spec §5 decision 3).
    rsp = VideoSynthesis.call(api_key=api_key, model="wan2.7-i2v-2026-04-25", media=media,
                              resolution="720P", duration=3, audio=True)
    out = video(rsp, tmp_path / "voice.mp4")
    assert facts(out) == (predict_output_size(*FIRST, "720P"), 3.0, True)
    samples, rate = sound(out)
    assert abs(len(samples) / rate - 3) < 0.1  # the 2.5 s track, padded to the length…
    assert abs(dominant_hz(samples[: 2 * rate], rate) - 440) < 5  # …is the 440 Hz tone
    assert np.abs(samples[int(2.7 * rate):]).max() < 0.01
    assert uploads_of(sdk_sim, api_key) == 1


def test_continuing_a_local_clip(sdk_sim, api_key, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", 2.0, *CLIP)
    rsp = VideoSynthesis.call(api_key=api_key, model="wan2.7-i2v",
                              media=[{"type": "first_clip", "url": f"file://{clip}"}],
                              resolution="720P", duration=4)
    out = video(rsp, tmp_path / "more.mp4")
    size = predict_output_size(*CLIP, "720P")
    assert facts(out) == (size, 4.0, True)  # the 2 s clip counts in the 4 s
    source = Image.fromarray(frames(clip)[0].astype(np.uint8)).resize(size,
                                                                      Image.Resampling.BILINEAR)
    assert diff(frames(out)[0], np.asarray(source).astype(np.int16)) < 8
    assert rsp.usage.input_video_duration == 2.0 and rsp.usage.output_video_duration == 2.0
    assert rsp.usage.duration == 4


def test_kf2v_first_and_last_frame_urls(sdk_sim, api_key, tmp_path):
    first = write_image(tmp_path / "cat.png", *FIRST, fmt="PNG")
    last = poster(360, 480)
    rsp = VideoSynthesis.call(api_key=api_key, model="wan2.2-kf2v-flash", prompt="the cat looks up",
                              first_frame_url=str(first), last_frame_url=as_data_uri(last),
                              resolution="480P")
    out = video(rsp, tmp_path / "kf2v.mp4")
    size = predict_output_size(*FIRST, "480P")
    assert facts(out) == (size, 5.0, False)  # kf2v: 5 s, silent
    assert diff(frames(out)[-1], fitted(last, size)) < 6
    assert rsp.usage.video_duration == 5 and rsp.usage.SR == 480
    assert rsp.output.actual_prompt.startswith("the cat looks up")
    assert uploads_of(sdk_sim, api_key) == 1
    paths = [r.path for r in sdk_sim.requests
             if r.account == account_of(api_key) and r.route == "create"]
    assert paths == ["/api/v1/services/aigc/image2video/video-synthesis"]


def test_a_bad_media_set_fails_the_task_the_sdk_waits_for(sdk_sim, api_key):
    rsp = VideoSynthesis.call(api_key=api_key, model="wan2.7-i2v",
                              media=[{"type": "last_frame", "url": data_uri(*FIRST)}],
                              resolution="720P", duration=2)
    assert rsp.status_code == 200 and rsp.output.task_status == "FAILED"
    assert rsp.output.code == "InvalidParameter"
    assert rsp.output.message.startswith("input.media[first_frame]: a first-frame picture")
