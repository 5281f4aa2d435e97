"""Small media files made on the fly for tests: images, WAV and MP3/OGG/FLAC audio."""

from __future__ import annotations

import io
import math
import struct
import wave
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def image_bytes(w: int, h: int, fmt: str = "JPEG", mode: str = "RGB", **save) -> bytes:
    """A picture with some structure (a gradient and a disc), so renders show motion."""
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    rgb = np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)),
                    np.full((h, w), 128, np.float32)], axis=-1)
    yy, xx = np.ogrid[:h, :w]
    disc = (xx - w / 2) ** 2 + (yy - h / 2) ** 2 < (min(w, h) / 4) ** 2
    rgb[disc] = (240, 240, 60)
    im = Image.fromarray(rgb.astype(np.uint8), "RGB")
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def write_image(path: Path, w: int, h: int, fmt: str = "JPEG", mode: str = "RGB", **save) -> Path:
    path.write_bytes(image_bytes(w, h, fmt, mode, **save))
    return path


def png_claiming(w: int, h: int) -> bytes:
    """A valid small PNG whose header claims w × h pixels (a decompression bomb's header)."""
    data = image_bytes(400, 400, "PNG", "L")
    ihdr = data.index(b"IHDR")
    fields = struct.pack(">II", w, h) + data[ihdr + 12: ihdr + 17]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + fields))
    return data[: ihdr + 4] + fields + crc + data[ihdr + 21:]


def tone(seconds: float, rate: int = 16000, freq: float = 440.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * math.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, seconds: float, rate: int = 16000, silent: bool = False) -> Path:
    samples = np.zeros(int(seconds * rate), np.float32) if silent else tone(seconds, rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def write_encoded(path: Path, seconds: float, codec: str, container: str, rate: int = 44100) -> Path:
    """Audio encoded with PyAV: codec 'mp3', 'flac' or 'libopus' into 'mp3', 'flac' or 'ogg'."""
    import av

    samples = tone(seconds, rate)
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=48000 if codec == "libopus" else rate, layout="mono")
        frame_size = 1152
        for start in range(0, len(samples), frame_size):
            chunk = samples[start:start + frame_size][None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
