"""The steps before a task exists: validate and upload local media (prepare), then one create
call; and `run`, the plain form of a job (no slot queue, no create retries, no recovery: the
full job is client.pipeline.run_job)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import InvalidInput
from .fields import MEDIA_FIELDS
from .handle import TaskHandle
from .http import WanClient
from .request import VideoRequest, local_path, source_kind, to_payload, validate
from .status import Pending
from .tasks import Progress, create_task
from .uploads import upload_file


@dataclass(frozen=True)
class Submitted:
    task_id: str
    request: VideoRequest  # validated, defaults filled in
    payload: dict[str, Any]


async def _media_url(client: WanClient, value: str | Path, model: str) -> str:
    """http(s), oss:// and data: URIs go as they are; a local file becomes an oss:// URL."""
    if source_kind(value) == "file":
        return await upload_file(client, local_path(value), model)
    return str(value)


@dataclass(frozen=True)
class Prepared:
    """A request validated and with its local files uploaded: ready to create as a task."""

    request: VideoRequest  # validated, defaults filled in
    payload: dict[str, Any]
    oss: bool  # the payload holds oss:// URLs


async def submit(client: WanClient, req: VideoRequest) -> Submitted:
    """Validate (media included), upload local files, create the task. Nothing is sent when
    validation fails."""
    return await create(client, await prepare(client, req))


async def create(client: WanClient, prepared: Prepared) -> Submitted:
    """Create the task for a prepared request (the only step an account's task limit counts),
    in one attempt: client.pipeline decides whether to try again."""
    pending = await create_task(client, prepared.payload, oss=prepared.oss)
    return Submitted(pending.task_id, prepared.request, prepared.payload)


async def prepare(client: WanClient, req: VideoRequest) -> Prepared:
    """Validate (media included) and upload local files; nothing is sent when validation fails.
    Done while a job still waits for a free task slot, so a freed slot is taken at once."""
    if req.region != client.region:
        raise InvalidInput("region", f"the request is for {req.region} but the client is set up "
                                     f"for {client.region}; keys and models belong to one region")
    checked = validate(req, check_media=True)
    urls = [None if (value := getattr(checked, name)) is None
            else await _media_url(client, value, checked.model) for name in MEDIA_FIELDS]
    payload = to_payload(checked, *urls)
    oss = any(url is not None and source_kind(url) == "oss" for url in urls)
    return Prepared(checked, payload, oss)


async def run(client: WanClient, req: VideoRequest, out_dir: Path, *,
              deadline: float | None = None) -> AsyncIterator[Progress | Path]:
    """Submit, watch and download: yields Progress events, then the saved video's Path.

    Raises what `handle.outcome` says when the task ends without a video (TaskFailed with the
    service's code, TaskCanceled, TaskExpired), and WaitTimeout past `deadline` seconds.
    """
    submitted = await submit(client, req)
    handle = TaskHandle(client, submitted.task_id)
    last = Progress(Pending(task_id=submitted.task_id), 0.0, None, True, 0)
    yield last  # the task id, before the first status query
    async for progress in handle.watch(deadline=deadline):
        if progress.polls == 1 and progress.status.name == last.status.name:
            progress = replace(progress, changed=False)  # already announced above
        last = progress
        yield progress
    yield await handle.download(Path(out_dir) / f"{submitted.task_id}.mp4", last.status)
