"""Check images and audio against the service's media rules before anything is uploaded."""

from __future__ import annotations

import io
import warnings
import wave
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .errors import InvalidInput

IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP")
IMAGE_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp", "WEBP": "image/webp"}
IMAGE_MIN_SIDE, IMAGE_MAX_SIDE = 360, 2000
IMAGE_MAX_BYTES = 10 * 1024 * 1024
AUDIO_FORMATS = ("wav", "mp3")
AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mpeg"}
AUDIO_MIN_SECONDS, AUDIO_MAX_SECONDS = 3.0, 30.0
AUDIO_MAX_BYTES = 15 * 1024 * 1024

_FLATTEN_ADVICE = ("save it as JPEG, or flatten it onto a solid background in an image editor "
                   "(\"remove alpha channel\")")


@dataclass(frozen=True)
class ImageInfo:
    format: str  # JPEG / PNG / BMP / WEBP
    width: int  # as displayed, after the EXIF orientation is applied
    height: int
    mode: str
    size_bytes: int

    @property
    def mime(self) -> str:
        return IMAGE_MIME[self.format]


@dataclass(frozen=True)
class AudioInfo:
    format: str  # wav / mp3
    seconds: float
    size_bytes: int

    @property
    def mime(self) -> str:
        return AUDIO_MIME[self.format]


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def probe_image(data: bytes | Path, field: str = "image") -> ImageInfo:
    """Validate an image the way the service will, and describe it. Never decodes a huge image."""
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    if size > IMAGE_MAX_BYTES:  # checked before reading: a huge file is never loaded
        raise InvalidInput(field, f"the file is {_mb(size)}, over the 10 MB limit; "
                                  "save it as JPEG or make it smaller")
    raw = data.read_bytes() if isinstance(data, Path) else data
    if len(raw) == 0:
        raise InvalidInput(field, "the file is empty (0 bytes); choose the picture again")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput(field, "the picture claims far more pixels than allowed (each side "
                                  f"{IMAGE_MIN_SIDE}–{IMAGE_MAX_SIDE} px)") from None
    except Exception:
        raise InvalidInput(field, "this is not a picture that can be read; use a JPEG, PNG, BMP "
                                  "or WEBP file", IMAGE_FORMATS) from None
    fmt = "JPEG" if im.format == "MPO" else (im.format or "")
    if fmt not in IMAGE_FORMATS:
        raise InvalidInput(field, f"{fmt or 'this'} pictures are not accepted", IMAGE_FORMATS)
    if getattr(im, "n_frames", 1) > 1:
        raise InvalidInput(field, "animated pictures are not accepted; use a single still frame")
    width, height = im.size
    if _is_rotated(im):
        width, height = height, width
    for side, value in (("width", width), ("height", height)):
        if not IMAGE_MIN_SIDE <= value <= IMAGE_MAX_SIDE:
            raise InvalidInput(field, f"the {side} is {value} px; each side must be "
                                      f"{IMAGE_MIN_SIDE}–{IMAGE_MAX_SIDE} px, so resize or crop it")
    if im.mode == "CMYK":
        raise InvalidInput(field, "the picture uses printing colours (CMYK); save it as an RGB "
                                  "JPEG or PNG")
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        raise InvalidInput(field, "the picture has 16 or 32 bits per channel; save it with "
                                  "8 bits per channel (a normal JPEG or PNG)")
    if _has_alpha(im):
        raise InvalidInput(field, "the picture has transparency (an alpha channel), which the "
                                  "service refuses; " + _FLATTEN_ADVICE)
    try:
        im.load()
    except Exception:
        raise InvalidInput(field, "the picture is damaged or cut short; export it again") from None
    return ImageInfo(fmt, width, height, im.mode, len(raw))


def _is_rotated(im: Image.Image) -> bool:
    """True when EXIF says the picture is shown turned by 90° (orientations 5–8)."""
    try:
        return im.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except Exception:
        return False


def _sniff_audio(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def audio_seconds(path: Path, fmt: str) -> float:
    """Duration in seconds. WAV from its header; MP3 by reading its frames with PyAV."""
    if fmt == "wav":
        try:
            with wave.open(str(path), "rb") as w:
                return w.getnframes() / float(w.getframerate())
        except wave.Error:
            pass  # float or extensible WAV: the stdlib reads only plain PCM; PyAV reads the rest
    import av  # only MP3 needs a real demuxer; keep it off the import path of the client

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return container.duration / 1_000_000
        return sum(float(p.duration * p.time_base) for p in container.demux(stream) if p.duration)


def probe_audio(path: Path, field: str = "audio") -> AudioInfo:
    """Validate an audio file (wav/mp3, 3–30 s, ≤ 15 MB) and describe it."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(field, "the file is empty (0 bytes); choose the audio again")
    if size > AUDIO_MAX_BYTES:
        raise InvalidInput(field, f"the file is {_mb(size)}, over the 15 MB limit; "
                                  "shorten it or save it as MP3")
    with path.open("rb") as f:
        fmt = _sniff_audio(f.read(16))
    if fmt is None:
        raise InvalidInput(field, "this is not WAV or MP3 audio; convert it to MP3 or WAV",
                           AUDIO_FORMATS)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in AUDIO_FORMATS and suffix != fmt:
        raise InvalidInput(field, f"the file is named .{suffix} but holds {fmt.upper()} audio; "
                                  f"rename it to .{fmt}")
    try:
        seconds = audio_seconds(path, fmt)
    except Exception:
        raise InvalidInput(field, f"the {fmt.upper()} file is damaged and cannot be read; "
                                  "export it again") from None
    if not AUDIO_MIN_SECONDS <= seconds <= AUDIO_MAX_SECONDS:
        raise InvalidInput(field, f"the audio lasts {seconds:.1f} s; it must last "
                                  f"{AUDIO_MIN_SECONDS:g}–{AUDIO_MAX_SECONDS:g} s, so trim it")
    if _is_silent(path, fmt):
        raise InvalidInput(field, "the audio is completely silent; choose a recording with "
                                  "sound, or leave the audio out")
    return AudioInfo(fmt, seconds, size)


SILENCE_PEAK = 0.001  # -60 dBFS


def _is_silent(path: Path, fmt: str) -> bool:
    """True when no sample rises above -60 dBFS."""
    samples = _pcm_wav_samples(path) if fmt == "wav" else None
    if samples is not None:
        return samples.size == 0 or float(abs(samples).max()) < SILENCE_PEAK
    import av  # MP3, float or extensible WAV

    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            data = frame.to_ndarray()
            scale = 1.0 if data.dtype.kind == "f" else float(2 ** (8 * data.dtype.itemsize - 1))
            if data.size and float(abs(data).max()) / scale >= SILENCE_PEAK:
                return False
    return True


def _pcm_wav_samples(path: Path):  # -> numpy array in [-1, 1], or None when not plain PCM
    import numpy as np

    try:
        with wave.open(str(path), "rb") as w:
            width, frames = w.getsampwidth(), w.readframes(w.getnframes())
    except wave.Error:
        return None
    if width == 1:
        return (np.frombuffer(frames, np.uint8).astype(np.float32) - 128) / 128.0
    if width in (2, 4):
        dtype = "<i2" if width == 2 else "<i4"
        return np.frombuffer(frames, dtype) / float(2 ** (8 * width - 1))
    return None
