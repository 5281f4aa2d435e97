"""WanClient: auth, base URL and key resolution, the retry rule and transport, error mapping."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
import pytest

from client import catalog
from client.error_codes import ERROR_CODES, FREE_QUOTA_MESSAGE
from client.errors import (
    AccessDenied,
    AccountError,
    AuthError,
    CancelNotAllowed,
    NoAnswer,
    NotSent,
    QuotaExhausted,
    RateLimited,
    ServiceError,
    WanError,
)
from client.http import (
    KEEPALIVE_SECONDS,
    RetryTransport,
    WanClient,
    backoff_delay,
    parse_retry_after,
    should_retry,
    tls_context,
)
from client.polling import PollSchedule
from client.protocols import VIDEO_GENERATION_PATH as CREATE_PATH

pytestmark = pytest.mark.anyio
KEY = "sk-test-0123456789abcdef"
BASE = "https://api.test/api/v1"
CREATE = "/api/v1" + CREATE_PATH


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    monkeypatch.delenv("DASHSCOPE_HTTP_BASE_URL", raising=False)


def resp(status: int, **kw) -> httpx.Response:
    return httpx.Response(status, **kw)


# --- the retry rule ------------------------------------------------------------------------------

REQ = httpx.Request("GET", "https://x")
RETRY_TABLE = [
    # method, path, outcome, retry?
    ("GET", "/api/v1/tasks/t1", resp(429), True),
    ("GET", "/api/v1/tasks/t1", resp(500), True),
    ("GET", "/api/v1/tasks/t1", resp(502), True),
    ("GET", "/api/v1/tasks/t1", resp(503), True),
    ("GET", "/api/v1/tasks/t1", resp(504), True),
    ("GET", "/api/v1/tasks/t1", resp(200), False),
    ("GET", "/api/v1/tasks/t1", resp(400), False),
    ("GET", "/api/v1/tasks/t1", resp(401), False),
    ("GET", "/api/v1/tasks/t1", resp(404), False),
    ("GET", "/api/v1/tasks/t1", resp(501), False),
    ("GET", "/api/v1/tasks/t1", httpx.ConnectError("down", request=REQ), True),
    ("GET", "/api/v1/tasks/t1", httpx.ReadTimeout("slow", request=REQ), True),
    ("GET", "/api/v1/tasks/t1", httpx.RemoteProtocolError("cut", request=REQ), True),
    ("GET", "/api/v1/uploads", resp(503), True),
    ("GET", "/result.mp4", resp(502), True),
    ("POST", "/api/v1/tasks/t1/cancel", resp(503), True),
    ("POST", "/api/v1/tasks/t1/cancel", resp(429), True),
    ("POST", "/api/v1/tasks/t1/cancel", resp(400), False),
    ("POST", "/api/v1/tasks/t1/cancel", httpx.ReadTimeout("slow", request=REQ), True),
    # create: never here; client.pipeline is the one layer that repeats a create
    ("POST", CREATE, httpx.ConnectError("refused", request=REQ), False),
    ("POST", CREATE, httpx.ConnectTimeout("no route", request=REQ), False),
    ("POST", CREATE, httpx.PoolTimeout("pool", request=REQ), False),
    ("POST", CREATE, resp(429), False),
    ("POST", CREATE, resp(500), False),
    ("POST", CREATE, resp(502), False),
    ("POST", CREATE, resp(503), False),
    ("POST", CREATE, resp(504), False),
    ("POST", CREATE, resp(400), False),
    ("POST", CREATE, httpx.ReadTimeout("slow", request=REQ), False),
    ("POST", CREATE, httpx.WriteTimeout("slow", request=REQ), False),
    ("POST", CREATE, httpx.ReadError("reset", request=REQ), False),
    ("POST", CREATE, httpx.RemoteProtocolError("cut", request=REQ), False),
    ("POST", CREATE + "/", resp(500), False),
    # the OSS form POST
    ("POST", "/", resp(503), False),
    ("POST", "/", httpx.ConnectError("refused", request=REQ), True),
    ("POST", "/", httpx.ReadTimeout("slow", request=REQ), False),
]


@pytest.mark.parametrize("method,path,outcome,expected", RETRY_TABLE)
def test_should_retry_table(method, path, outcome, expected) -> None:
    assert should_retry(method, path, outcome) is expected


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:07 GMT", now) == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_exponential_capped_and_jittered() -> None:
    top = [backoff_delay(n, 0.5, 8.0, lambda: 1.0) for n in range(7)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_delay(3, 0.5, 8.0, lambda: 0.25) == 1.0
    assert backoff_delay(3, 0.5, 8.0, lambda: 0.0) == 0.0


# --- the retry transport -------------------------------------------------------------------------

class Script:
    """A MockTransport handler that plays back responses/exceptions and records requests."""

    def __init__(self, *outcomes: httpx.Response | Exception) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def retrying(script: Script, max_retries: int = 4) -> tuple[RetryTransport, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    transport = RetryTransport(httpx.MockTransport(script), max_retries=max_retries,
                               sleep=sleep, rand=lambda: 1.0)
    return transport, slept


async def send(transport: RetryTransport, method: str, url: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=transport) as http:
        return await http.request(method, url, json={"a": 1} if method == "POST" else None)


async def test_get_is_retried_until_success_with_backoff() -> None:
    script = Script(resp(503), resp(502), resp(200, json={"ok": True}))
    transport, slept = retrying(script)
    response = await send(transport, "GET", BASE + "/tasks/t1")
    assert response.status_code == 200
    assert len(script.requests) == 3
    assert slept == [0.5, 1.0]


async def test_retry_after_header_sets_the_pause() -> None:
    script = Script(resp(429, headers={"Retry-After": "2"}), resp(200))
    transport, slept = retrying(script)
    assert (await send(transport, "GET", BASE + "/tasks/t1")).status_code == 200
    assert slept == [2.0]


async def test_a_very_long_retry_after_is_left_to_the_caller() -> None:
    script = Script(resp(429, headers={"Retry-After": "3600"}), resp(200))
    transport, slept = retrying(script)
    assert (await send(transport, "GET", BASE + "/tasks/t1")).status_code == 429
    assert slept == [] and len(script.requests) == 1


async def test_retries_are_bounded_by_max_retries() -> None:
    script = Script(*[resp(503) for _ in range(10)])
    transport, slept = retrying(script, max_retries=3)
    assert (await send(transport, "GET", BASE + "/tasks/t1")).status_code == 503
    assert len(script.requests) == 4 and len(slept) == 3


async def test_connection_errors_on_get_are_retried_then_raised() -> None:
    script = Script(*[httpx.ConnectError("down") for _ in range(3)])
    transport, _ = retrying(script, max_retries=2)
    with pytest.raises(httpx.ConnectError):
        await send(transport, "GET", BASE + "/tasks/t1")
    assert len(script.requests) == 3


@pytest.mark.parametrize("outcome", [
    resp(500, json={"code": "InternalError"}),
    resp(429, headers={"Retry-After": "1"}),
    httpx.ReadTimeout("slow"),
    httpx.ConnectError("refused"),
])
async def test_the_transport_never_repeats_a_create(outcome) -> None:
    script = Script(outcome, resp(200))
    transport, slept = retrying(script)
    try:
        answer = await send(transport, "POST", BASE + CREATE_PATH)
    except httpx.TransportError as exc:
        assert exc is outcome
    else:
        assert answer.status_code == outcome.status_code
    assert len(script.requests) == 1 and slept == []


# --- client set-up -------------------------------------------------------------------------------

def client_with(handler, **kw) -> WanClient:
    kw.setdefault("base_url", BASE)
    kw.setdefault("max_retries", 0)
    return WanClient(KEY, transport=httpx.MockTransport(handler), **kw)


async def test_api_calls_carry_the_bearer_key() -> None:
    script = Script(resp(200, json={"output": {"task_id": "t1", "task_status": "RUNNING"}}))
    async with client_with(script) as client:
        body = await client.api("GET", "/tasks/t1")
    assert body["output"]["task_id"] == "t1"
    request = script.requests[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert str(request.url) == BASE + "/tasks/t1"


async def test_plain_http_client_carries_no_key() -> None:
    script = Script(resp(200))
    async with client_with(script) as client:
        await client.http.get("https://oss.test/x")
    assert "authorization" not in script.requests[0].headers


def test_base_url_argument_beats_env_beats_region(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WanClient(KEY, region="singapore").base_url == catalog.REGIONS["singapore"].base_url
    assert WanClient(KEY, region="virginia").base_url == catalog.REGIONS["virginia"].base_url
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "http://127.0.0.1:9/api/v1/")
    assert WanClient(KEY, region="singapore").base_url == "http://127.0.0.1:9/api/v1"
    assert WanClient(KEY, base_url="http://arg.test/api/v1").base_url == "http://arg.test/api/v1"


async def test_key_argument_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    for key, expected in ((None, "sk-from-env"), ("sk-argument", "sk-argument")):
        script = Script(resp(200, json={}))
        async with WanClient(key, base_url=BASE, transport=httpx.MockTransport(script)) as c:
            await c.api("GET", "/tasks")
        assert script.requests[0].headers["authorization"] == f"Bearer {expected}"


def test_missing_key_raises_before_any_request() -> None:
    script = Script()
    with pytest.raises(AuthError, match="DASHSCOPE_API_KEY"):
        WanClient(None, base_url=BASE, transport=httpx.MockTransport(script))
    with pytest.raises(AuthError):
        WanClient("   ", base_url=BASE, transport=httpx.MockTransport(script))
    assert script.requests == []


def test_a_key_with_bad_characters_is_refused_without_echoing_it() -> None:
    with pytest.raises(AuthError) as info:
        WanClient("sk-secret\nvalue", base_url=BASE)
    assert "secret" not in str(info.value)


def test_key_is_not_in_repr_or_public_attributes() -> None:
    client = WanClient(KEY, base_url=BASE)
    assert KEY not in repr(client)
    public = {k: v for k, v in vars(client).items() if not k.startswith("_")}
    assert all(KEY not in repr(v) for v in public.values())
    assert KEY not in repr(client.http) and KEY not in str(dict(client.http.headers))


def test_unknown_region_is_invalid_input() -> None:
    from client.errors import InvalidInput

    with pytest.raises(InvalidInput) as info:
        WanClient(KEY, region="mars")
    assert info.value.field == "region"


# --- error mapping --------------------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(ERROR_CODES))
async def test_error_code_maps_to_its_class(code: str) -> None:
    status = ERROR_CODES[code].status
    body = {"code": code, "message": f"message for {code}", "request_id": "req-1"}
    headers = {"Retry-After": "7"} if status == 429 else {}
    async with client_with(Script(resp(status, json=body, headers=headers))) as client:
        with pytest.raises(WanError) as info:
            await client.api("GET", "/tasks/t1")
    err = info.value
    assert type(err) is ERROR_CODES[code].cls
    assert (err.status, err.code, err.message, err.request_id) == (
        status, code, f"message for {code}", "req-1")
    assert KEY not in str(err)
    if isinstance(err, RateLimited):
        assert err.retry_after == 7.0


@pytest.mark.parametrize("body", [b"<html>bad gateway</html>", b"", b"[1, 2]"])
async def test_unreadable_error_body_is_a_service_error_with_the_status(body: bytes) -> None:
    async with client_with(Script(resp(502, content=body))) as client:
        with pytest.raises(ServiceError) as info:
            await client.api("GET", "/tasks/t1")
    assert type(info.value) is ServiceError and info.value.status == 502


async def test_unknown_code_falls_back_to_the_status_class() -> None:
    body = {"code": "AccessDenied.SomethingNew", "message": "no", "request_id": "r"}
    async with client_with(Script(resp(403, json=body))) as client:
        with pytest.raises(AccessDenied):
            await client.api("GET", "/tasks/t1")


async def test_request_id_falls_back_to_the_header() -> None:
    answer = resp(400, json={"code": "UnsupportedOperation", "message": "no"},
                  headers={"X-Request-ID": "hdr-9"})
    async with client_with(Script(answer)) as client:
        with pytest.raises(CancelNotAllowed) as info:
            await client.api("POST", "/tasks/t1/cancel")
    assert info.value.request_id == "hdr-9"


async def test_success_with_a_non_json_body_is_a_service_error() -> None:
    async with client_with(Script(resp(200, content=b"not json"))) as client:
        with pytest.raises(ServiceError):
            await client.api("GET", "/tasks/t1")


async def test_connection_failure_becomes_service_error_without_the_key() -> None:
    async with client_with(Script(httpx.ConnectError("All connection attempts failed"))) as c:
        with pytest.raises(ServiceError) as info:
            await c.api("GET", "/tasks/t1")
    assert "could not reach" in str(info.value) and KEY not in str(info.value)


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("x"),
                                     httpx.PoolTimeout("pool")])
async def test_a_create_that_never_connected_is_not_sent(failure) -> None:
    async with client_with(Script(failure)) as client:
        with pytest.raises(NotSent) as info:
            await client.api("POST", CREATE_PATH, json_body={"model": "m"})
    assert "not sent" in str(info.value) and KEY not in str(info.value)


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.WriteTimeout("slow"),
                                     httpx.ReadError("reset"),
                                     httpx.RemoteProtocolError("Server disconnected")])
async def test_a_create_sent_without_an_answer_is_no_answer(failure) -> None:
    before = time.time()
    async with client_with(Script(failure)) as client:
        with pytest.raises(NoAnswer) as info:
            await client.api("POST", CREATE_PATH, json_body={"model": "m"})
    err = info.value
    assert not isinstance(err, ServiceError) and type(failure).__name__ in str(err)
    assert before <= err.sent_at <= err.failed_at <= time.time()


@pytest.mark.parametrize("message,cls", [
    (FREE_QUOTA_MESSAGE, QuotaExhausted),
    (ERROR_CODES["Throttling.AllocationQuota"].message, RateLimited),
])
async def test_allocation_quota_is_a_used_up_free_quota_only_when_it_says_so(message, cls):
    body = {"code": "Throttling.AllocationQuota", "message": message, "request_id": "r"}
    async with client_with(Script(resp(429, json=body))) as client:
        with pytest.raises(WanError) as info:
            await client.api("POST", CREATE_PATH, json_body={"model": "m"})
    assert type(info.value) is cls and info.value.code == "Throttling.AllocationQuota"
    if cls is QuotaExhausted:
        assert isinstance(info.value, AccountError) and not isinstance(info.value, RateLimited)
        assert "paid use" in str(info.value) and "Model Studio console" in str(info.value)


async def test_client_retries_through_its_transport() -> None:
    script = Script(resp(503), resp(200, json={"ok": 1}))
    client = client_with(script, max_retries=2)
    slept: list[float] = []

    async def no_wait(seconds: float) -> None:
        slept.append(seconds)

    client.transport.sleep = no_wait
    async with client:
        assert await client.api("GET", "/tasks/t1") == {"ok": 1}
    assert len(script.requests) == 2 and len(slept) == 1


def test_clients_share_one_certificate_store_and_keep_connections_between_polls() -> None:
    # Building a certificate store costs about 25 ms: one per job stalled a burst of jobs.
    first, second = (WanClient(key, base_url=BASE) for key in ("k1", "k2"))
    pools = [c.transport._inner._pool for c in (first, second)]  # httpcore's pool: no public view
    assert all(pool._ssl_context is tls_context() for pool in pools)
    # Status queries come up to 15 s apart (PollSchedule.max_gap); a connection must outlive that.
    assert all(pool._keepalive_expiry == KEEPALIVE_SECONDS > PollSchedule.max_gap for pool in pools)
