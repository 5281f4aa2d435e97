"""Check images, audio and video clips against the service's media rules before anything is
uploaded; the rules differ by role (first frame, last frame, driving audio, clip) and model."""

from __future__ import annotations

import io
import struct
import threading
import time
import warnings
import wave
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

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
VIDEO_FORMATS = ("mp4", "mov")
VIDEO_MIME = {"mp4": "video/mp4", "mov": "video/quicktime"}
# One audio probe decodes at most this much CPU time; the 30 s cap stops honest files far sooner.
AUDIO_DECODE_BUDGET_SECONDS = 1.0
# Encoder padding: a 30.0 s MP3 without a LAME tag decodes to a frame or two more.
_DURATION_SLACK_SECONDS = 0.05
PROBE_CACHE_SIZE = 64  # files whose probe outcome is remembered, per kind
probe_counts: Counter[str] = Counter()  # probes really run ("image", "audio", "video"), for tests

_FLATTEN_ADVICE = ("save it as JPEG, or flatten it onto a solid background in an image editor "
                   "(\"remove alpha channel\")")


@dataclass(frozen=True)
class ImageRules:
    """What one role's picture must be: side lengths, file size and, when set, aspect ratio."""

    min_side: int
    max_side: int
    max_bytes: int
    max_aspect: float | None = None  # longer side ÷ shorter side; None: any shape


LEGACY_IMAGE = ImageRules(IMAGE_MIN_SIDE, IMAGE_MAX_SIDE, IMAGE_MAX_BYTES)  # wan2.6 and earlier
MEDIA_IMAGE = ImageRules(240, 8000, 20 * 1024 * 1024, 8.0)  # wan2.7 first_frame / last_frame
KF2V_IMAGE = ImageRules(360, 2000, 10 * 1024 * 1024)  # first-and-last-frame models


@dataclass(frozen=True)
class AudioRules:
    min_seconds: float
    max_seconds: float
    max_bytes: int = AUDIO_MAX_BYTES


LEGACY_AUDIO = AudioRules(AUDIO_MIN_SECONDS, AUDIO_MAX_SECONDS)  # wan2.5/2.6 audio_url
DRIVING_AUDIO = AudioRules(2.0, 30.0)  # wan2.7 driving_audio


@dataclass(frozen=True)
class VideoRules:
    min_seconds: float
    max_seconds: float
    min_side: int
    max_side: int
    max_aspect: float
    max_bytes: int


CLIP_RULES = VideoRules(2.0, 10.0, 240, 4096, 8.0, VIDEO_MAX_BYTES)  # wan2.7 first_clip


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


@dataclass(frozen=True)
class VideoInfo:
    format: str  # mp4 / mov
    width: int  # as stored (a rotation flag is not applied)
    height: int
    seconds: float
    size_bytes: int
    has_audio: bool
    codec: str  # the decoder's name: h264, hevc, prores, …

    @property
    def mime(self) -> str:
        return VIDEO_MIME[self.format]


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _limit(n: int) -> str:
    return f"{n // (1024 * 1024)} MB"


def _aspect_rule(width: int, height: int, max_aspect: float) -> str | None:
    """The refusal of a shape outside 1:max_aspect to max_aspect:1, or None when it fits."""
    if max(width, height) <= max_aspect * min(width, height):
        return None
    ratio = max(width, height) / min(width, height)
    shape = f"1:{ratio:.1f}" if height > width else f"{ratio:.1f}:1"
    bound = f"{max_aspect:g}"
    return (f"the shape is {width}×{height} px ({shape}); it must be between 1:{bound} and "
            f"{bound}:1, so crop it")


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def probe_image(data: bytes | Path, field: str = "image",
                rules: ImageRules = LEGACY_IMAGE) -> ImageInfo:
    """Validate an image the way the service will for one role (`rules`), and describe it.
    Never decodes a huge image.

    A file's outcome is remembered (the file, its size, mtime and rules), so a preview and
    Generate probe once.
    """
    if isinstance(data, Path):
        return _image_file(data, field, rules)
    return _probe_image(data, field, rules)


def _probe_image(data: bytes | Path, field: str, rules: ImageRules) -> ImageInfo:
    probe_counts["image"] += 1
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    if size > rules.max_bytes:  # checked before reading: a huge file is never loaded
        raise InvalidInput(field, f"the file is {_mb(size)}, over the {_limit(rules.max_bytes)} "
                                  "limit; save it as JPEG or make it smaller")
    raw = data.read_bytes() if isinstance(data, Path) else data
    if len(raw) == 0:
        raise InvalidInput(field, "the file is empty (0 bytes); choose the picture again")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput(field, "the picture claims far more pixels than allowed (each side "
                                  f"{rules.min_side}–{rules.max_side} px)") from None
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
    _check_sides(field, width, height, rules.min_side, rules.max_side, "resize or crop it")
    if rules.max_aspect is not None and (refusal := _aspect_rule(width, height, rules.max_aspect)):
        raise InvalidInput(field, refusal)
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


def _check_sides(field: str, width: int, height: int, low: int, high: int, fix: str) -> None:
    for side, value in (("width", width), ("height", height)):
        if not low <= value <= high:
            raise InvalidInput(field, f"the {side} is {value} px; each side must be "
                                      f"{low}–{high} px, so {fix}")


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


def probe_audio(path: Path, field: str = "audio", *, cache: bool = True,
                rules: AudioRules = LEGACY_AUDIO) -> AudioInfo:
    """Validate an audio file (wav/mp3, ≤ 15 MB, 3–30 s or the `rules`' length) and describe it.

    The duration comes from the decoded samples, in one pass that also looks for sound and stops
    as soon as the audio passes the longest length, so a header that lies about its length is
    refused quickly. With `cache` the outcome per file is remembered (the file, its size, mtime,
    rules).
    """
    return _audio_file(path, field, rules) if cache else _probe_audio(path, field, rules)


def _probe_audio(path: Path, field: str, rules: AudioRules) -> AudioInfo:
    probe_counts["audio"] += 1
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(field, "the file is empty (0 bytes); choose the audio again")
    if size > rules.max_bytes:
        raise InvalidInput(field, f"the file is {_mb(size)}, over the {_limit(rules.max_bytes)} "
                                  "limit; shorten it or save it as MP3")
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
        seconds, silent = _decode_audio(path, fmt, field, rules)
    except InvalidInput:
        raise
    except Exception:
        raise InvalidInput(field, f"the {fmt.upper()} file is damaged and cannot be read; "
                                  "export it again") from None
    if seconds < rules.min_seconds:
        raise InvalidInput(field, f"the audio lasts {seconds:.1f} s; it must last "
                                  f"{_span(rules)}, so choose a longer recording")
    if silent:
        raise InvalidInput(field, "the audio is completely silent; choose a recording with "
                                  "sound, or leave the audio out")
    return AudioInfo(fmt, round(seconds, 3), size)


SILENCE_PEAK = 0.001  # -60 dBFS


def _span(rules: AudioRules | VideoRules) -> str:
    return f"{rules.min_seconds:g}–{rules.max_seconds:g} s"


def _too_long(field: str, rules: AudioRules) -> InvalidInput:
    return InvalidInput(field, f"the audio lasts more than {rules.max_seconds:g} s; it must last "
                               f"{_span(rules)}, so trim it")


def _decode_audio(path: Path, fmt: str, field: str, rules: AudioRules) -> tuple[float, bool]:
    """(seconds, silent) from the decoded samples; refuses once past the limit or over budget."""
    longest = rules.max_seconds + _DURATION_SLACK_SECONDS
    pcm = _pcm_wav(path, longest) if fmt == "wav" else None
    if pcm is not None:
        frames, rate = pcm
        if frames.shape[0] / rate > longest:
            raise _too_long(field, rules)
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
            if seconds > longest:
                raise _too_long(field, rules)
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


def _pcm_wav(path: Path, longest: float):  # -> (samples in [-1, 1], rate), or None: not PCM
    import numpy as np

    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            frames = w.readframes(int(longest * rate) + 1)  # never more than the limit allows
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


# --- video clips --------------------------------------------------------------------------------

# ftyp brands of still pictures (HEIF, AVIF), which share the MP4 box format.
_PICTURE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_MAX_TOP_BOXES = 10_000  # a real file has a handful, a finely fragmented one a few hundred
_NOT_VIDEO = "this is not an MP4 or MOV video; convert it to MP4 (H.264)"
_DAMAGED_VIDEO = "the video is damaged or cut short; export it again as MP4 (H.264)"


def probe_video(data: bytes | Path, field: str = "first_clip",
                rules: VideoRules = CLIP_RULES) -> VideoInfo:
    """Validate a clip (MP4/MOV, ≤ 100 MB, 2–10 s, sides 240–4096 px, 1:8 to 8:1) and describe it.

    Reads the container's boxes and stream headers only and never decodes a frame, so a 100 MB
    clip is probed in milliseconds. A file's outcome is remembered (the file, its size, mtime,
    rules).
    """
    if isinstance(data, Path):
        return _video_file(data, field, rules)
    return _probe_video(data, field, rules)


def _probe_video(data: bytes | Path, field: str, rules: VideoRules) -> VideoInfo:
    probe_counts["video"] += 1
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    if size == 0:
        raise InvalidInput(field, "the file is empty (0 bytes); choose the video again")
    if size > rules.max_bytes:  # checked before opening: a huge file is never read
        raise InvalidInput(field, f"the file is {_mb(size)}, over the {_limit(rules.max_bytes)} "
                                  "limit; shorten it or export it at a lower bitrate")
    with data.open("rb") if isinstance(data, Path) else io.BytesIO(data) as f:
        fmt = _video_container(f, size, field)
        f.seek(0)
        width, height, seconds, has_audio, codec = _video_headers(f, field, rules)
    _check_sides(field, width, height, rules.min_side, rules.max_side, "export it at another size")
    if refusal := _aspect_rule(width, height, rules.max_aspect):
        raise InvalidInput(field, refusal)
    if seconds < rules.min_seconds:
        raise InvalidInput(field, f"the video lasts {seconds:.1f} s; it must last "
                                  f"{_span(rules)}, so choose a longer clip")
    if seconds > rules.max_seconds + _DURATION_SLACK_SECONDS:
        raise InvalidInput(field, f"the video lasts {seconds:.1f} s; it must last "
                                  f"{_span(rules)}, so trim it")
    return VideoInfo(fmt, width, height, round(seconds, 3), size, has_audio, codec)


def _video_container(f: IO[bytes], size: int, field: str) -> str:
    """"mp4" or "mov" from the ftyp box; refuses a file that is neither, or whose top-level boxes
    run past its end (cut short) or hold no movie header (moov)."""
    head = f.read(12)
    if len(head) < 12 or head[4:8] != b"ftyp" or head[8:12] in _PICTURE_BRANDS:
        raise InvalidInput(field, _NOT_VIDEO, VIDEO_FORMATS)
    offset, kinds = 0, []
    while size - offset >= 8:  # fewer bytes than a box header at the end: padding, ignored
        if len(kinds) == _MAX_TOP_BOXES:
            raise InvalidInput(field, _DAMAGED_VIDEO)
        f.seek(offset)
        header = f.read(16)
        box, kind = struct.unpack(">I4s", header[:8])
        if box == 1 and len(header) == 16:  # a 64-bit size follows the type
            box = struct.unpack(">Q", header[8:])[0]
        elif box == 0:  # the last box, running to the end of the file
            box = size - offset
        if box < 8 or offset + box > size:
            raise InvalidInput(field, _DAMAGED_VIDEO)
        kinds.append(kind)
        offset += box
    if b"moov" not in kinds:
        raise InvalidInput(field, _DAMAGED_VIDEO)
    return "mov" if head[8:12] == b"qt  " else "mp4"


def _video_headers(f: IO[bytes], field: str,
                   rules: VideoRules) -> tuple[int, int, float, bool, str]:
    """(width, height, seconds, has audio, codec) from the movie header, decoding nothing."""
    import av  # kept off the import path of the client

    try:
        # skip_frame: the decoder is opened to read its parameters but decodes no picture;
        # probesize: stream details come from the movie header, not from reading ahead.
        with av.open(f, format="mov", options={"skip_frame": "all", "probesize": "32"}) as box:
            if not box.streams.video:
                raise InvalidInput(field, "the file holds sound only, no picture; choose a video")
            stream = box.streams.video[0]
            if stream.codec_context is None:
                raise InvalidInput(field, "the video's codec cannot be read; export it again as "
                                          "MP4 (H.264)")
            seconds = _header_seconds(box, stream) or _packet_seconds(box, stream, field, rules)
            return (stream.width, stream.height, seconds, bool(box.streams.audio),
                    stream.codec_context.name)
    except (av.FFmpegError, OSError, ValueError):
        raise InvalidInput(field, _DAMAGED_VIDEO) from None


def _header_seconds(box: Any, stream: Any) -> float:
    """The video track's length from its header, else the movie's; 0 when neither says."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    return box.duration / 1_000_000 if box.duration else 0.0  # AV_TIME_BASE units


def _packet_seconds(box: Any, stream: Any, field: str, rules: VideoRules) -> float:
    """The length from the packets' timestamps (demuxed, not decoded), for a header that does not
    say; stops as soon as it passes the longest length allowed."""
    start, end = None, 0.0
    for packet in box.demux(stream):
        if packet.pts is None:
            continue
        begin = float(packet.pts * stream.time_base)
        start = begin if start is None else min(start, begin)
        end = max(end, float((packet.pts + packet.duration) * stream.time_base))
        if end - start > rules.max_seconds + _DURATION_SLACK_SECONDS:
            raise InvalidInput(field, f"the video lasts more than {rules.max_seconds:g} s; it "
                                      f"must last {_span(rules)}, so trim it")
    return end - start if start is not None else 0.0


# --- one probe per file ------------------------------------------------------------------------

Info = TypeVar("Info", ImageInfo, AudioInfo, VideoInfo)
Rules = TypeVar("Rules", ImageRules, AudioRules, VideoRules)


@dataclass(frozen=True)
class _Refusal:
    rule: str
    allowed: Any


def _remembered(
    probe: Callable[[Path, str, Rules], Info],
) -> Callable[[Path, str, Rules], Info]:
    """probe(path, field, rules) with its outcome, a description or a refusal, kept per file and
    rules (one file may pass as a wan2.7 frame and fail as a legacy one)."""

    kept: OrderedDict[tuple[Any, ...], Info | _Refusal] = OrderedDict()
    lock = threading.Lock()

    def remembered(path: Path, field: str, rules: Rules) -> Info:
        stat = path.stat()
        # By the file itself, not its name: a hard link to it (the studio keeps uploads so) is
        # the same file and needs no second probe.
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, rules)
        with lock:
            result = kept.get(key)
            if result is not None:
                kept.move_to_end(key)
        if result is None:
            try:
                result = probe(path, "", rules)
            except InvalidInput as exc:
                result = _Refusal(exc.rule, exc.allowed)
            with lock:
                kept[key] = result
                while len(kept) > PROBE_CACHE_SIZE:
                    kept.popitem(last=False)
        if isinstance(result, _Refusal):
            raise InvalidInput(field, result.rule, result.allowed)
        return result

    _caches.append(kept.clear)
    return remembered


_caches: list[Callable[[], None]] = []
_image_file = _remembered(_probe_image)
_audio_file = _remembered(_probe_audio)
_video_file = _remembered(_probe_video)


def clear_probe_cache() -> None:
    """Forget every remembered probe outcome (tests start from a clean slate)."""
    for clear in _caches:
        clear()
