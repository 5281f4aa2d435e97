"""Issue 5 §6 as a table row: bench_render's own timing of a 5 s 720P clip (both aspect ratios)."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from client.request import predict_output_size
from client.simulator.render import RenderJob, render
from tests.bench.bench_render import RUNS, TARGET_720P, photo_like, timed
from tests.bench.harness import Row

SECONDS = 5


def measure(log: Callable[[str], None] = print) -> list[Row]:
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        for aspect, (w, h) in {"16:9": (1920, 1080), "9:16": (1080, 1920)}.items():
            picture = photo_like(w, h)
            render(RenderJob(picture, 832, 464, 1), out)  # warm-up: imports, codec set-up
            for tier in ("480P", "720P", "1080P"):
                job = RenderJob(picture, *predict_output_size(w, h, tier), SECONDS)
                best, _, _ = timed(job, out, RUNS)
                ratios[f"{tier} {aspect}"] = best / SECONDS
    log("  §6 " + ", ".join(f"{k} {v:.3f}×" for k, v in ratios.items()))
    worst = max(ratios["720P 16:9"], ratios["720P 9:16"])
    others = "; ".join(f"{k} {v:.2f}×" for k, v in ratios.items() if not k.startswith("720P"))
    return [Row("6 simulator render, 5 s 720P", f"{worst:.3f}× real time",
                f"clip length {SECONDS} s", worst, f"≤ {TARGET_720P}×", worst <= TARGET_720P,
                f"best of {RUNS}, worse aspect (bench_render.timed); {others}")]


if __name__ == "__main__":
    for row in measure():
        print(row)
