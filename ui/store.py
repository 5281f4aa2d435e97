"""The studio's folder on disk, and its one owner: finished videos by task id, their posters, the
uploads a request used, the size cap. Nothing outside this module builds a path inside it."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from pathlib import Path

from client.files import link_or_copy

log = logging.getLogger(__name__)

# A download's temporary file this old was left by a studio that stopped mid-download.
STALE_PART_SECONDS = 3600.0
UPLOAD_REF = re.compile(r"^[0-9a-f]{32}\.(jpg|jpeg|png|bmp|webp|wav|mp3|mp4|mov)$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


class VideoStore:
    """`root/videos/<task id>.mp4` (+ `.jpg` poster) and `root/uploads/<content hash>.<ext>`,
    kept under `max_bytes` together, the least recently written first."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root.resolve()
        self.videos = self.root / "videos"
        self.uploads = self.root / "uploads"
        self.max_bytes = max_bytes
        self.videos.mkdir(parents=True, exist_ok=True)
        self.uploads.mkdir(parents=True, exist_ok=True)

    # --- videos ------------------------------------------------------------------------------

    def video_path(self, task_id: str) -> Path:
        """Where a task's video is written: named by the task id only (never anything secret)."""
        return self.videos / f"{_SAFE_NAME.sub('_', task_id)[:80]}.mp4"

    def video_for(self, task_id: object) -> Path | None:
        """The finished video of a task, or None. `task_id` may come from a browser: only a
        file that exists inside the videos folder is ever returned."""
        if not isinstance(task_id, str) or not task_id:
            return None
        path = self.video_path(task_id)
        return path if _inside(path, self.videos) and path.is_file() else None

    def poster_for(self, task_id: object) -> Path | None:
        """The first frame of the task's video as a JPEG beside it (made once)."""
        video = self.video_for(task_id)
        if video is None:
            return None
        poster = video.with_suffix(".jpg")
        if poster.is_file() and poster.stat().st_mtime >= video.stat().st_mtime:
            return poster
        import av  # here, not at start-up: the first page needs no video decoder

        try:
            with av.open(str(video)) as container:
                image = next(container.decode(video=0)).to_image()
            image.thumbnail((480, 480))
            image.save(poster, "JPEG", quality=82)
        except (av.FFmpegError, StopIteration, OSError):
            log.warning("no poster for %s", video.name)
            return None
        return poster

    # --- uploads -----------------------------------------------------------------------------

    def keep_upload(self, path: Path) -> Path:
        """A copy of a file a request uses, named by its content, so "use these settings again"
        can find it later by that name (a browser never names a path)."""
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        suffix = path.suffix.lower().lstrip(".") or "bin"
        kept = self.uploads / f"{digest.hexdigest()[:32]}.{suffix}"
        if not kept.is_file():
            # A name of its own: two requests may keep the same picture at the same moment.
            partial = kept.with_name(f".{kept.name}.{secrets.token_hex(4)}.part")
            link_or_copy(path, partial).replace(kept)  # a link: its probe is reused
        else:
            kept.touch()  # recently used: pruned last
        return kept

    def upload_ref(self, path: object) -> str | None:
        """The name of a kept upload, for a record; None for any other path."""
        if not isinstance(path, (str, Path)):
            return None
        candidate = Path(path)
        if candidate.parent != self.uploads or not UPLOAD_REF.match(candidate.name):
            return None
        return candidate.name

    def upload_for(self, ref: object) -> Path | None:
        """The kept upload a record names, or None (anything but a known name is refused)."""
        if not isinstance(ref, str) or not UPLOAD_REF.match(ref):
            return None
        path = self.uploads / ref
        return path if path.is_file() else None

    # --- the cap -----------------------------------------------------------------------------

    def prune(self, *, keep: Path | None = None) -> list[Path]:
        """Delete the least recently written videos (with their posters) and uploads until the
        folder holds at most `max_bytes`; `keep` (the video just downloaded) stays. Leftover
        partial files are deleted too. Returns what went."""
        cutoff = time.time() - STALE_PART_SECONDS
        for folder in (self.videos, self.uploads):
            for partial in folder.glob(".*.part"):
                if partial.is_file() and partial.stat().st_mtime < cutoff:
                    partial.unlink(missing_ok=True)
        files = [p for p in self.videos.glob("*.mp4") if p.is_file()]
        files += [p for p in self.uploads.iterdir() if p.is_file() and UPLOAD_REF.match(p.name)]
        files.sort(key=lambda p: p.stat().st_mtime)
        sizes = {p: _size(p) + (_size(p.with_suffix(".jpg")) if p.suffix == ".mp4" else 0)
                 for p in files}
        total = sum(sizes.values())
        removed: list[Path] = []
        for path in files:
            if total <= self.max_bytes:
                break
            if keep is not None and path == keep:
                continue
            path.unlink(missing_ok=True)
            if path.suffix == ".mp4":
                path.with_suffix(".jpg").unlink(missing_ok=True)
            total -= sizes[path]
            removed.append(path)
        return removed

    def bytes_used(self) -> int:
        return sum(_size(p) for folder in (self.videos, self.uploads) for p in folder.iterdir())


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().parent == folder
    except OSError:
        return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
