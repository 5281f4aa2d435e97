"""Issue 5 §2: how soon a finished task is noticed, and how many status queries it cost, against
the official SDK's wait() schedule on the same tasks.

Time is scaled: the simulator's task time is the nominal length / the scale (SCALE, or less for
a task so short that its render would not fit: see `scale_for`), and the client runs
`client.tasks.watch` on a clock that much faster (its `_now` / `_sleep` indirections), so
the polling schedule sees unscaled seconds. Every figure is reported in unscaled seconds. The
ETA comes from `client.eta.EtaEstimator`, taught by an earlier round of tasks of the same shape
(as a studio that has been running for a while knows it); only the round after it is measured. The SDK's wait() is replayed on each task's
own submit and end times: queries at 0, 1, 2, 4, 6, 8, 12, … s (client.polling.sdk_interval).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from client import tasks
from client.eta import EtaEstimator, TaskShape
from client.http import WanClient
from client.jobs import submit
from client.polling import sdk_interval
from client.request import VideoRequest
from client.status import Succeeded
from tests.bench.harness import HOST_KEY, Row, picture, start_simulator

SCALE = 20.0
SHORTEST_REAL_SECONDS = 1.0  # a scaled task must leave the simulator time to render its clip
LENGTHS = (5, 30, 60, 120, 300)  # nominal task seconds, unscaled
CHEAP = ("wanx2.1-i2v-turbo", "480P", 3)  # 2 slots; the cheapest render, so it ends inside T
ALL_SLOTS = ("wan2.6-i2v-flash", "720P", 2)  # 5 slots: every slot busy at once
TARGET_DELAY = 1.0
QUOTA = 20  # status queries per second per account


class ScaledClock:
    """Virtual seconds that run SCALE times as fast as the wall clock, from `origin`."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.origin = time.time()

    def virtual(self, real: float) -> float:
        return self.origin + (real - self.origin) * self.scale

    def now(self) -> float:
        return self.virtual(time.time())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.scale)


@dataclass
class Sample:
    length: float  # actual submit-to-end seconds of the task (virtual)
    delay: float  # end -> the watch yields the final status (virtual seconds)
    queries: int
    sdk_delay: float
    sdk_queries: int
    query_times: list[float]


def scale_for(length: float) -> float:
    """SCALE, unless that leaves the task less than SHORTEST_REAL_SECONDS of real time: the
    cheapest render takes about 0.4 s, and a task cannot end before its render does."""
    return min(SCALE, length / SHORTEST_REAL_SECONDS)


def sdk_replay(origin: float, end: float) -> tuple[float, int]:
    """When the SDK's wait() would notice a task ending at `end`, and after how many queries."""
    moment, step, queries = origin, 0, 1
    while moment < end:
        moment += sdk_interval(step)
        step += 1
        queries += 1
    return moment - end, queries


async def one_task(client: WanClient, clock: ScaledClock, req: VideoRequest,
                   eta: EtaEstimator) -> Sample:
    submitted = await submit(client, req)
    origin = clock.now()
    expected, early_by = eta.expected(TaskShape.of(req)), eta.early_by(TaskShape.of(req))
    query_times: list[float] = []
    final = None
    async for progress in tasks.watch(  # as ui.runner watches a task, in scaled time
            client, submitted.task_id, started_at=origin,
            expected_seconds=None if expected is None else expected * clock.scale,
            early_by=None if early_by is None else early_by * clock.scale):
        if progress.changed or len(query_times) < progress.polls:
            query_times.extend([clock.now()] * (progress.polls - len(query_times)))
        final = progress
    noticed = clock.now()
    assert final is not None and isinstance(final.status, Succeeded), final
    status = final.status
    assert status.end_time is not None and status.submit_time is not None
    eta.learn(TaskShape.of(req), status)
    end = clock.virtual(status.end_time.timestamp())
    sdk_delay, sdk_queries = sdk_replay(origin, end)
    return Sample(end - clock.virtual(status.submit_time.timestamp()), noticed - end,
                  final.polls, sdk_delay, sdk_queries, query_times)


async def run_length(sim_url: str, length: float, shape: tuple[str, str, int], tasks_at_once: int,
                     image: Path) -> list[Sample]:
    model, resolution, duration = shape
    req = VideoRequest(model=model, image=str(image), prompt="The camera pushes in.",
                       resolution=resolution, duration=duration, audio=False
                       if model == "wan2.6-i2v-flash" else None)
    clock = ScaledClock(scale_for(length))
    saved = tasks._now, tasks._sleep
    tasks._now, tasks._sleep = clock.now, clock.sleep
    try:
        eta = EtaEstimator()
        async with WanClient(HOST_KEY, base_url=sim_url) as client:
            await one_task(client, clock, req, EtaEstimator())  # a cold simulator renders slower
            rounds = []
            for _ in range(2):  # the first round teaches the estimator, the second is measured
                rounds.append(await asyncio.gather(*(one_task(client, clock, req, eta)
                                                     for _ in range(tasks_at_once))))
            return list(rounds[-1])
    finally:
        tasks._now, tasks._sleep = saved


def peak_rate(times: list[float]) -> int:
    """Most queries in any 1 s window."""
    times = sorted(times)
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def measure(log: Callable[[str], None] = print) -> list[Row]:
    image = picture()
    rows, every = [], []
    cases = [(length, CHEAP, 2) for length in LENGTHS] + [(120, ALL_SLOTS, 5)]
    for length, shape, at_once in cases:
        with start_simulator(length / scale_for(length), limits=False) as sim:
            samples = asyncio.run(run_length(sim.url, length, shape, at_once, image))
        delay = statistics.median(s.delay for s in samples)
        sdk_delay = statistics.median(s.sdk_delay for s in samples)
        queries = statistics.mean(s.queries for s in samples)
        sdk_queries = statistics.mean(s.sdk_queries for s in samples)
        peak = peak_rate([t for s in samples for t in s.query_times])
        actual = statistics.median(s.length for s in samples)
        ok = delay <= TARGET_DELAY and all(s.queries <= s.sdk_queries for s in samples)
        rows.append(Row(
            f"2 noticed, {length:g} s task ×{at_once} ({shape[0]})",
            f"median {delay:.2f} s, {queries:.1f} queries",
            f"SDK wait(): {sdk_delay:.2f} s, {sdk_queries:.1f} queries",
            queries / sdk_queries, f"≤ {TARGET_DELAY:g} s, queries ≤ SDK", ok,
            f"actual task {actual:.1f} s; peak {peak} queries/s; scale 1/{scale_for(length):g}"))
        log(f"  §2 {length:g} s ×{at_once}: {rows[-1].measured} vs {rows[-1].baseline} "
            f"({rows[-1].note})")
        every += samples
    delay = statistics.median(s.delay for s in every)
    peak = max(peak_rate(s.query_times) for s in every)
    busiest = rows[-1].note.split("peak ")[1].split(";")[0]
    rows.append(Row("2 noticed, all tasks", f"median {delay:.2f} s",
                    f"SDK wait(): median {statistics.median(s.sdk_delay for s in every):.2f} s",
                    sum(s.queries for s in every) / sum(s.sdk_queries for s in every),
                    f"≤ {TARGET_DELAY:g} s; < {QUOTA} queries/s", delay <= TARGET_DELAY
                    and int(busiest.split()[0]) < QUOTA and peak < QUOTA,
                    f"unscaled seconds; all 5 slots busy: {busiest}"))
    return rows


if __name__ == "__main__":
    for row in measure():
        print(row)
