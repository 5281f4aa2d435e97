"""Issue 5's benchmark table in one command: python -m tests.bench.run_all [--rows 1,3] [--markdown]

Starts the simulator and the studio on loopback (each in its own process) and prints, for each
row, the measured value, the bound or baseline measured beside it in the same run, the ratio,
the target and PASS/FAIL. Takes about 15 minutes on 2 cores. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio

from tests.bench import (
    bench_makespan,
    bench_notice,
    bench_render_row,
    bench_screen,
    bench_sessions,
    bench_startup,
)
from tests.bench.harness import Row, load_average

SECTIONS = {1: bench_makespan.measure, 2: bench_notice.measure, 3: bench_startup.measure,
            4: bench_sessions.measure, 5: bench_screen.measure, 6: bench_render_row.measure}
HEADER = ("row", "measured", "bound / baseline (same run)", "ratio", "target", "result", "note")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    return (f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
            f"Gradio {gradio.__version__}")


def cells(row: Row) -> tuple[str, ...]:
    verdict = "—" if row.passed is None else ("PASS" if row.passed else "FAIL")
    ratio = "—" if row.ratio is None else f"{row.ratio:.2f}"
    return (row.row, row.measured, row.baseline, ratio, row.target, verdict, row.note)


def table(rows: list[Row], markdown: bool) -> str:
    lines = [HEADER, *(cells(r) for r in rows)]
    if markdown:
        out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |"
                for line in lines[1:]]
        return "\n".join(out)
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1,2,3,4,5,6", help="which of the six, e.g. 3,6")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    chosen = [int(n) for n in args.rows.split(",") if n.strip()]
    started = datetime.now(timezone.utc)
    load_before = load_average()
    print(f"Wan Studio benchmarks — {started:%Y-%m-%d %H:%M} UTC — {machine()}", flush=True)
    print(f"load average (1 / 5 min) before: {load_before}", flush=True)
    rows: list[Row] = []
    for number in chosen:
        begun = time.monotonic()
        print(f"§{number} …", flush=True)
        rows += SECTIONS[number](log=lambda line: print(line, flush=True))
        print(f"§{number} took {time.monotonic() - begun:.0f} s; load {load_average()}",
              flush=True)
    print()
    print(table(rows, args.markdown))
    print(f"\nload average (1 / 5 min) after: {load_average()}; "
          f"{sum(r.passed is True for r in rows)} of {len(rows)} rows PASS")


if __name__ == "__main__":
    main()
