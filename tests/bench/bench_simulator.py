"""Benchmark (not a test): task-status queries per second the simulator sustains on loopback.

Run: python tests/bench/bench_simulator.py [--seconds 5] [--concurrency 8]
The simulator runs in its own process (python -m client.simulator, limits off), as in a demo.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

KEY = "sk-bench"
CREATE = "/services/aigc/video-generation/video-synthesis"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(base + "/tasks/x", timeout=1)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the simulator did not start")
            time.sleep(0.1)


def wait_until_done(base: str, task_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {KEY}"}
    while httpx.get(f"{base}/tasks/{task_id}", headers=headers).json()["output"][
        "task_status"
    ] in ("PENDING", "RUNNING"):
        if time.monotonic() > deadline:
            raise SystemExit("the benchmark task did not finish")
        time.sleep(0.2)


async def hammer(
    base: str, task_id: str, seconds: float, concurrency: int
) -> tuple[int, int, list[float]]:
    headers = {"Authorization": f"Bearer {KEY}"}
    ok = failed = 0
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10) as http:

        async def worker() -> None:
            nonlocal ok, failed
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                answer = await http.get(f"/tasks/{task_id}")
                latencies.append(time.perf_counter() - started)
                if answer.status_code == 200:
                    ok += 1
                else:
                    failed += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, failed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to query (max 60)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    seconds = min(max(args.seconds, 0.5), 60.0)

    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "client.simulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-limits",
            "--task-seconds",
            "1",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base, proc)
        picture = io.BytesIO()
        Image.new("RGB", (480, 360), (90, 140, 200)).save(picture, "JPEG")
        image = "data:image/jpeg;base64," + base64.b64encode(picture.getvalue()).decode()
        created = httpx.post(
            base + CREATE,
            json={
                "model": "wan2.2-i2v-flash",
                "input": {"img_url": image},
                "parameters": {"resolution": "480P"},
            },
            headers={"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable"},
        )
        created.raise_for_status()
        task_id = created.json()["output"]["task_id"]
        wait_until_done(base, task_id)  # measure queries, not queries competing with a render
        ok, failed, latencies = asyncio.run(hammer(base, task_id, seconds, args.concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    print(
        f"task-status queries: {ok / seconds:,.0f} per second sustained over {seconds:g} s "
        f"({args.concurrency} concurrent connections; {ok} answered 200, {failed} other)"
    )
    print(f"latency: median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print("(the service allows 20 per second per account; the simulator's limit is off here)")


if __name__ == "__main__":
    main()
