"""What the Generate, Cancel and Resume buttons (and a reload) do: validate, wait for a turn,
follow a job and stream its status, record and video to the page."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from client import catalog
from client.errors import CancelNotAllowed, InvalidInput, WanError
from client.fields import MEDIA_FIELDS
from client.request import VideoRequest, local_path, source_kind, validate

from .form import Form, build_request
from .history import needs_follow, record_of, request_of
from .i18n import t
from .messages import error_sentence
from .records import HISTORY_LIMIT, Record
from .runner import Credentials, Job, Phase
from .services import Services, credentials_for
from .status import status_text

RESTORES_AT_ONCE = 2  # restore events one visitor may have running
ACTUAL_PROMPT_MAX_CHARS = 10_000  # what the page shows of a rewritten prompt


@dataclass
class Step:
    """One streamed update of the generate / resume events."""

    status: str
    video: str | None | Any = field(default_factory=gr.skip)
    record: Record | Any = field(default_factory=gr.skip)
    error: str | None = None  # set on the last step when the request was refused or failed

    def outputs(self) -> tuple[Any, Any, Any]:
        return self.status, self.video, self.record


def _refused(sentence: str) -> Step:
    return Step("⚠ " + sentence, None, gr.skip(), error="⚠ " + sentence)


def _kept(services: Services, req: VideoRequest) -> VideoRequest:
    """The request with its uploaded files copied into the store, where "use these settings
    again" finds them by name later."""
    changes = {}
    for name in MEDIA_FIELDS:
        value = getattr(req, name)
        if value is not None and source_kind(value) == "file":
            changes[name] = str(services.store.keep_upload(local_path(value)))
    return req.replace(**changes) if changes else req


def _checked(services: Services, form: Form) -> VideoRequest:
    """The validated request, its uploads kept in the store."""
    req = build_request(form)
    if req.seed is None:
        req = req.replace(seed=random.randint(0, catalog.SEED_MAX))
    return _kept(services, validate(req, check_media=True))


async def generate(services: Services, form: Form, api_key: str | None, lang: str,
                   visitor: str) -> AsyncIterator[Step]:
    """Validate, wait for a turn and a slot, submit, stream the status, end with the video."""
    try:
        credentials = credentials_for(services, api_key, lang)
        # Probing media decodes files: off the event loop, which serves every other page.
        req = await asyncio.to_thread(_checked, services, form)
    except InvalidInput as exc:
        yield _refused(error_sentence(exc, lang))
        return
    turn = None
    if credentials.kind in ("host", "simulator"):  # a shared key: limits per visitor
        wait = services.cap.take(visitor)
        if wait is not None:
            key = "cap_reached" if credentials.kind == "host" else "demo_cap_reached"
            yield _refused(t(key, lang, limit=services.cap.limit,
                             minutes=max(1, int(wait // 60))))
            return
        turn = services.lines.join(visitor)
        if turn is None:
            yield _refused(t("st_busy", lang, count=services.lines.busy(visitor),
                             seconds=max(5, round(services.runner.eta.prior or 60))))
            return
    job = services.runner.start(req, credentials, turn)
    async for step in follow(services, job, lang, first_video=None):
        yield step


async def follow(services: Services, job: Job, lang: str, *,
                 first_video: Any = None) -> AsyncIterator[Step]:
    """Stream a job: a record whenever its phase changes, the video once it is downloaded."""
    last_phase = None
    last_text = None
    first = True
    async for current in services.runner.follow(job):
        # The job is live: read everything now, before the yield lets it move on.
        phase = current.phase
        text = status_text(current, lang)
        news = status_text(current, lang, live=False)
        if not first and phase == last_phase and news == last_text and not current.done:
            continue  # the clocks tick in the page; every update costs the server with many pages
        record = (record_of(current, services.store, services.seal)
                  if phase != last_phase or first else gr.skip())
        video: Any = first_video if first else gr.skip()
        if phase is Phase.SUCCEEDED and current.video is not None:
            video = str(current.video)
        error = text if current.done and phase is not Phase.SUCCEEDED else None
        last_phase, last_text, first = phase, news, False
        yield Step(text, video, record, error=error)


def rewritten_prompt(services: Services, record: Any) -> str:
    """The prompt as the service rewrote it (`actual_prompt`) for the page's finished job, or
    "". Only a record the server sealed names a job, and a job that follows someone else's task
    by its id shows nothing of their prompt."""
    opened = services.seal.open(record)
    if opened is None or Phase.of(opened.get("status")) is not Phase.SUCCEEDED:
        return ""  # the page shows the rewrite with its video, not while it waits
    job = services.runner.get(opened["token"])
    if job is None or job.view_only or job.phase is not Phase.SUCCEEDED:
        return ""
    return (job.actual_prompt or "")[:ACTUAL_PROMPT_MAX_CHARS]


async def cancel(services: Services, record: Record | None, lang: str) -> str:
    """Cancel the page's current task; a plain sentence when it cannot be cancelled any more."""
    opened = services.seal.open(record)
    job = services.runner.get(opened["token"]) if opened is not None else None
    if job is not None and job.view_only:
        return t("st_cancel_not_owner", lang)
    if job is None or job.done:
        return t("st_cancel_none", lang)
    try:
        await services.runner.cancel(job.token)
    except CancelNotAllowed as exc:
        return error_sentence(exc, lang)
    except WanError as exc:
        return error_sentence(exc, lang)
    return t("st_cancel_sent", lang)


async def restore(services: Services, history: Any, api_key: str | None, lang: str,
                  visitor: str = "unknown") -> AsyncIterator[Step]:
    """After a reload or restart: follow every unfinished task of this browser again. Only
    records the server sealed count, at most HISTORY_LIMIT, and a visitor restores at most
    RESTORES_AT_ONCE times at once (each restore may follow many tasks)."""
    if services.restoring.get(visitor, 0) >= RESTORES_AT_ONCE:
        yield Step(t("st_restore_busy", lang))
        return
    services.restoring[visitor] = services.restoring.get(visitor, 0) + 1
    try:
        async for step in _restore(services, services.seal.open_history(history), api_key,
                                   lang):
            yield step
    finally:
        services.restoring[visitor] -= 1
        if not services.restoring[visitor]:
            del services.restoring[visitor]


async def _restore(services: Services, history: list[Record], api_key: str | None,
                   lang: str) -> AsyncIterator[Step]:
    waiting_for_key = 0
    followed = 0
    for record in history[:HISTORY_LIMIT]:
        job = services.runner.get(record.get("token"))
        if job is None:
            if not needs_follow(record, services.store):
                continue
            try:
                credentials = _resume_credentials(services, record, api_key, lang)
            except InvalidInput:
                waiting_for_key += 1
                continue
            region = str(record.get("region"))
            if record.get("view"):
                job = services.runner.view(str(record["task_id"]), region, credentials,
                                           token=str(record["token"]))
            else:
                job = services.runner.resume(str(record["task_id"]), region, credentials,
                                             request=request_of(record, services.store),
                                             token=str(record["token"]))
        elif job.done and Phase.of(record.get("status")) is job.phase:
            continue
        followed += 1
        async for step in follow(services, job, lang, first_video=gr.skip()):
            yield step
    if waiting_for_key:
        yield Step(t("st_need_key", lang, count=waiting_for_key))
    elif not followed:
        yield Step(t("st_nothing", lang))  # an event that yields nothing would blank its outputs


def _resume_credentials(services: Services, record: Record, api_key: str | None,
                        lang: str) -> Credentials:
    """A personal key's task can only be followed again with that person's key."""
    if record.get("key_kind") == "personal" and not (api_key or "").strip():
        raise InvalidInput("api_key", t("rule_no_key", lang))
    return credentials_for(services, api_key, lang)


async def resume_by_id(services: Services, task_id: str, region: str, api_key: str | None,
                       lang: str) -> AsyncIterator[Step]:
    """Follow a task by its id (from another tab, the CLI, or before the history existed)."""
    task_id = "" if task_id is None else str(task_id).strip()
    try:
        plain = task_id.replace("-", "").replace("_", "")
        if not task_id or len(task_id) > 128 or not plain.isalnum():
            raise InvalidInput("task_id", t("rule_task_id", lang))
        credentials = credentials_for(services, api_key, lang)
    except InvalidInput as exc:
        sentence = "⚠ " + error_sentence(exc, lang)
        yield Step(sentence, gr.skip(), gr.skip(), error=sentence)
        return
    region = region if region in catalog.REGIONS else catalog.DEFAULT_REGION
    job = services.runner.view(task_id, region, credentials)
    async for step in follow(services, job, lang, first_video=None):
        yield step
