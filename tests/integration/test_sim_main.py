"""`python -m client.simulator` serves a region's deployment standalone on a loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from client.request import predict_output_size
from tests.conftest import free_port
from tests.integration.helpers import CREATE, assert_video, payload
from tests.media_factory import write_image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def standalone():
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> str:
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "client.simulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *args,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/tasks/x", timeout=1)
                return base
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "the simulator did not come up"
                time.sleep(0.1)

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def test_standalone_region_and_task_time(standalone):
    base = standalone("--task-seconds", "0.2", "--region", "virginia", "--no-limits")
    headers = {"Authorization": "Bearer sk-main", "X-DashScope-Async": "enable"}
    answer = httpx.post(
        base + CREATE, headers=headers, json=payload("wan2.6-i2v-us", resolution="720P", duration=5)
    )
    assert answer.status_code == 200, answer.text
    task_id = answer.json()["output"]["task_id"]
    refused = httpx.post(base + CREATE, headers=headers, json=payload("wan2.2-i2v-flash"))
    assert refused.status_code == 404  # not deployed in Virginia
    deadline = time.monotonic() + 60
    while (
        status := httpx.get(f"{base}/tasks/{task_id}", headers=headers).json()["output"][
            "task_status"
        ]
    ) != "SUCCEEDED":
        assert status in ("PENDING", "RUNNING") and time.monotonic() < deadline
        time.sleep(0.1)
    listed = httpx.get(base + "/tasks", headers=headers).json()
    assert listed["data"][0]["region"] == "us-east-1"


def test_limits_are_on_by_default(standalone):
    base = standalone("--task-seconds", "5")
    headers = {"Authorization": "Bearer sk-main", "X-DashScope-Async": "enable"}
    codes = [
        httpx.post(
            base + CREATE, headers=headers, json=payload("wan2.2-i2v-flash", resolution="480P")
        ).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_bad_arguments_are_refused():
    done = subprocess.run(
        [sys.executable, "-m", "client.simulator", "--region", "mars"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2 and "--region" in done.stderr


def test_cli_generate_end_to_end(standalone, tmp_path):
    base = standalone("--task-seconds", "0.3", "--no-limits")
    image = write_image(tmp_path / "boat.jpg", 480, 360)
    out = tmp_path / "boat.mp4"
    env = {**os.environ, "DASHSCOPE_API_KEY": "sk-cli-test"}
    env.pop("DASHSCOPE_HTTP_BASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "client", "generate", "--base-url", base,
         "--model", "wan2.2-i2v-flash", "--image", str(image), "--resolution", "480P",
         "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    width, height = predict_output_size(480, 360, "480P")
    assert_video(out, width=width, height=height, seconds=5, audio=False)
