"""Issue 12: what a create without an answer costs, on the simulator: python -m
tests.bench.bench_lost_answer [--rounds 3]

For each case the pipeline (client.pipeline.run_job, default re-checks of the task list) runs a
job to its decision: seconds from the create being sent to it (Pending for a found task, or
Failed), task-list queries, create calls and tasks left on the account. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from client import events
from client.http import WanClient
from client.pipeline import run_job
from client.request import VideoRequest
from client.simulator.server import RunningSimulator, SimConfig, start_simulator
from client.simulator.state import account_of
from tests.integration.helpers import Raw, payload
from tests.media_factory import write_image

MODEL = "wan2.2-i2v-flash"
# case -> (fault armed on the create, whether another task of the key is made just before)
CASES = {
    "answered": (None, False),
    "lost answer, task made": ("lost-answer", False),
    "500, no task made": ("500", False),
    "lost answer, two candidates": ("lost-answer", True),
}


async def decide(sim: RunningSimulator, key: str, image: Path, out: Path) -> tuple[float, str]:
    """Seconds from the create going out to the job's decision, and that decision."""
    sent = None
    async with WanClient(key, base_url=sim.base_url) as client:
        async for event in run_job(client, VideoRequest(model=MODEL, image=image,
                                                        resolution="480P"), dest=out):
            if isinstance(event, events.Submitting) and sent is None:
                sent = time.perf_counter()
            if isinstance(event, events.Pending) and sent is not None:
                return time.perf_counter() - sent, "found" if event.recovered else "answered"
            if isinstance(event, events.Failed) and sent is not None:
                return time.perf_counter() - sent, type(event.error).__name__
    raise AssertionError("the job ended without a decision")


def measure(rounds: int) -> list[tuple[str, ...]]:
    sim = start_simulator(SimConfig(task_seconds=0.3, limits=False))
    folder = Path(tempfile.mkdtemp(prefix="bench-lost-"))
    image = write_image(folder / "frame.jpg", 480, 360)
    rows = []
    try:
        for case, (fault, crowded) in CASES.items():
            seconds, decisions, lists, creates, left = [], set(), [], [], []
            for _ in range(rounds):
                key = f"sk-bench-{uuid.uuid4().hex}"
                raw = Raw(sim, key)
                if crowded:
                    raw.submit(payload(MODEL, resolution="480P"))
                if fault:
                    sim.faults.add(fault, route="create", times=1)
                took, decision = asyncio.run(decide(sim, key, image, folder))
                seconds.append(took)
                decisions.add(decision)
                mine = [r for r in sim.requests if r.account == account_of(key)]
                lists.append(sum(r.route == "list" for r in mine))
                creates.append(sum(r.route == "create" for r in mine) - crowded)
                left.append(raw.list(page_size=100).json()["total"])
                raw.close()
            rows.append((case, ", ".join(sorted(decisions)),
                         f"{statistics.median(seconds):.2f} s (max {max(seconds):.2f})",
                         str(max(lists)), str(max(creates)), str(max(left))))
    finally:
        sim.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rows = measure(parser.parse_args().rounds)
    header = ("case", "decision", "send → decision (median)", "list queries", "creates",
              "tasks on the account")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


if __name__ == "__main__":
    main()
