"""Faults survived end to end in the studio: every task the simulator created stays in the
browser's history, and its video arrives when it succeeds (or the history says why not)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from client.simulator.state import account_of
from tests.hardening.conftest import is_record
from tests.media_factory import write_image
from ui import handlers
from ui.handlers import Form, Services
from ui.history import Record
from ui.settings import Settings
from ui.store import VideoStore

LANES = 6
TASK_FAILURE_CODES = ("DataInspectionFailed", "IPInfringementSuspect", "InternalError",
                      "InternalError.Algo", "InternalError.Timeout",
                      "InternalError.Algo.InvalidParameter", "InvalidParameter.DataInspection",
                      "SystemError")


@dataclass
class Scenario:
    name: str
    faults: list[tuple[str, str, int, dict[str, object]]]  # (fault, route, times, params)
    outcome: str = "video"  # video | failed | refused (no task made) | expired (link gone)
    code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _burst(fault: str, route: str, times: int = 2, **params: object) -> Scenario:
    return Scenario(f"{fault} ×{times} on {route}", [(fault, route, times, params)])


SCENARIOS = [
    _burst("429", "create", 5, retry_after=0.05),  # beyond the transport's own retries
    _burst("429", "status", 3, retry_after=0.05),
    _burst("500", "status"), _burst("503", "status"),
    _burst("drop", "status"), _burst("slow", "status", 1, seconds=1.5),
    _burst("slow", "create", 1, seconds=1.0), _burst("malformed", "status"),
    _burst("500", "policy"),
    _burst("drop", "result", 1), _burst("500", "result", 1), _burst("truncated", "result", 1),
    _burst("expired-url", "result", 1),
    # A create that answers 5xx, breaks off or is garbled made no task: the person is told to
    # try again and nothing is lost (the client never repeats a create that may have charged).
    Scenario("500 on create", [("500", "create", 1, {})], "refused"),
    Scenario("503 on create", [("503", "create", 1, {})], "refused"),
    Scenario("drop on create", [("drop", "create", 1, {})], "refused"),
    Scenario("malformed on create", [("malformed", "create", 1, {})], "refused"),
    Scenario("drop on upload", [("drop", "upload", 1, {})], "refused"),
    # Every result link of the task already expired: the history keeps the id and says why.
    Scenario("expired-url on create", [("expired-url", "create", 1, {})], "expired"),
    *[Scenario(f"FAILED {code}", [("fail", "create", 1, {"code": code})], "failed", code)
      for code in TASK_FAILURE_CODES],
]


def merge(history: list[Record], record: Record) -> list[Record]:
    """What the page's MERGE_RECORD_JS does with each record the studio sends."""
    return [record, *[r for r in history if r.get("token") != record.get("token")]]


async def drive(agen: Any, history: list[Record], *,
                until: Callable[[Record], bool] | None = None, render_seconds: float = 0.0
                ) -> list[Any]:
    """Consume a stream of steps into the history; stop early (the tab closes) at `until`.
    `render_seconds`: how long the page takes with each step (the job goes on meanwhile)."""
    steps = []
    async for step in agen:
        steps.append(step)
        await asyncio.sleep(render_seconds)
        if is_record(step.record):
            history[:] = merge(history, step.record)
            if until is not None and until(step.record):
                await agen.aclose()
                break
    return steps


def running(record: Record) -> bool:
    return bool(record.get("task_id")) and record.get("status") in ("PENDING", "RUNNING")


class Ledger:
    """Faults injected and tasks lost over the whole matrix, compared with the simulator."""

    def __init__(self) -> None:
        self.faults = self.lost = self.videos = self.failed = 0
        self.problems: list[str] = []

    def check(self, sim: Any, name: str, key: str, history: list[Record], since: int,
              outcome: str, code: str | None = None, *, store: VideoStore) -> None:
        self.faults += sum(1 for r in sim.requests[since:] if r.fault)
        tasks = sim.sim.store.tasks_of(account_of(key))
        by_id = {r.get("task_id"): r for r in history if r.get("task_id")}
        for task in tasks:
            record = by_id.get(task.task_id)
            if record is None:
                self.lost += 1
                self.problems.append(f"{name}: task {task.task_id} is not in the history")
                continue
            status = record.get("status")
            if outcome == "video":
                if status != "SUCCEEDED" or store.video_for(task.task_id) is None:
                    self.lost += 1
                    self.problems.append(f"{name}: no video: {record}")
                else:
                    self.videos += 1
            elif outcome == "failed":
                self.failed += 1
                if status != "FAILED" or record.get("code") != code:
                    self.problems.append(f"{name}: history does not show FAILED {code}: {record}")
            elif outcome == "expired" and record.get("error") != "err_result_expired":
                self.problems.append(f"{name}: history does not say the link expired: {record}")
        if outcome == "refused":
            if tasks:
                self.problems.append(f"{name}: a refused create made {len(tasks)} task(s)")
            if not history or history[0].get("status") != "ERROR":
                self.problems.append(f"{name}: the person was not told: {history}")
        elif len(tasks) != 1:
            self.problems.append(f"{name}: expected one task, the simulator has {len(tasks)}")


@pytest.fixture
def byok(byok_settings: Settings) -> Services:
    """The studio off the demo: each visitor's own key is used (one account per key)."""
    return Services.create(byok_settings)


@pytest.fixture
def image_form(tmp_path: Path) -> Form:
    return Form(image=str(write_image(tmp_path / "in.jpg", 640, 480)), prompt="waves",
                model="wan2.2-i2v-flash", resolution="480P")


def test_fault_matrix(start_sim: Any, studio_settings: Any, image_form: Form,
                      tmp_path: Path) -> None:
    """Each scenario arms its faults on a simulator of its own lane; lanes run side by side."""
    ledger = Ledger()
    started = time.monotonic()

    async def lane(number: int, scenarios: list[Scenario]) -> None:
        sim = start_sim(limits=False)
        # Each scenario pays with a key of its own (an account of its own on the simulator),
        # as a visitor's own key is used off the demo.
        services = Services.create(replace(studio_settings, simulator_url=None,
                                           base_url=sim.base_url,
                                           cache_dir=tmp_path / f"cache-{number}"))
        for scenario in scenarios:
            key = f"sk-fault-{uuid.uuid4().hex}"
            for fault, route, times, params in scenario.faults:
                sim.faults.add(fault, route=route, times=times, **params)
            since = len(sim.requests)
            history: list[Record] = []
            await drive(handlers.generate(services, image_form, key, "en", "v"), history)
            ledger.check(sim, scenario.name, key, history, since, scenario.outcome,
                         scenario.code, store=services.store)
            sim.faults.clear()

    async def matrix() -> None:
        await asyncio.gather(*(lane(n, SCENARIOS[n::LANES]) for n in range(LANES)))

    asyncio.run(matrix())
    print(f"\nfault matrix: scenarios {len(SCENARIOS)}, faults injected {ledger.faults}, "
          f"videos arrived {ledger.videos}, failures shown with their code {ledger.failed}, "
          f"tasks lost {ledger.lost}, crashes 0 ({time.monotonic() - started:.1f} s)")
    assert not ledger.problems, "\n".join(ledger.problems)
    assert ledger.lost == 0 and ledger.faults >= len(SCENARIOS)


def test_a_slow_page_still_gets_every_phase_change(byok: Services, sim: Any,
                                                   image_form: Form) -> None:
    """The job moves on while the page renders a step: the final record (with the video) must
    still be sent, not skipped as "no change"."""
    key = f"sk-slow-page-{uuid.uuid4().hex}"
    since = len(sim.requests)
    history: list[Record] = []
    steps = asyncio.run(drive(handlers.generate(byok, image_form, key, "en", "v"), history,
                              render_seconds=0.7))
    ledger = Ledger()
    ledger.check(sim, "slow page", key, history, since, "video", store=byok.store)
    assert not ledger.problems, ledger.problems
    assert steps[-1].video == str(byok.store.video_for(history[0]["task_id"]))


def test_history_table_shows_the_failure_code(services: Services, sim: Any,
                                              image_form: Form) -> None:
    sim.faults.add("fail", route="create", times=1, code="DataInspectionFailed")
    history: list[Record] = []
    asyncio.run(drive(handlers.generate(services, image_form, None, "en", "v"), history))
    _, table = handlers.history_view(services, history, "en")
    assert history[0]["status"] == "FAILED" and history[0]["task_id"] in table
    assert "DataInspectionFailed" in table


def test_restart_while_a_task_runs(byok: Services, sim: Any, image_form: Form,
                                   tmp_path: Path) -> None:
    """The studio process dies while the task runs; a new one, reading the same browser
    history and cache, follows the task to its video."""
    key = f"sk-restart-{uuid.uuid4().hex}"
    since = len(sim.requests)
    history: list[Record] = []
    asyncio.run(drive(handlers.generate(byok, image_form, key, "en", "v"), history,
                      until=running))  # asyncio.run ends: the old process's jobs are gone
    assert running(history[0])
    restarted = Services.create(replace(byok.settings))  # same cache dir and secret
    assert restarted.runner.get(history[0]["token"]) is None
    asyncio.run(drive(handlers.restore(restarted, list(history), key, "en"), history))
    ledger = Ledger()
    ledger.check(sim, "restart", key, history, since, "video", store=restarted.store)
    print(f"\nstudio restarted while running: tasks lost {ledger.lost}")
    assert not ledger.problems, ledger.problems


def test_reload_while_a_task_runs(byok: Services, sim: Any, image_form: Form) -> None:
    """The tab reloads while the task runs: the page's stream ends, the job goes on, and the
    reloaded page (same history) follows it to the video."""
    key = f"sk-reload-{uuid.uuid4().hex}"
    since = len(sim.requests)
    history: list[Record] = []

    async def scenario() -> None:
        await drive(handlers.generate(byok, image_form, key, "en", "v"), history,
                    until=running)
        await drive(handlers.restore(byok, list(history), key, "en"), history)

    asyncio.run(scenario())
    ledger = Ledger()
    ledger.check(sim, "reload", key, history, since, "video", store=byok.store)
    print(f"\nbrowser reloaded while running: tasks lost {ledger.lost}")
    assert not ledger.problems, ledger.problems


def test_unknown_task_stays_in_history_as_unknown(services: Services) -> None:
    """A task the service no longer knows (expired after 24 h, or never existed) ends UNKNOWN."""
    task_id = str(uuid.uuid4())
    history: list[Record] = [services.seal.seal({
        "token": "t-unknown", "task_id": task_id, "region": "beijing", "key_kind": "simulator",
        "status": "RUNNING", "request": None, "created": time.time() - 60})]
    asyncio.run(drive(handlers.restore(services, list(history), None, "en"), history))
    assert len(history) == 1 and history[0]["task_id"] == task_id
    assert history[0]["status"] == "UNKNOWN" and history[0]["error"] == "err_task_expired"
    _, table = handlers.history_view(services, history, "en")
    assert task_id in table and "UNKNOWN" in table
