"""Issue 5 §4: the studio process's memory and CPU while 100 sessions each wait on a running task
(100 personal keys, so no local queue holds any back; the simulator runs in its own process)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gradio_client import Client

from tests.bench.bench_makespan import studio_args
from tests.bench.harness import Row, cpu_seconds, picture, rss_mb, start_simulator, start_studio

SESSIONS = 100
TASK_SECONDS = 900.0  # far longer than the measurement: every task stays RUNNING
SETTLE_SECONDS = 60.0  # at most, for every session to have its task submitted
WINDOW_SECONDS = 20.0
TARGET_MB, TARGET_CPU = 300.0, 5.0


def waiting_phase(job) -> str:
    """The record's status in the last streamed output of a gradio_client job."""
    records = [out[2] for out in job.outputs()
               if isinstance(out[2], dict) and "status" in out[2]]  # others are "no change"
    return records[-1]["status"] if records else "—"


def cpu_percent(pid: int, seconds: float) -> float:
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - start)


def measure(sessions: int = SESSIONS, log: Callable[[str], None] = print) -> list[Row]:
    image = picture()
    with start_simulator(TASK_SECONDS, limits=True) as sim, start_studio(sim.url) as studio:
        pid = studio.proc.pid
        time.sleep(2)
        idle_cpu = cpu_percent(pid, 10)
        idle_mb = rss_mb(pid)
        clients = [Client(studio.url, verbose=False) for _ in range(sessions)]
        jobs = []
        for number, client in enumerate(clients):
            args = studio_args(image, "wan2.6-i2v-flash", "720P", 2)
            args["api_key"] = f"sk-bench-session-{number}"
            jobs.append(client.submit(**args, api_name="/generate"))
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            phases = [waiting_phase(job) for job in jobs]
            if sum(p in ("PENDING", "RUNNING") for p in phases) == sessions:
                break
            time.sleep(1)
        log(f"  §4 phases: {dict(Counter(phases))}")
        time.sleep(5)
        phases = [waiting_phase(job) for job in jobs]
        waiting = sum(p in ("PENDING", "RUNNING") for p in phases)
        busy_cpu = cpu_percent(pid, WINDOW_SECONDS)
        busy_mb = rss_mb(pid)
        log(f"  §4 {waiting}/{sessions} sessions on a PENDING/RUNNING task; studio RSS "
            f"{busy_mb:.0f} MB (idle {idle_mb:.0f}), CPU {busy_cpu:.1f} % (idle {idle_cpu:.1f} %)")
        for client in clients:
            client.close()  # the studio is stopped with its jobs; nothing to cancel one by one
    short = "" if waiting == sessions else f"; only {waiting}/{sessions} were waiting on a task"
    return [
        Row(f"4 {sessions} waiting sessions: RSS", f"{busy_mb:.0f} MB", f"idle studio {idle_mb:.0f} MB",
            busy_mb / idle_mb, f"≤ {TARGET_MB:g} MB", busy_mb <= TARGET_MB and waiting == sessions,
            "studio process only" + short),
        Row(f"4 {sessions} waiting sessions: CPU", f"{busy_cpu:.1f} % of a core",
            f"idle studio {idle_cpu:.1f} %", None, f"< {TARGET_CPU:g} %",
            busy_cpu < TARGET_CPU and waiting == sessions,
            f"over {WINDOW_SECONDS:g} s" + short),
    ]


if __name__ == "__main__":
    for row in measure():
        print(row)
