"""Benchmark (not a test): the simulator's disk and memory after many generates, against its caps.

Run: python tests/bench/bench_sim_storage.py [--generates 50] [--uploads-max-mb 4]
     [--results-max-mb 4] [--keep-results]
Each generate uploads a ~1 MB photo (getPolicy + OSS form POST), creates a 480P task from its
oss:// URL, waits for it and downloads the video, as the studio's demo mode does. Prints the
largest the uploads and results folders grew, what the store still holds and the process's RSS.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from client.simulator.server import SimConfig, start_simulator

KEY = "sk-bench-storage"
MODEL = "wanx2.1-i2v-turbo"
CREATE = "/services/aigc/video-generation/video-synthesis"
MB = 1024 * 1024


def photo(seed: int) -> bytes:
    """A noisy 1600 x 1000 JPEG: about the size of a phone photo, so it barely compresses."""
    pixels = np.random.default_rng(seed).integers(0, 256, (1000, 1600, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def generate(http: httpx.Client, data: bytes) -> int:
    """One upload → create → wait → download; returns the video's size."""
    policy = http.get("/uploads", params={"action": "getPolicy", "model": MODEL}).json()["data"]
    key = f"{policy['upload_dir']}/photo.jpg"
    form = {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": key,
        "success_action_status": "200",
    }
    sent = httpx.post(policy["upload_host"], data=form, files={"file": ("photo.jpg", data)})
    sent.raise_for_status()
    body = {
        "model": MODEL,
        "input": {"img_url": f"oss://{key}", "prompt": "a calm lake"},
        "parameters": {"resolution": "480P", "duration": 3},
    }
    headers = {"X-DashScope-Async": "enable", "X-DashScope-OssResourceResolve": "enable"}
    created = http.post(CREATE, json=body, headers=headers)
    created.raise_for_status()
    task_id = created.json()["output"]["task_id"]
    while True:
        output = http.get(f"/tasks/{task_id}").json()["output"]
        if output["task_status"] not in ("PENDING", "RUNNING"):
            break
        time.sleep(0.05)
    if output["task_status"] != "SUCCEEDED":
        raise SystemExit(f"task {task_id} ended {output}")
    video = httpx.get(output["video_url"], timeout=60)
    video.raise_for_status()
    return len(video.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generates", type=int, default=50)
    parser.add_argument("--uploads-max-mb", type=float, default=4)
    parser.add_argument("--results-max-mb", type=float, default=4)
    parser.add_argument("--keep-results", action="store_true",
                        help="leave forget_downloaded_results off (the results cap alone bounds)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wan-bench-storage-") as tmp:
        data_dir = Path(tmp)
        sim = start_simulator(SimConfig(
            task_seconds=0.3, limits=False, data_dir=data_dir, render_workers=1,
            uploads_max_mb=args.uploads_max_mb, results_max_mb=args.results_max_mb,
            forget_downloaded_results=not args.keep_results,
        ))
        http = httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"},
                            timeout=60)
        photos = [photo(seed) for seed in range(4)]
        generate(http, photos[0])  # warm-up: imports, encoder, first allocations
        rss_before = rss_mb()
        uploaded = downloaded = peak_uploads = peak_results = 0
        started = time.monotonic()
        for index in range(args.generates):
            data = photos[index % len(photos)]
            downloaded += generate(http, data)
            uploaded += len(data)
            peak_uploads = max(peak_uploads, folder_bytes(data_dir / "uploads"))
            peak_results = max(peak_results, folder_bytes(data_dir / "results"))
        elapsed = time.monotonic() - started
        rss_after = rss_mb()
        store = sim.sim.store
        print(f"generates: {args.generates} in {elapsed:.1f} s "
              f"(forget_downloaded_results={not args.keep_results})")
        print(f"uploaded: {uploaded / MB:.1f} MB; largest uploads folder: "
              f"{peak_uploads / MB:.2f} MB (cap {args.uploads_max_mb} MB); upload bytes held now: "
              f"{store.upload_bytes}")
        print(f"downloaded: {downloaded / MB:.1f} MB; largest results folder: "
              f"{peak_results / MB:.2f} MB (cap {args.results_max_mb} MB); now "
              f"{folder_bytes(data_dir / 'results') / MB:.2f} MB")
        print(f"tasks remembered: {len(store.all_tasks())}; upload policies remembered: "
              f"{len(sim.sim.policies)}")
        print(f"process RSS: {rss_before:.0f} MB after warm-up, {rss_after:.0f} MB after "
              f"{args.generates} generates ({rss_after - rss_before:+.0f} MB)")
        http.close()
        sim.stop()


if __name__ == "__main__":
    main()
