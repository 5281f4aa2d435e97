"""Running a story's plan: each shot is one client.pipeline job on a shared slot queue, so shots
that start from their own picture run at once within the account's limits, and a shot that
continues another starts from that one's saved video (its last frame, or its last seconds).
When every shot is saved, client.film assembles them into one MP4."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from . import events, film, frames
from .errors import TaskCanceled, WanError
from .files import link_or_copy
from .handle import TaskHandle
from .http import WanClient
from .pipeline import Eta, follow, run_job, video_file
from .request import VideoRequest
from .slots import SlotQueue
from .story import CONTINUE_CLIP_SECONDS, Continue, PlannedShot, StoryPlan


@dataclass(frozen=True)
class ShotWaiting:
    """The shot waits for shot `after`, which it continues from."""

    index: int
    after: int


@dataclass(frozen=True)
class Continuing:
    """Shot `after` is saved; its last frame (or its last seconds, a clip) is being taken for
    this shot."""

    index: int
    after: int
    continues: Continue


@dataclass(frozen=True)
class ShotEvent:
    """One event of the shot's job, as client.pipeline reports it."""

    index: int
    event: events.Event


@dataclass(frozen=True)
class ShotDone:
    index: int
    path: Path


@dataclass(frozen=True)
class ShotFailed:
    index: int
    error: WanError


@dataclass(frozen=True)
class ShotSkipped:
    """Not run: shot `because_of`, which it continues from (directly or through others),
    failed."""

    index: int
    because_of: int


@dataclass(frozen=True)
class Assembling:
    """Every shot is saved; the film is being put together."""


@dataclass(frozen=True)
class FilmDone:
    path: Path
    info: film.FilmInfo


@dataclass(frozen=True)
class FilmFailed:
    error: WanError


StoryEvent = (ShotWaiting | Continuing | ShotEvent | ShotDone | ShotFailed | ShotSkipped
              | Assembling | FilmDone | FilmFailed)


class StoryRun:
    """One story's shots and film, run (and run again) into the folder `dest`.

    Shot videos are saved there as "<story id>-shot<N>-<task id>.mp4" and stay there: a redo
    makes a new file. `slots` is the account's queue (shared with its other jobs; a new one by
    default); `key_id`, `eta` and `heartbeat` are passed to client.pipeline.run_job. Call
    `forget`, `redo`, `adopt` or `attach` only between runs.
    """

    def __init__(self, client: WanClient, plan: StoryPlan, dest: Path, *,
                 film_path: Path | None = None, slots: SlotQueue | None = None,
                 key_id: str | None = None, eta: Eta | None = None,
                 heartbeat: float | None = None) -> None:
        self.client, self.plan, self.dest = client, plan, Path(dest)
        self.film_path = film_path or self.dest / f"{plan.story.id}-film.mp4"
        self.slots = slots if slots is not None else SlotQueue()
        self.key_id, self.eta, self.heartbeat = key_id, eta, heartbeat
        self.videos: dict[int, Path] = {}  # the saved video of each finished shot
        self.film: film.FilmInfo | None = None
        self._in_points: dict[int, float] = {}  # clip-continued shots: where the new part starts
        self._cause: dict[int, int] = {}  # an unfinished shot: the shot whose failure stopped it
        self._task_ids: set[str] = set()  # never taken for another shot's lost create answer
        self._attached: dict[int, str] = {}  # shot -> its task, made by an earlier run
        self._cancel = asyncio.Event()

    def adopt(self, index: int, task_id: str, video: Path) -> None:
        """Take shot `index` as made by an earlier run (of a studio since restarted): its saved
        video, given this run's name for it. Nothing is made or paid for again."""
        self.dest.mkdir(parents=True, exist_ok=True)
        self.videos[index] = link_or_copy(video, self._video_path(index)(task_id))
        self._task_ids.add(task_id)

    def attach(self, index: int, task_id: str) -> None:
        """Shot `index`'s task was made by an earlier run: follow it to its video rather than
        make (and pay for) another."""
        self._attached[index] = task_id
        self._task_ids.add(task_id)

    def cancel(self) -> None:
        """Stop the shots that have not made a task yet; tasks already made go on."""
        self._cancel.set()

    def forget(self, index: int) -> tuple[int, ...]:
        """Mark shot `index` and the shots that continue from it as to be made again (their
        files stay on disk); the shots marked."""
        marked = (index, *self.plan.dependents(index))
        for shot in marked:
            self.videos.pop(shot, None)
            self._in_points.pop(shot, None)
        self.film = None
        return marked

    async def redo(self, index: int) -> AsyncIterator[StoryEvent]:
        """Make shot `index` and the shots that continue from it again, then the film."""
        self.forget(index)
        async for event in self.run():
            yield event

    async def run(self) -> AsyncIterator[StoryEvent]:
        """Make every shot not saved yet (a failed or skipped one again), then the film."""
        self._cancel = asyncio.Event()
        todo = [shot.index for shot in self.plan.shots if shot.index not in self.videos]
        outcomes = {index: asyncio.get_running_loop().create_future() for index in todo}
        queue: asyncio.Queue[StoryEvent | None] = asyncio.Queue()  # None: a shot has ended

        async def shot(index: int) -> None:
            try:
                await self._shot(self.plan.shots[index], outcomes, queue.put_nowait)
            finally:
                if not outcomes[index].done():
                    outcomes[index].set_result(False)
                queue.put_nowait(None)

        tasks = [asyncio.create_task(shot(index)) for index in todo]
        try:
            ended = 0
            while ended < len(tasks):
                item = await queue.get()
                if item is None:
                    ended += 1
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            task.result()  # a bug in a shot's coroutine surfaces here, not as a silent hang
        if len(self.videos) < len(self.plan.shots):
            return
        if self.film is not None:  # nothing was left to make
            yield FilmDone(self.film.path, self.film)
            return
        yield Assembling()
        yield await self._assemble()

    async def _shot(self, planned: PlannedShot, outcomes: dict[int, asyncio.Future[bool]],
                    emit: Callable[[StoryEvent], None]) -> None:
        index, after = planned.index, planned.after
        if after is not None and after not in self.videos:
            emit(ShotWaiting(index, after))
            if not await outcomes[after]:
                self._cause[index] = self._cause.get(after, after)
                emit(ShotSkipped(index, self._cause[index]))
                return
        error: WanError | None = None
        task_id = self._attached.pop(index, None)
        try:
            if self._cancel.is_set() and task_id is None:
                raise TaskCanceled(f"shot {index + 1} was cancelled before it started; nothing "
                                   "was charged for it")
            request, in_point = planned.request, 0.0
            if after is not None:  # an attached task has its start: this finds its in-point
                assert planned.continues is not None  # a shot with `after` continues it
                emit(Continuing(index, after, planned.continues))
                request, in_point = await asyncio.to_thread(self._continued, planned)
            source = (run_job(self.client, request, dest=self._video_path(index),
                              slots=self.slots, key_id=self.key_id,
                              known_task_ids=self._task_ids, eta=self.eta,
                              cancel=self._cancel, heartbeat=self.heartbeat)
                      if task_id is None else
                      follow(TaskHandle(self.client, task_id), request=request,
                             dest=self._video_path(index), eta=self.eta,
                             heartbeat=self.heartbeat))
            async for event in source:
                emit(ShotEvent(index, event))
                if isinstance(event, events.Pending):
                    self._task_ids.add(event.task_id)
                elif isinstance(event, events.Done):
                    self.videos[index], self._in_points[index] = event.path, in_point
                    emit(ShotDone(index, event.path))
                elif isinstance(event, events.Failed):
                    error = event.error
        except WanError as exc:  # the previous shot's video could not be continued from
            error = exc
        if error is not None:
            self._cause[index] = index
            emit(ShotFailed(index, error))
        outcomes[index].set_result(error is None and index in self.videos)

    def _video_path(self, index: int) -> Callable[[str], Path]:
        prefix = f"{self.plan.story.id}-shot{index + 1}-"
        return lambda task_id: self.dest / (prefix + video_file(Path(), task_id).name)

    def _continued(self, planned: PlannedShot) -> tuple[VideoRequest, float]:
        """The shot's request with what it starts from, saved beside the video it comes from
        (a local file: the pipeline uploads it); and where its new part begins."""
        assert planned.after is not None
        source = self.videos[planned.after]
        if planned.continues == "clip":
            # Cut exactly, not from the keyframe before as frames.tail_clip may: the plan's
            # length holds, and a short shot is not refused for a clip as long as itself.
            cut = float(film.probe(source).seconds) - CONTINUE_CLIP_SECONDS
            clip = film.assemble([film.Clip(source, cut)],
                                 source.with_name(f"{source.stem}-tail.mp4")).path
            return planned.request.replace(first_clip=clip), float(film.probe(clip).seconds)
        frame = frames.save_last_frame(source, source.with_name(f"{source.stem}-last"))
        return planned.request.replace(image=frame), 0.0

    async def _assemble(self) -> FilmDone | FilmFailed:
        try:
            for shot in self.plan.shots:
                if shot.continues == "clip" and shot.index not in self._in_points:
                    # Adopted from an earlier run: its clip, cut again, says where it ends.
                    self._in_points[shot.index] = (
                        await asyncio.to_thread(self._continued, shot))[1]
            clips = [film.Clip(self.videos[shot.index], self._in_points.get(shot.index, 0.0))
                     for shot in self.plan.shots]
            info = await asyncio.to_thread(film.assemble, clips, self.film_path,
                                           seams=self.plan.seams())
        except WanError as exc:
            return FilmFailed(exc)
        self.film = info
        return FilmDone(info.path, info)
