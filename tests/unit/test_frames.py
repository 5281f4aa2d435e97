"""The last frame of a video (exactly, quickly, losslessly saved) and its tail as a clip."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from client import frames
from client.errors import InvalidInput
from client.film import probe
from client.media import IMAGE_MAX_BYTES
from tests.film_factory import (
    FPS,
    decode_rgb,
    decode_sound,
    dominant_hz,
    panning,
    picture,
    write_clip,
)


@pytest.fixture(scope="module")
def bframes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s with B-frames and a keyframe every second."""
    folder = tmp_path_factory.mktemp("frames")
    return write_clip(folder / "bframes.mp4", panning(picture(5), 3 * FPS, step=3),
                      bframes=True, gop=FPS)


def _packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        return [(p.pts, bytes(p)) for p in container.demux(video=0) if p.size]


def test_last_frame_is_the_final_frame_in_presentation_order(bframes):
    order = [pts for pts, _ in _packets(bframes)]
    assert order != sorted(order)  # decoding order differs: B-frames
    slow = decode_rgb(bframes)[-1]  # every frame decoded from the start
    image = frames.last_frame(bframes)
    assert image.size == (320, 180) and image.mode == "RGB"
    assert np.array_equal(np.asarray(image), slow)
    assert not np.array_equal(np.asarray(image), decode_rgb(bframes)[-2])


def test_last_frame_decodes_only_from_the_last_keyframe(bframes):
    with av.open(str(bframes)) as container:
        decoded = list(frames._from_last_keyframe(container, container.streams.video[0]))
    assert len(decoded) == FPS  # the last second of 3, not all 90 frames


def test_saved_last_frame_is_a_lossless_png(bframes, tmp_path):
    path = frames.save_last_frame(bframes, tmp_path / "next-shot.jpeg")
    assert path == tmp_path / "next-shot.png"
    with Image.open(path) as saved:
        assert saved.format == "PNG" and saved.mode == "RGB"
        assert np.array_equal(np.asarray(saved), np.asarray(frames.last_frame(bframes)))


def test_a_frame_too_big_for_png_is_saved_as_a_jpeg(bframes, tmp_path):
    png = frames.save_last_frame(bframes, tmp_path / "last.png")
    limit = png.stat().st_size - 1
    path = frames.save_last_frame(bframes, tmp_path / "small.png", max_bytes=limit)
    assert path == tmp_path / "small.jpg" and path.stat().st_size <= limit
    with Image.open(path) as saved, Image.open(png) as lossless:
        assert saved.format == "JPEG"
        assert np.abs(np.asarray(saved, np.int16) - np.asarray(lossless, np.int16)).mean() < 2


def test_a_limit_not_even_a_jpeg_meets_is_refused(bframes, tmp_path):
    with pytest.raises(InvalidInput) as caught:
        frames.save_last_frame(bframes, tmp_path / "last.png", max_bytes=500)
    assert caught.value.field == "last_frame" and "bframes.mp4" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_1080p_frame_of_pure_noise_fits_the_image_limit_as_png(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (1072, 1920, 3), np.uint8)
    video = write_clip(tmp_path / "noise.mp4", [noise, noise], tone_hz=None)
    path = frames.save_last_frame(video, tmp_path / "last.png")
    assert path.suffix == ".png"
    assert 3_000_000 < path.stat().st_size <= IMAGE_MAX_BYTES  # hard to compress, still fits


def test_unreadable_video_is_named(tmp_path):
    bad = tmp_path / "shot-3.mp4"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(InvalidInput) as caught:
        frames.last_frame(bad)
    assert caught.value.field == "video" and "shot-3.mp4" in str(caught.value)


@pytest.fixture(scope="module")
def six_seconds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s, a keyframe every second, a 440 Hz tone."""
    folder = tmp_path_factory.mktemp("tail")
    return write_clip(folder / "six.mp4", panning(picture(8), 6 * FPS), gop=FPS)


@pytest.mark.parametrize(("seconds", "expected"), [(3, 3.0), (2.5, 3.0)])
def test_tail_clip_copies_from_the_keyframe_at_or_before_the_cut(six_seconds, tmp_path,
                                                                 seconds, expected):
    tail = frames.tail_clip(six_seconds, seconds, tmp_path / "tail.mp4")
    assert tail == tmp_path / "tail.mp4"
    info = probe(tail)
    assert float(info.seconds) == expected and info.frames == expected * FPS
    source = [data for _, data in _packets(six_seconds)]
    assert [data for _, data in _packets(tail)] == source[-info.frames:]  # byte for byte
    samples, rate = decode_sound(tail)
    assert samples.size / rate == pytest.approx(expected, abs=0.05)
    assert dominant_hz(samples[: rate], rate) == pytest.approx(440, abs=15)


def test_tail_clip_cuts_exactly_when_the_keyframe_is_too_far_back(tmp_path):
    # 12 s with keyframes at 0 and 10 s: from 0 the tail would break the 10 s limit.
    video = write_clip(tmp_path / "long.mp4", panning(picture(9, (160, 96)), 12 * FPS),
                       tone_hz=None, gop=10 * FPS)
    tail = frames.tail_clip(video, 4, tmp_path / "tail.mp4")
    info = probe(tail)
    assert (float(info.seconds), info.frames) == (4.0, 4 * FPS)
    got, source = decode_rgb(tail), decode_rgb(video)[-4 * FPS:]
    assert all(np.abs(a - b).mean() < 3 for a, b in zip(got[:2 * FPS], source))  # re-encoded
    assert all(np.array_equal(a, b) for a, b in zip(got[2 * FPS:], source[2 * FPS:]))  # copied


@pytest.mark.parametrize(("seconds", "words"), [(1.5, "2–10 s"), (10.5, "2–10 s"),
                                                 ("3", "2–10 s"), (7, "lasts only 6.00 s")])
def test_tail_clip_refuses_a_length_wan_cannot_continue(six_seconds, tmp_path, seconds, words):
    with pytest.raises(InvalidInput) as caught:
        frames.tail_clip(six_seconds, seconds, tmp_path / "tail.mp4")
    assert caught.value.field == "seconds" and words in str(caught.value)
    assert not (tmp_path / "tail.mp4").exists()
