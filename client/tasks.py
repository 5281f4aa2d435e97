"""Task calls (create, get, cancel, list) and `watch`, the polling iterator with heartbeats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from .download import download
from .errors import CancelNotAllowed, InvalidInput, RateLimited, ServiceError, WaitTimeout, WanError
from .http import WanClient
from .polling import PollSchedule, QueryPacer
from .protocols import wire_for
from .status import Canceled, Pending, TaskStatus, UnknownStatusError, parse_status, parse_time

__all__ = [
    "Progress",
    "TaskPage",
    "TaskSummary",
    "cancel_task",
    "create_task",
    "download",
    "get_task",
    "list_tasks",
    "watch",
]

LIST_TIME_FORMAT = "%Y%m%d%H%M%S"
HEARTBEAT_SECONDS = 1.0
GIVE_UP_AFTER_FAILING = 120.0  # seconds of nothing but failed status queries

# Indirections so tests can run `watch` on a simulated clock.
_now = time.time
_sleep = asyncio.sleep
# One per process: every watch on the same account shares the account's query quota.
_pacer = QueryPacer()


def _task_path(task_id: str) -> str:
    if not task_id or not task_id.strip() or "/" in task_id:
        raise InvalidInput("task_id", f"{task_id!r} is not a task id")
    return "/tasks/" + quote(task_id.strip(), safe="")


def _parse(body: dict[str, Any]) -> TaskStatus:
    try:
        return parse_status(body)
    except UnknownStatusError as exc:
        raise ServiceError(f"the service sent an answer this client cannot read: {exc}",
                           request_id=body.get("request_id")) from None


async def create_task(client: WanClient, payload: dict[str, Any], *, oss: bool = False) -> Pending:
    """Submit a video task, in one attempt. `oss`: the payload holds oss:// URLs the service
    must resolve. Nothing here repeats a create: NotSent (nothing left this machine), NoAnswer
    (sent, no answer) and RateLimited reach the caller, and client.pipeline decides."""
    headers = {"X-DashScope-Async": "enable"}
    if oss:
        headers["X-DashScope-OssResourceResolve"] = "enable"
    path = wire_for(str(payload.get("model", ""))).path
    body = await client.api("POST", path, json_body=payload, headers=headers)
    output = body.get("output") or {}
    task_id = output.get("task_id")
    if not task_id:
        raise ServiceError("the service accepted the task but sent no task id",
                           request_id=body.get("request_id"))
    return Pending(task_id=str(task_id), submit_time=parse_time(output.get("submit_time")))


async def get_task(client: WanClient, task_id: str) -> TaskStatus:
    return _parse(await client.api("GET", _task_path(task_id)))


async def cancel_task(client: WanClient, task_id: str) -> None:
    """Cancel a task still waiting in the queue; CancelNotAllowed once it runs or has ended."""
    try:
        await client.api("POST", _task_path(task_id) + "/cancel")
    except CancelNotAllowed as refused:
        # A retried cancel whose first answer was lost is refused because it already worked.
        try:
            current: TaskStatus | None = await get_task(client, task_id)
        except WanError:
            current = None
        if isinstance(current, Canceled):
            return
        state = f"is already {current.name}" if current else "is already running or finished"
        raise CancelNotAllowed(
            f"task {task_id} {state}, so it cannot be cancelled: only a task still waiting in "
            "the queue (PENDING) can be cancelled", status=refused.status, code=refused.code,
            request_id=refused.request_id) from None


@dataclass(frozen=True)
class TaskSummary:
    """One row of the task list (times are UTC)."""

    task_id: str
    status: str
    model_name: str | None
    region: str | None
    request_id: str | None
    created: datetime | None
    started: datetime | None
    ended: datetime | None

    @classmethod
    def parse(cls, row: dict[str, Any]) -> TaskSummary:
        return cls(task_id=str(row.get("task_id", "")), status=str(row.get("status", "")),
                   model_name=row.get("model_name"), region=row.get("region"),
                   request_id=row.get("request_id"), created=_from_millis(row.get("gmt_create")),
                   started=_from_millis(row.get("start_time")),
                   ended=_from_millis(row.get("end_time")))


@dataclass(frozen=True)
class TaskPage:
    total: int
    total_page: int
    page_no: int
    page_size: int
    tasks: list[TaskSummary]


def _from_millis(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _list_time(value: datetime | str) -> str:
    return value.strftime(LIST_TIME_FORMAT) if isinstance(value, datetime) else value


async def list_tasks(client: WanClient, *, page_no: int = 1, page_size: int = 10,
                     status: str | None = None, model_name: str | None = None,
                     start_time: datetime | str | None = None,
                     end_time: datetime | str | None = None) -> TaskPage:
    """One page of the account's tasks; times as datetime or "YYYYMMDDhhmmss"."""
    params: dict[str, Any] = {"page_no": page_no, "page_size": page_size}
    optional = {"status": status, "model_name": model_name,
                "start_time": None if start_time is None else _list_time(start_time),
                "end_time": None if end_time is None else _list_time(end_time)}
    params.update({k: v for k, v in optional.items() if v is not None})
    body = await client.api("GET", "/tasks", params=params)
    rows = body.get("data") or []
    return TaskPage(total=int(body.get("total", len(rows)) or 0),
                    total_page=int(body.get("total_page", 1) or 0),
                    page_no=int(body.get("page_no", page_no) or page_no),
                    page_size=int(body.get("page_size", page_size) or page_size),
                    tasks=[TaskSummary.parse(r) for r in rows if isinstance(r, dict)])


@dataclass(frozen=True)
class Progress:
    """A status snapshot while waiting: `changed` on a new status, else a heartbeat."""

    status: TaskStatus
    elapsed: float  # seconds since the task was submitted (or since watching began)
    eta: float | None  # seconds left, when an expected duration is known
    changed: bool
    polls: int
    poll_error: WanError | None = None  # the last query failed (retriable); still waiting


async def watch(client: WanClient, task_id: str, *, deadline: float | None = None,
                expected_seconds: float | None = None, early_by: float | None = None,
                started_at: float | None = None,
                heartbeat: float | None = HEARTBEAT_SECONDS) -> AsyncIterator[Progress]:
    """Poll a task until a terminal status (UNKNOWN included), yielding each status change and
    a heartbeat every `heartbeat` seconds between polls (None: only the polls' results).

    `started_at`: the submit time as epoch seconds (elapsed and ETA count from it).
    `expected_seconds`, `early_by`: the learned task time and how much sooner tasks like it
    have ended lately (client.eta); without them the SDK's backoff is used.
    `deadline`: seconds from this call; past it WaitTimeout is raised (the task goes on).
    A query that fails with RateLimited or ServiceError is repeated on the schedule (the
    events carry it as `poll_error`); after GIVE_UP_AFTER_FAILING seconds of failures only, the
    last error is raised.
    """
    watch_start = _now()
    origin = watch_start if started_at is None else started_at
    schedule = PollSchedule.around(expected_seconds, early_by)
    last: TaskStatus | None = None
    polls = 0
    next_poll = watch_start
    error: WanError | None = None  # of the last query, shown until one succeeds
    failing_since: float | None = None

    def snapshot(status: TaskStatus, changed: bool, failure: WanError | None) -> Progress:
        elapsed = max(0.0, _now() - origin)
        eta = None
        if status.is_terminal:
            eta = 0.0
        elif expected_seconds is not None:
            eta = max(0.0, expected_seconds - elapsed)
        return Progress(status, elapsed, eta, changed, polls, failure)

    while True:
        if deadline is not None and _now() - watch_start >= deadline:
            where = f"still {last.name}" if last else "not answering"
            raise WaitTimeout(f"stopped waiting after {deadline:g} s; task {task_id} is {where} "
                              "and goes on on the service")
        if _now() >= next_poll:
            try:
                await _pacer.turn(client.account, _now, _sleep)
                status: TaskStatus | None = await get_task(client, task_id)
                error, failing_since = None, None
            except (RateLimited, ServiceError) as exc:
                status, error = last, exc
                failing_since = _now() if failing_since is None else failing_since
                if _now() - failing_since >= GIVE_UP_AFTER_FAILING:
                    raise
            polls += 1
            if status is not None:
                changed = last is None or status.name != last.name
                yield snapshot(status, changed, error)
                if status.is_terminal:
                    return
                last = status
            next_poll = _now() + schedule.delay(max(0.0, _now() - origin), polls)
            continue
        pause = next_poll - _now() if heartbeat is None else min(heartbeat, next_poll - _now())
        if deadline is not None:
            pause = min(pause, watch_start + deadline - _now())
        await _sleep(max(0.0, pause))
        if heartbeat is not None and last is not None and _now() < next_poll:
            yield snapshot(last, False, error)
