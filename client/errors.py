"""One small exception family, grouped by what the caller does next.

Fix your input (InputError), fix your key or account (AccountError), wait and retry
(RateLimited), the service failed (ServiceError), a create got no answer (NoAnswer, then NotSent
or AmbiguousTask), the task failed (TaskFailed), the task or its result is gone (TaskExpired,
ResultExpired). The UI shows one sentence per class and never parses messages.
"""

from __future__ import annotations

from typing import Any


class WanError(Exception):
    """Anything the client reports. Carries what the service said, when it said something."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"[{self.code}]")
        if self.request_id:
            parts.append(f"(request {self.request_id})")
        return " ".join(parts)


# --- fix your input -----------------------------------------------------------------------------

class InputError(WanError):
    """The request or its media is wrong; change it and try again."""


class InvalidInput(InputError):
    """Refused before any network call: names the field, the rule and what is allowed."""

    def __init__(self, field: str, rule: str, allowed: Any = None) -> None:
        self.field = field
        self.rule = rule
        self.allowed = allowed
        text = f"{field}: {rule}"
        if allowed is not None:
            shown = ", ".join(map(str, allowed)) if isinstance(allowed, (list, tuple)) else allowed
            text += f" (allowed: {shown})"
        super().__init__(text)


class InvalidParameter(InputError):
    """The service refused a parameter (HTTP 400 InvalidParameter, BadRequest.*)."""


class InvalidURL(InputError):
    """The service could not use a URL we sent (bad form, not downloadable, or unresolved oss://)."""


class ContentRejected(InputError):
    """Moderation refused the prompt, the image or the output (DataInspectionFailed, IP)."""


class PayloadTooLarge(InputError):
    """HTTP 413: the request body is too large."""


class UnsupportedMedia(InputError):
    """HTTP 415: the service could not download or read a media file."""


# --- fix your key or account ----------------------------------------------------------------------

class AccountError(WanError):
    """The key, the account or the region is the problem."""


class AuthError(AccountError):
    """No key, or a key the service does not accept (401)."""


class AccessDenied(AccountError):
    """The key may not do this (403): model not activated, workspace, free tier exhausted."""


class Arrearage(AccountError):
    """The account has an overdue payment."""


class ModelNotFound(AccountError):
    """The model does not exist in this region (404)."""


class QuotaExhausted(AccountError):
    """The free quota is used up (429 Throttling.AllocationQuota "Free allocated quota
    exceeded"): waiting does not help; paid use must be enabled in the Model Studio console."""

    ADVICE = ("the free quota of this model is used up, and waiting will not bring it back: "
              "enable paid use for the model in the Model Studio console (turn off \"free quota "
              "only\"), or use another key")

    def __init__(self, message: str, **kw: Any) -> None:
        super().__init__(f"{message.rstrip('. ')}: {self.ADVICE}", **kw)


# --- wait and retry -----------------------------------------------------------------------------

class RateLimited(WanError):
    """Too many requests or running tasks for this account (429). Retry after a pause."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


# --- the service failed ----------------------------------------------------------------------------

class ServiceError(WanError):
    """The service failed (5xx, unreadable answer, connection lost). Not the caller's fault."""


# --- a create without an answer ---------------------------------------------------------------------

class NoAnswer(WanError):
    """A create was sent and no answer came (timeout, connection lost): a task may exist and may
    be charged. Never send it again blindly; look the task up (client.recovery) or resume by id.
    `sent_at` and `failed_at` (epoch seconds) bound when the service may have made it."""

    def __init__(self, message: str, *, sent_at: float | None = None,
                 failed_at: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.sent_at = sent_at
        self.failed_at = failed_at


class NotSent(WanError):
    """No task was made for this request: the connection never opened, or the task list shows
    none after a create without a usable answer. Nothing was charged; it is safe to send again."""


class AmbiguousTask(WanError):
    """A create got no usable answer and several unknown tasks of the model were made at that
    moment (another user of the same key): which one is ours cannot be told, so none is
    followed. `candidates`: their task ids, for resuming by task id."""

    def __init__(self, message: str, *, candidates: tuple[str, ...] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.candidates = candidates


class CancelNotAllowed(WanError):
    """Only PENDING tasks can be cancelled; this one is already running or finished."""


# --- the task --------------------------------------------------------------------------------------

class TaskFailed(WanError):
    """The task ended FAILED. `code` is the service's reason (e.g. DataInspectionFailed)."""


class TaskCanceled(WanError):
    """The task was cancelled before it ran."""


class TaskExpired(WanError):
    """The service no longer knows the task (UNKNOWN: unknown id, other account, or > 24 h old)."""


class ResultExpired(WanError):
    """The result URL no longer works (it is valid for 24 h): the video cannot be downloaded."""


class DownloadFailed(WanError):
    """The result download broke off or is not a video."""


class WaitTimeout(WanError):
    """The caller's deadline passed while the task was still running; the task goes on."""


def error_class(status: int, code: str | None, message: str = "") -> type[WanError]:
    """The class for an error answer: by code when the table (client.error_codes) knows it,
    else by HTTP status."""
    # Imported here, not at the top: the table names the classes of this module.
    from .error_codes import BY_STATUS, ERROR_CODES, FREE_QUOTA_MESSAGE

    # One code, two meanings: a busy allotment (waiting helps) or a used-up free quota (never).
    free_quota_gone = FREE_QUOTA_MESSAGE.rstrip(".").lower() in message.lower()
    if code == "Throttling.AllocationQuota" and free_quota_gone:
        return QuotaExhausted
    row = ERROR_CODES.get(code or "")
    return row.cls if row is not None else BY_STATUS.get(status, ServiceError)
