"""Renders each task's video in a worker thread while the task is in its simulated RUNNING time,
keeping the results folder under its byte cap (the oldest results go first)."""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .. import catalog
from .state import SimTask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderInput:
    image: bytes  # the first frame; b"" for a continuation
    width: int
    height: int
    audio_track: bytes | None  # audio_url or driving_audio, trimmed or padded to the duration
    auto_sound: bool
    last_frame: bytes | None = None  # wan2.7 last_frame, kf2v last_frame_url
    first_clip: bytes | None = None  # wan2.7 first_clip (MP4/MOV bytes)


class RenderWorker:
    def __init__(
        self, results_dir: Path, workers: int, results_max_bytes: int | None = None
    ) -> None:
        self.results_dir = results_dir
        self.results_max_bytes = results_max_bytes  # None: no cap
        results_dir.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="wan-sim-render"
        )
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._closed = False

    def schedule(self, task: SimTask, what: RenderInput) -> None:
        """Start rendering when the task leaves PENDING (so a cancelled task never renders)."""
        delay = max(0.0, task.scheduled - time.time())
        timer = threading.Timer(delay, self._start, args=(task, what))
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def _start(self, task: SimTask, what: RenderInput) -> None:
        with self._lock:
            self._timers = {
                t for t in self._timers if t.is_alive() and t is not threading.current_thread()
            }
            if self._closed or task.canceled_at is not None:
                return
            self._pool.submit(self._render, task, what)

    def _render(self, task: SimTask, what: RenderInput) -> None:
        req = task.request
        final = self.results_dir / f"{task.result_token}.mp4"
        partial = self.results_dir / f"{task.result_token}.part.mp4"
        try:
            from .render import RenderJob, render  # written separately; imported when first needed

            job = RenderJob(
                image=what.image,
                width=what.width,
                height=what.height,
                duration=int(req.duration or task.model.default_duration),
                fps=catalog.FPS,
                shot_type=req.shot_type or "single",
                template=req.template,
                audio_track=what.audio_track,
                auto_sound=what.auto_sound,
                watermark=bool(req.watermark),
                seed=req.seed if req.seed is not None else random.randrange(catalog.SEED_MAX),
                last_frame=what.last_frame,
                first_clip=what.first_clip,
            )
            written = render(job, partial)
            Path(written).replace(final)
        except Exception as exc:  # the task ends FAILED; the simulator keeps serving
            log.exception("render of task %s failed", task.task_id)
            partial.unlink(missing_ok=True)
            task.render_error = f"{type(exc).__name__}: {exc}"
            return
        task.video_path = final
        task.rendered_at = time.time()
        self._trim(keep=final)

    def _trim(self, keep: Path) -> None:
        """Delete the oldest finished results until the folder is under its cap (never `keep`,
        the newest: a cap smaller than one video still serves the latest)."""
        if self.results_max_bytes is None:
            return
        with self._lock:  # two renders finishing at once must not both count the same files
            results = sorted(_finished_results(self.results_dir))
            total = sum(size for _, size, _ in results)
            for _, size, path in results:
                if total <= self.results_max_bytes:
                    break
                if path != keep:
                    path.unlink(missing_ok=True)
                    total -= size

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            for timer in self._timers:
                timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _finished_results(results_dir: Path) -> list[tuple[float, int, Path]]:
    """(modified time, size, path) of each finished result; renders in progress are not counted."""
    found: list[tuple[float, int, Path]] = []
    for path in results_dir.glob("*.mp4"):
        if path.name.endswith(".part.mp4"):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted meanwhile (downloaded, or its task forgotten)
            continue
        found.append((stat.st_mtime, stat.st_size, path))
    return found
