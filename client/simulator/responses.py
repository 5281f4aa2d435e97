"""The JSON (and OSS XML) bodies the simulator answers with, shaped as the service shapes them."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from fastapi.responses import JSONResponse, Response

from ..error_codes import (  # noqa: F401  (the other wordings are re-exported for the routes)
    FORMAT_UNSUPPORTED_MESSAGE,
    NO_KEY_MESSAGE,
    POLICY_EXPIRED_MESSAGE,
    SYNC_CALL_MESSAGE,
    message_for,
    status_for,
)

# InvalidParameter for a create sent to another protocol's endpoint: the text the service gives
# an SDK too old for the model's endpoint (media-and-kf2v spec §2.9); the simulator adds where
# the model is served.
WRONG_ENDPOINT_MESSAGE = "url error, please check url!"


def new_request_id() -> str:
    return str(uuid.uuid4())


def error(
    code: str,
    message: str | None = None,
    *,
    status: int | None = None,
    retry_after: float | None = None,
) -> JSONResponse:
    """The service's error envelope: code, message, request_id; no `output`."""
    request_id = new_request_id()
    headers = {"X-Request-ID": request_id}
    if retry_after is not None:
        headers["Retry-After"] = str(max(0, math.ceil(retry_after)))
    body = {"code": code, "message": message or message_for(code), "request_id": request_id}
    return JSONResponse(body, status_code=status or status_for(code), headers=headers)


def ok(body: dict[str, Any], request_id: str | None = None) -> JSONResponse:
    request_id = request_id or new_request_id()
    return JSONResponse({"request_id": request_id, **body}, headers={"X-Request-ID": request_id})


def oss_error(code: str, message: str, status: int = 403) -> Response:
    """OSS answers in XML, as a real bucket does."""
    request_id = uuid.uuid4().hex[:24].upper()
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
        f"  <Code>{code}</Code>\n  <Message>{message}</Message>\n"
        f"  <RequestId>{request_id}</RequestId>\n  <HostId>simulator</HostId>\n</Error>\n"
    )
    return Response(
        xml,
        status_code=status,
        media_type="application/xml",
        headers={"x-oss-request-id": request_id},
    )


def malformed_json() -> Response:
    """A 200 whose JSON body is cut off mid-object (the malformed-JSON fault)."""
    text = json.dumps({"request_id": new_request_id(), "output": {"task_status": "RUNNING"}})
    return Response(text[: len(text) // 2], status_code=200, media_type="application/json")


class ApiRefusal(Exception):
    """Raised by a handler to answer with the service's error envelope."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.message = message or message_for(code)
        super().__init__(self.message)
        self.status = status or status_for(code)
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        return error(self.code, self.message, status=self.status, retry_after=self.retry_after)
