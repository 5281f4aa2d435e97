"""What a job pipeline reports, in order: Preparing, Queued, Submitting, (Recovering), Pending,
Running, Downloading, then Done or Failed. Names shared with client.status are used qualified
(`events.Pending`); once a task exists, the events carry its TaskHandle."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .errors import WanError
from .handle import TaskHandle
from .status import Succeeded


@dataclass(frozen=True)
class Preparing:
    """Validating the request with its media and uploading local files (no slot held yet)."""


@dataclass(frozen=True)
class Queued:
    """Waiting for one of the account's task slots; `position` 1 is next."""

    position: int


@dataclass(frozen=True)
class Submitting:
    """Sending the create (`retry_in` None), or waiting `retry_in` seconds to send it again
    after `reason`: throttling (429) or a connection that never opened (nothing was sent)."""

    retry_in: float | None = None
    reason: WanError | None = None


@dataclass(frozen=True)
class Recovering:
    """The create got no usable answer (`cause`: NoAnswer or a 5xx ServiceError); the account's
    task list is read for the task it may have made."""

    cause: WanError


@dataclass(frozen=True)
class _TaskEvent:
    handle: TaskHandle

    @property
    def task_id(self) -> str:
        return self.handle.task_id


@dataclass(frozen=True)
class _Waiting(_TaskEvent):
    submitted_at: float | None = None  # epoch seconds, when known
    expected_end: float | None = None  # epoch seconds, when an ETA is known
    poll_error: WanError | None = None  # the last status query failed; still waiting

    @property
    def eta(self) -> float | None:
        """Seconds left until the expected end (0 once overdue)."""
        return None if self.expected_end is None else max(0.0, self.expected_end - time.time())


@dataclass(frozen=True)
class Pending(_Waiting):
    """The task exists and waits in the service's queue. `recovered`: found in the task list
    after the create's answer was lost."""

    recovered: bool = False


@dataclass(frozen=True)
class Running(_Waiting):
    """The service is rendering the video."""


@dataclass(frozen=True)
class Downloading(_TaskEvent):
    """The task succeeded; its video is being saved."""


@dataclass(frozen=True)
class Done(_TaskEvent):
    """The video is saved at `path`. `status` is None when it was already saved before."""

    path: Path
    status: Succeeded | None = None


@dataclass(frozen=True)
class Failed:
    """The job ended without a video. `task_id` is None when no task was made (or none could be
    told apart: AmbiguousTask carries the candidates)."""

    error: WanError
    task_id: str | None = None


Event = (Preparing | Queued | Submitting | Recovering | Pending | Running | Downloading | Done
         | Failed)
