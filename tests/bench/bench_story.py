"""Issue 14's story figures: python -m tests.bench.bench_story [--markdown]

Against the simulator in its own process (T = 4 s tasks, account limits on), through
client.story_run with one EtaEstimator that a 1-shot story has warmed up (as in a running studio):
- a chain of 4 shots, each continuing the one before: makespan ≤ Σ the service's task times
  (end − submit, as the service reports them) + 1 s per shot (frame, upload, create);
- 5 shots that each start from their own picture, on wan2.6-i2v-flash (5 slots): makespan
  ≤ 1.15 × one shot's (a 1-shot story, measured the same way just before).
Makespan: from starting the run to the last shot saved (the film's assembly is reported apart).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from client import events
from client.eta import EtaEstimator
from client.http import WanClient
from client.story import from_dict, plan
from client.story_run import FilmDone, ShotDone, ShotEvent, ShotFailed, StoryRun
from tests.bench.harness import Row, picture, start_simulator

TASK_SECONDS = 4.0
MODEL, RESOLUTION, SECONDS = "wan2.6-i2v-flash", "720P", 2  # the cheapest render it allows
CHAIN, INDEPENDENT = 4, 5
PER_SHOT_ALLOWANCE = 1.0  # seconds per shot for its last frame, upload and create
OVERLAP_TARGET = 1.15


@dataclass
class Timing:
    makespan: float  # start to the last shot saved
    task_seconds: list[float]  # each task's end − submit, by the service's clock
    film_seconds: float  # the film's assembly after the last shot


def storyboard(image: Path, shots: int, *, chained: bool) -> dict[str, Any]:
    own = {} if chained else {"image": str(image)}
    return {"model": MODEL, "resolution": RESOLUTION, "image": str(image), "seed": 2,
            "shots": [{"prompt": f"shot {n + 1}", "duration": SECONDS, **(own if n else {})}
                      for n in range(shots)]}


async def timed(client: WanClient, data: dict[str, Any], dest: Path,
                eta: EtaEstimator) -> Timing:
    run = StoryRun(client, plan(from_dict(data)), dest, eta=eta)
    start = time.monotonic()
    last_saved, tasks = start, []
    async for event in run.run():
        if isinstance(event, ShotEvent) and isinstance(event.event, events.Done):
            status = event.event.status
            assert status is not None and status.end_time and status.submit_time
            tasks.append((status.end_time - status.submit_time).total_seconds())
        elif isinstance(event, ShotDone):
            last_saved = time.monotonic()
        elif isinstance(event, ShotFailed):
            raise event.error
        elif isinstance(event, FilmDone):
            return Timing(last_saved - start, tasks, time.monotonic() - last_saved)
    raise RuntimeError("the story ended without a film")


async def measure_all(base_url: str, log: Callable[[str], None]) -> list[Row]:
    eta = EtaEstimator()
    with TemporaryDirectory(prefix="wan-bench-story-") as tmp:
        image = picture(path=Path(tmp) / "picture.jpg")
        async with WanClient(f"sk-bench-story-{uuid.uuid4().hex}", base_url=base_url) as client:
            await timed(client, storyboard(image, 1, chained=True), Path(tmp), eta)  # warm-up
            chain = await timed(client, storyboard(image, CHAIN, chained=True), Path(tmp), eta)
            one = await timed(client, storyboard(image, 1, chained=True), Path(tmp), eta)
            many = await timed(client, storyboard(image, INDEPENDENT, chained=False), Path(tmp),
                               eta)
    bound = sum(chain.task_seconds) + PER_SHOT_ALLOWANCE * CHAIN
    log(f"  chain: {chain.makespan:.2f} s; tasks "
        f"{', '.join(f'{s:.2f}' for s in chain.task_seconds)} s; film {chain.film_seconds:.2f} s")
    log(f"  one shot {one.makespan:.2f} s; {INDEPENDENT} at once {many.makespan:.2f} s; tasks "
        f"{', '.join(f'{s:.2f}' for s in many.task_seconds)} s")
    overlap = many.makespan / one.makespan
    return [
        Row(f"14 story, chain of {CHAIN} continued shots", f"{chain.makespan:.2f} s",
            f"Σ tasks {sum(chain.task_seconds):.2f} s + {PER_SHOT_ALLOWANCE:g} s × {CHAIN} = "
            f"{bound:.2f} s", chain.makespan / bound, "≤ 1.00× bound", chain.makespan <= bound,
            f"T={TASK_SECONDS:g} s, {RESOLUTION} {SECONDS} s shots; per-shot overhead "
            f"{(chain.makespan - sum(chain.task_seconds)) / CHAIN:.2f} s; film "
            f"{chain.film_seconds:.2f} s after"),
        Row(f"14 story, {INDEPENDENT} independent shots ({MODEL}, 5 slots)",
            f"{many.makespan:.2f} s", f"one shot {one.makespan:.2f} s", overlap,
            f"≤ {OVERLAP_TARGET}×", overlap <= OVERLAP_TARGET,
            f"T={TASK_SECONDS:g} s, limits on, one key; film {many.film_seconds:.2f} s after"),
    ]


def measure(log: Callable[[str], None] = print) -> list[Row]:
    with start_simulator(TASK_SECONDS, limits=True) as sim:
        return asyncio.run(measure_all(sim.url, log))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    from tests.bench.run_all import machine, table  # gradio: only for the report's header

    print(f"Story benchmark — {machine()}; load {os.getloadavg()[0]:.2f} before", flush=True)
    rows = measure(lambda line: print(line, flush=True))
    print()
    print(table(rows, args.markdown))
    print(f"\nload {os.getloadavg()[0]:.2f} after; "
          f"{sum(r.passed is True for r in rows)} of {len(rows)} rows PASS")


if __name__ == "__main__":
    main()
