"""The simulator's fault header parsing, fault plans, account limits and task timeline."""

from __future__ import annotations

import pytest

from client import catalog
from client.request import VideoRequest
from client.simulator.faults import Fault, FaultPlan, parse_fault
from client.simulator.limits import AccountLimits
from client.simulator.state import SimTask, account_of
from tests.conftest import FakeClock


def test_parse_fault_header():
    fault, times = parse_fault("fail; code=DataInspectionFailed ;message=no")
    assert fault == Fault("fail", {"code": "DataInspectionFailed", "message": "no"})
    assert times == 1
    assert parse_fault("429;times=3")[1] == 3


@pytest.mark.parametrize(
    "header, words",
    [
        ("", "unknown fault"),
        ("boom", "unknown fault"),
        ("429;times=x", "times"),
        ("429;times=0", "times"),
        ("500;code", "key=value"),
    ],
)
def test_parse_fault_header_refusals(header, words):
    with pytest.raises(ValueError, match=words):
        parse_fault(header)


def test_fault_routes():
    assert Fault("fail").applies_to("create") and not Fault("fail").applies_to("status")
    assert Fault("truncated").applies_to("result") and not Fault("truncated").applies_to("list")
    assert Fault("lost-answer", route="create").applies_to("create")
    assert Fault("lost-answer").applies_to("cancel")  # any route can lose its answer
    assert Fault("503", route="status").applies_to("status")
    assert not Fault("503", route="status").applies_to("create")
    with pytest.raises(ValueError, match="route"):
        Fault("503", route="nowhere")


def test_fault_plan_counts_down_and_skips_other_routes():
    plan = FaultPlan()
    plan.add("500", route="status", times=2)
    plan.add("fail", times=None)
    assert plan.take("list") is None
    assert [plan.take("status").name for _ in range(2)] == ["500", "500"]
    assert plan.take("status") is None
    assert all(plan.take("create").name == "fail" for _ in range(3))  # no count: every time
    plan.clear()
    assert plan.take("create") is None and len(plan) == 0


def test_submit_limits_per_key_and_model():
    clock = FakeClock(start=0.0)
    limits = AccountLimits(clock=clock)
    model = catalog.MODELS["wan2.2-i2v-flash"]
    assert limits.admit_submit("a", model, 0, 0) is None
    assert limits.admit_submit("a", model, 0, 0) is None
    refusal = limits.admit_submit("a", model, 0, 0)
    assert refusal is not None and refusal.code == "Throttling.RateQuota"
    assert limits.admit_submit("b", model, 0, 0) is None  # another account
    assert limits.admit_submit("a", catalog.MODELS["wan2.2-i2v-plus"], 0, 0) is None
    clock.now = 1.0
    assert limits.admit_submit("a", model, 0, 0) is None
    busy = limits.admit_submit("a", model, model.concurrent_tasks, 2.2)
    assert busy is not None and busy.code == "Throttling.AllocationQuota" and busy.retry_after == 3


def test_query_limit_window_slides():
    clock = FakeClock(start=0.0)
    limits = AccountLimits(clock=clock)
    assert all(limits.admit_query("a") is None for _ in range(catalog.STATUS_QUERIES_PER_SECOND))
    assert limits.admit_query("a").retry_after == 1
    clock.now = 0.999
    assert limits.admit_query("a") is not None
    clock.now = 1.0
    assert limits.admit_query("a") is None


def test_limits_off():
    limits = AccountLimits(enabled=False)
    model = catalog.MODELS["wan2.2-i2v-flash"]
    assert all(limits.admit_submit("a", model, 99, 0) is None for _ in range(10))
    assert all(limits.admit_query("a") is None for _ in range(100))


def test_task_timeline():
    model = catalog.model_in_region("wan2.2-i2v-flash", "beijing")
    task = SimTask(
        "t",
        account_of("sk-x"),
        model,
        VideoRequest(model.id),
        "r",
        submitted=100.0,
        pending_seconds=1.0,
        running_seconds=3.0,
    )
    assert [task.status(t) for t in (100.5, 101.0, 103.9)] == ["PENDING", "RUNNING", "RUNNING"]
    assert task.status(104.0) == "RUNNING"  # time is up but the video is not ready
    task.rendered_at = 105.0
    assert task.status(105.0) == "SUCCEEDED" and task.end_time(105.0) == 105.0
    assert task.status(100.0 + 25 * 3600) == "UNKNOWN"
    task.forced_failure = ("DataInspectionFailed", "no")
    assert task.status(104.0) == "FAILED" and task.end_time(104.0) == 104.0
    task.canceled_at = 100.2
    assert task.status(104.0) == "CANCELED"


def test_account_is_a_hash_not_the_key():
    assert "sk-secret" not in account_of("sk-secret")
    assert account_of("sk-secret") == account_of("sk-secret") != account_of("sk-other")


def test_a_queued_task_starts_in_the_slot_the_next_task_to_end_frees():
    limits = AccountLimits()
    kf2v = catalog.MODELS["wan2.2-kf2v-flash"]  # 2 at once, queues the rest
    assert kf2v.queues_excess_tasks and kf2v.concurrent_tasks == 2
    assert limits.slot_frees_at(kf2v, [10.0]) is None  # a slot is free
    assert limits.slot_frees_at(kf2v, [12.0, 10.0]) == 10.0
    # A third task (queued: it starts at 10, ends at 20) holds the slot it took.
    assert limits.slot_frees_at(kf2v, [10.0, 12.0, 20.0]) == 12.0
    assert limits.slot_frees_at(kf2v, [10.0, 12.0, 20.0, 22.0]) == 20.0
    assert limits.admit_submit("acct", kf2v, 4, 1.0) is None  # taken, not refused
    assert AccountLimits(enabled=False).slot_frees_at(kf2v, [10.0, 12.0]) is None
    legacy = catalog.MODELS["wan2.2-i2v-flash"]
    assert not legacy.queues_excess_tasks
    assert limits.admit_submit("acct", legacy, 2, 1.0).code == "Throttling.AllocationQuota"
