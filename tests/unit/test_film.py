"""Films assembled from small PyAV clips: length, streams, seams, sound, stream copy, crossfades."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from client.errors import InvalidInput
from client.film import Clip, Seam, assemble, probe
from client.frames import last_frame
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
def story(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """one (2 s, 440 Hz); two (1 s, 660 Hz) starts from one's last frame; three (1 s, 880 Hz) is
    another picture. A keyframe every 0.5 s."""
    folder = tmp_path_factory.mktemp("story")
    one = write_clip(folder / "one.mp4", panning(picture(1), 2 * FPS), tone_hz=440, gop=15)
    two = write_clip(folder / "two.mp4", panning(last_frame(one), FPS), tone_hz=660, gop=15)
    three = write_clip(folder / "three.mp4", panning(picture(3), FPS), tone_hz=880, gop=15)
    silent = write_clip(folder / "silent.mp4", panning(last_frame(one), FPS), tone_hz=None,
                        gop=15)
    return {"one": one, "two": two, "three": three, "silent": silent}


@pytest.fixture(scope="module")
def decoded(story: dict[str, Path]) -> dict[str, list[np.ndarray]]:
    return {name: decode_rgb(path) for name, path in story.items()}


def _streams(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [stream.type for stream in container.streams]


def _step(frames: list[np.ndarray], index: int) -> float:
    """Mean absolute difference between frame index − 1 and frame index."""
    return float(np.abs(frames[index] - frames[index - 1]).mean())


def _hz(samples: np.ndarray, rate: int, start: float, stop: float) -> float:
    return dominant_hz(samples[round(start * rate):round(stop * rate)], rate)


def _frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def _video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def test_three_clips_make_one_film_as_long_as_the_shots(story, decoded, tmp_path):
    info = assemble([story["one"], story["two"], story["three"]], tmp_path / "film.mp4")
    assert info.path == tmp_path / "film.mp4" and (tmp_path / "film.mp4").exists()
    assert (info.frames, info.seconds, info.shot_starts) == (120, 4.0, (0.0, 2.0, 3.0))
    assert (info.width, info.height, info.fps) == (320, 180, FPS)
    assert _streams(info.path) == ["video", "audio"]
    frames = decode_rgb(info.path)
    assert abs(len(frames) - 120) <= 1
    with av.open(str(info.path)) as container:
        video = container.streams.video[0]
        assert float(video.duration * video.time_base) == pytest.approx(4.0, abs=1 / FPS)
    samples, rate = decode_sound(info.path)
    assert samples.size / rate == pytest.approx(4.0, abs=0.05)
    # Two continues one's last picture: its seam is a step like any other; three is a cut.
    steps = [_step(frames, i) for i in range(1, 60)]
    assert _step(frames, 60) < 2 * max(steps) and _step(frames, 60) < 4
    assert _step(frames, 90) > 20 > 5 * max(steps)


def test_stream_copy_keeps_every_frame_and_packet(story, decoded, tmp_path):
    info = assemble([story["one"], story["two"], story["three"]], tmp_path / "film.mp4")
    assert (info.copied_frames, info.encoded_frames) == (120, 0)
    clips = [story["one"], story["two"], story["three"]]
    assert _video_packets(info.path) == [p for clip in clips for p in _video_packets(clip)]
    assert probe(info.path).video.extradata == probe(story["one"]).video.extradata
    frames = decode_rgb(info.path)
    source = decoded["one"] + decoded["two"] + decoded["three"]
    assert all(np.array_equal(a, b) for a, b in zip(frames, source, strict=True))
    assert _frame_times(info.path) == pytest.approx([k / FPS for k in range(120)], abs=1e-6)


def test_sound_stays_in_step_with_each_shot(story, tmp_path):
    info = assemble([story["one"], story["two"], story["three"]], tmp_path / "film.mp4")
    samples, rate = decode_sound(info.path)
    assert _hz(samples, rate, 0.1, 1.9) == pytest.approx(440, abs=15)
    assert _hz(samples, rate, 1.92, 1.99) == pytest.approx(440, abs=15)  # up to the seam…
    assert _hz(samples, rate, 2.01, 2.08) == pytest.approx(660, abs=15)  # …and just after it
    assert _hz(samples, rate, 2.92, 2.99) == pytest.approx(660, abs=15)
    assert _hz(samples, rate, 3.01, 3.08) == pytest.approx(880, abs=15)


def test_a_shot_without_sound_gets_silence_of_its_length(story, decoded, tmp_path):
    info = assemble([story["one"], story["silent"], story["three"]], tmp_path / "film.mp4")
    assert info.silent == (1,) and _streams(info.path) == ["video", "audio"]
    samples, rate = decode_sound(info.path)
    assert samples.size / rate == pytest.approx(4.0, abs=0.05)
    assert np.abs(samples[round(2.03 * rate):round(2.97 * rate)]).max() < 1e-3
    assert _hz(samples, rate, 0.1, 1.95) == pytest.approx(440, abs=15)
    assert _hz(samples, rate, 3.03, 3.95) == pytest.approx(880, abs=15)
    assert info.copied_frames == 120  # the silent shot's picture is still copied


def test_a_film_of_silent_shots_has_a_silent_track_throughout(story, tmp_path):
    info = assemble([story["silent"], story["silent"]], tmp_path / "film.mp4")
    assert info.silent == (0, 1) and _streams(info.path) == ["video", "audio"]
    samples, rate = decode_sound(info.path)
    assert (rate, samples.size / rate) == (48_000, pytest.approx(2.0, abs=0.05))
    assert not samples.any()


def test_crossfades_overlap_the_shots_and_blend_the_seam(story, decoded, tmp_path):
    info = assemble([story["one"], story["two"], story["three"]], tmp_path / "film.mp4",
                    transition="crossfade", crossfade_seconds=0.5)
    # Each crossfade overlaps 15 frames: 60 + 30 + 30 − 2 × 15.
    assert (info.frames, info.seconds, info.shot_starts) == (90, 3.0, (0.0, 1.5, 2.0))
    frames = decode_rgb(info.path)
    assert len(frames) == 90 and _streams(info.path) == ["video", "audio"]
    one, two, three = decoded["one"], decoded["two"], decoded["three"]
    # Only the two crossfades are encoded; the rest are the clips' own packets.
    assert (info.copied_frames, info.encoded_frames) == (60, 30)
    assert all(np.array_equal(frames[i], one[i]) for i in range(45))
    assert all(np.array_equal(frames[75 + i], three[15 + i]) for i in range(15))
    assert _frame_times(info.path) == pytest.approx([k / FPS for k in range(90)], abs=1e-6)
    # The middle of the second crossfade (two → three, another picture) is half of each.
    middle = frames[60 + 7]
    assert np.abs(middle - (two[22] + three[7]) / 2).mean() < 3
    assert np.abs(middle - three[7]).mean() > 8 and np.abs(middle - two[22]).mean() > 8
    for k in (0, 14):  # the blend moves from two towards three
        weight = (k + 1) / 16
        expected = two[15 + k] * (1 - weight) + three[k] * weight
        assert np.abs(frames[60 + k] - expected).mean() < 3
    samples, rate = decode_sound(info.path)
    assert samples.size / rate == pytest.approx(3.0, abs=0.05)
    # The sound cuts in the middle of each crossfade: 1.75 s and 2.25 s.
    assert _hz(samples, rate, 1.6, 1.73) == pytest.approx(440, abs=15)
    assert _hz(samples, rate, 1.77, 2.23) == pytest.approx(660, abs=15)
    assert _hz(samples, rate, 2.27, 2.9) == pytest.approx(880, abs=15)


def test_crossfade_with_b_frames_reencodes_from_the_keyframe_before_it(tmp_path):
    # A keyframe every 20 frames (0, 0.67, 1.33 s), B-frames: packets can only end at one.
    one = write_clip(tmp_path / "one.mp4", panning(picture(4), 2 * FPS, step=2), bframes=True,
                     gop=20)
    two = write_clip(tmp_path / "two.mp4", panning(picture(5), 2 * FPS, step=2), bframes=True,
                     gop=20)
    with av.open(str(one)) as container:
        order = [p.pts for p in container.demux(video=0) if p.size]
    assert order != sorted(order)  # B-frames really are reordered
    info = assemble([one, two], tmp_path / "film.mp4", transition="crossfade")
    assert (info.frames, info.seconds) == (105, 3.5)
    # Encoded: one's frames 40–44, the 15 blended, two's 15–19 (its next keyframe is 20).
    assert (info.copied_frames, info.encoded_frames) == (80, 25)
    frames, a, b = decode_rgb(info.path), decode_rgb(one), decode_rgb(two)
    assert len(frames) == 105
    assert all(np.array_equal(frames[i], a[i]) for i in range(40))
    assert all(np.abs(frames[40 + i] - a[40 + i]).mean() < 3 for i in range(5))
    assert all(np.abs(frames[60 + i] - b[15 + i]).mean() < 3 for i in range(5))
    assert all(np.array_equal(frames[65 + i], b[20 + i]) for i in range(40))
    assert _frame_times(info.path) == pytest.approx([k / FPS for k in range(105)], abs=1e-6)


def test_each_seam_chooses_cut_or_crossfade(story, tmp_path):
    info = assemble([story["one"], story["two"], story["three"]], tmp_path / "film.mp4",
                    seams=[Seam("crossfade", 0.5), Seam("cut")])
    assert (info.frames, info.seconds) == (105, 3.5)
    frames = decode_rgb(info.path)
    assert len(frames) == 105
    assert _step(frames, 75) > 20  # two → three stays a hard cut, at 60 + 30 − 15


def test_a_clip_of_another_size_is_conformed_with_black_bars(story, tmp_path):
    square = write_clip(tmp_path / "square.mp4", panning(picture(6, (180, 180)), FPS))
    info = assemble([story["one"], square, story["three"]], tmp_path / "film.mp4")
    assert info.conformed == (1,) and (info.frames, info.seconds) == (120, 4.0)
    assert (info.copied_frames, info.encoded_frames) == (90, 30)
    frames = decode_rgb(info.path)
    assert len(frames) == 120 and all(f.shape == (180, 320, 3) for f in frames)
    shot = frames[75]
    assert shot[:, :68].max() < 24 and shot[:, -68:].max() < 24  # pillarboxed, 70 px each side
    assert np.abs(shot[:, 70:250] - decode_rgb(square)[15]).mean() < 3  # same picture, colours
    samples, rate = decode_sound(info.path)
    assert samples.size / rate == pytest.approx(4.0, abs=0.05)


def test_sound_in_another_format_is_reencoded_to_the_films(story, tmp_path):
    mono = write_clip(tmp_path / "mono.mp4", panning(picture(7), FPS), tone_hz=660,
                      rate=44_100, layout="mono")
    info = assemble([story["one"], mono, story["three"]], tmp_path / "film.mp4")
    assert info.sound_transcoded == (1,) and info.copied_frames == 120
    with av.open(str(info.path)) as container:
        audio = container.streams.audio[0].codec_context
        assert (audio.name, audio.sample_rate, audio.layout.nb_channels) == ("aac", 48_000, 2)
    samples, rate = decode_sound(info.path)
    assert samples.size / rate == pytest.approx(4.0, abs=0.05)
    assert _hz(samples, rate, 2.05, 2.95) == pytest.approx(660, abs=15)
    assert _hz(samples, rate, 3.05, 3.95) == pytest.approx(880, abs=15)


def test_an_in_point_between_keyframes_is_cut_exactly(story, decoded, tmp_path):
    info = assemble([Clip(story["one"], start=0.4), story["two"]], tmp_path / "film.mp4")
    assert (info.frames, info.seconds, info.shot_starts) == (78, 2.6, (0.0, 1.6))
    # Frames 12–14 of one are encoded up to its keyframe at 15, then copied.
    assert (info.copied_frames, info.encoded_frames) == (75, 3)
    frames = decode_rgb(info.path)
    one = decoded["one"]
    assert all(np.abs(frames[i] - one[12 + i]).mean() < 3 for i in range(3))
    assert all(np.array_equal(frames[3 + i], one[15 + i]) for i in range(45))


def test_the_film_starts_playing_before_it_has_loaded(story, tmp_path):
    info = assemble([story["one"], story["three"]], tmp_path / "film.mp4", transition="crossfade")
    head = info.path.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")  # fast start: the index comes first


@pytest.mark.parametrize(("clips", "kwargs", "field", "words"), [
    ([], {}, "clips", "at least one"),
    (["one", "broken"], {}, "clips[1]", "broken.mp4"),
    (["one", "two"], {"seams": []}, "seams", "1 for 2 clips"),
    (["one", "two"], {"transition": "wipe"}, "transition", "wipe"),
    (["one", "two"], {"seams": [Seam("crossfade", -1)]}, "seams[0]", "one frame"),
    (["one", "two"], {"transition": "crossfade", "crossfade_seconds": 0.01}, "seams[0]",
     "one frame"),
    (["one", "two", "three"], {"transition": "crossfade", "crossfade_seconds": 0.6},
     "seams[1]", "two.mp4"),
])
def test_unusable_input_is_refused_naming_it(story, tmp_path, clips, kwargs, field, words):
    (tmp_path / "broken.mp4").write_text("not a video")
    paths = [story.get(name, tmp_path / f"{name}.mp4") for name in clips]
    with pytest.raises(InvalidInput) as caught:
        assemble(paths, tmp_path / "film.mp4", **kwargs)
    assert caught.value.field == field and words in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4"]  # nothing left behind


@pytest.mark.parametrize("start", [1.5, -0.1, "0.5"])
def test_an_in_point_outside_the_clip_is_refused(story, tmp_path, start):
    with pytest.raises(InvalidInput) as caught:
        assemble([story["one"], Clip(story["two"], start=start)], tmp_path / "film.mp4")
    assert caught.value.field == "clips[1].start" and "two.mp4" in str(caught.value)
    assert not (tmp_path / "film.mp4").exists()


def test_a_first_clip_that_is_not_h264_is_refused(tmp_path):
    path = tmp_path / "mpeg4.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for index in range(3):
            frame = av.VideoFrame(320, 180, "yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(InvalidInput) as caught:
        assemble([path], tmp_path / "film.mp4")
    assert caught.value.field == "clips[0]" and "H.264" in str(caught.value)
