"""Media rules: every refusal names the field and the rule; good files are described."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from client import media
from client.errors import InvalidInput
from client.media import (
    CLIP_RULES,
    DRIVING_AUDIO,
    KF2V_IMAGE,
    LEGACY_IMAGE,
    MEDIA_IMAGE,
    probe_audio,
    probe_image,
    probe_video,
)
from tests.media_factory import (
    png_claiming,
    write_clip,
    write_encoded,
    write_padded_clip,
    write_wav,
)


def image_bytes(w: int, h: int, fmt: str = "JPEG", mode: str = "RGB", **save) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), (200, 80, 40) if mode == "RGB" else None).save(buf, fmt, **save)
    return buf.getvalue()


def refuse_image(data: bytes) -> str:
    with pytest.raises(InvalidInput) as info:
        probe_image(data)
    assert info.value.field == "image"
    return info.value.rule


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "WEBP"])
def test_accepted_formats(fmt):
    info = probe_image(image_bytes(640, 480, fmt))
    assert (info.format, info.width, info.height) == (fmt, 640, 480)


def test_empty_and_garbage():
    assert "empty" in refuse_image(b"")
    assert "not a picture" in refuse_image(b"hello, I am text")


def test_gif_is_refused():
    assert "GIF" in refuse_image(image_bytes(400, 400, "GIF"))


def test_alpha_is_refused_with_advice():
    rule = refuse_image(image_bytes(400, 400, "PNG", "RGBA"))
    assert "transparency" in rule and "flatten" in rule


@pytest.mark.parametrize("w, h", [(359, 400), (400, 359), (2001, 400), (1, 50000)])
def test_side_limits(w, h):
    assert "360–2000 px" in refuse_image(image_bytes(w, h, "PNG", "L"))


def test_side_limits_pass_at_the_edges():
    assert probe_image(image_bytes(360, 2000, "PNG", "L")).height == 2000


def test_over_10_mb():
    assert "10 MB" in refuse_image(b"\xff" * (10 * 1024 * 1024 + 1))


def test_truncated_jpeg():
    data = image_bytes(800, 600, "JPEG", quality=95)
    assert "damaged" in refuse_image(data[: len(data) // 2])


def test_exif_rotation_swaps_sides():
    im = Image.new("RGB", (800, 400))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90°
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    info = probe_image(buf.getvalue())
    assert (info.width, info.height) == (400, 800)


def test_decompression_bomb_header_is_refused_without_decoding():
    assert "far more pixels" in refuse_image(png_claiming(60000, 60000))


def refuse_audio(path: Path) -> str:
    with pytest.raises(InvalidInput) as info:
        probe_audio(path)
    assert info.value.field == "audio"
    return info.value.rule


def test_wav_duration(tmp_path):
    info = probe_audio(write_wav(tmp_path / "a.wav", 4.0, rate=8000))
    assert info.format == "wav" and abs(info.seconds - 4.0) < 0.01


@pytest.mark.parametrize("seconds", [2.9, 30.1])
def test_audio_duration_limits(tmp_path, seconds):
    assert "3–30 s" in refuse_audio(write_wav(tmp_path / "a.wav", seconds, rate=8000))


def test_audio_not_wav_or_mp3(tmp_path):
    path = tmp_path / "a.ogg"
    path.write_bytes(b"OggS" + b"\0" * 100)
    assert "not WAV or MP3" in refuse_audio(path)


def test_audio_named_wrong(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(write_wav(tmp_path / "x.wav", 4, rate=8000).read_bytes())
    assert "rename it to .wav" in refuse_audio(path)


def test_audio_over_15_mb(tmp_path):
    path = tmp_path / "big.wav"
    with path.open("wb") as f:
        f.truncate(15 * 1024 * 1024 + 1)
    assert "15 MB" in refuse_audio(path)


def test_corrupt_wav_header(tmp_path):
    path = tmp_path / "bad.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    assert "damaged" in refuse_audio(path)


def test_silent_audio_is_refused(tmp_path):
    path = write_wav(tmp_path / "quiet.wav", 4, rate=8000, silent=True)
    assert "silent" in refuse_audio(path)


def test_cmyk_and_16_bit_are_refused_palette_passes():
    assert "CMYK" in refuse_image(image_bytes(400, 400, "JPEG", "CMYK"))
    assert "16 or 32 bits" in refuse_image(image_bytes(400, 400, "PNG", "I;16"))
    assert probe_image(image_bytes(400, 400, "PNG", "P")).format == "PNG"
    palette_with_transparency = image_bytes(400, 400, "PNG", "P", transparency=0)
    assert "transparency" in refuse_image(palette_with_transparency)


def test_mp3_duration_and_mp3_named_wav(tmp_path):
    mp3 = write_encoded(tmp_path / "song.mp3", 5.0, "mp3", "mp3")
    info = probe_audio(mp3)
    assert info.format == "mp3" and abs(info.seconds - 5.0) < 0.15
    renamed = tmp_path / "song.wav"
    renamed.write_bytes(mp3.read_bytes())
    assert "rename it to .mp3" in refuse_audio(renamed)


@pytest.mark.parametrize("codec, container, name", [("flac", "flac", "a.flac"), ("libopus", "ogg", "a.ogg")])
def test_flac_and_ogg_are_refused(tmp_path, codec, container, name):
    from tests.media_factory import write_encoded

    assert "not WAV or MP3" in refuse_audio(write_encoded(tmp_path / name, 4.0, codec, container))


# --- per-role image rules, driving audio, first clip (issue 13) --------------------------------


def refuse(probe, data, field: str = "first_frame", **kw) -> str:
    with pytest.raises(InvalidInput) as info:
        probe(data, field, **kw)
    assert info.value.field == field
    return info.value.rule


@pytest.mark.parametrize("w, h", [(240, 240), (8000, 1000), (1000, 8000), (240, 1920), (1920, 240)])
def test_media_image_sides_and_shape_pass_at_the_edges(w, h):
    info = probe_image(image_bytes(w, h, "PNG", "L"), "first_frame", MEDIA_IMAGE)
    assert (info.width, info.height) == (w, h)


@pytest.mark.parametrize("w, h, words", [
    (239, 400, "the width is 239 px; each side must be 240–8000 px"),
    (400, 239, "the height is 239 px"),
    (9000, 1200, "the width is 9000 px; each side must be 240–8000 px"),
    (1200, 8001, "the height is 8001 px"),
    (270, 2430, "270×2430 px (1:9.0); it must be between 1:8 and 8:1"),
    (2430, 270, "(9.0:1)"),
])
def test_media_image_refusals_name_the_rule(w, h, words):
    assert words in refuse(probe_image, image_bytes(w, h, "PNG", "L"), rules=MEDIA_IMAGE)


def test_media_image_allows_20_mb_and_legacy_keeps_10():
    padded = image_bytes(800, 600) + b"\0" * (15 * 1024 * 1024)  # JPEG decoders stop at EOI
    assert probe_image(padded, "first_frame", MEDIA_IMAGE).size_bytes == len(padded)
    assert "over the 10 MB limit" in refuse(probe_image, padded, "image")
    assert "over the 20 MB limit" in refuse(probe_image, b"\xff" * (20 * 1024 * 1024 + 1),
                                            rules=MEDIA_IMAGE)


def test_legacy_and_kf2v_images_keep_360_to_2000_px_and_no_shape_rule():
    assert LEGACY_IMAGE == KF2V_IMAGE and LEGACY_IMAGE.max_aspect is None
    sliver = image_bytes(360, 2000, "PNG", "L")  # 1:5.6
    assert probe_image(sliver, "last_frame_url", KF2V_IMAGE).height == 2000
    assert "each side must be 360–2000 px" in refuse(probe_image, image_bytes(300, 500, "PNG", "L"),
                                                     "last_frame_url", rules=KF2V_IMAGE)
    assert probe_image(image_bytes(300, 500, "PNG", "L"), "first_frame", MEDIA_IMAGE).width == 300


def test_a_file_is_remembered_per_rules(tmp_path):
    media.clear_probe_cache()
    path = tmp_path / "small.png"
    path.write_bytes(image_bytes(300, 300, "PNG", "L"))
    before = media.probe_counts["image"]
    assert probe_image(path, "first_frame", MEDIA_IMAGE).width == 300
    assert "360–2000 px" in refuse(probe_image, path, "image")  # not the wan2.7 outcome
    assert probe_image(path, "last_frame", MEDIA_IMAGE).width == 300
    assert media.probe_counts["image"] == before + 2


@pytest.mark.parametrize("seconds, accepted", [(2.0, True), (1.9, False), (30.0, True), (30.1, False)])
def test_driving_audio_lasts_2_to_30_s(tmp_path, seconds, accepted):
    path = write_wav(tmp_path / "drive.wav", seconds)
    if accepted:
        assert probe_audio(path, "driving_audio", rules=DRIVING_AUDIO).seconds == seconds
    else:
        assert "2–30 s" in refuse(probe_audio, path, "driving_audio", rules=DRIVING_AUDIO)


def test_legacy_audio_still_needs_3_s(tmp_path):
    path = write_wav(tmp_path / "two.wav", 2.5)
    assert "3–30 s" in refuse(probe_audio, path, "audio_url")
    assert probe_audio(path, "driving_audio", rules=DRIVING_AUDIO).seconds == 2.5


# first_clip

@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clips")
    write_clip(root / "ok.mp4", 4.0, audio=True)
    write_clip(root / "ok.mov", 3.0, container="mov")
    write_clip(root / "two.mp4", 2.0, fps=10)
    write_clip(root / "ten.mp4", 10.0, fps=5)
    write_clip(root / "one.mp4", 1.0, fps=10)
    write_clip(root / "twelve.mp4", 12.0, fps=5)
    write_clip(root / "wide.mp4", 2.0, 2160, 240, fps=5)  # 9:1
    write_clip(root / "narrow.mp4", 2.0, 240, 1920, fps=5)  # 1:8, the edge
    write_clip(root / "small.mp4", 2.0, 224, 240, fps=5)
    write_clip(root / "fragmented.mp4", 3.0, fps=10, movflags="frag_keyframe+empty_moov")
    return root


def test_mp4_and_mov_clips_are_described(clips):
    info = probe_video(clips / "ok.mp4")
    assert (info.format, info.width, info.height, info.codec, info.has_audio) == \
        ("mp4", 320, 240, "h264", True)
    assert info.seconds == pytest.approx(4.0, abs=0.03) and info.mime == "video/mp4"
    mov = probe_video(clips / "ok.mov")
    assert (mov.format, mov.mime, mov.has_audio) == ("mov", "video/quicktime", False)
    assert mov.seconds == pytest.approx(3.0, abs=0.03)
    assert probe_video((clips / "fragmented.mp4").read_bytes()).seconds == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize("name", ["two.mp4", "ten.mp4", "narrow.mp4"])
def test_clip_rules_pass_at_the_edges(clips, name):
    assert probe_video(clips / name).size_bytes == (clips / name).stat().st_size


@pytest.mark.parametrize("name, words", [
    ("one.mp4", "the video lasts 1.0 s; it must last 2–10 s, so choose a longer clip"),
    ("twelve.mp4", "the video lasts 12.0 s; it must last 2–10 s, so trim it"),
    ("wide.mp4", "2160×240 px (9.0:1); it must be between 1:8 and 8:1"),
    ("small.mp4", "the width is 224 px; each side must be 240–4096 px"),
])
def test_clip_refusals_name_the_rule(clips, name, words):
    assert words in refuse(probe_video, clips / name, "first_clip")


def test_clip_sides_over_4096_px_are_refused(tmp_path):
    wide = write_clip(tmp_path / "wide.mp4", 2.0, 4112, 1024, fps=5)
    assert "the width is 4112 px; each side must be 240–4096 px" in \
        refuse(probe_video, wide, "first_clip")


def test_empty_truncated_and_not_video_clips(clips, tmp_path):
    data = (clips / "ok.mp4").read_bytes()  # moov at the end, as PyAV writes it
    assert "empty" in refuse(probe_video, b"", "first_clip")
    assert "damaged or cut short" in refuse(probe_video, data[: len(data) // 2], "first_clip")
    assert "damaged or cut short" in refuse(probe_video, data[:40], "first_clip")
    faststart = write_clip(tmp_path / "fast.mp4", 3.0, movflags="+faststart").read_bytes()
    assert faststart.index(b"moov") < faststart.index(b"mdat")  # the header survives a cut…
    assert "damaged or cut short" in refuse(probe_video, faststart[:-1000], "first_clip")
    wav = write_wav(tmp_path / "sound.mp4", 3.0)  # a WAV renamed .mp4
    assert "not an MP4 or MOV video" in refuse(probe_video, wav, "first_clip")
    assert "not an MP4 or MOV video" in refuse(probe_video, image_bytes(640, 480), "first_clip")
    garbage = data[:12] + b"\x00\x00\x00\x10moovjunkjunk" + b"\x07" * 500
    assert "damaged or cut short" in refuse(probe_video, garbage, "first_clip")


def test_a_sound_only_mp4_is_refused(tmp_path):
    m4a = write_encoded(tmp_path / "voice.m4a", 3.0, "aac", "mp4")
    assert "sound only" in refuse(probe_video, m4a, "first_clip")


def test_a_header_without_a_length_is_measured_by_packet_timestamps(clips):
    def zero_lengths(data: bytes) -> bytes:
        out = bytearray(data)
        for box, at in ((b"mvhd", 20), (b"tkhd", 24), (b"mdhd", 20)):  # version-0 duration fields
            where = out.index(box) + at
            out[where:where + 4] = bytes(4)
        return bytes(out)

    assert probe_video(zero_lengths((clips / "two.mp4").read_bytes())).seconds == \
        pytest.approx(2.0, abs=0.11)
    long = zero_lengths((clips / "twelve.mp4").read_bytes())
    assert "lasts more than 10 s" in refuse(probe_video, long, "first_clip")


def test_a_clip_over_100_mb_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    import av

    path = tmp_path / "huge.mp4"
    with path.open("wb") as f:
        f.truncate(100 * 1024 * 1024 + 1)
    monkeypatch.setattr(av, "open", lambda *a, **k: pytest.fail("opened"))
    assert "over the 100 MB limit" in refuse(probe_video, path, "first_clip")


def _bytes_read() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar"))


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc")
def test_a_100_mb_clip_probe_reads_its_header_not_its_frames(tmp_path):
    path = write_padded_clip(tmp_path / "big.mp4", (100 * 1024 * 1024 - 65536) // 300)
    size = path.stat().st_size
    assert 99 * 1024 * 1024 < size <= CLIP_RULES.max_bytes
    assert size - path.read_bytes().rindex(b"moov") < 65536  # the header is at the very end
    media.clear_probe_cache()
    before = _bytes_read()
    info = probe_video(path)
    read = _bytes_read() - before
    assert (info.width, info.height, info.seconds) == (1920, 1080, 10.0)
    assert read < 2 * 1024 * 1024  # the boxes, the header and one frame's packet, of 100 MB


def test_clip_outcomes_are_remembered_and_name_each_callers_field(clips):
    media.clear_probe_cache()
    before = media.probe_counts["video"]
    assert probe_video(clips / "ok.mp4") == probe_video(clips / "ok.mp4", "media[0].url")
    for field in ("first_clip", "media[1].url"):
        assert "12.0 s" in refuse(probe_video, clips / "twelve.mp4", field)
    data = (clips / "two.mp4").read_bytes()
    probe_video(data)
    probe_video(data)  # bytes are not remembered
    assert media.probe_counts["video"] == before + 4


def test_the_example_assets_meet_the_rules_of_their_roles():
    assets = Path(__file__).resolve().parents[2] / "assets"
    for name in ("galaxies.jpg", "galaxies_close.jpg"):  # the first–last-frame pair
        assert probe_image((assets / name).read_bytes(), "last_frame", MEDIA_IMAGE).format == "JPEG"
        assert probe_image((assets / name).read_bytes(), "last_frame_url", KF2V_IMAGE).width >= 360
    clip = probe_video(assets / "rocket_rise.mp4")  # the continuation example
    assert (clip.format, clip.codec, clip.width, clip.height) == ("mp4", "h264", 624, 416)
    assert 2 <= clip.seconds <= 4 and clip.size_bytes < 400_000
