"""What the simulator remembers: tasks (with their simulated timeline), uploads, accounts.
All of it is bounded: uploads live on disk under a byte cap, tasks are forgotten after 24 h."""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .. import catalog
from ..catalog import Model
from ..request import VideoRequest

UPLOAD_LIFETIME_SECONDS = 48 * 3600
TASK_LIFETIME_SECONDS = catalog.TASK_LIFETIME_HOURS * 3600
OSS_SCHEME = "oss://"
SWEEP_INTERVAL_SECONDS = 60.0  # forgotten tasks and stale files are cleared at most this often


def account_of(api_key: str) -> str:
    """The simulated account a key belongs to: a hash, so no key is ever kept or logged."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]


@dataclass
class SimTask:
    task_id: str
    account: str
    model: Model  # as deployed in the simulated region
    request: VideoRequest  # validated, defaults filled in
    request_id: str
    submitted: float  # epoch seconds
    pending_seconds: float
    running_seconds: float
    clip_seconds: float = 0.0  # the length of the clip a continuation begins with
    result_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    canceled_at: float | None = None
    forced_failure: tuple[str, str] | None = None  # (code, message) from the `fail` fault
    expired_url: bool = False  # `expired-url` fault at create time
    truncated_download: bool = False  # `truncated` fault at create time
    video_path: Path | None = None  # set when the render is done
    rendered_at: float | None = None
    render_error: str | None = None

    @property
    def scheduled(self) -> float:
        return self.submitted + self.pending_seconds

    @property
    def due(self) -> float:
        return self.scheduled + self.running_seconds

    def status(self, now: float) -> str:
        if now - self.submitted > TASK_LIFETIME_SECONDS:
            return "UNKNOWN"
        if self.canceled_at is not None:
            return "CANCELED"
        if now < self.scheduled:
            return "PENDING"
        if now < self.due:
            return "RUNNING"
        if self.forced_failure or self.render_error:
            return "FAILED"
        return "SUCCEEDED" if self.rendered_at is not None else "RUNNING"

    def end_time(self, now: float) -> float | None:
        status = self.status(now)
        if status == "CANCELED":
            return self.canceled_at
        if status == "FAILED":
            return self.due
        if status == "SUCCEEDED":
            return max(self.due, self.rendered_at or self.due)
        return None

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.due - now)


@dataclass(frozen=True)
class Upload:
    key: str
    account: str
    model: str
    path: Path  # the bytes, in a file under the store's uploads folder
    size: int
    content_type: str
    expires: float

    @property
    def data(self) -> bytes:
        """The uploaded bytes, read from disk when asked for (the store keeps none in memory)."""
        return self.path.read_bytes()


class Store:
    """Tasks and uploaded files, shared by the request handlers and the render workers.

    Uploads are files under `uploads_dir`, at most `uploads_max_bytes` in all (the oldest are
    forgotten first). A sweep, run at most every SWEEP_INTERVAL_SECONDS when a task or upload is
    added, forgets tasks after 24 h and uploads after 48 h, and deletes their files and every
    result whose link has expired.
    """

    def __init__(
        self,
        uploads_dir: Path,
        *,
        uploads_max_bytes: int,
        result_ttl_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        uploads_dir.mkdir(parents=True, exist_ok=True)
        self.uploads_dir = uploads_dir
        self.uploads_max_bytes = uploads_max_bytes
        self.result_ttl_seconds = result_ttl_seconds
        self.clock = clock  # replaceable: tests age tasks and uploads without sleeping
        self._lock = threading.Lock()
        self._tasks: dict[str, SimTask] = {}
        self._by_token: dict[str, str] = {}
        self._uploads: dict[str, Upload] = {}  # oldest first
        self._upload_bytes = 0
        self._last_sweep = float("-inf")

    def add_task(self, task: SimTask) -> None:
        self._sweep_if_due()
        with self._lock:
            self._tasks[task.task_id] = task
            self._by_token[task.result_token] = task.task_id

    def task(self, task_id: str, account: str) -> SimTask | None:
        """The task if this account owns it; another account's task is as good as unknown."""
        with self._lock:
            task = self._tasks.get(task_id)
        return task if task is not None and task.account == account else None

    def task_by_token(self, token: str) -> SimTask | None:
        with self._lock:
            task_id = self._by_token.get(token)
            return self._tasks.get(task_id) if task_id else None

    def tasks_of(self, account: str) -> list[SimTask]:
        with self._lock:
            return [t for t in self._tasks.values() if t.account == account]

    def all_tasks(self) -> list[SimTask]:
        with self._lock:
            return list(self._tasks.values())

    def unfinished(self, account: str, model_id: str, now: float) -> list[SimTask]:
        return [
            t
            for t in self.tasks_of(account)
            if t.model.id == model_id and t.status(now) in ("PENDING", "RUNNING")
        ]

    def add_upload(
        self, key: str, account: str, model: str, content_type: str, source: BinaryIO
    ) -> Upload | None:
        """Keep `source`'s bytes on disk as `key`, or None if the key is taken (OSS never
        overwrites). Refusing a file bigger than the whole cap is the caller's job."""
        self._sweep_if_due()
        now = self.clock()
        path = self.uploads_dir / uuid.uuid4().hex  # never a name from the request
        with path.open("wb") as out:
            shutil.copyfileobj(source, out)
        upload = Upload(
            key,
            account,
            model,
            path,
            path.stat().st_size,
            content_type,
            now + UPLOAD_LIFETIME_SECONDS,
        )
        with self._lock:
            taken = self._uploads.get(key)
            if taken is not None and taken.expires >= now:
                path.unlink(missing_ok=True)
                return None
            self._drop_upload(key)
            while self._uploads and self._upload_bytes + upload.size > self.uploads_max_bytes:
                self._drop_upload(next(iter(self._uploads)))
            self._uploads[key] = upload
            self._upload_bytes += upload.size
        return upload

    def upload(self, key: str, now: float | None = None) -> Upload | None:
        with self._lock:
            found = self._uploads.get(key)
        if found is None or found.expires < (self.clock() if now is None else now):
            return None
        return found

    def forget_uploads(self, urls: Iterable[str | Path | None]) -> None:
        """Delete the uploads named by the oss:// URLs among `urls` (a task was created from
        them, so nothing needs them any more); other URLs and None are ignored."""
        keys = [str(u)[len(OSS_SCHEME) :] for u in urls if str(u).startswith(OSS_SCHEME)]
        with self._lock:
            for key in keys:
                self._drop_upload(key)

    @property
    def upload_bytes(self) -> int:
        """Bytes of the uploads kept now (all on disk)."""
        with self._lock:
            return self._upload_bytes

    def sweep(self, now: float | None = None) -> None:
        """Forget tasks past their lifetime and expired uploads, and delete their files and the
        results whose signed link has expired."""
        now = self.clock() if now is None else now
        with self._lock:
            self._last_sweep = now
            for task in list(self._tasks.values()):
                if now - task.submitted > TASK_LIFETIME_SECONDS:
                    del self._tasks[task.task_id]
                    self._by_token.pop(task.result_token, None)
                    _delete(task.video_path)
                elif task.video_path is not None and self._link_expired(task, now):
                    _delete(task.video_path)
            for key in [k for k, u in self._uploads.items() if u.expires < now]:
                self._drop_upload(key)

    def _sweep_if_due(self) -> None:
        if self.clock() - self._last_sweep >= SWEEP_INTERVAL_SECONDS:
            self.sweep()

    def _link_expired(self, task: SimTask, now: float) -> bool:
        end = task.end_time(now)
        return end is not None and end + self.result_ttl_seconds < now

    def _drop_upload(self, key: str) -> None:
        """Forget one upload and delete its file; the caller holds the lock."""
        upload = self._uploads.pop(key, None)
        if upload is not None:
            self._upload_bytes -= upload.size
            _delete(upload.path)


def _delete(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)
