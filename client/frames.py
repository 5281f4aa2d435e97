"""What the next shot of a story starts from: the picture a video ends on (a first frame), or its
last seconds as a clip (a wan2.7 first_clip)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from . import film
from .errors import InvalidInput
from .media import IMAGE_MAX_BYTES

FIRST_CLIP_SECONDS = (2.0, 10.0)  # how long a clip wan2.7 continues may be
JPEG_QUALITY = 95  # only when a PNG would break the image size limit


def _from_last_keyframe(container: av.container.InputContainer, stream: av.VideoStream
                        ) -> Iterator[av.VideoFrame]:
    """The frames from the last keyframe on: the index takes the seek straight there."""
    end = (stream.start_time or 0) + (stream.duration or 2**62)
    container.seek(end, stream=stream, backward=True, any_frame=False)
    yield from container.decode(stream)


def _latest(frames: Iterable[av.VideoFrame]) -> av.VideoFrame | None:
    """The last frame in presentation order (decoding order differs where there are B-frames)."""
    return max(frames, key=lambda frame: -1 if frame.pts is None else frame.pts, default=None)


def last_frame(video: Path) -> Image.Image:
    """Exactly the video's final frame, at its size, as an RGB picture."""
    video = Path(video)
    try:
        with av.open(str(video)) as container:
            if not container.streams.video:
                raise film.unreadable("video", video, "it has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            frame = _latest(_from_last_keyframe(container, stream))
            if frame is None:  # no usable index: read it all
                container.seek(0)
                frame = _latest(container.decode(stream))
            if frame is None:
                raise film.unreadable("video", video, "its video stream has no frames")
            return frame.to_image()  # converted with the colours the video is tagged with
    except (av.FFmpegError, OSError) as exc:
        raise film.unreadable("video", video, str(exc)) from None


def _encoded(image: Image.Image, fmt: str, **options: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def save_last_frame(video: Path, dest: Path, *, max_bytes: int = IMAGE_MAX_BYTES) -> Path:
    """Write the final frame as a PNG (lossless, so the next shot starts from exactly that
    picture) at `dest` with the suffix .png, and return its path.

    A 1080P frame always fits the service's 10 MB image limit as PNG: even pure noise
    (1920 × 1080 × 3 bytes ≈ 6.2 MB) barely compresses past its raw size. Larger frames that do
    not fit are written as a JPEG of quality 95 (suffix .jpg) instead.
    """
    image = last_frame(video)
    path, data = Path(dest).with_suffix(".png"), _encoded(image, "PNG")
    if len(data) > max_bytes:
        path, data = path.with_suffix(".jpg"), _encoded(image, "JPEG", quality=JPEG_QUALITY)
    if len(data) > max_bytes:
        raise InvalidInput("last_frame", f"the final frame of {Path(video).name} "
                                         f"({image.width}×{image.height}) is {len(data)} bytes "
                                         f"even as a JPEG, over the {max_bytes}-byte limit; "
                                         "continue from a smaller video")
    path.write_bytes(data)
    return path


def tail_clip(video: Path, seconds: float, dest: Path) -> Path:
    """The video's last `seconds` (2–10, as wan2.7 takes a clip to continue) as an MP4 at `dest`.

    Packets are copied from the keyframe at or before the cut when the tail from there still
    lasts at most 10 s: it then starts up to one keyframe interval earlier than asked (read its
    length with film.probe(path).seconds). Otherwise it is cut exactly, re-encoding only the
    frames from the cut to the next keyframe. Its sound is kept; a silent video gets a silent
    track (see film.assemble).
    """
    low, high = FIRST_CLIP_SECONDS
    if not isinstance(seconds, (int, float)) or not low <= seconds <= high:
        raise InvalidInput("seconds", f"a clip to continue must last {low:g}–{high:g} s, got "
                                      f"{seconds!r}")
    info = film.probe(Path(video), "video")
    if seconds > info.seconds:
        raise InvalidInput("seconds", f"{Path(video).name} lasts only "
                                      f"{float(info.seconds):.2f} s; ask for at most that")
    cut = info.seconds - Fraction(seconds)
    keyframe = max((k for k in info.keyframes if k <= cut), default=Fraction(0))
    start = keyframe if info.seconds - keyframe <= high else cut
    return film.assemble([film.Clip(Path(video), float(start))], dest).path
