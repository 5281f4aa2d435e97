"""Check images and audio against the service's media rules before anything is uploaded."""

from __future__ import annotations

import functools
import io
import time
import warnings
import wave
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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
VIDEO_MAX_BYTES = 100 * 1024 * 1024  # a clip to continue (wan2.7 first_clip)
# One audio probe decodes at most this much CPU time; the 30 s cap stops honest files far sooner.
AUDIO_DECODE_BUDGET_SECONDS = 1.0
# Encoder padding: a 30.0 s MP3 without a LAME tag decodes to a frame or two more.
_DURATION_SLACK_SECONDS = 0.05
PROBE_CACHE_SIZE = 64  # files whose probe outcome is remembered, per kind
probe_counts: Counter[str] = Counter()  # probes really run ("image", "audio"), for tests

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
    """Validate an image the way the service will, and describe it. Never decodes a huge image.

    A file's outcome is remembered (path, size and mtime), so a preview and Generate probe once.
    """
    if isinstance(data, Path):
        return _image_file(data, field)
    return _probe_image(data, field)


def _probe_image(data: bytes | Path, field: str) -> ImageInfo:
    probe_counts["image"] += 1
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


def probe_audio(path: Path, field: str = "audio", *, cache: bool = True) -> AudioInfo:
    """Validate an audio file (wav/mp3, 3–30 s, ≤ 15 MB) and describe it.

    The duration comes from the decoded samples, in one pass that also looks for sound and stops
    as soon as the audio passes 30 s, so a header that lies about its length is refused quickly.
    With `cache` the outcome per file is remembered (path, size and mtime).
    """
    return _audio_file(path, field) if cache else _probe_audio(path, field)


def _probe_audio(path: Path, field: str) -> AudioInfo:
    probe_counts["audio"] += 1
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
        seconds, silent = _decode_audio(path, fmt, field)
    except InvalidInput:
        raise
    except Exception:
        raise InvalidInput(field, f"the {fmt.upper()} file is damaged and cannot be read; "
                                  "export it again") from None
    if seconds < AUDIO_MIN_SECONDS:
        raise InvalidInput(field, f"the audio lasts {seconds:.1f} s; it must last "
                                  f"{AUDIO_MIN_SECONDS:g}–{AUDIO_MAX_SECONDS:g} s, so trim it")
    if silent:
        raise InvalidInput(field, "the audio is completely silent; choose a recording with "
                                  "sound, or leave the audio out")
    return AudioInfo(fmt, round(seconds, 3), size)


SILENCE_PEAK = 0.001  # -60 dBFS
_LONGEST = AUDIO_MAX_SECONDS + _DURATION_SLACK_SECONDS


def _too_long(field: str) -> InvalidInput:
    return InvalidInput(field, f"the audio lasts more than {AUDIO_MAX_SECONDS:g} s; it must last "
                               f"{AUDIO_MIN_SECONDS:g}–{AUDIO_MAX_SECONDS:g} s, so trim it")


def _decode_audio(path: Path, fmt: str, field: str) -> tuple[float, bool]:
    """(seconds, silent) from the decoded samples; refuses once past 30 s or over budget."""
    pcm = _pcm_wav(path) if fmt == "wav" else None
    if pcm is not None:
        frames, rate = pcm
        if frames.shape[0] / rate > _LONGEST:
            raise _too_long(field)
        return frames.shape[0] / rate, frames.size == 0 or float(abs(frames).max()) < SILENCE_PEAK
    import av  # MP3, float or extensible WAV; kept off the import path of the client

    started, seconds, peak = time.thread_time(), 0.0, 0.0
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue  # one broken frame: decoders skip it, and so does the service
            for frame in frames:
                seconds += frame.samples / frame.sample_rate
                if peak < SILENCE_PEAK:
                    peak = max(peak, _peak(frame.to_ndarray()))
            if seconds > _LONGEST:
                raise _too_long(field)
            if time.thread_time() - started > AUDIO_DECODE_BUDGET_SECONDS:
                raise InvalidInput(field, "the audio takes too long to read; export it again as "
                                          "a plain MP3 or WAV")
    if seconds == 0:
        raise ValueError("no audio decoded")
    return seconds, peak < SILENCE_PEAK


def _peak(data: Any) -> float:
    """The loudest sample of a decoded frame, in [0, 1]."""
    if not data.size:
        return 0.0
    scale = 1.0 if data.dtype.kind == "f" else float(2 ** (8 * data.dtype.itemsize - 1))
    return float(abs(data).max()) / scale


def _pcm_wav(path: Path):  # -> (samples in [-1, 1], frame rate), or None when not plain PCM
    import numpy as np

    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            frames = w.readframes(int(_LONGEST * rate) + 1)  # never more than the limit allows
    except (wave.Error, EOFError):
        return None
    if width == 1:
        samples = (np.frombuffer(frames, np.uint8).astype(np.float32) - 128) / 128.0
    elif width in (2, 4):
        dtype = "<i2" if width == 2 else "<i4"
        samples = np.frombuffer(frames, dtype) / float(2 ** (8 * width - 1))
    else:
        return None
    return samples[: len(samples) // channels * channels].reshape(-1, channels), float(rate)


# --- one probe per file ------------------------------------------------------------------------

Info = TypeVar("Info", ImageInfo, AudioInfo)


@dataclass(frozen=True)
class _Refusal:
    rule: str
    allowed: Any


def _remembered(probe: Callable[[Path, str], Info]) -> Callable[[Path, str], Info]:
    """probe(path, field) with its outcome, a description or a refusal, kept per file."""

    @functools.lru_cache(maxsize=PROBE_CACHE_SIZE)
    def outcome(path: str, size: int, mtime_ns: int) -> Info | _Refusal:
        try:
            return probe(Path(path), "")
        except InvalidInput as exc:
            return _Refusal(exc.rule, exc.allowed)

    def remembered(path: Path, field: str) -> Info:
        stat = path.stat()
        result = outcome(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if isinstance(result, _Refusal):
            raise InvalidInput(field, result.rule, result.allowed)
        return result

    _caches.append(outcome.cache_clear)
    return remembered


_caches: list[Callable[[], None]] = []
_image_file = _remembered(_probe_image)
_audio_file = _remembered(_probe_audio)


def clear_probe_cache() -> None:
    """Forget every remembered probe outcome (tests start from a clean slate)."""
    for clear in _caches:
        clear()
