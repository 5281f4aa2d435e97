"""Video jobs that run on the server, apart from any page: the registry of jobs, the slot queue
and the ETA. Each job is one client pipeline (client.pipeline) whose events move a Job through
its phases; a job goes on when the tab that started it is closed, and a reloaded page follows it
again."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from client import events
from client.errors import (
    TaskCanceled,
    TaskExpired,
    TaskFailed,
    WanError,
)
from client.eta import EtaEstimator
from client.handle import TaskHandle
from client.http import WanClient
from client.pipeline import follow, run_job
from client.request import VideoRequest
from client.slots import SlotQueue

from .store import VideoStore
from .visitors import Turn

log = logging.getLogger(__name__)

FORGET_AFTER_SECONDS = 3600.0
# Requests validated and uploaded at once: more only share the same cores and the same link, and
# would hold back the jobs first in line, whose slot is already free.
PREPARE_AT_ONCE = 2
TURN_CHECK_SECONDS = 1.0


class Phase(str, Enum):
    """Where a job is. The value is what a history record keeps."""

    QUEUED = "QUEUED"
    SUBMITTING = "SUBMITTING"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DOWNLOADING = "DOWNLOADING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # the task failed at the service
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"  # the service no longer knows the task
    ERROR = "ERROR"  # the studio could not make or follow the task

    @property
    def final(self) -> bool:
        return self in _FINAL

    @property
    def waiting_at_service(self) -> bool:
        return self in (Phase.PENDING, Phase.RUNNING)

    @classmethod
    def of(cls, value: object) -> Phase | None:
        """The phase a record names, or None for anything else."""
        try:
            return cls(value)
        except ValueError:
            return None


_FINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELED, Phase.UNKNOWN, Phase.ERROR})
ACTIVE = frozenset(Phase) - _FINAL


def phase_of_failure(error: WanError) -> Phase:
    if isinstance(error, TaskFailed):
        return Phase.FAILED
    if isinstance(error, TaskCanceled):
        return Phase.CANCELED
    if isinstance(error, TaskExpired):
        return Phase.UNKNOWN
    return Phase.ERROR


@dataclass
class Job:
    """What the page shows about one video. Holds no key: that lives only in the job's client."""

    token: str
    region: str
    request: VideoRequest | None
    key_kind: str  # "simulator", "host" or "personal"
    key_id: str = ""  # who pays, as the slot queue knows it (a salted hash, never the key)
    view_only: bool = False  # follows someone's task by id: shows the video, cannot cancel
    task_id: str | None = None
    phase: Phase = Phase.QUEUED
    queue_position: int = 0
    line_position: int = 0  # behind this visitor's own earlier jobs (0: its turn)
    created: float = field(default_factory=time.time)
    submitted: float | None = None
    finished: float | None = None
    expected_end: float | None = None  # epoch seconds the task should end, when an ETA is known
    retry_in: float | None = None
    recovering: bool = False  # the create's answer was lost: looking for the task it made
    video: Path | None = None
    actual_prompt: str | None = None  # the service's rewrite of the prompt, when it says
    error: WanError | None = None
    resumed: bool = False
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _handle: TaskHandle | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.phase.final

    @property
    def eta(self) -> float | None:
        """Seconds left until the expected end (0 once overdue)."""
        return None if self.expected_end is None else max(0.0, self.expected_end - time.time())

    @property
    def waited(self) -> float:
        """Seconds spent in this studio's lines before the task was sent."""
        return 0.0 if self.submitted is None else max(0.0, self.submitted - self.created)

    @property
    def elapsed(self) -> float:
        start = self.submitted or self.created
        return max(0.0, (self.finished or time.time()) - start)

    def update(self, **changes: object) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def fail(self, error: WanError, phase: Phase = Phase.ERROR) -> None:
        self.update(error=error, phase=phase, finished=time.time(), expected_end=None,
                    retry_in=None, recovering=False)


@dataclass(frozen=True)
class Credentials:
    """How to call the service for one job. Never stored on a Job, never logged."""

    api_key: str | None = field(repr=False)  # None: the client reads DASHSCOPE_API_KEY
    kind: str


class Runner:
    """All jobs of this studio process, by token (a random id the page keeps in its history)."""

    def __init__(self, store: VideoStore, *, base_url: str | None = None,
                 expected_seconds: float | None = None) -> None:
        self.store = store
        self.base_url = base_url
        # Learns each task shape's submit-to-end time; `expected_seconds` is the prior.
        self.eta = EtaEstimator(prior=expected_seconds)
        self.slots = SlotQueue()
        self._preparing = asyncio.Semaphore(PREPARE_AT_ONCE)
        self._jobs: dict[str, Job] = {}
        self._by_task: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, token: object) -> Job | None:
        return self._jobs.get(token) if isinstance(token, str) else None

    def by_task_id(self, task_id: str) -> Job | None:
        token = self._by_task.get(task_id)
        return self._jobs.get(token) if token else None

    def client(self, region: str, credentials: Credentials) -> WanClient:
        return WanClient(api_key=credentials.api_key, region=region, base_url=self.base_url)

    def _key_id(self, credentials: Credentials) -> str:
        return self.slots.key_id(credentials.api_key, credentials.kind)

    def _new_job(self, region: str, request: VideoRequest | None, credentials: Credentials,
                 token: str | None, *, view_only: bool = False) -> Job:
        self._forget_old_jobs()
        job = Job(token=token or secrets.token_urlsafe(12), region=region, request=request,
                  key_kind=credentials.kind, key_id=self._key_id(credentials),
                  view_only=view_only)
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

    # --- starting and following --------------------------------------------------------------

    def start(self, request: VideoRequest, credentials: Credentials,
              turn: Turn | None = None) -> Job:
        """Queue, submit, watch and download one validated request. With a `turn`, the job
        first waits behind its visitor's earlier jobs (and gives the turn back when it ends)."""
        job = self._new_job(request.region, request, credentials, None)
        self._spawn(self._run(job, request, credentials, turn))
        return job

    def _following(self, task_id: str, credentials: Credentials) -> Job | None:
        """The job that already follows a task for the same payer, if it can still end well."""
        existing = self.by_task_id(task_id)
        if existing is None or existing.key_id != self._key_id(credentials):
            return None  # another key's task: that key's job must not show it to this one
        return None if existing.done and existing.video is None else existing

    def resume(self, task_id: str, region: str, credentials: Credentials, *,
               request: VideoRequest | None = None, token: str | None = None) -> Job:
        """Follow again a task this browser submitted (after a reload or a restart)."""
        existing = self._following(task_id, credentials)
        if existing is not None and (token is None or existing.token == token):
            return existing
        job = self._new_job(region, request, credentials, token)
        job.update(task_id=task_id, phase=Phase.PENDING, resumed=True)
        if existing is None:
            self._by_task[task_id] = job.token
        self._spawn(self._follow_task(job, credentials))
        return job

    def view(self, task_id: str, region: str, credentials: Credentials,
             token: str | None = None) -> Job:
        """Watch a task typed by its id: a job of its own (its own token) that shows the video
        and the status only: never the owner's settings or token, and it cannot cancel."""
        job = self._new_job(region, None, credentials, token, view_only=True)
        job.update(task_id=task_id, phase=Phase.PENDING, resumed=True)
        existing = self._following(task_id, credentials)
        if existing is not None:
            self._spawn(self._mirror(job, existing))
        else:
            self._spawn(self._follow_task(job, credentials))
        return job

    async def _mirror(self, view: Job, source: Job) -> None:
        async for current in self.follow(source):
            view.update(phase=current.phase, submitted=current.submitted,
                        finished=current.finished, expected_end=current.expected_end,
                        video=current.video, error=current.error)

    async def cancel(self, token: str) -> Job | None:
        """Cancel a job: one without a task yet here, a PENDING one at the service
        (CancelNotAllowed once it runs). None when there is no such unfinished job."""
        job = self.get(token)
        if job is None or job.done or job.view_only:
            return None
        if job._handle is None:
            job._stop.set()  # the pipeline stops before it sends anything
            return job
        await job._handle.cancel()
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

    # --- the job itself ----------------------------------------------------------------------

    async def _run(self, job: Job, request: VideoRequest, credentials: Credentials,
                   turn: Turn | None) -> None:
        try:
            if turn is not None:
                while not await turn.wait(TURN_CHECK_SECONDS):
                    if job._stop.is_set():
                        job.fail(TaskCanceled("cancelled while waiting"), Phase.CANCELED)
                        return
                    job.update(line_position=turn.position)
                job.update(line_position=0)
            async with self.client(request.region, credentials) as client:
                pipeline = run_job(client, request, dest=self.store.video_path,
                                   slots=self.slots, key_id=job.key_id,
                                   known_task_ids=self._by_task, eta=self.eta,
                                   preparing=self._preparing, cancel=job._stop)
                async for event in pipeline:
                    self._apply(job, event)
        except WanError as exc:  # before the pipeline: e.g. a key that cannot be sent
            job.fail(exc, phase_of_failure(exc))
        except Exception:  # a bug must not leave the page waiting forever
            log.exception("job %s crashed", job.token)
            job.fail(WanError("unexpected error in the studio"))
        finally:
            if turn is not None:
                turn.release()

    async def _follow_task(self, job: Job, credentials: Credentials) -> None:
        assert job.task_id is not None
        try:
            async with self.client(job.region, credentials) as client:
                async for event in follow(TaskHandle(client, job.task_id), request=job.request,
                                          dest=self.store.video_path, eta=self.eta):
                    self._apply(job, event)
        except WanError as exc:
            job.fail(exc, phase_of_failure(exc))
        except Exception:
            log.exception("resumed job %s crashed", job.token)
            job.fail(WanError("unexpected error in the studio"))

    def _apply(self, job: Job, event: events.Event) -> None:
        """What one pipeline event changes on the job the page shows."""
        if isinstance(event, (events.Preparing, events.Queued)):
            position = event.position if isinstance(event, events.Queued) else 0
            job.update(phase=Phase.QUEUED, queue_position=position)
        elif isinstance(event, events.Submitting):
            job.update(phase=Phase.SUBMITTING, queue_position=0, retry_in=event.retry_in)
        elif isinstance(event, events.Recovering):
            job.update(phase=Phase.SUBMITTING, recovering=True, retry_in=None)
        elif isinstance(event, (events.Pending, events.Running)):
            if job.task_id is None or not job.resumed:
                self._by_task[event.task_id] = job.token
            phase = Phase.RUNNING if isinstance(event, events.Running) else Phase.PENDING
            job.update(task_id=event.task_id, phase=phase, _handle=event.handle,
                       submitted=event.submitted_at or job.submitted or time.time(),
                       expected_end=event.expected_end, retry_in=None, recovering=False)
        elif isinstance(event, events.Downloading):
            job.update(phase=Phase.DOWNLOADING, expected_end=None, _handle=None)
        elif isinstance(event, events.Done):
            self.store.prune(keep=event.path)
            rewritten = event.status.actual_prompt if event.status is not None else None
            job.update(phase=Phase.SUCCEEDED, video=event.path, finished=time.time(),
                       task_id=event.task_id, _handle=None,
                       actual_prompt=rewritten if isinstance(rewritten, str) else None)
        elif isinstance(event, events.Failed):
            if event.task_id and job.task_id is None:
                job.task_id = event.task_id
            job.update(_handle=None)
            job.fail(event.error, phase_of_failure(event.error))


__all__ = ["ACTIVE", "Credentials", "Job", "Phase", "Runner"]
