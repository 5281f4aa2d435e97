"""client.pipeline against a scripted service (httpx.MockTransport): events in order, the one
outcome rule, the one layer of create retries, and finding the task of a lost answer."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from client import events, handle, pipeline, recovery
from client.error_codes import FREE_QUOTA_MESSAGE
from client.errors import (
    AmbiguousTask,
    NoAnswer,
    NotSent,
    QuotaExhausted,
    RateLimited,
    ResultExpired,
    TaskCanceled,
    TaskExpired,
    TaskFailed,
)
from client.eta import EtaEstimator, TaskShape
from client.handle import TaskHandle, outcome
from client.http import WanClient
from client.pipeline import follow, run_job
from client.request import VideoRequest
from client.slots import SlotQueue
from client.status import Canceled, Failed, Pending, Running, Succeeded, Unknown
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio
KEY = "sk-pipeline-test"
BASE = "https://api.test/api/v1"
RESULT = "https://result.test/"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000
URL = "https://example.com/cat.jpg"
MODEL = "wan2.2-i2v-flash"  # two task slots per account


@pytest.fixture(autouse=True)
def instant_waits(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> list[float]:
    """Polls, list re-checks and retry pauses take no time; the pauses are recorded."""
    paused: list[float] = []

    async def pause(seconds: float) -> None:
        paused.append(seconds)

    monkeypatch.setattr(recovery, "_sleep", pause)
    monkeypatch.setattr(pipeline, "_sleep", pause)
    monkeypatch.setattr(handle, "_sleep", pause)
    return paused


class Service:
    """Creates answer as `script` says, one entry per create call:
    ok | lost (task made, then the answer times out) | silent (times out, no task) |
    500 | 500-made (task made, then 500) | 429 | quota | connect (never connected)."""

    def __init__(self, *script: str, final: str = "SUCCEEDED") -> None:
        self.script = list(script) or ["ok"]
        self.final = final
        self.tasks: dict[str, dict] = {}  # task id -> model, created (ms), polls
        self.requests: list[httpx.Request] = []
        self.expired_downloads = 0  # the first N result downloads are refused (403)

    def add_task(self, model: str = MODEL, created: float | None = None) -> str:
        task_id = f"t-{uuid.uuid4().hex[:8]}"
        self.tasks[task_id] = {"model": model, "polls": 0,
                               "created": int((created or time.time()) * 1000)}
        return task_id

    def of(self, kind: str) -> list[httpx.Request]:
        return [r for r in self.requests if self._kind(r) == kind]

    @staticmethod
    def _kind(request: httpx.Request) -> str:
        path = request.url.path
        if path.endswith("/video-synthesis"):
            return "create"
        if path == "/api/v1/tasks":
            return "list"
        if path.startswith("/api/v1/tasks/"):
            return "cancel" if path.endswith("/cancel") else "status"
        return "result"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        kind = self._kind(request)
        if kind == "create":
            return self._create(request, self.script.pop(0) if self.script else "ok")
        if kind == "list":
            return self._list(request.url.params)
        if kind == "status":
            return self._status(request.url.path.rsplit("/", 1)[1])
        if kind == "cancel":
            return httpx.Response(200, json={"request_id": "r"})
        if self.expired_downloads:
            self.expired_downloads -= 1
            return httpx.Response(403, text="Request has expired.")
        return httpx.Response(200, content=MP4, headers={"Content-Type": "video/mp4"})

    def _create(self, request: httpx.Request, step: str) -> httpx.Response:
        model = json.loads(request.content)["model"]
        if step in ("ok", "lost", "500-made"):
            task_id = self.add_task(model)
            if step == "lost":
                raise httpx.ReadTimeout("timed out", request=request)
            if step == "500-made":
                return httpx.Response(500, json={"code": "InternalError", "message": "oops"})
            return httpx.Response(200, json={"output": {"task_id": task_id,
                                                        "task_status": "PENDING"}})
        if step == "silent":
            raise httpx.ReadTimeout("timed out", request=request)
        if step == "connect":
            raise httpx.ConnectError("refused", request=request)
        if step == "500":
            return httpx.Response(500, json={"code": "InternalError", "message": "oops"})
        if step == "429":
            return httpx.Response(429, headers={"Retry-After": "0"}, json={
                "code": "Throttling.RateQuota", "message": "Requests rate limit exceeded"})
        assert step == "quota", step
        return httpx.Response(429, json={"code": "Throttling.AllocationQuota",
                                         "message": FREE_QUOTA_MESSAGE})

    def _status(self, task_id: str) -> httpx.Response:
        task = self.tasks.get(task_id)
        if task is None:
            return httpx.Response(200, json={"output": {"task_id": task_id,
                                                        "task_status": "UNKNOWN"}})
        task["polls"] += 1
        output: dict = {"task_id": task_id, "submit_time": "2026-01-01 10:00:00.000"}
        if task["polls"] == 1:
            output["task_status"] = "PENDING"
        elif task["polls"] == 2:
            output["task_status"] = "RUNNING"
        else:
            output.update(task_status=self.final, end_time="2026-01-01 10:00:42.000",
                          video_url=f"{RESULT}{task_id}.mp4?polls={task['polls']}")
            if self.final == "FAILED":
                output.update(code="DataInspectionFailed", message="inappropriate")
        return httpx.Response(200, json={"output": output})

    def _list(self, params: httpx.QueryParams) -> httpx.Response:
        rows = sorted(((tid, t) for tid, t in self.tasks.items()
                       if t["model"] == params.get("model_name", t["model"])),
                      key=lambda item: -item[1]["created"])
        size, page_no = int(params["page_size"]), int(params["page_no"])
        page = rows[(page_no - 1) * size:page_no * size]
        return httpx.Response(200, json={
            "total": len(rows), "total_page": -(-len(rows) // size), "page_no": page_no,
            "page_size": size, "data": [{"task_id": tid, "status": "PENDING",
                                         "model_name": t["model"], "gmt_create": t["created"]}
                                        for tid, t in page]})


def client_for(service: Service) -> WanClient:
    # The transport's own retries stay on: a create must still go exactly as often as the
    # pipeline decides.
    return WanClient(KEY, base_url=BASE, transport=httpx.MockTransport(service))


async def collect(service: Service, tmp_path: Path, **options) -> list[events.Event]:
    async with client_for(service) as client:
        return [event async for event in run_job(
            client, VideoRequest(model=MODEL, image=URL), dest=tmp_path, **options)]


def kinds(seen: list[events.Event]) -> list[str]:
    return [type(event).__name__ for event in seen]


# --- the one outcome rule -------------------------------------------------------------------

@pytest.mark.parametrize("status,error,code", [
    (Succeeded(task_id="a", video_url="u"), None, None),
    (Failed(task_id="a", code="DataInspectionFailed", message="bad"), TaskFailed,
     "DataInspectionFailed"),
    (Failed(task_id="a"), TaskFailed, None),
    (Canceled(task_id="a"), TaskCanceled, None),
    (Unknown(task_id="a"), TaskExpired, None),
])
def test_one_rule_maps_a_final_status_to_its_outcome(status, error, code) -> None:
    result = outcome(status)
    if error is None:
        assert result is None
    else:
        assert type(result) is error and result.code == code and "task a" in str(result)


@pytest.mark.parametrize("status", [Pending(task_id="a"), Running(task_id="a")])
def test_a_status_still_waiting_has_no_outcome(status) -> None:
    with pytest.raises(ValueError, match="still"):
        outcome(status)


# --- one job, start to end ------------------------------------------------------------------

async def test_a_job_yields_its_events_in_order_and_saves_the_video(tmp_path: Path) -> None:
    service = Service("ok")
    seen = await collect(service, tmp_path)
    assert kinds(seen) == ["Preparing", "Submitting", "Pending", "Running", "Downloading",
                           "Done"]
    pending, done = seen[2], seen[-1]
    assert isinstance(pending, events.Pending) and not pending.recovered
    assert isinstance(done, events.Done) and done.task_id == pending.task_id
    assert done.path == tmp_path / f"{done.task_id}.mp4" and done.path.read_bytes() == MP4
    assert isinstance(done.status, Succeeded)
    assert len(service.of("create")) == 1 and service.of("list") == []


async def test_a_failed_task_ends_in_failed_with_its_code_and_no_file(tmp_path: Path) -> None:
    service = Service("ok", final="FAILED")
    seen = await collect(service, tmp_path)
    last = seen[-1]
    assert isinstance(last, events.Failed) and isinstance(last.error, TaskFailed)
    assert last.error.code == "DataInspectionFailed" and last.task_id in service.tasks
    assert list(tmp_path.iterdir()) == [] and service.of("result") == []


async def test_eta_hooks_set_the_expected_end_and_learn_the_task_time(tmp_path: Path) -> None:
    eta = EtaEstimator(prior=30.0)
    seen = await collect(Service("ok"), tmp_path, eta=eta)
    pending = next(e for e in seen if isinstance(e, events.Pending))
    assert pending.submitted_at is not None
    assert pending.expected_end == pytest.approx(pending.submitted_at + 30.0)
    shape = TaskShape.of(VideoRequest(model=MODEL, image=URL, resolution="480P", duration=5))
    assert eta.expected(shape) == 42.0  # end_time − submit_time of the finished task


# --- one layer of create retries ------------------------------------------------------------

async def test_throttling_is_waited_out_by_the_pipeline_alone(tmp_path: Path,
                                                              instant_waits: list[float]) -> None:
    service = Service("429", "429", "ok")
    seen = await collect(service, tmp_path)
    waits = [e for e in seen if isinstance(e, events.Submitting) and e.retry_in is not None]
    assert [(w.retry_in, type(w.reason)) for w in waits] == [(0.0, RateLimited)] * 2
    assert len(service.of("create")) == 3 and isinstance(seen[-1], events.Done)


async def test_a_used_up_free_quota_is_not_retried(tmp_path: Path) -> None:
    service = Service("quota", "ok")
    seen = await collect(service, tmp_path)
    last = seen[-1]
    assert isinstance(last, events.Failed) and isinstance(last.error, QuotaExhausted)
    assert "paid use" in str(last.error) and last.task_id is None
    assert len(service.of("create")) == 1 and service.tasks == {}


async def test_a_create_that_never_connected_is_sent_again(tmp_path: Path,
                                                           instant_waits: list[float]) -> None:
    service = Service("connect", "ok")
    seen = await collect(service, tmp_path)
    (wait,) = [e for e in seen if isinstance(e, events.Submitting) and e.retry_in is not None]
    assert isinstance(wait.reason, NotSent) and 0 <= wait.retry_in <= 0.5
    assert len(service.of("create")) == 2 and len(service.tasks) == 1
    assert isinstance(seen[-1], events.Done) and service.of("list") == []


async def test_connecting_gives_up_after_its_attempts(tmp_path: Path) -> None:
    service = Service(*["connect"] * 10)
    seen = await collect(service, tmp_path)
    assert isinstance(seen[-1], events.Failed) and isinstance(seen[-1].error, NotSent)
    assert len(service.of("create")) == pipeline.CONNECT_ATTEMPTS


# --- no answer: find the task it may have made -----------------------------------------------

async def test_a_lost_answer_is_followed_to_the_task_it_made(tmp_path: Path) -> None:
    service = Service("lost")
    seen = await collect(service, tmp_path)
    assert kinds(seen) == ["Preparing", "Submitting", "Recovering", "Pending", "Running",
                           "Downloading", "Done"]
    assert isinstance(seen[2].cause, NoAnswer)
    pending, done = seen[3], seen[-1]
    (made,) = service.tasks
    assert pending.recovered and pending.task_id == made == done.task_id
    assert done.path.read_bytes() == MP4
    assert len(service.of("create")) == 1
    (query, *_) = service.of("list")
    assert query.url.params["model_name"] == MODEL


async def test_no_task_in_the_list_means_not_sent(tmp_path: Path,
                                                  instant_waits: list[float]) -> None:
    service = Service("silent")
    seen = await collect(service, tmp_path, recheck=(1.0, 2.0))
    last = seen[-1]
    assert isinstance(last, events.Failed) and isinstance(last.error, NotSent)
    assert "safe to send it again" in str(last.error) and last.task_id is None
    assert len(service.of("list")) == 3 and instant_waits == [0.0, 1.0, 2.0]  # read 3 times
    assert len(service.of("create")) == 1


async def test_two_candidates_are_never_guessed_between(tmp_path: Path) -> None:
    service = Service("lost")
    other = service.add_task()  # someone else on the same key, at the same moment
    seen = await collect(service, tmp_path)
    last = seen[-1]
    assert isinstance(last, events.Failed) and isinstance(last.error, AmbiguousTask)
    assert set(last.error.candidates) == set(service.tasks) and other in last.error.candidates
    assert all(c in str(last.error) for c in last.error.candidates)
    assert len(service.of("create")) == 1 and service.of("status") == []


async def test_tasks_the_studio_already_follows_are_not_candidates(tmp_path: Path) -> None:
    service = Service("lost")
    mine_before = service.add_task()
    seen = await collect(service, tmp_path, known_task_ids={mine_before})
    done = seen[-1]
    assert isinstance(done, events.Done) and done.task_id != mine_before
    assert done.task_id in service.tasks


async def test_tasks_outside_the_window_or_of_another_model_are_not_candidates(
        tmp_path: Path) -> None:
    service = Service("lost")
    service.add_task(created=time.time() - 60)  # a minute earlier
    service.add_task(model="wan2.6-i2v")  # same moment, another model
    seen = await collect(service, tmp_path)
    assert isinstance(seen[-1], events.Done) and seen[3].recovered


async def test_a_5xx_on_create_is_checked_in_the_list_too(tmp_path: Path) -> None:
    made = await collect(Service("500-made"), tmp_path)
    assert isinstance(made[2], events.Recovering) and made[2].cause.status == 500
    assert isinstance(made[-1], events.Done)
    none = await collect(Service("500"), tmp_path)
    assert isinstance(none[-1], events.Failed) and isinstance(none[-1].error, NotSent)
    assert "HTTP 500" in str(none[-1].error)


async def test_the_list_is_read_only_as_far_back_as_the_send(tmp_path: Path) -> None:
    service = Service("lost")
    for seconds in range(150):  # older tasks, newest first in the list
        service.add_task(created=time.time() - 3600 - seconds)
    seen = await collect(service, tmp_path, recheck=())
    assert isinstance(seen[-1], events.Done)
    assert [r.url.params["page_no"] for r in service.of("list")] == ["1"]


async def test_an_unreadable_list_keeps_it_no_answer(tmp_path: Path) -> None:
    service = Service("lost")
    answer = service._list
    service._list = lambda params: httpx.Response(400, json={"code": "InvalidParameter",
                                                             "message": "bad"})
    seen = await collect(service, tmp_path)
    service._list = answer
    last = seen[-1]
    assert isinstance(last, events.Failed) and isinstance(last.error, NoAnswer)
    assert "do not send it again" in str(last.error) and len(service.of("create")) == 1


# --- slots and cancelling --------------------------------------------------------------------

async def test_a_job_waits_for_a_slot_in_line_then_creates(tmp_path: Path) -> None:
    service = Service("ok")
    slots = SlotQueue()
    async with client_for(service) as client:
        holders = [slots.join(client.account, MODEL, 2) for _ in range(2)]
        job = run_job(client, VideoRequest(model=MODEL, image=URL), dest=tmp_path, slots=slots)
        assert isinstance(await job.__anext__(), events.Preparing)
        assert await job.__anext__() == events.Queued(1)
        assert service.of("create") == []
        holders[0].release()
        rest = [event async for event in job]
    assert kinds(rest)[0] == "Submitting" and isinstance(rest[-1], events.Done)
    assert slots.join(client.account, MODEL, 2).holds_slot  # its own slot went back


async def test_cancel_while_queued_sends_nothing(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "SLOT_CHECK_SECONDS", 0.01)
    service = Service("ok")
    slots, cancel = SlotQueue(), asyncio.Event()
    async with client_for(service) as client:
        holders = [slots.join(client.account, MODEL, 2) for _ in range(2)]
        seen = []
        async for event in run_job(client, VideoRequest(model=MODEL, image=URL), dest=tmp_path,
                                   slots=slots, cancel=cancel):
            seen.append(event)
            if isinstance(event, events.Queued):
                cancel.set()
    assert isinstance(seen[-1], events.Failed) and isinstance(seen[-1].error, TaskCanceled)
    assert service.requests == [] and all(h.holds_slot for h in holders)


async def test_cancel_during_the_create_cancels_the_new_task(tmp_path: Path) -> None:
    service = Service("ok")
    cancel = asyncio.Event()
    async with client_for(service) as client:
        seen = []
        async for event in run_job(client, VideoRequest(model=MODEL, image=URL), dest=tmp_path,
                                   cancel=cancel):
            seen.append(event)
            if isinstance(event, events.Submitting):
                cancel.set()  # the create is about to go: too late to stop it being sent
            if isinstance(event, events.Running):
                break
    (cancelled,) = service.of("cancel")
    assert cancelled.url.path == f"/api/v1/tasks/{seen[-1].task_id}/cancel"
    assert service.requests.index(cancelled) < service.requests.index(service.of("status")[0])


# --- the handle and follow ---------------------------------------------------------------------

async def test_download_fetches_a_fresh_link_when_one_is_refused(tmp_path: Path) -> None:
    service = Service()
    task_id = service.add_task()
    service.tasks[task_id]["polls"] = 5  # already SUCCEEDED
    service.expired_downloads = 1
    async with client_for(service) as client:
        saved = await TaskHandle(client, task_id).download(tmp_path / "v.mp4")
    links = [str(r.url) for r in service.of("result")]
    assert saved.read_bytes() == MP4 and len(links) == 2 and links[0] != links[1]


async def test_download_gives_up_after_its_attempts(tmp_path: Path) -> None:
    service = Service()
    task_id = service.add_task()
    service.tasks[task_id]["polls"] = 5
    service.expired_downloads = 10
    async with client_for(service) as client:
        with pytest.raises(ResultExpired):
            await TaskHandle(client, task_id).download(tmp_path / "v.mp4")
    assert len(service.of("result")) == handle.DOWNLOAD_ATTEMPTS


async def test_follow_resumes_a_task_by_id(tmp_path: Path) -> None:
    service = Service()
    task_id = service.add_task()
    async with client_for(service) as client:
        seen = [e async for e in follow(TaskHandle(client, task_id), dest=tmp_path)]
        gone = [e async for e in follow(TaskHandle(client, "no-such-task"), dest=tmp_path)]
    assert kinds(seen) == ["Pending", "Running", "Downloading", "Done"]
    assert seen[0].submitted_at is not None  # from the service's submit_time
    assert isinstance(gone[-1], events.Failed) and isinstance(gone[-1].error, TaskExpired)
    assert gone[-1].task_id == "no-such-task"


async def test_follow_of_a_video_saved_before_asks_nothing(tmp_path: Path) -> None:
    (tmp_path / "t-1.mp4").write_bytes(MP4)
    service = Service()
    async with client_for(service) as client:
        seen = [e async for e in follow(TaskHandle(client, "t-1"), dest=tmp_path)]
    assert seen == [events.Done(seen[0].handle, tmp_path / "t-1.mp4")]
    assert service.requests == []
