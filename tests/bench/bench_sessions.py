"""Issue 5 §4: the studio process's memory and CPU while 100 sessions each wait on a running task
(100 personal keys, so no local queue holds any back; the simulator runs in its own process).

Twice: first tasks of their shape (no ETA learned yet: the SDK's polling schedule), then the same
100 sessions again once those tasks have ended and taught the studio the task time (the steady
state of a studio that has finished one task of the shape)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gradio_client import Client

from tests.bench.bench_makespan import studio_args
from tests.bench.harness import (
    Row,
    cpu_seconds,
    picture,
    rss_mb,
    start_simulator,
    start_studio,
    user_client,
)

SESSIONS = 100
TASK_SECONDS = 120.0  # longer than submitting + settling + the window: every task stays unfinished
SETTLE_SECONDS = 60.0  # at most, for every session to have its task submitted
WINDOW_SECONDS = 20.0
TARGET_MB, TARGET_CPU = 300.0, 5.0


def last_record(job) -> dict | None:
    """The record in the last streamed output of a gradio_client job that carried one."""
    records = [out[2] for out in job.outputs()  # others are "no change", or an error's text
               if len(out) > 2 and isinstance(out[2], dict) and "status" in out[2]]
    return records[-1] if records else None


def phase_of(job) -> str:
    record = last_record(job)
    if record is None:
        return f"error: {str(job.outputs()[-1])[:80]}" if job.outputs() else "—"
    return record["status"]


def cpu_percent(pid: int, seconds: float) -> float:
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - start)


def submit_all(clients: list[Client], image: Path) -> list:
    jobs = []
    for number, client in enumerate(clients):
        args = studio_args(image, "wan2.6-i2v-flash", "720P", 2)
        args["api_key"] = f"sk-bench-session-{number}"
        jobs.append(client.submit(**args, api_name="/generate"))
    return jobs


def wait_until(jobs: list, phases: set[str], seconds: float) -> Counter:
    deadline = time.monotonic() + seconds
    while True:
        counts = Counter(phase_of(job) for job in jobs)
        if sum(counts[p] for p in phases) == len(jobs) or time.monotonic() > deadline:
            return counts
        time.sleep(1)


def waiting_window(pid: int, jobs: list, log: Callable[[str], None], label: str
                   ) -> tuple[int, float, float]:
    """Sessions on a PENDING/RUNNING task, and the studio's RSS and CPU over the window."""
    log(f"  §4 {label}: phases {dict(wait_until(jobs, {'PENDING', 'RUNNING'}, SETTLE_SECONDS))}")
    time.sleep(5)
    cpu = cpu_percent(pid, WINDOW_SECONDS)
    counts = Counter(phase_of(job) for job in jobs)
    waiting = counts["PENDING"] + counts["RUNNING"]
    mb = rss_mb(pid)
    log(f"  §4 {label}: {waiting}/{len(jobs)} sessions on a PENDING/RUNNING task after the "
        f"window; studio RSS {mb:.0f} MB, CPU {cpu:.1f} %")
    return waiting, mb, cpu


def measure(sessions: int = SESSIONS, log: Callable[[str], None] = print) -> list[Row]:
    image = picture()
    with start_simulator(TASK_SECONDS, limits=True) as sim, start_studio(sim.url) as studio:
        pid = studio.proc.pid
        time.sleep(2)
        idle_cpu = cpu_percent(pid, 10)
        idle_mb = rss_mb(pid)
        clients = [user_client(studio.url) for _ in range(sessions)]
        first_jobs = submit_all(clients, image)
        first = waiting_window(pid, first_jobs, log, "first tasks, no ETA")
        ended = wait_until(first_jobs, {"SUCCEEDED"}, TASK_SECONDS + 60)
        log(f"  §4 first tasks ended: {dict(ended)}")
        learned = waiting_window(pid, submit_all(clients, image), log, "ETA learned")
        for client in clients:
            client.close()  # the studio is stopped with its jobs; nothing to cancel one by one
    rows = []
    for label, (waiting, mb, cpu) in (("", learned), (", first tasks of a shape", first)):
        short = "" if waiting == sessions else f"; only {waiting}/{sessions} were waiting on a task"
        rows += [
            Row(f"4 {sessions} waiting sessions{label}: RSS", f"{mb:.0f} MB",
                f"idle studio {idle_mb:.0f} MB", mb / idle_mb, f"≤ {TARGET_MB:g} MB",
                mb <= TARGET_MB and waiting == sessions, "studio process only" + short),
            Row(f"4 {sessions} waiting sessions{label}: CPU", f"{cpu:.1f} % of a core",
                f"idle studio {idle_cpu:.1f} %", None, f"< {TARGET_CPU:g} %",
                cpu < TARGET_CPU and waiting == sessions,
                f"over {WINDOW_SECONDS:g} s; " + ("task time learned from the first 100 tasks"
                                                 if not label else "no ETA yet: the SDK's polling")
                + short),
        ]
    return rows


if __name__ == "__main__":
    for row in measure():
        print(row)
