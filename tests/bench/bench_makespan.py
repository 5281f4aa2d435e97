"""Issue 5 §1: makespan of N users submitting at once through the studio, on one key, against the
bound ceil(N / slots) × T and a naive Gradio app calling the SDK's blocking VideoSynthesis.call()."""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gradio_client import Client, handle_file

from client import catalog
from tests.bench.harness import (
    HOST_KEY,
    PY,
    ROOT,
    Row,
    Service,
    free_port,
    picture,
    start_simulator,
    start_studio,
    studio_env,
    user_client,
    wait_for_200,
)

USERS = 20
TASK_SECONDS = 4.0
TARGET = 1.1
# (model, slots, resolution, duration): the cheapest render each model allows, so every render
# ends inside T even with all slots rendering at once on 2 cores.
CASES = (("wan2.6-i2v-flash", 5, "720P", 2), ("wan2.2-i2v-flash", 2, "480P", 5))


def studio_args(image: Path, model: str, resolution: str, duration: int) -> dict[str, Any]:
    return {"image": handle_file(str(image)), "img_url": "", "audio_file": None, "audio_url": "",
            "prompt": "The camera pushes in slowly.", "negative_prompt": "", "model": model,
            "region": "beijing", "resolution": resolution, "duration": duration,
            "shot_type": "single", "audio": False, "template": "", "seed": -1,
            "prompt_extend": True, "watermark": False, "api_key": ""}


def naive_args(image: Path, model: str, resolution: str, duration: int) -> dict[str, Any]:
    switch = catalog.model_in_region(model, "beijing")
    audio = "false" if switch and switch.audio is catalog.Audio.SWITCHABLE else ""
    return {"image": handle_file(str(image)), "prompt": "The camera pushes in slowly.",
            "model": model, "resolution": resolution, "duration": duration, "audio": audio}


def upload_before_pressing(client: Client, picture_file: dict[str, Any]) -> None:
    """Upload the picture now, as a page does when it is dropped in, so that pressing Generate
    only sends the reference (gradio_client would otherwise upload it inside predict)."""
    endpoint = client.endpoints[client._infer_fn_index("/generate", None)]
    upload = endpoint._upload_file
    uploaded = upload(picture_file, 0)

    def reuse(file: dict[str, Any], data_index: int) -> dict[str, Any]:
        return uploaded if file["path"] == picture_file["path"] else upload(file, data_index)

    endpoint._upload_file = reuse


def makespan(url: str, users: int, args: dict[str, Any]) -> tuple[float, int]:
    """Seconds from the moment all users press Generate until the last has its video; failures.
    Each user's picture is uploaded before the press (see `upload_before_pressing`)."""
    clients = [user_client(url) for _ in range(users)]
    for client in clients:
        upload_before_pressing(client, args["image"])
    done: list[float] = []
    failures: list[Exception] = []
    gate = threading.Barrier(users + 1)

    def user(client: Client) -> None:
        gate.wait()
        try:
            client.predict(**args, api_name="/generate")
        except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
            failures.append(exc)
        done.append(time.monotonic())

    threads = [threading.Thread(target=user, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    gate.wait()
    start = time.monotonic()
    for thread in threads:
        thread.join(timeout=600)
    for client in clients:
        client.close()
    if failures:
        print(f"    {len(failures)} users failed, first: {failures[0]!r}", file=sys.stderr)
    return max(done) - start, len(failures)


def start_naive(sim_url: str) -> Service:
    port = free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the child process writes it until stopped
        prefix="wan-bench-naive-", suffix=".log", delete=False)
    proc = subprocess.Popen([PY, str(ROOT / "tests/bench/naive_app.py"), "--base-url", sim_url,
                             "--api-key", HOST_KEY, "--port", str(port)], cwd=ROOT,
                            env=studio_env(None, Path(log.name).parent, port),
                            stdout=log, stderr=subprocess.STDOUT)
    service = Service(proc, f"http://127.0.0.1:{port}/")
    wait_for_200(service.url, proc)
    return service


def warm_up(url: str, args: dict[str, Any]) -> None:
    """One task first, as on a studio that has been running: imports done, an ETA learned."""
    client = user_client(url)
    try:
        client.predict(**args, api_name="/generate")
    finally:
        client.close()


def measure(users: int = USERS, task_seconds: float = TASK_SECONDS,
            log: Callable[[str], None] = print) -> list[Row]:
    rows = []
    image = picture()
    for model, slots, resolution, duration in CASES:
        bound = math.ceil(users / slots) * task_seconds
        with start_simulator(task_seconds, limits=True) as sim:
            with start_studio(sim.url) as studio:
                warm_up(studio.url, studio_args(image, model, resolution, duration))
                ours, failed = makespan(studio.url, users,
                                        studio_args(image, model, resolution, duration))
            log(f"  §1 {model}: studio {ours:.1f} s ({failed} failed)")
            with start_naive(sim.url) as naive:
                warm_up(naive.url, naive_args(image, model, resolution, duration))
                theirs, naive_failed = makespan(naive.url, users,
                                                naive_args(image, model, resolution, duration))
            log(f"  §1 {model}: naive {theirs:.1f} s ({naive_failed} failed)")
        ratio = ours / bound
        rows.append(Row(
            f"1 makespan, slots={slots} ({model})",
            f"{ours:.1f} s" + (f" ({failed} FAILED)" if failed else ""),
            f"bound {bound:.0f} s; naive SDK app {theirs:.1f} s ({theirs / bound:.2f}×)",
            ratio, f"≤ {TARGET}× bound", ratio <= TARGET and not failed,
            f"N={users}, T={task_seconds:g} s, one key, limits on; 1 warm-up task first"))
    return rows


if __name__ == "__main__":
    for row in measure():
        print(row)
