"""Shared fixtures: real simulators on 127.0.0.1 (one for the session, more on demand), the raw
HTTP client of a test's account, a simulated clock, quick task-list re-checks, a free port."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator

import pytest

# Before anything imports gradio: no analytics calls, and its temp files in a throwaway dir.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
if "GRADIO_TEMP_DIR" not in os.environ:
    os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="wan-gradio-tests-")
    atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], True)

from client import recovery, tasks
from client.simulator.server import RunningSimulator, SimConfig, start_simulator
from tests.integration.helpers import Raw

FAST_TASK_SECONDS = 0.3


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeClock:
    """Time that moves only when the test, or a sleep made on it, moves it: `clock()` reads it,
    `clock.now` sets it, `await clock.sleep(s)` passes s seconds at once."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.start = self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds

    @property
    def elapsed(self) -> float:
        return self.now - self.start


@pytest.fixture(scope="session")
def simulator() -> Iterator[RunningSimulator]:
    """One simulator for the session: Beijing, quick tasks, no account limits."""
    sim = start_simulator(SimConfig(task_seconds=FAST_TASK_SECONDS, limits=False))
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def regional_simulator() -> Iterator[Callable[[str], RunningSimulator]]:
    """The session's simulator for a region (Beijing is `simulator`); started on first use."""
    running: dict[str, RunningSimulator] = {}

    def for_region(region: str) -> RunningSimulator:
        if region not in running:
            running[region] = start_simulator(
                SimConfig(region=region, task_seconds=FAST_TASK_SECONDS, limits=False)
            )
        return running[region]

    yield for_region
    for sim in running.values():
        sim.stop()


@pytest.fixture
def sim(simulator: RunningSimulator) -> Iterator[RunningSimulator]:
    """The session simulator with no faults left armed by an earlier test."""
    simulator.faults.clear()
    yield simulator
    simulator.faults.clear()


@pytest.fixture
def start_sim() -> Iterator[Callable[..., RunningSimulator]]:
    """Start simulators with a custom SimConfig (keyword arguments); all stopped after the test."""
    started: list[RunningSimulator] = []

    def start(**config: object) -> RunningSimulator:
        config.setdefault("task_seconds", FAST_TASK_SECONDS)
        running = start_simulator(SimConfig(**config))  # type: ignore[arg-type]
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def api_key() -> str:
    """A fresh key per test: a separate simulated account (own task list, own limits)."""
    return f"sk-test-{uuid.uuid4().hex}"


@pytest.fixture
def raw(sim: RunningSimulator, api_key: str) -> Iterator[Raw]:
    """Plain httpx calls to the session simulator with this test's key."""
    client = Raw(sim, api_key)
    yield client
    client.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """client.tasks on a simulated clock: its polls and pauses take no time."""
    fake = FakeClock()
    monkeypatch.setattr(tasks, "_now", fake)
    monkeypatch.setattr(tasks, "_sleep", fake.sleep)
    return fake


@pytest.fixture
def quick_rechecks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lost answer's task list is re-read after 0.1 s instead of 1 s and 2 s (really waited:
    the simulator's task has to show up)."""

    async def short(seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.1))

    monkeypatch.setattr(recovery, "_sleep", short)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# The hardening tests print their counts (cases tried, crashes, requests sent, tasks lost, key
# leaks); pytest captures stdout, so repeat those lines in the run's summary where CI shows them.
_COUNT_LINES: list[str] = []
GRADIO_CLOSING = "Closing server running on port"  # what demo.close() prints: not a count


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and report.nodeid.startswith("tests/hardening/"):
        _COUNT_LINES.extend(line.strip() for line in report.capstdout.splitlines()
                            if ":" in line and any(ch.isdigit() for ch in line)
                            and not line.startswith(GRADIO_CLOSING))


def pytest_terminal_summary(terminalreporter) -> None:
    if _COUNT_LINES:
        terminalreporter.section("hardening counts")
        for line in _COUNT_LINES:
            terminalreporter.write_line(line)
