"""Faults on demand (header and instance plan) and per-key account limits, over plain HTTP."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from client.protocols import IMAGE2VIDEO_PATH
from client.simulator.faults import Fault, FaultPlan
from client.simulator.state import account_of
from tests.conftest import FakeClock
from tests.integration.helpers import Raw, data_uri, payload
from tests.integration.media_checks import create
from tests.integration.test_sim_media import kf2v_body, submitted

FAULT = "X-Wan-Sim-Fault"


def quick() -> dict:
    return payload("wan2.2-i2v-flash", resolution="480P")


@pytest.mark.parametrize(
    "header, status, code",
    [
        ("429", 429, "Throttling.RateQuota"),
        ("429;code=Throttling.BurstRate", 429, "Throttling.BurstRate"),
        ("500", 500, "InternalError"),
        ("500;code=SystemError", 500, "SystemError"),
        ("503", 503, "ModelUnavailable"),
    ],
)
def test_error_faults(raw, header, status, code):
    for answer in (
        raw.create(quick(), headers={FAULT: header}),
        raw.http.get("/tasks/x", headers={**raw.headers, FAULT: header}),
    ):
        assert answer.status_code == status
        assert answer.json()["code"] == code and answer.json()["message"]
    if status == 429:
        assert answer.headers["Retry-After"] == "1"


def test_burst_header_arms_the_next_requests(raw):
    codes = [
        raw.http.get(
            "/tasks/x", headers={**raw.headers, FAULT: "429;times=3;retry_after=2"}
        ).status_code
    ]
    codes += [raw.http.get("/tasks/x", headers=raw.headers).status_code for _ in range(3)]
    assert codes == [429, 429, 429, 200]


def test_slow_fault(raw):
    started = time.monotonic()
    assert (
        raw.http.get("/tasks/x", headers={**raw.headers, FAULT: "slow;seconds=0.5"}).status_code
        == 200
    )
    assert time.monotonic() - started >= 0.5


def test_drop_fault(raw):
    with pytest.raises(httpx.RemoteProtocolError):
        raw.http.get("/tasks/x", headers={**raw.headers, FAULT: "drop"})
    assert raw.status("x")["output"]["task_status"] == "UNKNOWN"  # the server is fine afterwards


def test_lost_answer_fault_does_the_work_then_drops_the_answer(raw):
    with pytest.raises(httpx.RemoteProtocolError):
        raw.create(quick(), headers={FAULT: "lost-answer"})
    (row,) = raw.list().json()["data"]  # the task was made all the same
    assert raw.wait(row["task_id"])["output"]["task_status"] == "SUCCEEDED"
    pending = raw.submit(payload("wan2.2-i2v-flash", resolution="480P"))
    with pytest.raises(httpx.RemoteProtocolError):
        raw.http.post(f"/tasks/{pending}/cancel", headers={**raw.headers, FAULT: "lost-answer"})
    assert raw.status(pending)["output"]["task_status"] == "CANCELED"


def test_malformed_fault(raw):
    answer = raw.http.get("/tasks/x", headers={**raw.headers, FAULT: "malformed"})
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        answer.json()


@pytest.mark.parametrize(
    "header, code",
    [
        ("fail;code=DataInspectionFailed", "DataInspectionFailed"),
        ("fail;code=InternalError.Timeout", "InternalError.Timeout"),
        ("fail;code=InvalidParameter;message=The size is not match", "InvalidParameter"),
    ],
)
def test_fail_fault_ends_the_task_failed(raw, header, code):
    body = raw.wait(raw.submit(quick(), headers={FAULT: header}))
    out = body["output"]
    assert out["task_status"] == "FAILED" and out["code"] == code and out["message"]
    assert "video_url" not in out and "usage" not in body
    if "message=" in header:
        assert out["message"] == "The size is not match"


def test_expired_url_fault_at_create(raw):
    body = raw.wait(raw.submit(quick(), headers={FAULT: "expired-url"}))
    answer = httpx.get(body["output"]["video_url"])
    assert answer.status_code == 403 and "Request has expired." in answer.text


def test_expired_url_fault_on_status_and_result(raw):
    task_id = raw.submit(quick())
    raw.wait(task_id)
    url = raw.status(task_id, headers={FAULT: "expired-url"})["output"]["video_url"]
    assert httpx.get(url).status_code == 403
    good = raw.status(task_id)["output"]["video_url"]
    assert httpx.get(good).status_code == 200
    assert httpx.get(good, headers={FAULT: "expired-url"}).status_code == 403


def test_truncated_download(raw):
    body = raw.wait(raw.submit(quick(), headers={FAULT: "truncated"}))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(body["output"]["video_url"])
    task_id = raw.submit(quick())
    url = raw.wait(task_id)["output"]["video_url"]
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url, headers={FAULT: "truncated"})
    assert len(httpx.get(url).content) > 1000


@pytest.mark.parametrize(
    "header, words",
    [
        ("explode", "unknown fault"),
        ("429;times=0", "times"),
        ("slow;seconds=abc", "seconds"),
        ("500;oops", "key=value"),
    ],
)
def test_bad_fault_header_is_refused(raw, header, words):
    answer = raw.http.get("/tasks/x", headers={**raw.headers, FAULT: header})
    assert answer.status_code == 400 and words in answer.json()["message"]


def test_header_ignored_when_test_faults_are_off(start_sim, api_key):
    raw = Raw(start_sim(test_faults=False), api_key)
    assert raw.http.get("/tasks/x", headers={**raw.headers, FAULT: "503"}).status_code == 200


def test_instance_fault_plan(start_sim, api_key):
    plan = FaultPlan(
        [(Fault("503", route="status"), 2), Fault("fail", {"code": "DataInspectionFailed"})]
    )
    raw = Raw(start_sim(faults=plan), api_key)
    assert [raw.http.get("/tasks/x", headers=raw.headers).status_code for _ in range(3)] == [
        503,
        503,
        200,
    ]
    for _ in range(2):  # armed without a count: every create
        assert raw.wait(raw.submit(quick()))["output"]["code"] == "DataInspectionFailed"


def test_faults_armed_on_a_running_simulator(sim, raw):
    sim.faults.add("drop", route="list")
    with pytest.raises(httpx.RemoteProtocolError):
        raw.list()
    assert raw.list().status_code == 200
    assert [r.fault for r in sim.requests if r.route == "list"][-2:] == ["drop", None]


# --- account limits -----------------------------------------------------------------------------


def test_concurrent_task_limit(start_sim, api_key):
    limited = start_sim(task_seconds=10, limits=True)
    raw = Raw(limited, api_key)
    for _ in range(2):  # wan2.2: 2 unfinished tasks per account
        raw.submit(quick())
    answer = raw.create(quick())
    assert answer.status_code == 429 and answer.json()["code"] == "Throttling.AllocationQuota"
    assert 1 <= int(answer.headers["Retry-After"]) <= 10
    other = Raw(limited, "sk-other-account")
    assert other.create(quick()).status_code == 200  # limits are per key
    assert raw.create(payload("wan2.6-i2v-flash", resolution="720P", duration=2)).status_code == 200


def test_first_and_last_frame_models_queue_tasks_past_the_limit(start_sim, api_key):
    """kf2v and wan2.7 (the media spec's decision 15): past the concurrency a create is taken
    and its task kept PENDING until one ends, in the order they came; legacy models refuse."""
    limited = start_sim(task_seconds=1.5, limits=True)
    limited.sim.limits.clock = clock = FakeClock()  # the 1 s rate window, counted exactly
    raw = Raw(limited, api_key)
    body = kf2v_body("wan2.2-kf2v-flash", data_uri(), data_uri(), resolution="480P")  # 2 at once
    running = [submitted(create(raw, IMAGE2VIDEO_PATH, body)) for _ in range(2)]
    clock.now += 1.0
    queued = [submitted(create(raw, IMAGE2VIDEO_PATH, body)) for _ in range(2)]
    tasks = {t.task_id: t for t in limited.sim.store.tasks_of(account_of(api_key))}
    ends = sorted(tasks[t].due for t in running)
    assert [tasks[t].scheduled for t in queued] == pytest.approx(
        [e + limited.sim.pending_seconds for e in ends], abs=0.05)
    limited.sim.limits.clock = time.monotonic  # status queries now: at a real pace
    assert raw.status(queued[1])["output"]["task_status"] == "PENDING"
    while (done := raw.status(queued[1])["output"])["task_status"] == "PENDING":
        time.sleep(0.2)
    assert done["task_status"] in ("RUNNING", "SUCCEEDED") and time.time() >= ends[1]


def test_submit_rate_limit(start_sim, api_key):
    limited = start_sim(
        task_seconds=0, limits=True, faults=FaultPlan([Fault("fail", route="create")])
    )  # tasks end at once, so only the rate can refuse
    limited.sim.limits.clock = clock = FakeClock()  # a 1 s window counted exactly
    raw = Raw(limited, api_key)
    assert [raw.create(quick()).status_code for _ in range(3)] == [200, 200, 429]
    clock.now += 0.4
    answer = raw.create(quick())
    assert answer.json()["code"] == "Throttling.RateQuota"
    assert answer.headers["Retry-After"] == "1"
    clock.now += 0.6
    assert raw.create(quick()).status_code == 200


def test_status_query_limit(start_sim, api_key):
    limited = start_sim(limits=True)
    limited.sim.limits.clock = clock = FakeClock()
    raw = Raw(limited, api_key)
    codes = [raw.http.get("/tasks/x", headers=raw.headers).status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]
    answer = raw.http.get("/tasks", headers=raw.headers)
    assert answer.status_code == 429 and answer.json()["code"] == "Throttling.RateQuota"
    assert answer.headers["Retry-After"] == "1"
    other = Raw(raw.sim, "sk-other-account")
    assert other.http.get("/tasks/x", headers=other.headers).status_code == 200
    clock.now += 1.0
    assert raw.http.get("/tasks/x", headers=raw.headers).status_code == 200


def test_limits_switched_off(start_sim, api_key):
    raw = Raw(start_sim(task_seconds=3, limits=False), api_key)
    assert [raw.create(quick()).status_code for _ in range(4)] == [200] * 4
    assert all(raw.http.get("/tasks/x", headers=raw.headers).status_code == 200 for _ in range(25))
