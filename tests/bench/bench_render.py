"""Simulator render speed: seconds to render a clip, as a ratio to the clip's own length.

Run on purpose, not in CI: `python tests/bench/bench_render.py`. Targets: ≤ 0.3 × real time for a
5 s 720P clip (issue 5 §6), and for a 15 s 1080P first → last clip and a 15 s 1080P continuation of
a 10 s clip (issue 13).
"""

from __future__ import annotations

import io
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from client.request import predict_output_size
from client.simulator.render import RenderJob, render

TARGET_720P = 0.3
RUNS = 3  # after one warm-up; other sessions may share the machine, so the best run is the measure


def photo_like(width: int, height: int, seed: int = 1) -> bytes:
    """A camera-sized JPEG with gradients, grain and shapes: about as hard to encode as a photo."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([120 + 80 * np.sin(xs / width * 3), 100 + 60 * np.cos(ys / height * 4),
                     140 + 50 * np.sin((xs + ys) / (width + height) * 5)], -1)
    image = Image.fromarray(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        cx, cy = rng.integers(0, width), rng.integers(0, height)
        r = rng.integers(8, min(width, height) // 6)
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    buf = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(1)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def timed(job: RenderJob, out: Path, runs: int) -> tuple[float, float, float]:
    """Best and median wall-clock seconds, and median CPU seconds (all threads), of `runs`."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        render(job, out)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), statistics.median(wall), statistics.median(cpu)


def main() -> None:
    load = os.getloadavg()
    pictures = {"16:9": photo_like(1920, 1080), "9:16": photo_like(1080, 1920)}
    sizes = {"16:9": (1920, 1080), "9:16": (1080, 1920)}
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        render(RenderJob(pictures["16:9"], 832, 464, 1), out)  # warm-up: imports, codec set-up

        def row(label: str, aspect: str, tier: str, seconds: int, runs: int = RUNS,
                targeted: bool = False, image: bytes | None = None, **kw) -> None:
            width, height = predict_output_size(*sizes[aspect], tier)
            job = RenderJob(pictures[aspect] if image is None else image, width, height, seconds,
                            **kw)
            best, median, cpu = timed(job, out, runs)
            ratio = best / seconds
            targeted = targeted or (tier == "720P" and seconds == 5)
            target = f"≤ {TARGET_720P}" if targeted else ""
            verdict = ("ok" if ratio <= TARGET_720P else "MISSED") if target else ""
            rows.append((label, tier, aspect, f"{width}×{height}", f"{seconds} s",
                         f"{best:.2f} / {median:.2f} s",
                         f"{ratio:.3f}", target, verdict, f"{cpu:.2f} s",
                         f"{out.stat().st_size / 1e6:.1f} MB"))

        for tier in ("480P", "720P", "1080P"):
            for aspect in ("16:9", "9:16"):
                row("single shot", aspect, tier, 5)
        row("multi-shot + sound + mark", "16:9", "720P", 5, shot_type="multi", auto_sound=True,
            watermark=True)
        row("template flying + sound", "16:9", "720P", 5, template="flying", auto_sound=True)
        row("template dissolve + mark", "16:9", "720P", 5, template="dissolve", watermark=True)
        row("single shot", "16:9", "1080P", 15, runs=1, auto_sound=True)
        row("multi-shot + mark", "9:16", "1080P", 15, runs=1, shot_type="multi", watermark=True)
        row("first → last + sound", "16:9", "1080P", 15, runs=1, targeted=True,
            last_frame=photo_like(1920, 1080, seed=2), auto_sound=True)
        clip = Path(tmp) / "first_clip.mp4"  # a 10 s 1080P H.264 clip with sound, to continue
        render(RenderJob(pictures["16:9"], *predict_output_size(1920, 1080, "1080P"), 10,
                         seed=3, auto_sound=True), clip)
        row("continue 10 s clip + sound", "16:9", "1080P", 15, runs=1, targeted=True, image=b"",
            first_clip=clip.read_bytes(), auto_sound=True)

    header = ("clip", "tier", "input", "output", "length", "render best / median",
              "× real time (best)", "target",
              "", "cpu", "file")
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    print(f"Simulator render benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; {RUNS} runs each (15 s clips: 1 run); "
          f"load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    print("render = wall-clock seconds; cpu = median CPU seconds over all threads (what the clip "
          "costs, whatever else shares the machine)")
    for line in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip())


if __name__ == "__main__":
    main()
