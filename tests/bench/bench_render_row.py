"""Issue 5 §6 as a table row: bench_render's own timing of a 5 s 720P clip (both aspect ratios);
and issue 13's rows: a 15 s 1080P first → last clip, and a 15 s 1080P continuation of a 10 s clip."""

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
LONG_SECONDS, CLIP_SECONDS = 15, 10  # issue 13: the longest wan2.7 video, the longest clip


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
        issue13 = _issue13_rows(out, Path(tmp) / "first_clip.mp4", log)
    log("  §6 " + ", ".join(f"{k} {v:.3f}×" for k, v in ratios.items()))
    worst = max(ratios["720P 16:9"], ratios["720P 9:16"])
    others = "; ".join(f"{k} {v:.2f}×" for k, v in ratios.items() if not k.startswith("720P"))
    return [Row("6 simulator render, 5 s 720P", f"{worst:.3f}× real time",
                f"clip length {SECONDS} s", worst, f"≤ {TARGET_720P}×", worst <= TARGET_720P,
                f"best of {RUNS}, worse aspect (bench_render.timed); {others}"), *issue13]


def _issue13_rows(out: Path, clip: Path, log: Callable[[str], None]) -> list[Row]:
    """Best of RUNS each, as §6: first → last, and a continuation."""
    size = predict_output_size(1920, 1080, "1080P")
    first, last = photo_like(1920, 1080), photo_like(1920, 1080, seed=2)
    render(RenderJob(first, *size, CLIP_SECONDS, seed=3, auto_sound=True), clip)
    jobs = {
        "first → last": RenderJob(first, *size, LONG_SECONDS, last_frame=last, auto_sound=True),
        f"continue a {CLIP_SECONDS} s clip": RenderJob(b"", *size, LONG_SECONDS,
                                                       first_clip=clip.read_bytes(),
                                                       auto_sound=True),
    }
    rows = []
    for label, job in jobs.items():
        best, median, cpu = timed(job, out, RUNS)
        ratio = best / LONG_SECONDS
        log(f"  issue 13 {label}: best {best:.2f} s, median {median:.2f} s for {LONG_SECONDS} s "
            f"({ratio:.3f}×), {cpu:.2f} s CPU")
        rows.append(Row(f"13 simulator render, {LONG_SECONDS} s 1080P {label}",
                        f"{ratio:.3f}× real time", f"clip length {LONG_SECONDS} s", ratio,
                        f"≤ {TARGET_720P}×", ratio <= TARGET_720P,
                        f"best of {RUNS} (median {median / LONG_SECONDS:.3f}×), 16:9, "
                        f"{size[0]}×{size[1]}, with sound; {cpu:.1f} s CPU"))
    return rows


if __name__ == "__main__":
    for row in measure():
        print(row)
