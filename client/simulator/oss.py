"""The OSS side: upload policies (/api/v1/uploads), the upload target and signed result files."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from .api import authenticate
from .context import Simulator, UploadPolicy
from .faults import Fault
from .gate import FAULT_SCOPE_KEY
from .responses import POLICY_EXPIRED_MESSAGE, ApiRefusal, ok, oss_error
from .state import UPLOAD_LIFETIME_SECONDS, Upload

UPLOAD_PATH = "/oss/upload"
MAX_FILE_SIZE_MB = 100
BUCKET = "wan-simulator"
CHUNK_BYTES = 64 * 1024


def build_router(sim: Simulator) -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/uploads")
    async def get_policy(request: Request) -> JSONResponse:
        account = authenticate(request)
        action, model = request.query_params.get("action"), request.query_params.get("model")
        if action != "getPolicy":
            raise ApiRefusal("InvalidParameter", "action: must be getPolicy")
        if not model:
            raise ApiRefusal("InvalidParameter", "model: name the model the file is for")
        return ok({"data": _new_policy(sim, account, model, str(request.base_url))})

    @router.post(UPLOAD_PATH)
    @router.post(UPLOAD_PATH + "/")
    async def upload(request: Request) -> Response:
        async with request.form(max_part_size=4 * 1024 * 1024) as form:
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            file = form.get("file")
            data = await file.read() if isinstance(file, UploadFile) else None
        return _store_upload(sim, fields, data)

    @router.get("/results/{name}")
    def result(name: str, request: Request) -> Response:
        token = name.removesuffix(".mp4")
        expires = request.query_params.get("Expires", "")
        signature = request.query_params.get("Signature", "")
        if not expires.lstrip("-").isdigit() or not sim.signature_ok(
            f"{token}\n{expires}", signature
        ):
            return oss_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        fault: Fault | None = request.scope.get(FAULT_SCOPE_KEY)
        if int(expires) < time.time() or (fault is not None and fault.name == "expired-url"):
            return oss_error("AccessDenied", "Request has expired.")
        task = sim.store.task_by_token(token)
        if task is None or task.video_path is None or not task.video_path.is_file():
            return oss_error("NoSuchKey", "The specified key does not exist.", status=404)
        if task.truncated_download or (fault is not None and fault.name == "truncated"):
            return _truncated(task.video_path.read_bytes())
        if sim.config.result_bytes_per_second is not None:
            return _throttled(task.video_path.read_bytes(), sim.config.result_bytes_per_second)
        return FileResponse(task.video_path, media_type="video/mp4")

    return router


def _new_policy(sim: Simulator, account: str, model: str, root: str) -> dict[str, object]:
    now = time.time()
    upload_dir = f"dashscope-instant/{account}/{datetime.now().strftime('%Y-%m-%d')}/{uuid.uuid4()}"
    expires = now + sim.config.policy_ttl_seconds
    max_bytes = MAX_FILE_SIZE_MB * 1024 * 1024
    policy_doc = {
        "expiration": datetime.fromtimestamp(expires, timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        ),
        "conditions": [
            ["content-length-range", 0, max_bytes],
            ["starts-with", "$key", upload_dir],
            {"bucket": BUCKET},
            {"x-oss-object-acl": "private"},
            {"x-oss-forbid-overwrite": "true"},
        ],
    }
    policy = base64.b64encode(json.dumps(policy_doc).encode()).decode()
    signature = sim.sign(policy)
    sim.add_policy(signature, UploadPolicy(account, model, upload_dir, expires, max_bytes))
    return {
        "policy": policy,
        "signature": signature,
        "upload_dir": upload_dir,
        "upload_host": root.rstrip("/") + UPLOAD_PATH,
        "expire_in_seconds": int(sim.config.policy_ttl_seconds),
        "max_file_size_mb": MAX_FILE_SIZE_MB,
        "capacity_limit_mb": 999999999,
        "oss_access_key_id": "WanSimulator",
        "x_oss_object_acl": "private",
        "x_oss_forbid_overwrite": "true",
    }


def _store_upload(sim: Simulator, fields: dict[str, str], data: bytes | None) -> Response:
    signature, policy_text = fields.get("Signature", ""), fields.get("policy", "")
    policy = sim.policy(signature)
    if policy is None or not sim.signature_ok(policy_text, signature):
        return oss_error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    if policy.expires < time.time():
        return oss_error("AccessDenied", POLICY_EXPIRED_MESSAGE)
    key = fields.get("key", "")
    if not key.startswith(policy.upload_dir + "/") or len(key) == len(policy.upload_dir) + 1:
        return oss_error(
            "AccessDenied",
            "Invalid according to Policy: Policy Condition failed: "
            f'["starts-with", "$key", "{policy.upload_dir}"]',
        )
    if data is None:
        return oss_error("InvalidArgument", "The file field is missing from the form.", status=400)
    if len(data) > policy.max_bytes:
        return oss_error(
            "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.", status=400
        )
    if sim.store.upload(key) is not None:
        return oss_error(
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
            status=409,
        )
    sim.store.add_upload(
        Upload(
            key,
            policy.account,
            policy.model,
            data,
            fields.get("x-oss-content-type", "application/octet-stream"),
            time.time() + UPLOAD_LIFETIME_SECONDS,
        )
    )
    return Response(status_code=200 if fields.get("success_action_status") == "200" else 204)


def _throttled(video: bytes, bytes_per_second: float) -> StreamingResponse:
    """The whole file, paced to `bytes_per_second` (each chunk is sent on its schedule)."""

    async def paced() -> AsyncIterator[bytes]:
        started = time.monotonic()
        for start in range(0, len(video), CHUNK_BYTES):
            chunk = video[start : start + CHUNK_BYTES]
            due = started + (start + len(chunk)) / bytes_per_second  # when its last byte is due
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            yield chunk

    return StreamingResponse(
        paced(), media_type="video/mp4", headers={"content-length": str(len(video))}
    )


def _truncated(video: bytes) -> StreamingResponse:
    """Promise the whole file, send half, then stop: the connection breaks off mid-download."""

    async def half() -> AsyncIterator[bytes]:
        cut = len(video) // 2
        for start in range(0, cut, CHUNK_BYTES):
            yield video[start : min(cut, start + CHUNK_BYTES)]

    return StreamingResponse(
        half(), media_type="video/mp4", headers={"content-length": str(len(video))}
    )
