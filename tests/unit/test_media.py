"""Media rules: every refusal names the field and the rule; good files are described."""

from __future__ import annotations

import io
import math
import struct
import wave
import zlib
from pathlib import Path

import pytest
from PIL import Image

from client.errors import InvalidInput
from client.media import probe_audio, probe_image


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
    # A PNG header that claims 60000×60000 pixels.
    data = image_bytes(400, 400, "PNG", "L")
    ihdr = data.index(b"IHDR")
    fields = struct.pack(">II", 60000, 60000) + data[ihdr + 12: ihdr + 17]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + fields))
    bomb = data[: ihdr + 4] + fields + crc + data[ihdr + 21:]
    assert "far more pixels" in refuse_image(bomb)


def write_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = int(seconds * rate)
        w.writeframes(b"".join(struct.pack("<h", int(3000 * math.sin(i / 10))) for i in range(frames)))
    return path


def refuse_audio(path: Path) -> str:
    with pytest.raises(InvalidInput) as info:
        probe_audio(path)
    assert info.value.field == "audio"
    return info.value.rule


def test_wav_duration(tmp_path):
    info = probe_audio(write_wav(tmp_path / "a.wav", 4.0))
    assert info.format == "wav" and abs(info.seconds - 4.0) < 0.01


@pytest.mark.parametrize("seconds", [2.9, 30.1])
def test_audio_duration_limits(tmp_path, seconds):
    assert "3–30 s" in refuse_audio(write_wav(tmp_path / "a.wav", seconds))


def test_audio_not_wav_or_mp3(tmp_path):
    path = tmp_path / "a.ogg"
    path.write_bytes(b"OggS" + b"\0" * 100)
    assert "not WAV or MP3" in refuse_audio(path)


def test_audio_named_wrong(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(write_wav(tmp_path / "x.wav", 4).read_bytes())
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
    path = tmp_path / "quiet.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000 * 4)
    assert "silent" in refuse_audio(path)


def test_cmyk_and_16_bit_are_refused_palette_passes():
    assert "CMYK" in refuse_image(image_bytes(400, 400, "JPEG", "CMYK"))
    assert "16 or 32 bits" in refuse_image(image_bytes(400, 400, "PNG", "I;16"))
    assert probe_image(image_bytes(400, 400, "PNG", "P")).format == "PNG"
    palette_with_transparency = image_bytes(400, 400, "PNG", "P", transparency=0)
    assert "transparency" in refuse_image(palette_with_transparency)


def test_mp3_duration_and_mp3_named_wav(tmp_path):
    from tests.media_factory import write_encoded

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
