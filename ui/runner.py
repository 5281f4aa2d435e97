"""Video jobs that run on the server, apart from any page: they queue, submit, poll and download
even when the tab that started them is closed, and a reloaded page follows them again."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from client import catalog
from client.errors import (
    DownloadFailed,
    RateLimited,
    ResultExpired,
    ServiceError,
    TaskCanceled,
    TaskExpired,
    TaskFailed,
    WanError,
)
from client.eta import EtaEstimator, TaskShape
from client.http import WanClient
from client.jobs import Prepared, create, prepare
from client.request import VideoRequest
from client.status import Canceled, Failed, Succeeded, Unknown
from client.tasks import cancel_task, download, get_task, watch

from .cache import prune_videos
from .queue import SlotQueue, Ticket

log = logging.getLogger(__name__)

ACTIVE = ("QUEUED", "SUBMITTING", "PENDING", "RUNNING", "DOWNLOADING")
FINAL = ("SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN", "ERROR")
FORGET_AFTER_SECONDS = 3600.0
DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_RETRY_SECONDS = 0.5
# Requests validated and uploaded at once: more only share the same cores and the same link, and
# would hold back the jobs first in line, whose slot is already free.
PREPARE_AT_ONCE = 2
SUBMIT_RETRY_LIMIT = 40  # RateLimited answers tolerated before giving up on submitting
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def video_path(cache_dir: Path, task_id: str) -> Path:
    """Where a task's video is kept: named by the task id only (never by anything secret)."""
    return cache_dir / "videos" / f"{_SAFE_NAME.sub('_', task_id)[:80]}.mp4"


@dataclass
class Job:
    """What the page shows about one video. Holds no key: that lives only in the job's client."""

    token: str
    region: str
    request: VideoRequest | None
    key_kind: str  # "simulator", "host" or "personal"
    task_id: str | None = None
    phase: str = "QUEUED"
    queue_position: int = 0
    created: float = field(default_factory=time.time)
    submitted: float | None = None
    finished: float | None = None
    expected_end: float | None = None  # epoch seconds the task should end, when an ETA is known
    retry_in: float | None = None
    video: Path | None = None
    error: WanError | None = None
    resumed: bool = False
    cancel_requested: bool = False
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _cancel: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.phase in FINAL

    @property
    def eta(self) -> float | None:
        """Seconds left until the expected end (0 once overdue)."""
        return None if self.expected_end is None else max(0.0, self.expected_end - time.time())

    @property
    def elapsed(self) -> float:
        start = self.submitted or self.created
        return max(0.0, (self.finished or time.time()) - start)

    def update(self, **changes: object) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def fail(self, error: WanError, phase: str = "ERROR") -> None:
        self.update(error=error, phase=phase, finished=time.time(), expected_end=None,
                    retry_in=None)


@dataclass(frozen=True)
class Credentials:
    """How to call the service for one job. Never stored on a Job, never logged."""

    api_key: str | None = field(repr=False)  # None: the client reads DASHSCOPE_API_KEY
    kind: str


class Runner:
    """All jobs of this studio process, by token (a random id the page keeps in its history)."""

    def __init__(self, cache_dir: Path, *, base_url: str | None = None,
                 expected_seconds: float | None = None,
                 cache_max_bytes: int = 2000 * 1024 * 1024) -> None:
        self.cache_dir = cache_dir
        self.cache_max_bytes = cache_max_bytes
        self.base_url = base_url
        # Learns each task shape's submit-to-end time; `expected_seconds` is the prior.
        self.eta = EtaEstimator(prior=expected_seconds)
        self.slots = SlotQueue()
        self._preparing = asyncio.Semaphore(PREPARE_AT_ONCE)
        self._jobs: dict[str, Job] = {}
        self._by_task: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, token: str | None) -> Job | None:
        return self._jobs.get(token or "")

    def by_task_id(self, task_id: str) -> Job | None:
        token = self._by_task.get(task_id)
        return self._jobs.get(token) if token else None

    def _new_job(self, region: str, request: VideoRequest | None, kind: str,
                 token: str | None) -> Job:
        self._forget_old_jobs()
        job = Job(token=token or secrets.token_urlsafe(12), region=region, request=request,
                  key_kind=kind)
        self._jobs[job.token] = job
        return job

    def _forget_old_jobs(self, now: float | None = None) -> None:
        """Finished jobs stay followable for an hour; after that a page resumes by task id."""
        cutoff = (now or time.time()) - FORGET_AFTER_SECONDS
        for token, job in list(self._jobs.items()):
            if job.done and (job.finished or job.created) < cutoff:
                del self._jobs[token]
                if job.task_id and self._by_task.get(job.task_id) == token:
                    del self._by_task[job.task_id]

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def start(self, request: VideoRequest, credentials: Credentials) -> Job:
        """Queue, submit, watch and download one validated request."""
        job = self._new_job(request.region, request, credentials.kind, None)
        self._spawn(self._run(job, request, credentials))
        return job

    def resume(self, task_id: str, region: str, credentials: Credentials, *,
               request: VideoRequest | None = None, token: str | None = None) -> Job:
        """Follow a task submitted earlier (by this page before a restart, or typed by id)."""
        existing = self.by_task_id(task_id)
        if existing is not None and not (existing.done and existing.video is None):
            return existing
        job = self._new_job(region, request, credentials.kind, token)
        job.update(task_id=task_id, phase="PENDING", resumed=True)
        self._by_task[task_id] = job.token
        self._spawn(self._follow_task(job, credentials))
        return job

    def client(self, region: str, credentials: Credentials) -> WanClient:
        return WanClient(api_key=credentials.api_key, region=region, base_url=self.base_url)

    async def cancel(self, token: str) -> Job | None:
        """Cancel a job: a queued one locally, a PENDING one at the service (CancelNotAllowed
        once it runs). None when there is no such unfinished job."""
        job = self.get(token)
        if job is None or job.done:
            return None
        if job.phase in ("QUEUED", "SUBMITTING") or job._cancel is None:
            job.update(cancel_requested=True)
            return job
        await job._cancel()
        job.update(cancel_requested=True)
        return job

    async def follow(self, job: Job) -> AsyncIterator[Job]:
        """The job after every change, until it ends. Nothing wakes a waiting page in between:
        its clocks count in the browser."""
        while True:
            changed, done = job._changed, job.done  # both read before the consumer runs
            yield job
            if done:
                return
            await changed.wait()

    # --- the job itself ---------------------------------------------------------------------

    async def _run(self, job: Job, request: VideoRequest, credentials: Credentials) -> None:
        model = catalog.model_in_region(request.model, request.region)
        limit = model.concurrent_tasks if model else 1
        key_id = self.slots.key_id(credentials.api_key, credentials.kind)
        ticket = self.slots.join(key_id, request.model, limit)
        try:
            async with self.client(request.region, credentials) as client:
                # Validate and upload before holding a slot (the account's task limit counts
                # tasks, not uploads): a freed slot is then taken by one create call.
                async with self._preparing:  # in arrival order: the first in line go first
                    prepared = await prepare(client, request)
                while not await ticket.wait(1.0):
                    if job.cancel_requested:
                        job.update(phase="CANCELED", finished=time.time())
                        return
                    job.update(phase="QUEUED", queue_position=ticket.position)
                if job.cancel_requested:
                    job.update(phase="CANCELED", finished=time.time())
                    return
                job.update(phase="SUBMITTING", queue_position=0)
                submitted = await self._submit(client, job, prepared)
                if submitted is None:
                    return
                await self._watch(client, job, ticket)
        except WanError as exc:
            job.fail(exc)
        except Exception:  # a bug must not leave the page waiting forever
            log.exception("job %s crashed", job.token)
            job.fail(WanError("unexpected error in the studio"))
        finally:
            ticket.release()

    async def _submit(self, client: WanClient, job: Job, prepared: Prepared) -> str | None:
        for _ in range(SUBMIT_RETRY_LIMIT):
            try:
                submitted = await create(client, prepared)
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else 5.0
                job.update(retry_in=wait)
                await asyncio.sleep(wait)
                if job.cancel_requested:
                    job.update(phase="CANCELED", finished=time.time())
                    return None
                continue
            self._by_task[submitted.task_id] = job.token
            job.update(task_id=submitted.task_id, request=submitted.request, phase="PENDING",
                       submitted=time.time(), retry_in=None)
            return submitted.task_id
        raise RateLimited("the account stayed busy; gave up submitting")

    async def _follow_task(self, job: Job, credentials: Credentials) -> None:
        try:
            async with self.client(job.region, credentials) as client:
                await self._watch(client, job, None)
        except WanError as exc:
            job.fail(exc)
        except Exception:
            log.exception("resumed job %s crashed", job.token)
            job.fail(WanError("unexpected error in the studio"))

    async def _watch(self, client: WanClient, job: Job, ticket: Ticket | None) -> None:
        assert job.task_id is not None
        task_id = job.task_id
        dest = video_path(self.cache_dir, task_id)
        if dest.is_file() and dest.stat().st_size > 0:
            job.update(phase="SUCCEEDED", video=dest, finished=time.time())
            return

        async def cancel() -> None:
            await cancel_task(client, task_id)

        job.update(_cancel=cancel)
        shape = TaskShape.of(job.request) if job.request else None
        expected = self.eta.expected(shape) if shape else self.eta.prior
        early_by = self.eta.early_by(shape) if shape else None
        final = None
        async for progress in watch(client, task_id, expected_seconds=expected,
                                    early_by=early_by, started_at=job.submitted,
                                    heartbeat=None):
            status = progress.status
            if status.submit_time is not None and job.resumed and job.submitted is None:
                job.submitted = status.submit_time.timestamp()
            if progress.changed:  # the same status again: nothing the page shows
                start = job.submitted or job.created
                job.update(phase=status.name, expected_end=None if expected is None
                           or status.is_terminal else start + expected)
            final = status
        if ticket is not None:
            ticket.release()
        job.update(_cancel=None)
        if isinstance(final, Succeeded):
            if shape is not None:
                self.eta.learn(shape, final)  # by the service's own submit and end times
            job.update(phase="DOWNLOADING", expected_end=None)
            video = await self._download(client, task_id, final.video_url, dest)
            prune_videos(dest.parent, self.cache_max_bytes, keep=video)
            job.update(phase="SUCCEEDED", video=video, finished=time.time())
        elif isinstance(final, Failed):
            job.fail(TaskFailed(final.message or "failed", code=final.code or None), "FAILED")
        elif isinstance(final, Canceled):
            job.fail(TaskCanceled("cancelled"), "CANCELED")
        elif isinstance(final, Unknown):
            job.fail(TaskExpired("unknown task"), "UNKNOWN")

    async def _download(self, client: WanClient, task_id: str, url: str, dest: Path) -> Path:
        """The paid-for video, fetched again (with the task's current link) when a download
        breaks off or its link is refused; the last error once the attempts are used up."""
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                return await download(client, url, dest)
            except (DownloadFailed, ResultExpired, ServiceError):
                if attempt == DOWNLOAD_ATTEMPTS:
                    raise
            await asyncio.sleep(DOWNLOAD_RETRY_SECONDS * attempt)
            status = await get_task(client, task_id)
            if isinstance(status, Succeeded) and status.video_url:
                url = status.video_url
        raise AssertionError("unreachable")
