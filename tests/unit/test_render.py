"""The simulator's renderer: real H.264/AAC files of the promised size, length, motion and marks."""

from __future__ import annotations

import io
import itertools
import math
import random
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from client import catalog
from client.errors import InvalidInput
from client.simulator import render as rendering
from client.simulator.render import RenderJob, render
from tests.media_factory import wav_bytes

W480, H480 = 832, 464  # 480P output of a 16:9 input


def _picture(width: int, height: int, seed: int = 1) -> bytes:
    """A busy, photo-like JPEG: gradients, noise and discs, so any motion shows in the pixels."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([120 + 80 * np.sin(xs / width * 3), 100 + 60 * np.cos(ys / height * 4),
                     140 + 50 * np.sin((xs + ys) / (width + height) * 5)], -1)
    noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(noisy)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        cx, cy, r = rng.integers(0, width), rng.integers(0, height), rng.integers(8, height // 6)
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    buf = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(1)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _mp3(seconds: float, rate: int = 44_100) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="stereo")
        t = np.arange(int(seconds * rate)) / rate
        tone = (np.sin(2 * np.pi * 330 * t) * 0.4).astype(np.float32)
        for start in range(0, tone.size, 1152):
            chunk = np.ascontiguousarray(np.stack([tone[start:start + 1152]] * 2))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buf.getvalue()


@pytest.fixture(scope="module")
def landscape() -> bytes:
    return _picture(1200, 675)


def _probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        info = {
            "codec": video.codec_context.name, "pix_fmt": video.codec_context.pix_fmt,
            "rate": video.average_rate, "frames": video.frames,
            "size": (video.width, video.height),
            "seconds": float(video.duration * video.time_base),
            "audio": None if audio is None else {
                "codec": audio.codec_context.name,
                "seconds": float(audio.duration * audio.time_base)},
        }
        info["decoded"] = sum(1 for _ in container.decode(video=0))
    return info


def _luma_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.int16) for f in container.decode(video=0)]


def _frame_steps(path: Path) -> np.ndarray:
    frames = _luma_frames(path)
    return np.array([np.abs(a - b).mean() for a, b in itertools.pairwise(frames)])


def _audio_samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])


def _assert_clip(path: Path, size: tuple[int, int], seconds: int, audio: bool) -> dict:
    info = _probe(path)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["rate"] == 30
    assert info["frames"] == info["decoded"] == seconds * 30
    assert info["size"] == size
    assert info["seconds"] == pytest.approx(seconds, abs=0.1)
    if audio:
        assert info["audio"] is not None and info["audio"]["codec"] == "aac"
        assert info["audio"]["seconds"] == pytest.approx(info["seconds"], abs=0.1)
    else:
        assert info["audio"] is None
    return info


def test_single_shot_is_a_silent_h264_clip_of_the_exact_size_and_length(landscape, tmp_path):
    out = render(RenderJob(landscape, W480, H480, 3), tmp_path / "single.mp4")
    assert out == tmp_path / "single.mp4"
    _assert_clip(out, (W480, H480), 3, audio=False)


def test_portrait_input_is_cover_cropped_to_a_portrait_frame(tmp_path):
    portrait = _picture(540, 960)
    out = render(RenderJob(portrait, 464, 832, 2, seed=3), tmp_path / "portrait.mp4")
    _assert_clip(out, (464, 832), 2, audio=False)


def test_wide_input_is_cover_cropped_not_stretched_into_a_portrait_frame(tmp_path):
    bands = np.zeros((360, 640, 3), np.uint8)
    bands[:, :213, 0], bands[:, 213:427, 1], bands[:, 427:, 2] = 255, 255, 255  # red|green|blue
    png = io.BytesIO()
    Image.fromarray(bands).save(png, "PNG")
    for seed in range(4):  # push, pull, pan or tilt: every view stays inside the centre crop
        out = render(RenderJob(png.getvalue(), 176, 320, 1, seed=seed), tmp_path / "crop.mp4")
        with av.open(str(out)) as container:
            rgb = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
        for frame in (rgb[0], rgb[-1]):
            assert (frame[..., 1] > 200).mean() > 0.97 and frame[..., [0, 2]].max() < 60


def test_single_shot_moves_smoothly_without_cuts(landscape, tmp_path):
    for seed in range(3):
        steps = _frame_steps(render(RenderJob(landscape, W480, H480, 2, seed=seed),
                                    tmp_path / f"s{seed}.mp4"))
        assert steps.mean() > 0.2  # the camera moves
        assert steps.max() < 4 * np.median(steps) and steps.max() < 8


def test_multi_shot_cuts_hard_between_three_framings(landscape, tmp_path):
    steps = _frame_steps(render(RenderJob(landscape, W480, H480, 3, shot_type="multi"),
                                tmp_path / "multi.mp4"))
    spikes = np.flatnonzero(steps > 10 * np.median(steps))
    assert spikes.tolist() == [29, 59]  # cuts into frames 30 and 60: wide → medium → close-up


def test_seeds_choose_different_single_shot_moves():
    last_poses = {rendering.motion_for(RenderJob(b"x", 832, 464, 5, seed=seed))(5.0)
                  for seed in range(12)}
    assert len(last_poses) >= 4


def test_every_template_maps_to_a_motion():
    assert set(rendering.TEMPLATE_MOTIONS) == set(catalog.ALL_TEMPLATES)
    assert len(rendering.TEMPLATE_MOTIONS) == 26
    assert set(rendering._TEMPLATE_EFFECTS) <= set(catalog.ALL_TEMPLATES)  # no misspelt ids
    assert rendering.TEMPLATE_MOTIONS["flying"] is rendering.float_up
    assert rendering.TEMPLATE_MOTIONS["inflate"] is rendering.pulse
    assert rendering.TEMPLATE_MOTIONS["rotation"] is rendering.spin
    assert rendering.TEMPLATE_MOTIONS["squish"] is rendering.squash
    assert rendering.TEMPLATE_MOTIONS["dissolve"] is rendering.dissolve
    assert rendering.TEMPLATE_MOTIONS["dance1"] is rendering.bounce
    for template, factory in rendering.TEMPLATE_MOTIONS.items():
        motion = factory(random.Random(0), 5.0)
        poses = [motion(i / 30) for i in range(150)]
        assert len(set(poses)) > 10, template
        assert all(p.zoom >= 1 and 0 <= p.sx <= 1.5 and 0 < p.sy <= 1.5 for p in poses), template


@pytest.mark.parametrize("template", ["flying", "inflate", "rotation", "squish", "dissolve", "hug"])
def test_templates_render_a_moving_clip(landscape, template, tmp_path):
    out = render(RenderJob(landscape, W480, H480, 2, template=template), tmp_path / "t.mp4")
    _assert_clip(out, (W480, H480), 2, audio=False)
    frames = _luma_frames(out)
    assert np.abs(frames[0] - frames[45]).mean() > 2


def test_flying_lifts_the_picture_and_leaves_the_floor():
    motion = rendering.TEMPLATE_MOTIONS["flying"](random.Random(0), 5.0)
    assert motion(4.0).y < motion(0.0).y - 0.1  # up is smaller y
    assert 0 < motion(4.0).shadow < motion(0.0).shadow


def test_rotation_shows_the_mirrored_back_half_way():
    motion = rendering.TEMPLATE_MOTIONS["rotation"](random.Random(0), 5.0)
    poses = [motion(i / 30) for i in range(150)]
    assert any(p.mirror for p in poses) and not poses[0].mirror
    assert min(p.sx for p in poses) < 0.1 < max(p.sx for p in poses)


@pytest.fixture(scope="module")
def plain_frames(landscape, tmp_path_factory) -> list[np.ndarray]:
    return _luma_frames(render(RenderJob(landscape, W480, H480, 2),
                               tmp_path_factory.mktemp("plain") / "plain.mp4"))


def _assert_marked_corner(plain: list[np.ndarray], marked: list[np.ndarray]) -> None:
    for before, after in ((plain[0], marked[0]), (plain[-1], marked[-1])):
        corner = np.abs(before[-60:, -160:] - after[-60:, -160:])
        assert corner.mean() > 5 and corner.max() > 60
        assert np.abs(before[:300, :600] - after[:300, :600]).mean() < 1.5


def test_watermark_marks_only_the_bottom_right_corner(landscape, plain_frames, tmp_path):
    marked = _luma_frames(render(RenderJob(landscape, W480, H480, 2, watermark=True),
                                 tmp_path / "marked.mp4"))
    _assert_marked_corner(plain_frames, marked)
    # All four characters are drawn: "AI" alone would be about one em wide.
    font_size = round(H480 * 0.045)
    assert rendering._watermark(W480, H480).planes[0].shape[1] > 2.5 * font_size


def test_watermark_font_has_every_glyph_of_the_mark():
    font = rendering._watermark_font(24)

    def glyph(character: str) -> bytes:
        canvas = Image.new("L", (32, 32))
        ImageDraw.Draw(canvas).text((2, 0), character, font=font, fill=255)
        return canvas.tobytes()

    # A character the font lacks draws its .notdef box, the same for every missing character.
    missing = glyph("\u2603")
    assert glyph("\u2604") == missing
    drawn = [glyph(character) for character in rendering.WATERMARK_TEXT]
    assert all(any(g) and g != missing for g in drawn) and len(set(drawn)) == len(drawn)
    # Raqm layout would depend on the system's libfribidi.
    assert font.layout_engine == ImageFont.Layout.BASIC


def test_watermark_reads_no_system_font(landscape, plain_frames, tmp_path, monkeypatch):
    # CI keeps the CJK fonts earlier runs installed, so hide them instead of relying on their
    # absence: Pillow looks fonts up by name under $XDG_DATA_HOME and $XDG_DATA_DIRS only.
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(empty))
    monkeypatch.setenv("XDG_DATA_DIRS", str(empty))
    opened: list[object] = []
    real_init = ImageFont.FreeTypeFont.__init__

    def recording_init(self: ImageFont.FreeTypeFont, font: object = None, *args: object,
                       **kwargs: object) -> None:
        opened.append(font)
        real_init(self, font, *args, **kwargs)

    monkeypatch.setattr(ImageFont.FreeTypeFont, "__init__", recording_init)
    rendering._watermark.cache_clear()
    rendering._watermark_font.cache_clear()
    marked = _luma_frames(render(RenderJob(landscape, W480, H480, 2, watermark=True),
                                 tmp_path / "marked.mp4"))
    _assert_marked_corner(plain_frames, marked)
    shipped = Path(rendering.__file__).parent / "fonts" / "NotoSansSC-watermark.otf"
    assert opened and all(Path(str(font)) == shipped for font in opened)
    assert "SIL Open Font License" in (shipped.parent / "OFL.txt").read_text()


def test_auto_sound_adds_an_audible_bed_as_long_as_the_video(landscape, tmp_path):
    out = render(RenderJob(landscape, W480, H480, 3, auto_sound=True), tmp_path / "bed.mp4")
    _assert_clip(out, (W480, H480), 3, audio=True)
    samples = _audio_samples(out)
    assert 0.05 < np.abs(samples).max() < 0.5  # audible, far from clipping
    assert np.sqrt(np.mean(samples[48_000:96_000] ** 2)) > 0.02


def test_a_short_wav_track_is_padded_with_silence(landscape, tmp_path):
    out = render(RenderJob(landscape, W480, H480, 3, audio_track=wav_bytes(1.5, 44_100)),
                 tmp_path / "wav.mp4")
    _assert_clip(out, (W480, H480), 3, audio=True)
    samples = _audio_samples(out)
    assert np.abs(samples[12_000:60_000]).max() > 0.2  # the track plays…
    assert np.abs(samples[84_000:140_000]).max() < 0.01  # …then silence to the end


def test_a_long_mp3_track_is_cut_to_the_duration(landscape, tmp_path):
    out = render(RenderJob(landscape, W480, H480, 2, audio_track=_mp3(6.0), template="poke"),
                 tmp_path / "mp3.mp4")
    _assert_clip(out, (W480, H480), 2, audio=True)
    assert np.abs(_audio_samples(out)[48_000:90_000]).max() > 0.2  # still playing at the end


def test_track_wins_over_auto_sound_and_silence_means_no_stream(landscape, tmp_path):
    out = render(RenderJob(landscape, W480, H480, 2, audio_track=wav_bytes(3.0, 44_100),
                           auto_sound=True), tmp_path / "both.mp4")
    window = _audio_samples(out)[24_000:72_000]
    power = np.abs(np.fft.rfft(window)) ** 2
    hertz = np.fft.rfftfreq(window.size, 1 / 48_000)
    assert power[(hertz > 435) & (hertz < 445)].sum() > 0.8 * power.sum()  # the 440 Hz test tone
    _assert_clip(render(RenderJob(landscape, W480, H480, 2), tmp_path / "mute.mp4"),
                 (W480, H480), 2, audio=False)


def test_sound_is_interleaved_with_the_picture_through_the_file(landscape, tmp_path):
    """The sound is encoded on a thread of its own; the file still alternates the two, so a
    player streaming it never waits on one stream for the other. 12 s: long enough that the
    muxer's own buffering cannot hide a sound muxed only at the end."""
    out = render(RenderJob(landscape, W480, H480, 12, auto_sound=True), tmp_path / "mix.mp4")
    latest = {"video": 0.0, "audio": 0.0}
    widest = 0.0
    with av.open(str(out)) as container:
        for packet in container.demux():
            if packet.size and packet.pts is not None:
                latest[packet.stream.type] = float(packet.pts * packet.time_base)
                widest = max(widest, abs(latest["video"] - latest["audio"]))
    assert latest["audio"] > 11.9 and latest["video"] > 11.9
    assert widest < 0.25


def test_a_render_failing_midway_stops_its_sound_thread_and_leaves_no_file(landscape, tmp_path,
                                                                           monkeypatch):
    drawn, count = rendering._Compositor.frame, itertools.count()

    def fail_at_frame_2(self, pose):
        if next(count) == 2:
            raise RuntimeError("drawing failed")
        return drawn(self, pose)

    monkeypatch.setattr(rendering._Compositor, "frame", fail_at_frame_2)
    out = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError, match="drawing failed"):
        render(RenderJob(landscape, W480, H480, 15, auto_sound=True), out)
    assert not out.exists()
    assert not [t for t in threading.enumerate() if t.name == "wan-render-audio"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"width": 830}, "width"), ({"height": 0}, "height"), ({"duration": 0}, "duration"),
    ({"shot_type": "triple"}, "shot_type"), ({"template": "moonwalk"}, "template"),
    ({"image": b"not a picture"}, "image"), ({"audio_track": b"not audio"}, "audio_track"),
])
def test_bad_jobs_are_refused_naming_the_field(landscape, changes, field, tmp_path):
    job = RenderJob(landscape, W480, H480, 2)
    for name, value in changes.items():
        setattr(job, name, value)
    with pytest.raises(InvalidInput) as caught:
        render(job, tmp_path / "bad.mp4")
    assert caught.value.field == field
    assert not (tmp_path / "bad.mp4").exists()


def test_transparent_png_is_flattened_on_white(tmp_path):
    png = io.BytesIO()
    Image.new("RGBA", (640, 360), (255, 0, 0, 0)).save(png, "PNG")
    out = render(RenderJob(png.getvalue(), 320, 176, 1), tmp_path / "png.mp4")
    assert _luma_frames(out)[0].mean() > 230


# --- first → last frame, continuation, kf2v templates (issue 13) -------------------------------

def _png(width: int, height: int, seed: int) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(_picture(width, height, seed))).save(buf, "PNG")
    return buf.getvalue()


def _rgb_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_first_to_last_travels_to_the_last_picture_and_ends_on_it(landscape, tmp_path):
    last = _png(900, 700, seed=5)  # another picture, of another shape: it is cover-fitted
    out = render(RenderJob(landscape, W480, H480, 3, last_frame=last), tmp_path / "fl.mp4")
    _assert_clip(out, (W480, H480), 3, audio=False)
    frames = _rgb_frames(out)
    fitted = np.asarray(ImageOps.fit(Image.open(io.BytesIO(last)), (W480, H480),
                                     Image.Resampling.BILINEAR))
    assert _diff(frames[-1], fitted) < 4  # the final frame is the last picture
    # The first half is the camera move over the first picture, as without a last frame…
    plain = _rgb_frames(render(RenderJob(landscape, W480, H480, 3), tmp_path / "plain.mp4"))
    assert max(_diff(a, b) for a, b in zip(frames[:45], plain[:45])) < 1
    assert _diff(frames[0], fitted) > 20
    # …then it dissolves, step by step, into the last picture.
    distances = [_diff(frames[i], fitted) for i in (45, 55, 65, 75, 85)]
    assert distances == sorted(distances, reverse=True) and distances[-1] < distances[0] / 3
    assert max(_diff(a, b) for a, b in itertools.pairwise(frames[44:])) < 5  # no cut


def test_toward_last_weights_rise_from_half_way_to_exactly_one():
    poses = rendering.toward_last([rendering.Pose()] * 9)
    assert [p.toward for p in poses[:5]] == [0.0] * 5
    assert all(a.toward < b.toward for a, b in itertools.pairwise(poses[4:]))
    assert poses[-1].toward == 1.0
    assert rendering.toward_last([rendering.Pose()])[0].toward == 1.0


def _clip(tmp_path: Path, seconds: float = 2.0, fps: int = 30, **kw) -> Path:
    from tests.media_factory import write_clip

    return write_clip(tmp_path / f"clip{fps}.mp4", seconds, 320, 240, fps=fps, **kw)


def test_continuation_begins_with_the_clip_then_moves_on_from_its_last_frame(tmp_path):
    clip = _clip(tmp_path)
    out = render(RenderJob(b"", 320, 240, 4, first_clip=clip.read_bytes(),
                           audio_track=wav_bytes(6.0)),
                 tmp_path / "cont.mp4")
    _assert_clip(out, (320, 240), 4, audio=True)  # 120 frames: the 2 s clip is counted in
    frames, source = _rgb_frames(out), _rgb_frames(clip)
    assert len(source) == 60
    assert max(_diff(a, b) for a, b in zip(frames[:60], source)) < 4  # the clip, frame by frame
    assert _diff(frames[60], source[-1]) < 4  # the new part starts from the clip's last frame…
    assert _diff(frames[60], source[0]) > 15
    assert _diff(frames[60], frames[119]) > 5  # …and moves on (a push-in)
    assert np.abs(_audio_samples(out)[3 * 48_000:int(3.9 * 48_000)]).max() > 0.2  # sound to the end


def test_a_clip_at_another_rate_is_resampled_to_30_fps(tmp_path):
    clip = _clip(tmp_path, 2.0, fps=24)
    out = render(RenderJob(b"", 320, 240, 3, first_clip=clip), tmp_path / "24.mp4")  # a path
    frames, source = _rgb_frames(out), _rgb_frames(clip)
    assert len(frames) == 90 and len(source) == 48
    for index in range(60):  # output frame i shows the clip's latest frame due by i + ½ frame
        expected = math.ceil((index + 0.5) * 24 / 30) - 1
        nearest = min(range(48), key=lambda k: _diff(frames[index], source[k]))
        assert nearest == expected, index


def test_continuation_with_a_last_frame_ends_on_it(tmp_path):
    last = _png(640, 480, seed=7)
    out = render(RenderJob(b"", 320, 240, 4, first_clip=_clip(tmp_path).read_bytes(),
                           last_frame=last, watermark=False), tmp_path / "cl.mp4")
    frames = _rgb_frames(out)
    fitted = np.asarray(ImageOps.fit(Image.open(io.BytesIO(last)), (320, 240),
                                     Image.Resampling.BILINEAR))
    assert len(frames) == 120 and _diff(frames[-1], fitted) < 6  # H.264 loss on a noisy picture
    assert _diff(frames[75], fitted) > 15  # the dissolve starts half-way through the new part


def test_a_clip_of_another_shape_is_cover_fitted(tmp_path):
    from tests.media_factory import clip_picture, write_clip

    tall = write_clip(tmp_path / "tall.mp4", 2.0, 240, 320)  # portrait clip, landscape output
    out = render(RenderJob(b"", 320, 176, 3, first_clip=tall), tmp_path / "fit.mp4")
    _assert_clip(out, (320, 176), 3, audio=False)
    for index in (0, 59):  # the middle band of the clip's frames, scaled up, no bars
        drawn = Image.fromarray(clip_picture(index, 60, 240, 320))
        expected = np.asarray(ImageOps.fit(drawn, (320, 176), Image.Resampling.BILINEAR))
        assert _diff(_rgb_frames(out)[index], expected) < 4


@pytest.mark.parametrize(("changes", "field"), [
    ({"duration": 2}, "duration"),  # not longer than the 2 s clip
    ({"image": b"a picture too"}, "first_clip"),
    ({"template": "flying"}, "template"),
    ({"first_clip": b"RIFF\0\0\0\0WAVEfmt "}, "first_clip"),
    ({"last_frame": b""}, "last_frame"),
    ({"last_frame": b"not a picture"}, "last_frame"),
])
def test_bad_continuations_are_refused_naming_the_field(tmp_path, changes, field):
    job = RenderJob(b"", 320, 240, 3, first_clip=_clip(tmp_path).read_bytes())
    for name, value in changes.items():
        setattr(job, name, value)
    with pytest.raises(InvalidInput) as caught:
        render(job, tmp_path / "bad.mp4")
    assert caught.value.field == field
    assert not (tmp_path / "bad.mp4").exists()


KF2V = ("hanfu-1", "solaron", "magazine", "mech1", "mech2")


def test_each_kf2v_template_has_a_motion_of_its_own():
    assert set(rendering.KF2V_TEMPLATE_MOTIONS) == set(KF2V)
    assert not set(KF2V) & set(rendering.TEMPLATE_MOTIONS)
    tracks = {}
    for template in (*KF2V, "dance1"):
        motion = rendering._MOTIONS[template](random.Random(0), 5.0)
        poses = [motion(i / 30) for i in range(150)]
        assert len(set(poses)) > 10, template
        assert all(p.zoom >= 1 and 0 <= p.sx <= 1.5 and 0 < p.sy <= 1.5 for p in poses), template
        tracks[template] = tuple(poses)
    assert len(set(tracks.values())) == len(tracks)  # no two alike, none the fallback bounce


@pytest.mark.parametrize("template", KF2V)
def test_kf2v_templates_render_a_moving_clip(landscape, template, tmp_path):
    out = render(RenderJob(landscape, W480, H480, 2, template=template), tmp_path / "k.mp4")
    _assert_clip(out, (W480, H480), 2, audio=False)
    frames = _luma_frames(out)
    assert max(np.abs(frames[0] - frames[i]).mean() for i in (20, 40, 59)) > 2


def test_the_worker_hands_last_frame_and_first_clip_to_the_renderer(tmp_path, monkeypatch):
    import time

    from client.request import VideoRequest
    from client.simulator.state import SimTask
    from client.simulator.worker import RenderInput, RenderWorker

    jobs: list[RenderJob] = []

    def recording(job: RenderJob, out: Path) -> Path:
        jobs.append(job)
        out.write_bytes(b"video")
        return out

    monkeypatch.setattr(rendering, "render", recording)
    model = "wan2.6-i2v-flash"
    task = SimTask("t", "a", catalog.MODELS[model], VideoRequest(model=model, duration=5), "r",
                   time.time(), pending_seconds=0, running_seconds=0)
    worker = RenderWorker(tmp_path, workers=1)
    try:
        worker.schedule(task, RenderInput(b"", 480, 480, b"RIFF", True, last_frame=b"last",
                                          first_clip=b"clip"))
        deadline = time.monotonic() + 10
        while task.video_path is None and task.render_error is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.shutdown()
    assert task.render_error is None and len(jobs) == 1
    job = jobs[0]
    assert (job.image, job.last_frame, job.first_clip, job.audio_track) == \
        (b"", b"last", b"clip", b"RIFF")
    assert (job.width, job.height, job.duration, job.auto_sound) == (480, 480, 5, True)


def test_every_camera_move_starts_on_the_whole_picture():
    """The service's first frame is the picture itself; a story's seams rely on it."""
    kinds = set()
    for seed in range(40):
        rng = random.Random(seed)
        motion = rendering.single_shot(rng, 5.0)
        start = motion(0.0)
        assert (start.zoom, start.cx, start.cy) == (1.0, 0.5, 0.5), seed
        kinds.add(random.Random(seed).choice(rendering.CAMERA_MOVES))
        assert motion(2.5) != start  # and then it moves
    assert kinds == set(rendering.CAMERA_MOVES)
