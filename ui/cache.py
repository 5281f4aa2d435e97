"""Keep the folder of downloaded videos bounded: the oldest go first."""

from __future__ import annotations

import time
from pathlib import Path

# A download's temporary file this old was left by a studio that stopped mid-download.
STALE_PART_SECONDS = 3600.0


def prune_videos(folder: Path, max_bytes: int, *, keep: Path | None = None) -> list[Path]:
    """Delete the least recently written videos (with their posters) until the folder holds at
    most `max_bytes`; `keep` (the video just downloaded) is never deleted. Returns what went.
    Leftover partial downloads are deleted too."""
    cutoff = time.time() - STALE_PART_SECONDS
    for partial in folder.glob(".*.part"):
        if partial.is_file() and partial.stat().st_mtime < cutoff:
            partial.unlink(missing_ok=True)
    videos = sorted((p for p in folder.glob("*.mp4") if p.is_file()),
                    key=lambda p: p.stat().st_mtime)
    sizes = {p: p.stat().st_size + _size(p.with_suffix(".jpg")) for p in videos}
    total = sum(sizes.values())
    removed: list[Path] = []
    for video in videos:
        if total <= max_bytes:
            break
        if keep is not None and video == keep:
            continue
        video.unlink(missing_ok=True)
        video.with_suffix(".jpg").unlink(missing_ok=True)
        total -= sizes[video]
        removed.append(video)
    return removed


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
