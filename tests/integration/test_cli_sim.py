"""python -m client generate against the simulator over real HTTP, for the new media: a clip
continued to a last frame on wan2.7, and kf2v's first to last frame. The saved videos are
checked with PyAV: length, sound, where they begin and end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from client import tasks
from client.__main__ import main
from client.request import predict_output_size
from tests.integration.media_checks import diff, fitted, frames, poster
from tests.media_factory import write_clip, write_image

CLIP = (320, 240)


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch, api_key: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", api_key)
    monkeypatch.chdir(tmp_path)

    async def brief(seconds: float) -> None:  # poll often: the simulator's tasks are short
        await asyncio.sleep(min(seconds, 0.1))

    monkeypatch.setattr(tasks, "_sleep", brief)


def seconds_and_sound(video: Path) -> tuple[float, bool]:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        return float(stream.duration * stream.time_base), bool(container.streams.audio)


def test_a_clip_continued_to_a_last_frame(sim: Any, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    clip = write_clip(tmp_path / "clip.mp4", 2.0, *CLIP)
    (tmp_path / "last.png").write_bytes(poster(360, 480))
    out = tmp_path / "continued.mp4"
    assert main(["generate", "--model", "wan2.7-i2v", "--first-clip", str(clip), "--last-frame",
                 str(tmp_path / "last.png"), "--duration", "3", "--resolution", "720P",
                 "--base-url", sim.base_url, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert "note: The 2.0 s clip and 1.0 s of new video make 3 s." in captured.err
    seconds, has_sound = seconds_and_sound(out)
    assert abs(seconds - 3) < 0.05 and has_sound  # wan2.7 always has sound
    size = predict_output_size(*CLIP, "720P")
    made = frames(out)
    source = Image.fromarray(frames(clip)[0].astype(np.uint8))
    start = np.asarray(source.resize(size, Image.Resampling.BILINEAR)).astype(np.int16)
    assert diff(made[0], start) < 8  # it begins with the clip
    assert diff(made[-1], fitted(poster(360, 480), size)) < 6  # and ends on the last frame


def test_kf2v_from_the_first_to_the_last_frame(sim: Any, tmp_path: Path) -> None:
    first = write_image(tmp_path / "first.jpg", 640, 480)
    (tmp_path / "last.png").write_bytes(poster(480, 360))
    out = tmp_path / "kf2v.mp4"
    assert main(["generate", "--model", "wan2.2-kf2v-flash", "--image", str(first),
                 "--last-frame", str(tmp_path / "last.png"), "--resolution", "480P",
                 "--base-url", sim.base_url, "--out", str(out)]) == 0
    seconds, has_sound = seconds_and_sound(out)
    assert abs(seconds - 5) < 0.05 and not has_sound  # kf2v: 5 s, silent
    made = frames(out)
    size = predict_output_size(640, 480, "480P")
    assert diff(made[-1], fitted(poster(480, 360), size)) < 6
    assert diff(made[0], made[-1]) > 30  # it travelled from the first picture
