"""The JSON (and OSS XML) bodies the simulator answers with, shaped as the service shapes them."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from fastapi.responses import JSONResponse, Response

# Messages as the spec's error table (and the recorded exchanges) word them.
MESSAGES: dict[str, str] = {
    "InvalidParameter": "Required parameter(s) missing or invalid, please check the request "
    "parameters.",
    "InvalidParameter.DataInspection": "Unable to download the media resource during the data "
    "inspection process.",
    "DataInspectionFailed": "Input or output data may contain inappropriate content.",
    "IPInfringementSuspect": "Input data is suspected of being involved in IP infringement.",
    "BadRequest.EmptyInput": "Required input parameter missing from request.",
    "BadRequest.EmptyParameters": 'Required parameter "parameters" missing from request.',
    "BadRequest.EmptyModel": 'Required parameter "model" missing from request.',
    "BadRequest.IllegalInput": "The input parameter requires json format.",
    "BadRequest.TooLarge": "Payload Too Large.",
    "InvalidURL": "Invalid URL provided in your request.",
    "invalid_parameter_error": "The provided URL does not appear to be valid. Ensure it is "
    "correctly formatted.",
    "Arrearage": "Access denied, please make sure your account is in good standing.",
    "InvalidApiKey": "Invalid API-key provided.",
    "AccessDenied": "Access denied.",
    "ModelNotFound": "Model not exist.",
    "Throttling": "Requests throttling triggered.",
    "Throttling.RateQuota": "Requests rate limit exceeded, please try again later.",
    "Throttling.AllocationQuota": "Allocated quota exceeded, please increase your quota limit.",
    "Throttling.BurstRate": "Request rate increased too quickly, please try again later.",
    "InternalError": "An internal error has occured, please try again later or contact service "
    "support.",
    "InternalError.Algo": "An internal error occurred during algorithm execution.",
    "InternalError.Timeout": "An internal timeout error has occured during execution, please try "
    "again later or contact service support.",
    "SystemError": "An system error has occured, please try again later.",
    "ModelUnavailable": "Model is unavailable, please try again later.",
    "UnsupportedOperation": "Failed to cancel the task, please confirm if the task is in PENDING "
    "status.",
}
NO_KEY_MESSAGE = "No API-key provided."
SYNC_CALL_MESSAGE = "current user api does not support synchronous calls."
POLICY_EXPIRED_MESSAGE = "Invalid according to Policy: Policy expired."
FORMAT_UNSUPPORTED_MESSAGE = (
    "The media format is not supported or incorrect for the data inspection."
)

_STATUS_BY_CODE: dict[str, int] = {
    "InvalidApiKey": 401,
    "AccessDenied": 403,
    "ModelNotFound": 404,
    "BadRequest.TooLarge": 413,
    "Throttling": 429,
    "Throttling.RateQuota": 429,
    "Throttling.AllocationQuota": 429,
    "Throttling.BurstRate": 429,
    "InternalError": 500,
    "InternalError.Algo": 500,
    "InternalError.Timeout": 500,
    "SystemError": 500,
    "ModelUnavailable": 503,
}


def new_request_id() -> str:
    return str(uuid.uuid4())


def status_for(code: str) -> int:
    """The HTTP status the service pairs with an error code (400 for the input errors)."""
    return _STATUS_BY_CODE.get(code, 400)


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
    body = {"code": code, "message": message or MESSAGES.get(code, code), "request_id": request_id}
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
        super().__init__(message or MESSAGES.get(code, code))
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        self.status = status or status_for(code)
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        return error(self.code, self.message, status=self.status, retry_after=self.retry_after)
