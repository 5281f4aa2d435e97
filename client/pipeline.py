"""One video job end to end, as typed events (client.events): validate and upload, wait for a
slot, create (the one place a create is retried), find the task a lost answer made, watch,
download. Usable without any UI; many can run at once on one SlotQueue."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Container, Sequence
from pathlib import Path
from typing import Protocol

from . import catalog, events
from .errors import (
    CancelNotAllowed,
    NoAnswer,
    NotSent,
    RateLimited,
    ServiceError,
    TaskCanceled,
    WanError,
)
from .eta import TaskShape
from .handle import TaskHandle, outcome
from .http import WanClient, backoff_delay
from .jobs import Prepared, create, prepare
from .recovery import RECHECK_SECONDS, find_created_task
from .request import VideoRequest
from .slots import SlotQueue, Ticket
from .status import Running, Succeeded, TaskStatus

RATE_LIMITED_ATTEMPTS = 40  # throttled creates (429) waited out before giving up
RATE_LIMITED_WAIT = 5.0  # seconds, when a 429 names no Retry-After
CONNECT_ATTEMPTS = 4  # creates whose connection never opened (nothing sent)
CONNECT_BACKOFF = (0.5, 8.0)  # base and cap of the jittered backoff between those
SLOT_CHECK_SECONDS = 1.0  # how often a queued job looks at its place and the cancel signal
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")
_sleep = asyncio.sleep  # replaceable in tests

# Where a task's video goes: a folder (the file is named by the task id) or a function of it.
Destination = Path | Callable[[str], Path]


class Eta(Protocol):
    """Expected task times, learned from finished tasks (client.eta.EtaEstimator is one)."""

    prior: float | None

    def expected(self, shape: TaskShape) -> float | None: ...

    def early_by(self, shape: TaskShape) -> float | None: ...

    def learn(self, shape: TaskShape, status: TaskStatus) -> float | None: ...


def video_file(dest: Destination, task_id: str) -> Path:
    if callable(dest):
        return dest(task_id)
    return Path(dest) / f"{_SAFE_NAME.sub('_', task_id)[:80]}.mp4"


async def run_job(client: WanClient, request: VideoRequest, *, dest: Destination = Path("."),
                  slots: SlotQueue | None = None, key_id: str | None = None,
                  known_task_ids: Container[str] = frozenset(), eta: Eta | None = None,
                  preparing: asyncio.Semaphore | None = None,
                  cancel: asyncio.Event | None = None, heartbeat: float | None = None,
                  recheck: Sequence[float] = RECHECK_SECONDS) -> AsyncIterator[events.Event]:
    """Run one request to a saved video, yielding events; the last is Done or Failed.

    `slots` (shared by the jobs of one account) holds the job back while the account's
    concurrent-task limit is used; `key_id` names the account there (default: the client's
    salted account hash). `preparing` bounds how many jobs validate and upload at once (in
    arrival order, before a slot is taken, so a freed slot is taken by one create call).
    `known_task_ids`: the tasks the caller already follows (a set, a dict, any container read
    at the time), never taken for the task of a create whose answer was lost. `eta` learns task
    times and sets the polling schedule. `cancel` stops a job that has not made a task; one set
    while the create is in flight cancels the new task at once. Once a task exists, cancel it
    through the events' `handle`. `heartbeat`: seconds between repeats of the current
    Pending/Running event (None: only changes). `recheck`: pauses between task-list reads when
    looking for a lost answer's task (client.recovery).
    """
    model = catalog.model_in_region(request.model, request.region)
    ticket = None if slots is None else slots.join(
        key_id or client.account, request.model, model.concurrent_tasks if model else 1)
    handle: TaskHandle | None = None
    try:
        yield events.Preparing()
        async with preparing or contextlib.nullcontext():
            prepared = await prepare(client, request)
        if ticket is not None:
            async for queued in _wait_for_slot(ticket, cancel):
                yield queued
        expected, _ = _expectations(eta, prepared.request)
        submitted_at: float | None = None
        async for event in _submit(client, prepared, cancel, known_task_ids, recheck, expected):
            if isinstance(event, events.Pending):
                handle, submitted_at = event.handle, event.submitted_at
            yield event
        assert handle is not None  # _submit ends with Pending or raises
        if cancel is not None and cancel.is_set():
            with contextlib.suppress(CancelNotAllowed):
                await handle.cancel()
        async for event in _to_video(handle, prepared.request, dest, eta, ticket, heartbeat,
                                     submitted_at=submitted_at, shown="PENDING"):
            yield event
    except WanError as exc:
        yield events.Failed(exc, handle.task_id if handle else None)
    finally:
        if ticket is not None:
            ticket.release()


async def follow(handle: TaskHandle, *, request: VideoRequest | None = None,
                 dest: Destination = Path("."), eta: Eta | None = None,
                 heartbeat: float | None = None) -> AsyncIterator[events.Event]:
    """Follow a task created earlier (resume by task id) to its saved video, as events. A video
    already saved at the destination ends it at once."""
    try:
        async for event in _to_video(handle, request, dest, eta, None, heartbeat,
                                     submitted_at=None, shown=None):
            yield event
    except WanError as exc:
        yield events.Failed(exc, handle.task_id)


def _expectations(eta: Eta | None, request: VideoRequest | None) -> tuple[float | None,
                                                                          float | None]:
    if eta is None:
        return None, None
    if request is None:
        return eta.prior, None
    shape = TaskShape.of(request)
    return eta.expected(shape), eta.early_by(shape)


def _end(submitted_at: float | None, expected: float | None) -> float | None:
    return None if submitted_at is None or expected is None else submitted_at + expected


def _cancelled(cancel: asyncio.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise TaskCanceled("cancelled before the request was sent; nothing was charged")


async def _pause(seconds: float, cancel: asyncio.Event | None) -> None:
    """Sleep, waking early when `cancel` is set."""
    if cancel is None:
        await _sleep(seconds)
        return
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(cancel.wait(), seconds)


async def _wait_for_slot(ticket: Ticket,
                         cancel: asyncio.Event | None) -> AsyncIterator[events.Queued]:
    shown = 0
    while not ticket.holds_slot:
        _cancelled(cancel)
        if ticket.position != shown:
            shown = ticket.position
            yield events.Queued(shown)
        await ticket.wait(SLOT_CHECK_SECONDS)
    _cancelled(cancel)


async def _submit(client: WanClient, prepared: Prepared, cancel: asyncio.Event | None,
                  known: Container[str], recheck: Sequence[float],
                  expected: float | None) -> AsyncIterator[events.Event]:
    """Create the task: the only layer that repeats a create, and only when no task can exist
    (the connection never opened, or the service refused with 429). After no answer or a 5xx
    the task list tells whether a task was made. Ends with Pending, or raises."""
    throttled = unconnected = 0
    while True:
        _cancelled(cancel)
        yield events.Submitting()
        sent_at = time.time()
        reason: WanError
        try:
            submitted = await create(client, prepared)
        except NotSent as exc:
            unconnected += 1
            if unconnected >= CONNECT_ATTEMPTS:
                raise
            reason, wait = exc, backoff_delay(unconnected - 1, *CONNECT_BACKOFF, random.random)
        except RateLimited as exc:
            throttled += 1
            if throttled >= RATE_LIMITED_ATTEMPTS:
                raise RateLimited(f"the account stayed busy through {throttled} tries; gave up "
                                  f"sending the request ({exc.message})", code=exc.code,
                                  status=exc.status, retry_after=exc.retry_after) from None
            reason = exc
            wait = exc.retry_after if exc.retry_after is not None else RATE_LIMITED_WAIT
        except (NoAnswer, ServiceError) as exc:
            yield events.Recovering(exc)
            row = await find_created_task(client, prepared.request.model, sent_at, cause=exc,
                                          known=known, recheck=recheck)
            found_at = row.created.timestamp() if row.created else sent_at
            yield events.Pending(TaskHandle(client, row.task_id), found_at,
                                 _end(found_at, expected), recovered=True)
            return
        else:
            now = time.time()
            yield events.Pending(TaskHandle(client, submitted.task_id), now, _end(now, expected))
            return
        yield events.Submitting(retry_in=wait, reason=reason)
        await _pause(wait, cancel)


async def _to_video(handle: TaskHandle, request: VideoRequest | None, dest: Destination,
                    eta: Eta | None, ticket: Ticket | None, heartbeat: float | None, *,
                    submitted_at: float | None, shown: str | None) -> AsyncIterator[events.Event]:
    """Watch the task to its end (releasing the slot then), apply `outcome`, download."""
    path = video_file(dest, handle.task_id)
    if path.is_file() and path.stat().st_size > 0:
        yield events.Done(handle, path)
        return
    expected, early_by = _expectations(eta, request)
    final: TaskStatus | None = None
    async for progress in handle.watch(expected_seconds=expected, early_by=early_by,
                                       started_at=submitted_at, heartbeat=heartbeat):
        status = progress.status
        if submitted_at is None and status.submit_time is not None:
            submitted_at = status.submit_time.timestamp()
        if status.is_terminal:
            final = status  # the last one: watch ends after it
        elif status.name != shown or heartbeat is not None:
            shown = status.name
            kind = events.Running if isinstance(status, Running) else events.Pending
            yield kind(handle, submitted_at, _end(submitted_at, expected), progress.poll_error)
    assert final is not None
    if ticket is not None:
        ticket.release()  # an ended task no longer counts against the account's limit
    error = outcome(final)
    if error is not None:
        raise error
    assert isinstance(final, Succeeded)
    if eta is not None and request is not None:
        eta.learn(TaskShape.of(request), final)  # by the service's own submit and end times
    yield events.Downloading(handle)
    saved = await handle.download(path, final)
    yield events.Done(handle, saved, final)
