"""What every benchmark shares: the simulator and the studio in their own processes on loopback,
process CPU and memory from /proc, a test picture, and the result rows."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from gradio_client import Client
from PIL import Image

from client.http import tls_context

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
HOST_KEY = "sk-bench-host"  # the studio's "host key" on the simulator: one simulated account
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    """One line of the table. `ratio` is measured / baseline (or / bound)."""

    row: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None
    note: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_200(url: str, proc: subprocess.Popen, timeout: float = 90.0,
                 interval: float = 0.02) -> float:
    """Poll `url` until it answers 200; the monotonic moment it did."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as http:
        while True:
            try:
                if http.get(url).status_code == 200:
                    return time.monotonic()
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer 200 within {timeout:g} s")
            time.sleep(interval)


def user_client(url: str) -> Client:
    """A gradio_client user. gradio_client opens a new httpx client for every call, and each
    builds a certificate store (about 25 ms of CPU) unless given one: 20 users pressing at once
    in this one process would otherwise reach the studio over a second apart."""
    return Client(url, verbose=False, ssl_verify=tls_context())  # type: ignore[arg-type]


def picture(width: int = 480, height: int = 360, path: Path | None = None) -> Path:
    """A small JPEG (uploads stay cheap; the output size is set by the resolution tier)."""
    path = path or Path(tempfile.mkdtemp(prefix="wan-bench-")) / f"pic-{width}x{height}.jpg"
    buf = io.BytesIO()
    Image.radial_gradient("L").resize((width, height)).convert("RGB").save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


@dataclass
class Service:
    proc: subprocess.Popen
    url: str
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="wan-bench-")))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Service:  # noqa: PYI034 - no subclasses; Self needs 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator(task_seconds: float, *, limits: bool = True,
                    result_mbps: float | None = None) -> Service:
    """The simulator in its own process; `url` is its API base URL."""
    port = free_port()
    cmd = [PY, str(ROOT / "tests/bench/sim_server.py"), "--port", str(port),
           "--task-seconds", str(task_seconds)]
    if not limits:
        cmd.append("--no-limits")
    if result_mbps is not None:
        cmd += ["--result-mbps", str(result_mbps)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    service = Service(proc, f"http://127.0.0.1:{port}/api/v1")
    try:
        wait_until_listening(port, proc)
    except BaseException:
        service.stop()
        raise
    return service


def wait_until_listening(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on port {port}")
        time.sleep(0.05)


def studio_env(sim_url: str | None, workdir: Path, port: int) -> dict[str, str]:
    """The studio on the simulator as its "host": one key for every user, API public."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DASHSCOPE_", "WAN_STUDIO_", "GRADIO_"))}
    env.update(GRADIO_ANALYTICS_ENABLED="False", GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_SERVER_PORT=str(port), GRADIO_TEMP_DIR=str(workdir / "gradio"),
               WAN_STUDIO_CACHE_DIR=str(workdir / "cache"), PYTHONPATH=str(ROOT))
    if sim_url is not None:
        # Every benchmark user comes from 127.0.0.1: the per-visitor limits (hourly cap, videos
        # at once) would make them one visitor, so they are lifted here.
        env.update(DASHSCOPE_API_KEY=HOST_KEY, DASHSCOPE_HTTP_BASE_URL=sim_url,
                   WAN_STUDIO_API="public", WAN_STUDIO_HOST_KEY_LIMIT="1000000",
                   WAN_STUDIO_VISITOR_AT_ONCE="1000000")
    return env


def start_studio(sim_url: str | None) -> Service:
    """`python -m ui` in its own process, waited for until its page answers 200."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="wan-bench-studio-"))
    log = (workdir / "studio.log").open("wb")  # kept for a look when a run goes wrong
    proc = subprocess.Popen([PY, "-m", "ui"], cwd=ROOT, env=studio_env(sim_url, workdir, port),
                            stdout=log, stderr=subprocess.STDOUT)
    service = Service(proc, f"http://127.0.0.1:{port}/", workdir)
    try:
        wait_for_200(service.url, proc)
    except BaseException:
        service.stop()
        raise
    return service


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} / {five:.2f}"
