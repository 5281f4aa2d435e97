"""A task handle (a task id with the client that may see it: status, cancel, watch, wait,
download) and `outcome`, the one rule for what a final status means."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .download import download
from .errors import (
    DownloadFailed,
    ResultExpired,
    ServiceError,
    TaskCanceled,
    TaskExpired,
    TaskFailed,
    WanError,
)
from .http import WanClient
from .status import Canceled, Failed, Succeeded, TaskStatus, Unknown
from .tasks import Progress, cancel_task, get_task, watch

DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_RETRY_SECONDS = 0.5
_sleep = asyncio.sleep  # replaceable in tests


def outcome(status: TaskStatus) -> WanError | None:
    """None for SUCCEEDED (download the video); else the error the task ended with."""
    task_id = status.task_id
    if isinstance(status, Succeeded):
        return None
    if isinstance(status, Failed):
        return TaskFailed(f"task {task_id} failed: {status.message or 'no reason given'}",
                          code=status.code or None)
    if isinstance(status, Canceled):
        return TaskCanceled(f"task {task_id} was cancelled before it ran")
    if isinstance(status, Unknown):
        return TaskExpired(f"the service no longer knows task {task_id} (unknown id, another "
                           "account's task, or older than 24 h)")
    raise ValueError(f"task {task_id} is still {status.name}: only a final status has an outcome")


class TaskHandle:
    """One task on the service, by id, with the client (and so the key) that may see it."""

    def __init__(self, client: WanClient, task_id: str) -> None:
        self.client = client
        self.task_id = task_id

    def __repr__(self) -> str:
        return f"TaskHandle({self.task_id!r})"

    async def status(self) -> TaskStatus:
        return await get_task(self.client, self.task_id)

    async def cancel(self) -> None:
        """Cancel the task while it waits in the service's queue (CancelNotAllowed after)."""
        await cancel_task(self.client, self.task_id)

    def watch(self, **options: Any) -> AsyncIterator[Progress]:
        """client.tasks.watch for this task (deadline, expected_seconds, early_by, started_at,
        heartbeat)."""
        return watch(self.client, self.task_id, **options)

    async def wait(self, **options: Any) -> TaskStatus:
        """Poll until the task ends; its final status (UNKNOWN included)."""
        final: TaskStatus | None = None
        async for progress in self.watch(heartbeat=None, **options):
            final = progress.status
        assert final is not None  # watch ends only after yielding a final status
        return final

    async def download(self, dest: Path, status: TaskStatus | None = None) -> Path:
        """Save the task's video to `dest`, waiting for the task first if it still runs; the
        task's error if it ended without one. A download that breaks off or whose link is
        refused is tried again with the task's current link, DOWNLOAD_ATTEMPTS times in all."""
        current = status if status is not None else await self.status()
        if not current.is_terminal:
            current = await self.wait()
        error = outcome(current)
        if error is not None:
            raise error
        assert isinstance(current, Succeeded)
        url = current.video_url
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                return await download(self.client, url, Path(dest))
            except (DownloadFailed, ResultExpired, ServiceError):
                if attempt == DOWNLOAD_ATTEMPTS:
                    raise
            await _sleep(DOWNLOAD_RETRY_SECONDS * attempt)
            fresh = await self.status()
            if isinstance(fresh, Succeeded) and fresh.video_url:
                url = fresh.video_url
        raise AssertionError("unreachable")
