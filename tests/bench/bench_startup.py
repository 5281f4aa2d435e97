"""Issue 5 §3: `python -m ui` to its first HTTP 200, against a bare `gr.Blocks().launch()`, started
alternately in the same run; the median of several starts each."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.harness import PY, ROOT, Row, free_port, studio_env, wait_for_200

REPEATS = 5
TARGET = 1.2
BARE = "import gradio as gr\nwith gr.Blocks() as demo:\n    pass\ndemo.launch()"  # gr.Blocks().launch() outside `with` raises in Gradio 6.31


def time_to_200(cmd: list[str]) -> float:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="wan-bench-start-"))
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=studio_env(None, workdir, port),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_for_200(f"http://127.0.0.1:{port}/", proc, interval=0.01) - started
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def measure(repeats: int = REPEATS, log: Callable[[str], None] = print) -> list[Row]:
    studio, bare = [], []
    time_to_200([PY, "-c", BARE])  # file system caches warm for both
    for _ in range(repeats):
        studio.append(time_to_200([PY, "-m", "ui"]))
        bare.append(time_to_200([PY, "-c", BARE]))
    ours, theirs = statistics.median(studio), statistics.median(bare)
    log(f"  §3 python -m ui {[round(s, 2) for s in studio]}, bare {[round(s, 2) for s in bare]}")
    ratio = ours / theirs
    return [Row("3 start-up to first 200", f"{ours:.2f} s", f"bare gr.Blocks() {theirs:.2f} s",
                ratio, f"≤ {TARGET}×", ratio <= TARGET,
                f"median of {repeats}; no key: the studio starts its own simulator too")]


if __name__ == "__main__":
    for row in measure():
        print(row)
