"""Shared fixtures: real simulators on 127.0.0.1 (one for the session, more on demand)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator

import pytest

# Before anything imports gradio: no analytics calls, and its temp files in a throwaway dir.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
if "GRADIO_TEMP_DIR" not in os.environ:
    os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="wan-gradio-tests-")
    atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], True)

from client.simulator.server import RunningSimulator, SimConfig, start_simulator

FAST_TASK_SECONDS = 0.3


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
def anyio_backend() -> str:
    return "asyncio"


# The hardening tests print their counts (cases tried, crashes, requests sent, tasks lost, key
# leaks); pytest captures stdout, so repeat those lines in the run's summary where CI shows them.
_COUNT_LINES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and report.nodeid.startswith("tests/hardening/"):
        _COUNT_LINES.extend(line.strip() for line in report.capstdout.splitlines()
                            if ":" in line and any(ch.isdigit() for ch in line))


def pytest_terminal_summary(terminalreporter) -> None:
    if _COUNT_LINES:
        terminalreporter.section("hardening counts")
        for line in _COUNT_LINES:
            terminalreporter.write_line(line)
