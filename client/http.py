"""The async HTTP client: one key, one base URL, a retrying transport and error mapping.

Credentials go only on calls to the API host; the same connection pool serves OSS uploads and
result downloads without them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import httpx

from . import catalog
from .protocols import CREATE_PATHS
from .errors import (
    AuthError,
    InvalidInput,
    NoAnswer,
    NotSent,
    RateLimited,
    ServiceError,
    WanError,
    error_class,
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BASE_URL_ENV = "DASHSCOPE_HTTP_BASE_URL"
API_KEY_ENV = "DASHSCOPE_API_KEY"
KEEPALIVE_SECONDS = 20.0  # above the longest gap between status queries (15 s)

# Failures that happen before a single byte of the request left this machine.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_ACCOUNT_SALT = secrets.token_bytes(16)  # per process: an `account` tag means nothing elsewhere


def call_kind(method: str, path: str) -> str:
    """'create' (charges money, must not run twice), 'safe' (GET, cancel) or 'other'."""
    method = method.upper()
    if method == "POST" and path.rstrip("/").endswith(CREATE_PATHS):
        return "create"
    if method in ("GET", "HEAD") or (method == "POST" and "/tasks/" in path
                                     and path.rstrip("/").endswith("/cancel")):
        return "safe"
    return "other"


def should_retry(method: str, path: str, outcome: httpx.Response | BaseException) -> bool:
    """Whether the transport sends the same request again after this response or error.

    Reads (GET) and cancels are retried on 429/5xx and on any transport error: repeating them
    changes nothing. A create is never retried here: the job pipeline (client.pipeline) is the
    one layer that decides, since only it knows whether to wait on throttling while it holds
    a slot, and how to find a task a lost answer may have made. Other POSTs (the OSS upload)
    are retried only when nothing was sent.
    """
    kind = call_kind(method, path)
    if kind == "create":
        return False
    if isinstance(outcome, BaseException):
        if isinstance(outcome, _NEVER_SENT):
            return True
        return kind == "safe" and isinstance(outcome, httpx.TransportError)
    return kind == "safe" and outcome.status_code in RETRY_STATUSES


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rand() * min(cap, base * (2 ** attempt))


class RetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and repeats requests that `should_retry` allows, with backoff."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, max_retries: int = 4,
                 backoff_base: float = 0.5, backoff_cap: float = 8.0,
                 max_retry_after: float = 60.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random) -> None:
        self._inner = inner
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.sleep = sleep  # replaceable in tests
        self._rand = rand

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries or not should_retry(request.method,
                                                                   request.url.path, exc):
                    raise
                delay = backoff_delay(attempt, self.backoff_base, self.backoff_cap, self._rand)
            else:
                if attempt >= self.max_retries or not should_retry(request.method,
                                                                   request.url.path, response):
                    return response
                wait = parse_retry_after(response.headers.get("retry-after"))
                if wait is not None and wait > self.max_retry_after:
                    return response  # the caller decides whether to wait that long
                delay = wait if wait is not None else backoff_delay(
                    attempt, self.backoff_base, self.backoff_cap, self._rand)
                await response.aclose()
            await self.sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        await self._inner.aclose()


def error_from_response(response: httpx.Response) -> WanError:
    """The exception for a non-2xx answer whose body has been read."""
    status = response.status_code
    header_request_id = response.headers.get("x-request-id")
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return ServiceError(f"the service answered HTTP {status} with a body that is not a "
                            "DashScope error", status=status, request_id=header_request_id)
    code = body.get("code") or None
    message = str(body.get("message") or body.get("msg") or f"HTTP {status}")
    request_id = body.get("request_id") or header_request_id
    cls = error_class(status, code, message)
    kwargs: dict[str, Any] = {"status": status, "code": code, "request_id": request_id}
    if issubclass(cls, RateLimited):
        kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
    return cls(message, **kwargs)


def _checked_key(api_key: str | None) -> str:
    key = (api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")).strip()
    if not key:
        raise AuthError(f"no API key: pass one, or set the environment variable {API_KEY_ENV}")
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        # httpx would quote the bad header value (the key) in its own error message.
        raise AuthError("the API key contains spaces or characters that cannot be sent; "
                        "copy it again from the Model Studio console")
    return key


def resolve_base_url(region: str, base_url: str | None) -> str:
    """Argument > DASHSCOPE_HTTP_BASE_URL > the region's host."""
    if region not in catalog.REGIONS:
        raise InvalidInput("region", f"unknown region {region!r}", tuple(catalog.REGIONS))
    chosen = base_url or os.environ.get(BASE_URL_ENV) or catalog.REGIONS[region].base_url
    if not chosen.lower().startswith(("http://", "https://")):
        raise InvalidInput("base_url", f"{chosen!r} is not an http(s) URL")
    return chosen.rstrip("/")


@cache
def tls_context() -> ssl.SSLContext:
    """One certificate store for every client: building it costs about 25 ms of CPU, which
    20 jobs starting at once would spend one after another on the event loop."""
    return httpx.create_ssl_context()


class WanClient:
    """Async client for one API key against one DashScope base URL."""

    def __init__(self, api_key: str | None = None, *, region: str = catalog.DEFAULT_REGION,
                 base_url: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 30.0,
                 max_retries: int = 4) -> None:
        self.region = region
        self.base_url = resolve_base_url(region, base_url)
        self.__key = _checked_key(api_key)
        # Which account the service counts this client's calls against (its query quota is
        # shared by every client on the same key): a salted hash, never the key.
        self.account = hmac.new(_ACCOUNT_SALT, f"{self.base_url}\n{self.__key}".encode(),
                                hashlib.sha256).hexdigest()[:16]
        # Status queries come every 5-15 s; httpx's default 5 s keep-alive would open a new
        # connection (and a TLS handshake) for nearly every one.
        inner = transport if transport is not None else httpx.AsyncHTTPTransport(
            verify=tls_context(), limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS))
        self.transport = RetryTransport(inner, max_retries=max_retries)
        # No credentials on this client: they are added per API call only (see `api`).
        self.http = httpx.AsyncClient(transport=self.transport, timeout=httpx.Timeout(timeout))

    def __repr__(self) -> str:
        return f"WanClient(region={self.region!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> WanClient:  # noqa: PYI034 - no subclasses; Self needs 3.11
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    def _transport_error(self, method: str, path: str, exc: httpx.TransportError,
                         sent_at: float) -> WanError:
        """What a failed call means. For a create it matters whether anything left this
        machine: nothing did (NotSent, safe to send again), or it may have made a task."""
        name = type(exc).__name__
        if call_kind(method, path) == "create":
            if isinstance(exc, _NEVER_SENT):
                return NotSent(f"could not connect to {self.base_url} ({name}): the request was "
                               "not sent, so nothing was charged; send it again")
            return NoAnswer(f"the create request was sent but no answer came ({name}); a task "
                            "may have been made, so do not send it again blindly",
                            sent_at=sent_at, failed_at=time.time())
        if isinstance(exc, httpx.TimeoutException):
            return ServiceError(f"the service did not answer in time ({name}); try again")
        return ServiceError(f"could not reach {self.base_url}: {name} {exc}".rstrip())

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    async def api(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                  json_body: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> dict[str, Any]:
        """Call the API with the key; the JSON answer, or the mapped WanError."""
        all_headers = {"Authorization": f"Bearer {self.__key}", "Accept": "application/json"}
        all_headers.update(headers or {})
        sent_at = time.time()
        try:
            response = await self.http.request(method, self.url(path), params=params,
                                               json=json_body, headers=all_headers)
        except httpx.TransportError as exc:
            raise self._transport_error(method, path, exc, sent_at) from None
        if not response.is_success:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ServiceError(f"the service answered HTTP {response.status_code} with a body "
                               "that is not JSON", status=response.status_code,
                               request_id=response.headers.get("x-request-id"))
        return body
