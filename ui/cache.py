"""Keep the folder of downloaded videos bounded: the oldest go first."""

from __future__ import annotations

from pathlib import Path


def prune_videos(folder: Path, max_bytes: int, *, keep: Path | None = None) -> list[Path]:
    """Delete the least recently written videos (with their posters) until the folder holds at
    most `max_bytes`; `keep` (the video just downloaded) is never deleted. Returns what went."""
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
