"""The task API under /api/v1: create, query, cancel and list, answering as the service does."""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from .. import catalog
from ..catalog import Audio, Model, Protocol, Usage
from ..errors import InvalidInput
from ..fields import FIELDS, MEDIA
from ..links import LinkFetcher
from ..protocols import CREATE_PATHS, IMAGE2VIDEO_PATH, VIDEO_GENERATION_PATH, wire_of
from ..request import VideoRequest, from_payload, has_sound, predict_output_size, validate
from ..status import format_time
from .context import Simulator
from .faults import Fault
from .gate import FAULT_SCOPE_KEY
from .intake import Intake, Media, gather_media, invalid_parameter, uses_oss
from .responses import (
    NO_KEY_MESSAGE,
    SYNC_CALL_MESSAGE,
    WRONG_ENDPOINT_MESSAGE,
    ApiRefusal,
    message_for,
    ok,
)
from .state import SimTask, account_of
from .worker import RenderInput

API_ROOT = "/api/v1"  # where the server mounts this router (server.API_PREFIX)
# Spec §5, decisions 1 and 3, for the media protocol (wan2.7): a bad create is accepted and its
# task FAILS with InvalidParameter, and parameters the model lacks are ignored. The legacy and
# kf2v protocols refuse both at once (400), as the legacy service is documented to.
LENIENT = frozenset({Protocol.MEDIA})
# kf2v answers report task_metrics (spec §3.5); the other protocols' examples show none.
TASK_METRICS = frozenset({Protocol.KF2V})
STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED")
LIST_TIME_FORMAT = "%Y%m%d%H%M%S"
PAGE_SIZE_MAX = 100
# JSON types of the create call's string and switch fields (numbers are checked by validate()).
_WIRE_TYPES: dict[tuple[str, str], type] = {
    (f.wire[0], f.wire[1]): f.json_type
    for f in FIELDS
    if f.wire is not None and len(f.wire) == 2 and f.json_type is not int
}
_TYPE_NAMES = {str: "a string", bool: "true or false"}


def authenticate(request: Request) -> str:
    """The account (a hash of the key) the request acts for, or the service's 401."""
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not key:
        raise ApiRefusal("InvalidApiKey", NO_KEY_MESSAGE)
    if key.startswith("sk-invalid"):
        raise ApiRefusal("InvalidApiKey")
    return account_of(key)


def _stamp(moment: float | None) -> str | None:
    return None if moment is None else format_time(datetime.fromtimestamp(moment))


def _millis(moment: float | None) -> int | None:
    return None if moment is None else int(moment * 1000)


def build_router(sim: Simulator) -> APIRouter:
    router = APIRouter()
    links = LinkFetcher(allow=sim.config.link_allow, limits=sim.config.link_limits)

    @router.post(VIDEO_GENERATION_PATH)
    @router.post(IMAGE2VIDEO_PATH)
    async def create_task(request: Request) -> JSONResponse:
        account = authenticate(request)
        if request.headers.get("x-dashscope-async", "").lower() != "enable":
            raise ApiRefusal("AccessDenied", SYNC_CALL_MESSAGE)
        endpoint = next(p for p in CREATE_PATHS if request.url.path.rstrip("/").endswith(p))
        body = await request.body()
        model, req, failure = await run_in_threadpool(_prepare, sim, body, endpoint)
        media: Media | None = None
        if failure is None:
            oss_resolve = request.headers.get("x-dashscope-ossresourceresolve", "").lower()
            if oss_resolve != "enable" and uses_oss(req):
                raise ApiRefusal("invalid_parameter_error")
            wire = wire_of(model)
            rules = sim.config.image_rules_by_protocol.get(model.protocol, wire.image_rules)
            intake = Intake(links, sim.store, account, model.id, wire, rules)
            try:  # downloads are awaited here, bounded by the fetcher: none holds a thread
                media = await gather_media(req, intake)
            except ApiRefusal as refusal:
                if model.protocol not in LENIENT:
                    raise
                failure = (refusal.code, refusal.message)
        fault = request.scope.get(FAULT_SCOPE_KEY)
        task = await run_in_threadpool(_admit, sim, account, model, req, media, failure, fault)
        return ok(
            {"output": {"task_status": "PENDING", "task_id": task.task_id}},
            request_id=task.request_id,
        )

    @router.get("/tasks/{task_id}")
    async def get_task(task_id: str, request: Request) -> JSONResponse:
        account = authenticate(request)
        _admit_query(sim, account)
        task = sim.store.task(task_id, account)
        now = time.time()
        if task is None or task.status(now) == "UNKNOWN":
            return ok({"output": {"task_id": task_id, "task_status": "UNKNOWN"}})
        fault: Fault | None = request.scope.get(FAULT_SCOPE_KEY)
        expired = fault is not None and fault.name == "expired-url"
        return ok(_status_body(sim, task, now, str(request.base_url), expired))

    @router.post("/tasks/{task_id}/cancel")
    async def cancel_task(task_id: str, request: Request) -> JSONResponse:
        account = authenticate(request)
        task = sim.store.task(task_id, account)
        now = time.time()
        if task is None or task.status(now) != "PENDING":
            raise ApiRefusal("UnsupportedOperation")
        task.canceled_at = now
        return ok({})

    @router.get("/tasks")
    async def list_tasks(request: Request) -> JSONResponse:
        account = authenticate(request)
        _admit_query(sim, account)
        return ok(_task_page(sim, account, dict(request.query_params)))

    return router


def _admit_query(sim: Simulator, account: str) -> None:
    refusal = sim.limits.admit_query(account)
    if refusal is not None:
        raise ApiRefusal(refusal.code, retry_after=refusal.retry_after)


# --- create -------------------------------------------------------------------------------------


def _parse_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiRefusal("BadRequest.IllegalInput") from None
    if not isinstance(payload, dict):
        raise ApiRefusal("BadRequest.IllegalInput")
    if not payload.get("model"):
        raise ApiRefusal("BadRequest.EmptyModel")
    if payload.get("input") is None:
        raise ApiRefusal("BadRequest.EmptyInput")
    if not isinstance(payload["model"], str):
        raise ApiRefusal("InvalidParameter", "model: must be a string naming the model")
    for section in ("input", "parameters"):
        value = payload.get(section)
        if value is not None and not isinstance(value, dict):
            raise ApiRefusal("InvalidParameter", f"{section}: must be a JSON object")
    for (section, key), wanted in _WIRE_TYPES.items():
        value = (payload.get(section) or {}).get(key)
        if value is not None and not isinstance(value, wanted):
            raise ApiRefusal(
                "InvalidParameter",
                f"{section}.{key}: must be {_TYPE_NAMES[wanted]}, not {json.dumps(value)}",
            )
    return payload


def _prepare(
    sim: Simulator, body: bytes, endpoint: str
) -> tuple[Model, VideoRequest, tuple[str, str] | None]:
    """The model and the checked request of a create body (media not fetched yet), and for a
    lenient protocol the (code, message) its task will fail with, if it is bad."""
    payload = _parse_body(body)
    region = sim.config.region
    model = catalog.model_in_region(payload["model"], region)
    if model is None:
        raise ApiRefusal("ModelNotFound")
    wire = wire_of(model)
    if wire.path != endpoint:
        raise ApiRefusal("InvalidParameter", f"{WRONG_ENDPOINT_MESSAGE} ({model.id} is served at "
                                             f"{API_ROOT}{wire.path})")
    req = VideoRequest(model=model.id, region=region)  # what a body without one stands for
    try:
        req = from_payload(_without_ignored(payload, model), region)
        return model, validate(req, check_media=False), None
    except InvalidInput as exc:
        refusal = invalid_parameter(exc, wire)
        if model.protocol not in LENIENT:
            raise refusal from None
        return model, req, (refusal.code, refusal.message)


def _without_ignored(payload: dict[str, Any], model: Model) -> dict[str, Any]:
    """The body without the parameters a lenient protocol's model lacks (e.g. shot_type,
    template and audio on wan2.7: the official SDK's sample sends it audio=True)."""
    if model.protocol not in LENIENT:
        return payload
    ignored = {f.wire for f in FIELDS if f.wire is not None and len(f.wire) == 2
               and not f.takes(model)}
    return {
        key: {k: v for k, v in value.items() if (key, k) not in ignored}
        if isinstance(value, dict) else value
        for key, value in payload.items()
    }


def _admit(
    sim: Simulator,
    account: str,
    model: Model,
    req: VideoRequest,
    media: Media | None,
    failure: tuple[str, str] | None,
    fault: Fault | None,
) -> SimTask:
    """Admit the task under the account's limits and schedule its render, or refuse it. A task
    with a `failure` (or without media) is admitted to fail."""
    with sim.admission:  # the concurrency count and the new task must not interleave
        now = time.time()
        unfinished = sim.store.unfinished(account, model.id, now)
        soonest = min((t.seconds_left(now) for t in unfinished), default=0)
        refusal = sim.limits.admit_submit(account, model, len(unfinished), soonest)
        if refusal is not None:
            raise ApiRefusal(refusal.code, retry_after=refusal.retry_after)
        frees_at = sim.limits.slot_frees_at(model, [t.due for t in unfinished])
        queued = max(0.0, frees_at - now) if frees_at is not None else 0.0  # waits for a slot
        task = SimTask(
            task_id=str(uuid.uuid4()),
            account=account,
            model=model,
            request=req,
            request_id=str(uuid.uuid4()),
            submitted=now,
            pending_seconds=queued + sim.pending_seconds,
            running_seconds=sim.running_seconds,
            clip_seconds=media.clip_seconds if media is not None else 0.0,
        )
        if failure is not None:
            task.forced_failure = failure
        elif fault is not None and fault.name == "fail":
            code = fault.params.get("code", "InternalError")
            task.forced_failure = (code, fault.params.get("message", message_for(code)))
        task.expired_url = fault is not None and fault.name == "expired-url"
        task.truncated_download = fault is not None and fault.name == "truncated"
        sim.store.add_task(task)
        # The task no longer needs its uploads.
        sim.store.forget_uploads(getattr(req, f.name) for f in MEDIA)
    if task.forced_failure is None and media is not None:
        width, height = predict_output_size(media.width, media.height, req.resolution or "")
        auto_sound = has_sound(req) and media.audio is None
        sim.worker.schedule(task, RenderInput(media.image, width, height, media.audio, auto_sound,
                                              media.last_frame, media.first_clip))
    return task


# --- query --------------------------------------------------------------------------------------


def rewritten_prompt(prompt: str) -> str:
    """A stand-in for the service's LLM prompt rewrite: the prompt, made more specific."""
    subject = prompt.strip().rstrip(".。") or "The subject of the picture comes to life"
    return (
        f"{subject}. The camera moves slowly and steadily, soft natural light, smooth and "
        "coherent motion, rich detail, cinematic quality."
    )


def usage_of(task: SimTask) -> dict[str, Any]:
    """The `usage` object in the model's shape (catalog.Usage). A continued clip's seconds are
    counted in `duration`, as `input_video_duration` (spec §5 decisions 6 and 7)."""
    req, model = task.request, task.model
    seconds = int(req.duration or model.default_duration)
    tier = int((req.resolution or model.default_resolution).rstrip("P"))
    if model.usage is Usage.SPLIT:
        clip = task.clip_seconds or 0  # an integer 0 for a task from frames
        usage: dict[str, Any] = {
            "duration": seconds,
            "input_video_duration": clip,
            "output_video_duration": round(seconds - clip, 3) if clip else seconds,
            "SR": tier,
            "video_count": 1,
        }
        if model.audio is Audio.SWITCHABLE:
            usage["audio"] = has_sound(req)
        return usage
    if model.usage is Usage.RATIO:
        return {"video_duration": seconds, "video_count": 1, "video_ratio": "standard"}
    if model.usage is Usage.VIDEO_TIER:
        return {"video_duration": seconds, "video_count": 1, "SR": tier}
    return {"duration": seconds, "SR": tier, "video_count": 1}


def video_url(sim: Simulator, task: SimTask, root: str, end: float, expired: bool) -> str:
    expires = (
        int(time.time()) - 1
        if expired or task.expired_url
        else int(end + sim.config.result_ttl_seconds)
    )
    signature = sim.sign(f"{task.result_token}\n{expires}")
    return (
        f"{root.rstrip('/')}/results/{task.result_token}.mp4?Expires={expires}"
        f"&OSSAccessKeyId=WanSimulator&Signature={signature}"
    )


def _status_body(
    sim: Simulator, task: SimTask, now: float, root: str, expired_url: bool
) -> dict[str, Any]:
    status = task.status(now)
    output: dict[str, Any] = {
        "task_id": task.task_id,
        "task_status": status,
        "submit_time": _stamp(task.submitted),
    }
    if status not in ("PENDING", "CANCELED"):
        output["scheduled_time"] = _stamp(task.scheduled)
    end = task.end_time(now)
    if end is not None:
        output["end_time"] = _stamp(end)
    if task.model.protocol in TASK_METRICS and status in ("RUNNING", "SUCCEEDED", "FAILED"):
        output["task_metrics"] = {
            "TOTAL": 1,
            "SUCCEEDED": int(status == "SUCCEEDED"),
            "FAILED": int(status == "FAILED"),
        }
    body: dict[str, Any] = {"output": output}
    if status == "FAILED":
        code, message = task.forced_failure or (
            "InternalError.Algo",
            message_for("InternalError.Algo"),
        )
        output.update(code=code, message=message)
    elif status == "SUCCEEDED":
        req = task.request
        output["orig_prompt"] = req.prompt
        if task.model.returns_actual_prompt and req.prompt_extend and req.template is None:
            output["actual_prompt"] = rewritten_prompt(req.prompt)
        output["video_url"] = video_url(sim, task, root, end or now, expired_url)
        body["usage"] = usage_of(task)
    return body


# --- list ---------------------------------------------------------------------------------------


def _whole_number(params: dict[str, str], name: str, default: int, highest: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or not 1 <= int(text) <= highest:
        raise ApiRefusal("InvalidParameter", f"{name}: must be a whole number from 1 to {highest}")
    return int(text)


def _list_time(params: dict[str, str], name: str) -> float | None:
    text = params.get(name)
    if not text:
        return None
    try:
        return datetime.strptime(text, LIST_TIME_FORMAT).timestamp()
    except ValueError:
        raise ApiRefusal(
            "InvalidParameter", f"{name}: must look like YYYYMMDDhhmmss, e.g. 20250101000000"
        ) from None


def _task_page(sim: Simulator, account: str, params: dict[str, str]) -> dict[str, Any]:
    page_no = _whole_number(params, "page_no", 1, 1_000_000)
    page_size = _whole_number(params, "page_size", 10, PAGE_SIZE_MAX)
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiRefusal(
            "InvalidParameter",
            f"status: unknown status {status!r} (allowed: {', '.join(STATUSES)})",
        )
    start, end = _list_time(params, "start_time"), _list_time(params, "end_time")
    model_name = params.get("model_name") or None
    now = time.time()
    chosen = [
        t
        for t in sim.store.tasks_of(account)
        if (status is None or t.status(now) == status)
        and (model_name is None or t.model.id == model_name)
        and (start is None or t.submitted >= start)
        and (end is None or t.submitted <= end)
        and t.status(now) != "UNKNOWN"
    ]
    chosen.sort(key=lambda t: t.submitted, reverse=True)
    page = chosen[(page_no - 1) * page_size : page_no * page_size]
    region = catalog.REGIONS[sim.config.region].dashscope_region
    return {
        "total": len(chosen),
        "data": [_list_entry(t, now, region) for t in page],
        "total_page": math.ceil(len(chosen) / page_size),
        "page_no": page_no,
        "page_size": page_size,
    }


def _list_entry(task: SimTask, now: float, region: str) -> dict[str, Any]:
    status = task.status(now)
    # e.g. aigc:image2video:video-synthesis for /services/aigc/image2video/video-synthesis
    endpoint = ":".join(wire_of(task.model).path.strip("/").split("/")[1:])
    numeric_account = str(int(task.account[:12], 16))
    entry: dict[str, Any] = {
        "task_id": task.task_id,
        "status": status,
        "model_name": task.model.id,
        "region": region,
        "request_id": task.request_id,
        "api_key_id": numeric_account[:5],
        "caller_uid": numeric_account,
        "caller_parent_id": numeric_account,
        "user_api_unique_key": f"apikey:v1:{endpoint}:{task.model.id}",
        "gmt_create": _millis(task.submitted),
    }
    if status not in ("PENDING", "CANCELED"):
        entry["start_time"] = _millis(task.scheduled)
    end = task.end_time(now)
    if end is not None:
        entry["end_time"] = _millis(end)
    return entry
