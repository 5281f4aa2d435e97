"""The OSS side: upload policies (/api/v1/uploads), the upload target and signed result files.
Uploads go to disk and results are streamed from it in chunks: neither is held in memory."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from .api import authenticate
from .context import Simulator, UploadPolicy
from .faults import Fault
from .gate import FAULT_SCOPE_KEY
from .responses import POLICY_EXPIRED_MESSAGE, ApiRefusal, ok, oss_error

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
            source = file.file if isinstance(file, UploadFile) else None
            return await run_in_threadpool(_store_upload, sim, fields, source)

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
        path = task.video_path if task is not None else None
        video = _open_result(path)
        if task is None or path is None or video is None:
            return oss_error("NoSuchKey", "The specified key does not exist.", status=404)
        size = os.fstat(video.fileno()).st_size
        truncated = task.truncated_download or (fault is not None and fault.name == "truncated")
        forget = sim.config.forget_downloaded_results
        chunks = _chunks(
            video,
            size // 2 if truncated else size,  # promise the whole file, then break off
            sim.config.result_bytes_per_second,
            (lambda: path.unlink(missing_ok=True)) if forget else None,
        )
        return StreamingResponse(
            chunks, media_type="video/mp4", headers={"content-length": str(size)}
        )

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


def _store_upload(sim: Simulator, fields: dict[str, str], source: BinaryIO | None) -> Response:
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
    if source is None:
        return oss_error("InvalidArgument", "The file field is missing from the form.", status=400)
    if _size_of(source) > min(policy.max_bytes, sim.store.uploads_max_bytes):
        return oss_error(
            "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.", status=400
        )
    content_type = fields.get("x-oss-content-type", "application/octet-stream")
    if sim.store.add_upload(key, policy.account, policy.model, content_type, source) is None:
        return oss_error(
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
            status=409,
        )
    return Response(status_code=200 if fields.get("success_action_status") == "200" else 204)


def _size_of(source: BinaryIO) -> int:
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(0)
    return size


def _open_result(path: Path | None) -> BinaryIO | None:
    """The result video, opened (so deleting it meanwhile cannot cut a download short)."""
    if path is None:
        return None
    try:
        return path.open("rb")
    except FileNotFoundError:  # downloaded and forgotten, over the cap, or its link expired
        return None


async def _chunks(
    video: BinaryIO,
    stop_at: int,
    bytes_per_second: float | None,
    when_complete: Callable[[], None] | None,
) -> AsyncIterator[bytes]:
    """The file's first `stop_at` bytes in chunks, paced to `bytes_per_second` if set; then
    `when_complete` runs, if every byte of the file went out (not if the client left early)."""
    started, sent = time.monotonic(), 0
    try:
        while sent < stop_at:
            chunk = video.read(min(CHUNK_BYTES, stop_at - sent))
            if not chunk:
                break
            sent += len(chunk)
            if bytes_per_second is not None:  # each chunk waits until its last byte is due
                await asyncio.sleep(max(0.0, started + sent / bytes_per_second - time.monotonic()))
            yield chunk
        complete = sent == os.fstat(video.fileno()).st_size
    finally:
        video.close()
    if complete and when_complete is not None:
        when_complete()
