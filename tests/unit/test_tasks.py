"""Task calls, the polling schedule, watch() on a simulated clock, and result download."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import httpx
import pytest

from client import tasks
from client.error_codes import ERROR_CODES
from client.errors import (
    AuthError,
    CancelNotAllowed,
    DownloadFailed,
    InvalidInput,
    ResultExpired,
    ServiceError,
    WaitTimeout,
)
from client.http import WanClient
from client.polling import PollSchedule, sdk_interval
from client.status import Failed, Pending, Running, Succeeded, Unknown, Usage
from client.tasks import cancel_task, create_task, download, get_task, list_tasks, watch
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio
KEY = "sk-tasks-test"
BASE = "https://api.test/api/v1"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 4000


class Recorder:
    def __init__(self, answer) -> None:
        self.answer = answer  # a Response, or a function Request -> Response
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request) if callable(self.answer) else self.answer


def client_for(handler) -> WanClient:
    return WanClient(KEY, base_url=BASE, transport=httpx.MockTransport(handler), max_retries=0)


def task_body(status: str, task_id: str = "t1", **output) -> dict:
    return {"request_id": "r", "output": {"task_id": task_id, "task_status": status, **output}}


# --- create / get / cancel / list ---------------------------------------------------------------

@pytest.mark.parametrize("oss", [False, True])
async def test_create_task_headers_and_body(oss: bool) -> None:
    rec = Recorder(httpx.Response(200, json=task_body("PENDING", "new-1")))
    payload = {"model": "wan2.6-i2v-flash", "input": {"img_url": "oss://d/x.png", "prompt": "猫"},
               "parameters": {"resolution": "720P"}}
    async with client_for(rec) as client:
        pending = await create_task(client, payload, oss=oss)
    assert pending == Pending(task_id="new-1")
    request = rec.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/api/v1/services/aigc/video-generation/video-synthesis"
    assert request.headers["x-dashscope-async"] == "enable"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert ("x-dashscope-ossresourceresolve" in request.headers) is oss
    if oss:
        assert request.headers["x-dashscope-ossresourceresolve"] == "enable"
    assert json.loads(request.content) == payload


async def test_create_without_task_id_is_a_service_error() -> None:
    async with client_for(Recorder(httpx.Response(200, json={"request_id": "r"}))) as client:
        with pytest.raises(ServiceError):
            await create_task(client, {"model": "m"})


USAGE_SHAPES = [
    # wan2.6 (flash adds audio)
    ({"duration": 10, "input_video_duration": 0, "output_video_duration": 10, "video_count": 1,
      "SR": 720, "audio": False}, Usage(10.0, 1, 720, False, None)),
    # wan2.2 / wan2.5
    ({"duration": 5, "SR": 1080, "video_count": 1}, Usage(5.0, 1, 1080, None, None)),
    # wan2.1
    ({"video_duration": 3, "video_ratio": "standard", "video_count": 1},
     Usage(3.0, 1, None, None, "standard")),
]


@pytest.mark.parametrize("usage,expected", USAGE_SHAPES)
async def test_get_task_parses_succeeded_with_each_usage_shape(usage, expected) -> None:
    body = task_body("SUCCEEDED", submit_time="2025-09-25 11:07:28.590",
                     end_time="2025-09-25 11:17:11.650", video_url="https://r.test/v.mp4",
                     orig_prompt="a cat")
    body["usage"] = usage
    rec = Recorder(httpx.Response(200, json=body))
    async with client_for(rec) as client:
        status = await get_task(client, "t1")
    assert rec.requests[0].url.path == "/api/v1/tasks/t1"
    assert isinstance(status, Succeeded)
    assert status.video_url == "https://r.test/v.mp4" and status.orig_prompt == "a cat"
    assert status.usage is not None
    got = status.usage
    assert (got.seconds, got.video_count, got.resolution, got.audio, got.ratio) == (
        expected.seconds, expected.video_count, expected.resolution, expected.audio,
        expected.ratio)
    assert status.submit_time is not None and status.submit_time.microsecond == 590000


async def test_get_task_failed_and_unknown() -> None:
    answers = iter([task_body("FAILED", code="DataInspectionFailed", message="bad"),
                    task_body("UNKNOWN")])
    async with client_for(lambda r: httpx.Response(200, json=next(answers))) as client:
        failed = await get_task(client, "t1")
        unknown = await get_task(client, "t1")
    assert failed == Failed(task_id="t1", code="DataInspectionFailed", message="bad")
    assert isinstance(unknown, Unknown) and unknown.is_terminal


async def test_unknown_status_string_is_a_service_error() -> None:
    async with client_for(Recorder(httpx.Response(200, json=task_body("PAUSED")))) as client:
        with pytest.raises(ServiceError, match="PAUSED"):
            await get_task(client, "t1")


@pytest.mark.parametrize("bad", ["", "a/b", "  "])
async def test_bad_task_id_is_refused_locally(bad: str) -> None:
    rec = Recorder(httpx.Response(200, json=task_body("RUNNING")))
    async with client_for(rec) as client:
        with pytest.raises(InvalidInput):
            await get_task(client, bad)
    assert rec.requests == []


async def test_cancel_sends_a_bodyless_post() -> None:
    rec = Recorder(httpx.Response(200, json={"request_id": "r"}))
    async with client_for(rec) as client:
        await cancel_task(client, "t1")
    request = rec.requests[0]
    assert (request.method, request.url.path, request.content) == (
        "POST", "/api/v1/tasks/t1/cancel", b"")


REFUSED = {"request_id": "4d49", "code": "UnsupportedOperation",
           "message": ERROR_CODES["UnsupportedOperation"].message}


async def test_cancel_of_a_running_task_says_so() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(400, json=REFUSED)
        return httpx.Response(200, json=task_body("RUNNING"))

    async with client_for(answer) as client:
        with pytest.raises(CancelNotAllowed) as info:
            await cancel_task(client, "t1")
    message = str(info.value)
    assert "already RUNNING" in message and "cannot be cancelled" in message
    assert (info.value.status, info.value.code, info.value.request_id) == (
        400, "UnsupportedOperation", "4d49")


async def test_cancel_refused_because_it_already_worked_is_success() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(400, json=REFUSED)
        return httpx.Response(200, json=task_body("CANCELED"))

    async with client_for(answer) as client:
        assert await cancel_task(client, "t1") is None


async def test_list_tasks_params_and_shape() -> None:
    body = {"request_id": "r", "total": 42, "total_page": 5, "page_no": 2, "page_size": 10,
            "data": [{"task_id": "a", "status": "SUCCEEDED", "model_name": "wan2.6-i2v",
                      "region": "cn-beijing", "request_id": "q", "api_key_id": "42677",
                      "gmt_create": 1709260684485, "start_time": 1709260684485,
                      "end_time": 1709260744485}]}
    rec = Recorder(httpx.Response(200, json=body))
    async with client_for(rec) as client:
        page = await list_tasks(client, page_no=2, status="SUCCEEDED", model_name="wan2.6-i2v",
                                start_time="20240301000000")
    assert dict(rec.requests[0].url.params) == {
        "page_no": "2", "page_size": "10", "status": "SUCCEEDED", "model_name": "wan2.6-i2v",
        "start_time": "20240301000000"}
    assert (page.total, page.total_page, page.page_no, page.page_size) == (42, 5, 2, 10)
    row = page.tasks[0]
    assert (row.task_id, row.status, row.model_name, row.region) == (
        "a", "SUCCEEDED", "wan2.6-i2v", "cn-beijing")
    assert row.created is not None and row.created.timestamp() == 1709260684.485
    assert row.ended is not None and (row.ended - row.started).total_seconds() == 60


# --- the polling schedule -------------------------------------------------------------------------

def test_sdk_interval_sequence() -> None:
    assert [sdk_interval(i) for i in range(12)] == [1, 1, 2, 2, 2, 4, 4, 4, 5, 5, 5, 5]


def test_schedule_without_expected_follows_the_sdk() -> None:
    schedule = PollSchedule()
    assert [schedule.delay(0, polls) for polls in range(1, 10)] == [1, 1, 2, 2, 2, 4, 4, 4, 5]


def test_schedule_with_expected_sleeps_until_just_before_the_end() -> None:
    schedule = PollSchedule(expected_seconds=10)
    assert schedule.delay(elapsed=0, polls=1) == 9.5  # wake 0.5 s before the expected finish
    assert schedule.delay(elapsed=9.25, polls=2) == pytest.approx(0.25)
    assert schedule.delay(elapsed=9.5, polls=3) == 0.25  # dense around the expected finish
    assert schedule.delay(elapsed=10.25, polls=6) == 0.25
    assert schedule.delay(elapsed=12, polls=9) == 0.5  # late: the interval grows with the overrun
    assert schedule.delay(elapsed=41, polls=30) == 5  # long overdue: spare the query quota


def test_schedule_starts_dense_polls_no_earlier_than_recent_tasks_ended() -> None:
    assert PollSchedule.around(10, early_by=None).lead == PollSchedule.lead
    assert PollSchedule.around(None, early_by=0.1).expected_seconds is None  # the SDK's backoff
    tight = PollSchedule.around(10, early_by=0.1)  # recent tasks ended within 0.1 s of the median
    assert tight.delay(elapsed=0, polls=1) == pytest.approx(9.9)
    assert PollSchedule.around(10, early_by=0).delay(elapsed=0, polls=1) == 10
    assert PollSchedule.around(10, early_by=30).lead == PollSchedule.lead  # never earlier than that


def test_schedule_caps_a_single_wait() -> None:
    schedule = PollSchedule(expected_seconds=120)
    assert schedule.delay(elapsed=0, polls=1) == 15
    assert schedule.delay(elapsed=110, polls=9) == 9.5


# --- watch on a simulated clock -------------------------------------------------------------------

class TimedTask:
    """A task that is PENDING, then RUNNING, then ends, by the simulated clock."""

    def __init__(self, clock: FakeClock, running_at: float, done_at: float,
                 final: dict | None = None) -> None:
        self.clock, self.running_at, self.done_at = clock, running_at, done_at
        self.final = final or task_body("SUCCEEDED", video_url="https://r.test/v.mp4")
        self.poll_times: list[float] = []
        self.fail_at: set[int] = set()  # poll numbers answered with 503

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.poll_times.append(round(self.clock.elapsed, 3))
        if len(self.poll_times) in self.fail_at:
            return httpx.Response(503, json={"code": "ModelUnavailable", "message": "busy"})
        if self.clock.elapsed >= self.done_at:
            return httpx.Response(200, json=self.final)
        status = "RUNNING" if self.clock.elapsed >= self.running_at else "PENDING"
        return httpx.Response(200, json=task_body(status))


async def collect(client: WanClient, **kw) -> list[tasks.Progress]:
    return [p async for p in watch(client, "t1", **kw)]


async def test_watch_polls_on_the_sdk_schedule_and_yields_changes(clock: FakeClock) -> None:
    task = TimedTask(clock, running_at=1.5, done_at=11)
    async with client_for(task) as client:
        events = await collect(client)
    assert task.poll_times == [0, 1, 2, 4, 6, 8, 12]
    changes = [(e.status.name, e.polls) for e in events if e.changed]
    assert changes == [("PENDING", 1), ("RUNNING", 3), ("SUCCEEDED", 7)]
    assert events[-1].changed and isinstance(events[-1].status, Succeeded)
    assert all(e.eta is None for e in events[:-1])


async def test_watch_heartbeats_about_once_a_second(clock: FakeClock) -> None:
    task = TimedTask(clock, running_at=0, done_at=20)
    async with client_for(task) as client:
        events = await collect(client)
    elapsed = [e.elapsed for e in events]
    assert elapsed == sorted(elapsed)
    gaps = [b - a for a, b in itertools.pairwise(elapsed)]
    assert max(gaps) <= 1.0 + 1e-9
    heartbeats = [e for e in events if not e.changed]
    assert len(heartbeats) >= 15 and all(isinstance(e.status, Running) for e in heartbeats)


async def test_watch_without_heartbeats_yields_only_what_the_polls_return(clock: FakeClock) -> None:
    task = TimedTask(clock, running_at=1.5, done_at=11)
    async with client_for(task) as client:
        events = await collect(client, heartbeat=None)
    assert task.poll_times == [0, 1, 2, 4, 6, 8, 12]
    assert len(events) == len(task.poll_times)  # one event per query, no heartbeats between
    assert [e.status.name for e in events if e.changed] == ["PENDING", "RUNNING", "SUCCEEDED"]


async def test_watch_with_expected_seconds_waits_then_polls_densely_near_it(
        clock: FakeClock) -> None:
    task = TimedTask(clock, running_at=2, done_at=20)
    async with client_for(task) as client:
        events = await collect(client, expected_seconds=20)
    assert task.poll_times == [0, 15, 19.5, 19.75, 20]
    by_second = {round(e.elapsed): e.eta for e in events if not e.changed}
    assert by_second[5] == pytest.approx(15)
    assert events[-1].eta == 0


async def test_watch_counts_elapsed_from_started_at(clock: FakeClock) -> None:
    task = TimedTask(clock, running_at=0, done_at=0)
    async with client_for(task) as client:
        events = await collect(client, started_at=clock() - 30)
    assert events[0].elapsed == pytest.approx(30)


async def test_watch_deadline_raises_wait_timeout(clock: FakeClock) -> None:
    task = TimedTask(clock, running_at=0, done_at=10_000)
    async with client_for(task) as client:
        with pytest.raises(WaitTimeout, match="still RUNNING"):
            await collect(client, deadline=5)
    assert clock.elapsed == pytest.approx(5)


async def test_a_failing_poll_is_not_fatal(clock: FakeClock) -> None:
    task = TimedTask(clock, running_at=0, done_at=5)
    task.fail_at = {2, 3}
    async with client_for(task) as client:
        events = await collect(client)
    assert isinstance(events[-1].status, Succeeded)
    flagged = [e for e in events if e.poll_error is not None]
    assert flagged and isinstance(flagged[0].poll_error, ServiceError)
    assert any(not e.changed for e in flagged)  # heartbeats say so too
    assert events[-1].poll_error is None


async def test_watch_gives_up_when_every_poll_fails_for_two_minutes(clock: FakeClock) -> None:
    task = TimedTask(clock, running_at=0, done_at=10_000)
    task.fail_at = set(range(2, 1000))
    async with client_for(task) as client:
        with pytest.raises(ServiceError):
            await collect(client)
    assert 120 <= clock.elapsed <= 126
    assert len(task.poll_times) > 20  # kept trying on the schedule until then


async def test_a_non_retriable_poll_error_ends_watch(clock: FakeClock) -> None:
    answer = httpx.Response(401, json={"code": "InvalidApiKey", "message": "Invalid API-key"})
    async with client_for(Recorder(answer)) as client:
        with pytest.raises(AuthError):
            await collect(client)


@pytest.mark.parametrize("final", [task_body("UNKNOWN"), task_body("CANCELED"),
                                   task_body("FAILED", code="InternalError", message="x")])
async def test_watch_ends_at_every_terminal_status(clock: FakeClock, final: dict) -> None:
    task = TimedTask(clock, running_at=0, done_at=2, final=final)
    async with client_for(task) as client:
        events = await collect(client)
    assert events[-1].status.name == final["output"]["task_status"]
    assert events[-1].status.is_terminal and len(task.poll_times) == 3


# --- download -------------------------------------------------------------------------------------

RESULT = "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/x.mp4?OSSAccessKeyId=a&Signature=s"


def video_answer(body: bytes = MP4, content_type: str = "video/mp4", **headers) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"Content-Type": content_type, **headers})


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("content_type", ["video/mp4", "application/octet-stream",
                                          "video/mp4; charset=binary"])
async def test_download_saves_the_video_without_credentials(tmp_path: Path,
                                                            content_type: str) -> None:
    rec = Recorder(video_answer(content_type=content_type))
    dest = tmp_path / "out" / "t1.mp4"
    async with client_for(rec) as client:
        saved = await download(client, RESULT, dest)
    assert saved == dest and dest.read_bytes() == MP4
    assert "authorization" not in rec.requests[0].headers
    assert leftovers(dest.parent) == ["t1.mp4"]


async def test_truncated_download_fails_and_leaves_nothing(tmp_path: Path) -> None:
    rec = Recorder(video_answer(MP4[:1000], **{"Content-Length": str(len(MP4))}))
    async with client_for(rec) as client:
        with pytest.raises(DownloadFailed, match=f"1000 of {len(MP4)}"):
            await download(client, RESULT, tmp_path / "t1.mp4")
    assert leftovers(tmp_path) == []


class BreaksOff(httpx.AsyncByteStream):
    async def __aiter__(self):
        yield MP4[:500]
        raise httpx.ReadError("connection reset")


async def test_a_connection_lost_mid_download_is_download_failed(tmp_path: Path) -> None:
    rec = Recorder(httpx.Response(200, headers={"Content-Type": "video/mp4"}, stream=BreaksOff()))
    async with client_for(rec) as client:
        with pytest.raises(DownloadFailed, match="broke off"):
            await download(client, RESULT, tmp_path / "t1.mp4")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("status", [403, 404])
async def test_gone_result_is_result_expired(tmp_path: Path, status: int) -> None:
    xml = "<Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>"
    async with client_for(Recorder(httpx.Response(status, text=xml))) as client:
        with pytest.raises(ResultExpired, match="expired"):
            await download(client, RESULT, tmp_path / "t1.mp4")
    assert leftovers(tmp_path) == []


async def test_signed_url_past_its_expiry_is_refused_without_a_request(tmp_path: Path) -> None:
    rec = Recorder(video_answer())
    url = RESULT + f"&Expires={int(time.time()) - 60}"
    async with client_for(rec) as client:
        with pytest.raises(ResultExpired):
            await download(client, url, tmp_path / "t1.mp4")
    assert rec.requests == []


@pytest.mark.parametrize("answer", [
    video_answer(b"<html>login</html>", "text/html"),
    video_answer(b"{}", "application/json"),
    video_answer(b"definitely not an mp4 file"),
])
async def test_a_result_that_is_not_a_video_fails(tmp_path: Path, answer) -> None:
    async with client_for(Recorder(answer)) as client:
        with pytest.raises(DownloadFailed):
            await download(client, RESULT, tmp_path / "t1.mp4")
    assert leftovers(tmp_path) == []
