"""Small media files made on the fly for tests: images, WAV and MP3/OGG/FLAC audio, MP4/MOV
clips."""

from __future__ import annotations

import functools
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


def write_plain_image(path: Path, w: int, h: int, fmt: str = "JPEG") -> Path:
    """A one-colour picture: cheap at any size (image_bytes' gradient costs 12 bytes a pixel),
    for the 9000 px and oddly shaped pictures of the limits' tests."""
    Image.new("RGB", (w, h), (40, 90, 160)).save(path, fmt)
    return path


def write_cut(path: Path, source: Path, fraction: float = 0.5) -> Path:
    """The first `fraction` of a file's bytes: a download or copy cut short."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
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


def wav_bytes(seconds: float, rate: int = 16000, silent: bool = False) -> bytes:
    """A mono 16-bit WAV: a 440 Hz tone, or silence."""
    samples = np.zeros(int(seconds * rate), np.float32) if silent else tone(seconds, rate)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def write_wav(path: Path, seconds: float, rate: int = 16000, silent: bool = False) -> Path:
    path.write_bytes(wav_bytes(seconds, rate, silent))
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


@functools.cache
def _clip_backdrop(width: int, height: int) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    return np.stack([np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)),
                     np.full((height, width), 96, np.float32)], axis=-1).astype(np.uint8)


def clip_picture(index: int, count: int, width: int, height: int) -> np.ndarray:
    """Frame `index` of `count` of write_clip's video as RGB: a gradient with a white bar that
    crosses it from left to right, so each frame's place in the clip shows in its pixels."""
    rgb = _clip_backdrop(width, height).copy()
    bar = max(2, width // 8)
    left = round(index / max(count - 1, 1) * (width - bar))
    rgb[:, left:left + bar] = 250
    return rgb


def write_clip(path: Path, seconds: float, width: int = 320, height: int = 240, fps: int = 30,
               audio: bool = False, container: str = "mp4", movflags: str = "") -> Path:
    """An H.264 clip made with PyAV (ultrafast, so small ones take milliseconds); `audio` adds an
    AAC 440 Hz tone as long as the video; container "mp4" or "mov" (ftyp brand "qt  ")."""
    import av

    count = round(seconds * fps)
    options = {"movflags": movflags} if movflags else {}
    with av.open(str(path), "w", format=container, options=options) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast"}
        sound = out.add_stream("aac", rate=48000, layout="mono") if audio else None
        for index in range(count):
            rgb = clip_picture(index, count, width, height)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            rate = 48000
            samples = tone(seconds, rate)
            for start in range(0, len(samples), 1024):
                chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="flt",
                                                   layout="mono")
                chunk.sample_rate, chunk.pts = rate, start
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


def write_padded_clip(path: Path, frame_bytes: int, seconds: int = 10, width: int = 1920,
                      height: int = 1080, fps: int = 30) -> Path:
    """A big but valid H.264 MP4 made in a blink: one grey intra frame repeated, each copy padded
    to `frame_bytes` with a filler NAL unit (which decoders skip). The movie header sits at the end
    of the file, after the frames, as a camera writes it."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast"}
        video.codec_context.gop_size = 1
        grey = av.VideoFrame(width, height, "yuv420p")
        for plane in grey.planes:
            np.frombuffer(plane, np.uint8)[:] = 128
        grey.pts = 0
        (encoded,) = video.encode(grey) + video.encode(None)
        pad = max(2, frame_bytes - len(bytes(encoded)) - 4)  # payload after the 4-byte length
        filler = pad.to_bytes(4, "big") + b"\x0c" + b"\xff" * (pad - 2) + b"\x80"
        data = bytes(encoded) + filler
        for index in range(seconds * fps):
            packet = av.Packet(data)
            packet.stream, packet.time_base = video, Fraction(1, fps)
            packet.pts = packet.dts = index
            packet.is_keyframe = True
            out.mux(packet)
    return path
