"""What the Story tab's buttons (and a reload, and the /story endpoint) do: plan and check,
apply the visitor's limits, start a story on the server, and stream its shots and its film."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from client.errors import InvalidInput
from client.story import StoryPlan, from_dict, plan

from .i18n import t
from .messages import error_sentence
from .runner import Credentials, Phase
from .services import Services, credentials_for
from .status import status_text
from .story_board import (
    MAX_SHOTS,
    Board,
    for_browser,
    from_browser,
    plan_of,
    problems_text,
)
from .story_input import api_plan
from .story_jobs import StoryJob, StoryJobs
from .story_records import StorySeal, film_id, shot_states

SHARED_KEYS = ("host", "simulator")  # keys many visitors share: limited per visitor
FOLLOWS_AT_ONCE = 4  # pages of one visitor following stories at once (each an async wait)
PROMPT_SHOWN = 80  # characters of a shot's prompt beside its status


@dataclass
class View:
    """One streamed update of the tab: each value, or gr.skip() where nothing changed."""

    status: Any = field(default_factory=gr.skip)
    film: Any = field(default_factory=gr.skip)
    state: Any = field(default_factory=gr.skip)  # the browser's value for the story
    refilm: Any = field(default_factory=gr.skip)  # "put the film together again" shown
    boxes: list[Any] = field(default_factory=lambda: [gr.skip()] * MAX_SHOTS)
    shots: list[Any] = field(default_factory=lambda: [gr.skip()] * MAX_SHOTS)
    videos: list[Any] = field(default_factory=lambda: [gr.skip()] * MAX_SHOTS)
    redo: list[Any] = field(default_factory=lambda: [gr.skip()] * MAX_SHOTS)
    error: str | None = None  # the last update's, when the story was refused or failed
    shot_files: list[str] = field(default_factory=list)  # the shots' videos (the endpoint's)

    def outputs(self) -> list[Any]:
        """The values in the order of the tab's outputs for a story (ui/story_tab.py)."""
        return [self.status, self.film, self.state, self.refilm, *self.boxes, *self.shots,
                *self.videos, *self.redo]


def refused(sentence: str) -> View:
    return View(status=sentence, error=sentence)


class StoryFlows:
    """The Story tab's handlers, on the studio's services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.jobs = StoryJobs(services)
        self.seal = StorySeal(services.settings.record_key)
        self._following: dict[str, int] = {}  # restores per visitor
        self._pages: dict[str, str] = {}  # page (session) -> the story it follows

    # --- starting -----------------------------------------------------------------------------

    async def make_film(self, board: Board, api_key: str | None, lang: str, visitor: str,
                        page: str | None = None) -> AsyncIterator[View]:
        """Check the storyboard, take the visitor's turn, run the story, stream it."""
        async for view in self._start(lambda: plan_of(board, self.services.store), api_key,
                                      lang, visitor, page):
            yield view

    async def api_story(self, storyboard: Any, picture: str | None, api_key: str | None,
                        lang: str, visitor: str) -> AsyncIterator[View]:
        """The /story endpoint: a storyboard's JSON and its first picture, then as the tab;
        a refused storyboard's problems are named by its JSON keys ("shot 2: image: …")."""
        async for view in self._start(lambda: api_plan(storyboard, picture,
                                                       self.services.store),
                                      api_key, lang, visitor, by_key=True):
            yield view

    async def _start(self, planned: Any, api_key: str | None, lang: str, visitor: str,
                     page: str | None = None, *, by_key: bool = False) -> AsyncIterator[View]:
        try:
            credentials = credentials_for(self.services, api_key, lang)
            # Probing media decodes files: off the event loop, which serves every other page.
            story_plan, data = await asyncio.to_thread(planned)
        except InvalidInput as exc:
            yield refused("⚠ " + str(exc) if by_key else problems_text(exc, lang))
            return
        refusal = self._admit(credentials, visitor, len(story_plan.shots), lang)
        if refusal is not None:
            yield refused(refusal)
            return
        story = self._run(story_plan, data, credentials, visitor)
        async for view in self.follow(story, lang, page):
            yield view

    def _admit(self, credentials: Credentials, visitor: str, count: int,
               lang: str) -> str | None:
        """None when a shared key's limits let this visitor make `count` videos now; else the
        sentence that says why not. A personal key is not limited."""
        if credentials.kind not in SHARED_KEYS:
            return None
        lines, cap = self.services.lines, self.services.cap
        if lines.busy(visitor) >= lines.at_once + lines.waiting:
            return "⚠ " + t("st_busy", lang, count=lines.busy(visitor),
                            seconds=max(5, round(self.services.runner.eta.prior or 60)))
        wait = cap.take(visitor, count)
        if wait is None:
            return None
        minutes = max(1, int(wait // 60))
        if count > 1:
            return "⚠ " + t("story_cap_reached", lang, count=count, limit=cap.limit,
                            minutes=minutes)
        key = "cap_reached" if credentials.kind == "host" else "demo_cap_reached"
        return "⚠ " + t(key, lang, limit=cap.limit, minutes=minutes)

    def _run(self, story_plan: StoryPlan, data: dict[str, Any], credentials: Credentials,
             visitor: str) -> StoryJob:
        board = for_browser(data, self.services.store)
        return self.jobs.start(story_plan, board, credentials,
                               visitor if credentials.kind in SHARED_KEYS else None)

    # --- following ----------------------------------------------------------------------------

    async def follow(self, story: StoryJob, lang: str,
                     page: str | None = None) -> AsyncIterator[View]:
        """Stream a story: every output once, then only what changed (a shot's status when
        its news changes: the clocks tick in the page). `page` (the page's session): a page
        follows one story at a time, the one it started or picked up last."""
        if page is not None:
            self._pages[page] = story.token
        sent: dict[str, Any] = {}
        kept: Any = None
        try:
            async for current in self.jobs.follow(story):
                if page is not None and self._pages.get(page) != story.token:
                    return  # the page has moved on to another story
                view = View()
                for name, (value, news) in _frame(current, lang).items():
                    if sent.get(name, _UNSENT) != news:
                        sent[name] = news
                        _put(view, name, value)
                record = _record_key(current)
                if record != kept:
                    kept, view.state = record, self.seal.keep(current)
                view.shot_files = [str(job.video) for job in current.shots
                                   if job.video is not None]
                if current.done and (current.failed_shots() or current.film_error is not None):
                    view.error = _overall(current, lang)
                yield view
        finally:
            if page is not None and self._pages.get(page) == story.token:
                del self._pages[page]

    async def restore(self, value: Any, lang: str, visitor: str,
                      page: str | None = None) -> AsyncIterator[View]:
        """When the page finds a story in the browser (after a reload, or a closed tab): the
        story, followed again while it runs; else its finished shots and film, found in the
        store by their ids. Nothing when this page follows that story already (the browser
        reports every value the server writes, too)."""
        opened = self.seal.open(value)
        if opened is None:
            yield _empty(lang)
            return
        record, board = opened
        if page is not None and self._pages.get(page) == record["token"]:
            yield View()
            return
        story = self.jobs.get(record["token"])
        if story is None:
            yield _from_store(self.services, record, board, lang)
            return
        if self._following.get(visitor, 0) >= FOLLOWS_AT_ONCE:
            yield View(status=t("st_restore_busy", lang))
            return
        self._following[visitor] = self._following.get(visitor, 0) + 1
        try:
            async for view in self.follow(story, lang, page):
                yield view
        finally:
            self._following[visitor] -= 1
            if not self._following[visitor]:
                del self._following[visitor]

    # --- after it started ---------------------------------------------------------------------

    def story_of(self, value: Any) -> StoryJob | None:
        opened = self.seal.open(value)
        return self.jobs.get(opened[0]["token"]) if opened is not None else None

    def cancel(self, value: Any, lang: str) -> str:
        story = self.story_of(value)
        if story is None or not self.jobs.cancel(story):
            return t("story_cancel_none", lang)
        return t("story_cancel_sent", lang)

    async def redo(self, value: Any, index: int | None, api_key: str | None, lang: str,
                   visitor: str, page: str | None = None) -> AsyncIterator[View]:
        """Make shot `index` (and what continues from it) again, then the film; None: only
        the film."""
        story = self.story_of(value)
        if story is None:
            opened = self.seal.open(value)
            if opened is not None and index is None:
                async for view in self._resume(*opened, api_key, lang, visitor, page):
                    yield view
                return
            yield View(status=t("story_gone" if opened else "story_none_kept", lang))
            return
        if not story.done:
            yield View(status=t("story_still_running", lang))
            return
        if index is not None and not 0 <= index < len(story.shots):
            yield View(status=t("story_no_such_shot", lang, n=index + 1))
            return
        try:
            credentials = credentials_for(self.services, api_key, lang)
        except InvalidInput as exc:
            yield refused("⚠ " + error_sentence(exc, lang))
            return
        count = 0 if index is None else 1 + len(story.plan.dependents(index))
        refusal = self._admit(credentials, visitor, count, lang) if count else None
        if refusal is not None:
            yield refused(refusal)
            return
        self.jobs.redo(story, index, credentials)
        async for view in self.follow(story, lang, page):
            yield view

    async def _resume(self, record: dict[str, Any], board: dict[str, Any], api_key: str | None,
                      lang: str, visitor: str, page: str | None) -> AsyncIterator[View]:
        """A story this process does not run (the studio restarted while it was made): keep
        the shots made, follow the tasks left running, make only the others, then the film."""
        if record.get("film"):
            yield _from_store(self.services, record, board, lang)
            return
        try:
            credentials = credentials_for(self.services, api_key, lang)
            story_plan = await asyncio.to_thread(self._replanned, board)
        except InvalidInput as exc:
            yield refused(problems_text(exc, lang))
            return
        if record.get("key_kind") == "personal" and credentials.kind != "personal":
            yield refused("⚠ " + t("story_needs_own_key", lang))  # its tasks are that account's
            return
        states = shot_states(record)
        if len(states) != len(story_plan.shots) or \
                record.get("region") != story_plan.story.region:
            yield View(status=t("story_gone", lang))  # sealed by us, so never seen; all the same
            return
        made, running = _progress(self.services, states)
        story = self.jobs.get(record["token"])  # another page may have resumed it meanwhile
        if story is None:
            count = len(states) - len(made) - len(running)
            refusal = self._admit(credentials, visitor, count, lang) if count else None
            if refusal is not None:
                yield refused(refusal)
                return
            story = self.jobs.resume(str(record["token"]), story_plan, board, credentials,
                                     visitor if credentials.kind in SHARED_KEYS else None,
                                     made, running)
        async for view in self.follow(story, lang, page):
            yield view

    def _replanned(self, board: dict[str, Any]) -> StoryPlan:
        """The plan of a storyboard the browser kept, read from the store's uploads only."""
        data = from_browser(board, self.services.store)
        return plan(from_dict(data, self.services.store.uploads, confined=True))

    def storyboard_of(self, value: Any) -> dict[str, Any] | None:
        """The storyboard the browser kept (sealed), its uploads found in the store again."""
        opened = self.seal.open(value)
        return from_browser(opened[1], self.services.store) if opened is not None else None


# --- what a story looks like on the page -------------------------------------------------------

_UNSENT = object()


def _put(view: View, name: str, value: Any) -> None:
    slot, _, number = name.partition(":")
    if number:
        getattr(view, slot)[int(number)] = value
    else:
        setattr(view, slot, value)


def _record_key(story: StoryJob) -> tuple[Any, ...]:
    """What the browser's record holds: it is sent again only when this changes."""
    return (tuple((job.task_id, job.phase) for job in story.shots), story.film is not None)


def _shot_line(story: StoryJob, index: int, lang: str, live: bool) -> str:
    job = story.shots[index]
    if index in story.skipped:
        return t("story_skipped", lang, because=story.skipped[index] + 1)
    if index in story.waiting_for and job.phase is Phase.QUEUED:
        return t("story_waits", lang, after=story.waiting_for[index] + 1)
    if index in story.continuing and job.phase is Phase.QUEUED:
        after = story.plan.shots[index].after
        key = ("story_continuing_clip" if story.plan.shots[index].continues == "clip"
               else "story_continuing")
        return t(key, lang, after=(after or 0) + 1)
    return status_text(job, lang, live=live)


def _title(index: int, prompt: Any, lang: str) -> str:
    """ "Shot 2 · She waves" (the prompt cut short)."""
    text = " ".join(prompt.split()) if isinstance(prompt, str) else ""
    if len(text) > PROMPT_SHOWN:
        text = text[:PROMPT_SHOWN - 1] + "…"
    return t("story_shot_title", lang, n=index + 1) + (f" · {text}" if text else "")


def _overall(story: StoryJob, lang: str) -> str:
    count = len(story.shots)
    if story.film is not None:
        return t("story_done", lang, seconds=f"{story.plan.seconds:g}", count=count)
    if story.assembling:
        return t("story_assembling", lang)
    if story.running:
        done = sum(job.phase is Phase.SUCCEEDED for job in story.shots)
        return t("story_running", lang, done=done, count=count)
    if story.film_error is not None:
        return t("story_film_failed", lang, why=error_sentence(story.film_error, lang))
    if story.cancelled:
        return t("story_cancelled", lang)
    return t("story_failed", lang, failed=len(story.failed_shots()))


def _frame(story: StoryJob, lang: str) -> dict[str, tuple[Any, Any]]:
    """Every output's (value, what decides whether it is sent again)."""
    frame: dict[str, tuple[Any, Any]] = {}
    overall = _overall(story, lang)
    frame["status"] = (overall, overall)
    film = str(story.film) if story.film is not None else None
    frame["film"] = (film, film)
    refilm = story.done and story.film_error is not None
    frame["refilm"] = (gr.update(visible=refilm), refilm)
    count = len(story.shots)
    for n in range(MAX_SHOTS):
        shown = n < count
        frame[f"boxes:{n}"] = (gr.update(visible=shown), shown)
        if not shown:
            continue
        job = story.shots[n]
        title = _title(n, story.plan.shots[n].request.prompt, lang)
        frame[f"shots:{n}"] = (f"{title}\n\n{_shot_line(story, n, lang, True)}",
                               f"{title}\n\n{_shot_line(story, n, lang, False)}")
        video = str(job.video) if job.phase is Phase.SUCCEEDED and job.video else None
        frame[f"videos:{n}"] = (_player(video), video)
        failed = story.done and n in story.failed_shots() and n not in story.skipped
        frame[f"redo:{n}"] = (gr.update(visible=failed), failed)
    return frame


def _empty(lang: str) -> View:
    hidden = [gr.update(visible=False)] * MAX_SHOTS
    return View(status=t("story_nothing", lang), film=None, refilm=gr.update(visible=False),
                boxes=hidden, shots=[""] * MAX_SHOTS, videos=[_player(None)] * MAX_SHOTS,
                redo=list(hidden))


def _player(video: str | None) -> Any:
    """A shot's player: shown once its video is there."""
    return gr.update(value=video, visible=video is not None)


def _progress(services: Services, states: list[tuple[str | None, Phase | None]]
              ) -> tuple[dict[int, tuple[str, Path]], dict[int, str]]:
    """Of a stopped story's shots: those made (task id, video in the store), and those whose
    task was made but not yet saved (followed again: paid for, so never made twice)."""
    made: dict[int, tuple[str, Path]] = {}
    running: dict[int, str] = {}
    for n, (task_id, phase) in enumerate(states):
        if not task_id or phase not in _TASK_MADE:
            continue
        video = services.store.video_for(task_id) if phase is Phase.SUCCEEDED else None
        if video is not None:
            made[n] = (task_id, video)
        else:
            running[n] = task_id
    return made, running


_TASK_MADE = (Phase.PENDING, Phase.RUNNING, Phase.DOWNLOADING, Phase.SUCCEEDED)


def _from_store(services: Services, record: dict[str, Any], board: dict[str, Any],
                lang: str) -> View:
    """A story this process no longer runs (forgotten, or the studio restarted): what the
    store still has of it, by the ids in the sealed record."""
    store = services.store
    view = _empty(lang)
    states = shot_states(record)[:MAX_SHOTS]
    prompts = [s.get("prompt") for s in board["shots"]]  # the sealed storyboard: the server's
    for n, (task_id, phase) in enumerate(states):
        video = store.video_for(task_id) if phase is Phase.SUCCEEDED else None
        line = (t("st_task", lang, task_id=task_id) if video is not None and task_id
                else t("story_lost", lang))
        view.boxes[n] = gr.update(visible=True)
        view.shots[n] = f"{_title(n, prompts[n] if n < len(prompts) else '', lang)}\n\n{line}"
        view.videos[n] = _player(str(video) if video is not None else None)
        view.shot_files += [str(video)] if video is not None else []
    film = store.video_for(film_id(record)) if record.get("film") else None
    view.film = str(film) if film is not None else None
    seconds = record.get("seconds")
    ready = len(view.shot_files)
    view.status = (t("story_done", lang, seconds=f"{seconds:g}" if isinstance(
        seconds, (int, float)) else "?", count=len(states)) if film is not None
        else t("story_stopped", lang, done=ready, count=len(states)))
    view.refilm = gr.update(visible=film is None)  # finishes it: see StoryFlows._resume
    return view
