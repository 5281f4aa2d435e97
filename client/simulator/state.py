"""What the simulator remembers: tasks (with their simulated timeline), uploads, accounts."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .. import catalog
from ..catalog import Model
from ..request import VideoRequest

UPLOAD_LIFETIME_SECONDS = 48 * 3600


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
        if now - self.submitted > catalog.TASK_LIFETIME_HOURS * 3600:
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
    data: bytes
    content_type: str
    expires: float


class Store:
    """Tasks and uploaded files, shared by the request handlers and the render workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, SimTask] = {}
        self._by_token: dict[str, str] = {}
        self._uploads: dict[str, Upload] = {}

    def add_task(self, task: SimTask) -> None:
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

    def add_upload(self, upload: Upload) -> None:
        with self._lock:
            self._uploads[upload.key] = upload

    def upload(self, key: str, now: float | None = None) -> Upload | None:
        with self._lock:
            found = self._uploads.get(key)
        if found is None or found.expires < (time.time() if now is None else now):
            return None
        return found
