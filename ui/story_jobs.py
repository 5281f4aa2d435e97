"""Stories that run on the server apart from any page: each one a client StoryRun whose events
move one Job per shot (so a shot's status reads like a single video's) and the film. A page
that is reloaded or closed finds the story again by its token; shots and the film are kept in
the store by the server's own ids (a shot by its task id, the film by the story's token)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from client import events
from client.errors import TaskCanceled, WanError
from client.files import link_or_copy
from client.http import WanClient
from client.story import StoryPlan
from client.story_run import (
    Assembling,
    Continuing,
    FilmDone,
    FilmFailed,
    ShotDone,
    ShotEvent,
    ShotFailed,
    ShotSkipped,
    ShotWaiting,
    StoryEvent,
    StoryRun,
)

from .runner import FORGET_AFTER_SECONDS, Credentials, Job, Phase, phase_of_failure
from .services import Services
from .story_slots import VisitorSlots

log = logging.getLogger(__name__)

FILM_PREFIX = "story-"  # a film's id in the store: never a task id (those are UUIDs)
WORK_FOLDER = "stories"  # under the cache: each story's frames and clips while it runs


@dataclass
class StoryJob:
    """What pages show of one story. Holds no key: that lives only in the run's client."""

    token: str  # the server's id of the story, random: a page knows it only from a sealed record
    plan: StoryPlan
    key_kind: str
    shots: list[Job]
    board: dict[str, Any]  # the storyboard as the browser keeps it (ui/story_board.for_browser)
    waiting_for: dict[int, int] = field(default_factory=dict)  # shot -> the shot it waits for
    continuing: set[int] = field(default_factory=set)  # shots taking their start from the last
    skipped: dict[int, int] = field(default_factory=dict)  # shot -> the failed shot it needed
    assembling: bool = False
    film: Path | None = None
    film_error: WanError | None = None
    running: bool = False
    cancelled: bool = False
    created: float = field(default_factory=time.time)
    finished: float | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _run: StoryRun | None = field(default=None, repr=False)
    _make: Callable[[WanClient], StoryRun] | None = field(default=None, repr=False)

    @property
    def film_id(self) -> str:
        return FILM_PREFIX + self.token

    @property
    def done(self) -> bool:
        return not self.running

    def changed(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def failed_shots(self) -> list[int]:
        return [n for n, job in enumerate(self.shots)
                if job.done and job.phase is not Phase.SUCCEEDED]


def _shot_jobs(story_plan: StoryPlan, token: str, credentials: Credentials,
               key_id: str) -> list[Job]:
    return [Job(token=f"{token}-{shot.index + 1}", region=story_plan.story.region,
                request=shot.request, key_kind=credentials.kind, key_id=key_id)
            for shot in story_plan.shots]


class StoryJobs:
    """All stories of this studio process, by token."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.work = services.store.root / WORK_FOLDER
        self._stories: dict[str, StoryJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, token: object) -> StoryJob | None:
        return self._stories.get(token) if isinstance(token, str) else None

    def _key_id(self, credentials: Credentials) -> str:
        return self.services.runner.slots.key_id(credentials.api_key, credentials.kind)

    def start(self, story_plan: StoryPlan, board: dict, credentials: Credentials,
              visitor: str | None) -> StoryJob:
        """Run a validated plan in the background. `visitor`: its shots take their turns in
        that visitor's line (a shared key); None: straight to the account's queue."""
        self._forget_old()
        token = secrets.token_urlsafe(12)
        story = self._story(token, story_plan, board, credentials, visitor)
        self._spawn(self._run(story, credentials, lambda run: run.run()))
        return story

    def resume(self, token: str, story_plan: StoryPlan, board: dict, credentials: Credentials,
               visitor: str | None, made: dict[int, tuple[str, Path]],
               running: dict[int, str]) -> StoryJob:
        """Finish a story an earlier studio process began (it restarted), under its token:
        the shots it `made` (task id, saved video) are kept, the tasks it left `running` are
        followed to their videos, and only the other shots are made, then the film."""
        self._forget_old()
        story = self._story(token, story_plan, board, credentials, visitor)
        for index, (task_id, video) in made.items():
            story.shots[index].update(task_id=task_id, phase=Phase.SUCCEEDED, video=video,
                                      finished=time.time(), resumed=True)
        for index, task_id in running.items():
            story.shots[index].update(task_id=task_id, phase=Phase.RUNNING, resumed=True)

        def finish(run: StoryRun) -> AsyncIterator[StoryEvent]:
            for index, (task_id, video) in made.items():
                run.adopt(index, task_id, video)
            for index, task_id in running.items():
                run.attach(index, task_id)
            return run.run()

        self._spawn(self._run(story, credentials, finish))
        return story

    def _story(self, token: str, story_plan: StoryPlan, board: dict, credentials: Credentials,
               visitor: str | None) -> StoryJob:
        key_id = self._key_id(credentials)
        story = StoryJob(token, story_plan, credentials.kind,
                         _shot_jobs(story_plan, token, credentials, key_id), board, running=True)
        runner, store = self.services.runner, self.services.store
        slots = (runner.slots if visitor is None
                 else VisitorSlots(runner.slots, self.services.lines, visitor))
        work = self.work / token
        work.mkdir(parents=True, exist_ok=True)
        # A StoryRun is made with its client, which each run opens for itself.
        story._make = partial(StoryRun, plan=story_plan, dest=work,
                              film_path=store.video_path(story.film_id),
                              slots=slots,  # type: ignore[arg-type]  # join() and tickets alike
                              key_id=key_id, eta=runner.eta)
        self._stories[token] = story
        return story

    def redo(self, story: StoryJob, index: int | None,
             credentials: Credentials) -> tuple[int, ...]:
        """Make shot `index` and the shots that continue from it again, then the film (None:
        only what is not made yet, e.g. a film that failed); the shots made again."""
        assert story.done
        again = ((index, *story.plan.dependents(index)) if index is not None
                 else tuple(story.failed_shots()))
        fresh = _shot_jobs(story.plan, story.token, credentials, self._key_id(credentials))
        for shot in again:
            story.shots[shot] = fresh[shot]
            story.skipped.pop(shot, None)
        story.film, story.film_error, story.cancelled = None, None, False
        story.running, story.finished = True, None
        story.changed()
        self._spawn(self._run(story, credentials,
                              lambda run: run.run() if index is None else run.redo(index)))
        return again

    def cancel(self, story: StoryJob) -> bool:
        """Stop the shots that have not made a task yet; False when nothing is left to stop."""
        if story.done:
            return False
        story.cancelled = True
        if story._run is not None:
            story._run.cancel()
        story.changed()
        return True

    async def follow(self, story: StoryJob) -> AsyncIterator[StoryJob]:
        """The story after every change, until it ends."""
        while True:
            changed, done = story._changed, story.done
            yield story
            if done:
                return
            await changed.wait()

    # --- the run ------------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, story: StoryJob, credentials: Credentials,
                   source: Callable[[StoryRun], AsyncIterator[StoryEvent]]) -> None:
        try:
            async with self.services.runner.client(story.plan.story.region,
                                                   credentials) as client:
                if story._run is None:
                    assert story._make is not None
                    story._run = story._make(client)
                run = story._run
                run.client = client
                async for event in source(run):
                    if story.cancelled:  # also a cancel that came before the run began
                        run.cancel()
                    self._apply(story, event)
        except Exception:  # a bug must not leave the pages waiting forever
            log.exception("story %s crashed", story.token)
            for job in story.shots:
                if not job.done:
                    job.fail(WanError("unexpected error in the studio"))
        finally:
            story.running, story.finished = False, time.time()
            story.changed()

    def _apply(self, story: StoryJob, event: StoryEvent) -> None:
        """What one story event changes on what the pages show."""
        if isinstance(event, ShotWaiting):
            story.waiting_for[event.index] = event.after
        elif isinstance(event, Continuing):
            story.waiting_for.pop(event.index, None)
            story.continuing.add(event.index)
            # Its wait for the shot before is the story's, not time spent in line.
            story.shots[event.index].created = time.time()
        elif isinstance(event, ShotEvent):
            story.continuing.discard(event.index)
            story.waiting_for.pop(event.index, None)
            if not isinstance(event.event, events.Done):  # ShotDone follows, with the file
                # The single videos' mapping of pipeline events to a Job: one place for it.
                self.services.runner._apply(story.shots[event.index], event.event)
        elif isinstance(event, ShotDone):
            self._shot_done(story, event)
        elif isinstance(event, ShotFailed):
            job = story.shots[event.index]
            story.waiting_for.pop(event.index, None)
            story.continuing.discard(event.index)
            job.fail(event.error, phase_of_failure(event.error))
        elif isinstance(event, ShotSkipped):
            story.waiting_for.pop(event.index, None)
            story.skipped[event.index] = event.because_of
            story.shots[event.index].fail(TaskCanceled(f"shot {event.because_of + 1} failed"),
                                          Phase.CANCELED)
        elif isinstance(event, Assembling):
            story.assembling = True
        elif isinstance(event, FilmDone):
            story.assembling, story.film = False, event.path
            self.services.store.prune(keep=event.path)
        elif isinstance(event, FilmFailed):
            story.assembling, story.film_error = False, event.error
        story.changed()

    def _shot_done(self, story: StoryJob, event: ShotDone) -> None:
        """The shot's video, kept in the store by its task id like any video (a second name
        for StoryRun's file, which it still reads for the next shot and the film)."""
        job = story.shots[event.index]
        store = self.services.store
        kept = link_or_copy(event.path, store.video_path(job.task_id or event.path.stem))
        store.prune(keep=kept)
        job.update(phase=Phase.SUCCEEDED, video=kept, finished=time.time(), _handle=None,
                   expected_end=None)

    def _forget_old(self, now: float | None = None) -> None:
        """Ended stories stay followable for an hour (their files then go); a page after that
        finds the finished shots and the film in the store by their ids."""
        cutoff = (now or time.time()) - FORGET_AFTER_SECONDS
        for token, story in list(self._stories.items()):
            if story.done and (story.finished or story.created) < cutoff:
                del self._stories[token]
                shutil.rmtree(self.work / token, ignore_errors=True)
