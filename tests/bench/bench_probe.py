"""First-clip probe cost: time and memory to probe a 100 MB MP4 whose movie header sits after its
frames (as a camera writes it). Run on purpose: `python tests/bench/bench_probe.py`.
Target (issue 13): ≤ 0.2 s, memory flat — the probe reads the header, not the frames. Also the
simulator's way: the same clip probed from the bytes a create call fetched.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from client import media
from tests.media_factory import write_clip, write_padded_clip

TARGET_SECONDS = 0.2
RUNS = 5
CLIP_BYTES = 100 * 1024 * 1024 - 65536  # just under the 100 MB limit, header included


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))


def _bytes_read() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        media.probe_video(write_clip(Path(tmp) / "warm.mp4", 2.0))  # warm-up: imports, codecs
        path = write_padded_clip(Path(tmp) / "big.mp4", CLIP_BYTES // 300)
        size = path.stat().st_size
        rss, peak = _status_kb("VmRSS:"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times, reads = [], []
        for _ in range(RUNS):
            media.clear_probe_cache()  # every run really probes
            read, started = _bytes_read(), time.perf_counter()
            info = media.probe_video(path)
            times.append(time.perf_counter() - started)
            reads.append(_bytes_read() - read)
        rss_after = _status_kb("VmRSS:")
        peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        data = path.read_bytes()  # as the simulator holds a fetched or uploaded clip
        held, held_peak = _status_kb("VmRSS:"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        in_memory = []
        for _ in range(RUNS):
            started = time.perf_counter()
            media.probe_video(data)  # bytes are never cached: each run probes
            in_memory.append(time.perf_counter() - started)
        held_after = _status_kb("VmRSS:")
        held_peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        del data
    worst = max(times)
    print(f"First-clip probe benchmark — {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"clip: {size / 2**20:.1f} MiB, {info.width}×{info.height}, {info.seconds:g} s, "
          f"{info.codec}, movie header after the frames")
    print(f"probe time, {RUNS} runs: worst {worst * 1000:.1f} ms, median "
          f"{statistics.median(times) * 1000:.1f} ms (target ≤ {TARGET_SECONDS * 1000:.0f} ms: "
          f"{'ok' if worst <= TARGET_SECONDS else 'MISSED'})")
    print(f"bytes read per probe: {max(reads) / 1024:.0f} KiB of {size / 2**20:.0f} MiB")
    print(f"memory: RSS {rss / 1024:.1f} → {rss_after / 1024:.1f} MiB "
          f"({(rss_after - rss) / 1024:+.1f}), peak RSS {(peak_after - peak) / 1024:+.1f} MiB")
    worst_bytes = max(in_memory)
    print(f"simulator's probe of the clip's bytes, {RUNS} runs: worst {worst_bytes * 1000:.1f} ms, "
          f"median {statistics.median(in_memory) * 1000:.1f} ms "
          f"({'ok' if worst_bytes <= TARGET_SECONDS else 'MISSED'}); memory beyond the held "
          f"bytes: RSS {(held_after - held) / 1024:+.1f} MiB, peak "
          f"{(held_peak_after - held_peak) / 1024:+.1f} MiB")


if __name__ == "__main__":
    main()
