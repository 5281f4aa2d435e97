"""A still picture for each cached video, so the history shows what each video looks like."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def poster_for(video: Path) -> Path | None:
    """The first frame of `video` as a JPEG beside it (made once); None if it cannot be read."""
    poster = video.with_suffix(".jpg")
    if poster.is_file() and poster.stat().st_mtime >= video.stat().st_mtime:
        return poster
    import av  # here, not at start-up: the first page needs no video decoder

    try:
        with av.open(str(video)) as container:
            frame = next(container.decode(video=0))
            image = frame.to_image()
        image.thumbnail((480, 480))
        image.save(poster, "JPEG", quality=82)
    except (av.FFmpegError, StopIteration, OSError):
        log.warning("no poster for %s", video.name)
        return None
    return poster
