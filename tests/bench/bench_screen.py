"""Issue 5 §5: from the service's SUCCEEDED (its end_time) to a playable <video> (readyState ≥ 2) in
headless Chromium, for a 15 s 1080P result, against a plain download of the same file.

Loopback downloads take milliseconds, which no real link does; so the run is made twice: on
loopback, and with the simulator's result downloads throttled to REALISTIC_MBPS. The table
says which is which.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from client.http import tls_context
from client.status import parse_status
from tests.bench.bench_makespan import studio_args
from tests.bench.bench_render import photo_like
from tests.bench.harness import HOST_KEY, Row, start_simulator, start_studio, user_client

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TASK_SECONDS = 25.0  # a 15 s 1080P render must end inside it, even on a busy machine
REALISTIC_MBPS = 100.0
MODEL, RESOLUTION, DURATION = "wan2.6-i2v-flash", "1080P", 15
TARGET = 1.2
# Notes the wall-clock moment the player first has a frame to show.
WATCH_VIDEO_JS = """() => { window.__readyAt = null;
  const tick = () => { const v = document.querySelector('#video video');
    if (v && v.readyState >= 2) { window.__readyAt = performance.timeOrigin + performance.now(); }
    else { requestAnimationFrame(tick); } };
  requestAnimationFrame(tick); }"""


def generate_in_browser(url: str, image: Path) -> tuple[float, str]:
    """Generate through the page; (epoch seconds the video became playable, task id)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(url)
        page.wait_for_selector("#generate", timeout=60_000)
        page.set_input_files("#image input[type=file]", str(image))
        page.wait_for_function("() => document.querySelector('#image-info').innerText"
                               ".includes('px')")
        page.click("#model input")
        page.click(f'#model [role=option][aria-label^="{MODEL} —"]')
        page.wait_for_function("(id) => document.querySelector('#model-info').innerText"
                               ".startsWith(id + ' —')", arg=MODEL)
        page.wait_for_timeout(500)
        page.click(f"#resolution label:has-text('{RESOLUTION}')")
        page.fill("#duration-slider input[type=number]", str(DURATION))
        page.keyboard.press("Enter")
        page.wait_for_function("(d) => document.querySelector('#output-size textarea, "
                               "#output-size input').value.includes(d + ' s')", arg=DURATION)
        page.fill("#prompt textarea", "The camera pushes in slowly.")
        page.evaluate(WATCH_VIDEO_JS)
        page.click("#generate")
        page.wait_for_function("() => window.__readyAt !== null", timeout=180_000, polling=50)
        ready_at = page.evaluate("() => window.__readyAt") / 1000
        status = page.inner_text("#status")
        browser.close()
    task_id = status.split("`")[1] if "`" in status else status.rsplit(" ", 1)[-1].strip(". ")
    return ready_at, task_id


def raw_download(sim_url: str, task_id: str) -> tuple[float, float, int]:
    """(the task's end_time as epoch seconds, seconds to download its video, its bytes)."""
    headers = {"Authorization": f"Bearer {HOST_KEY}"}
    status = parse_status(httpx.get(f"{sim_url}/tasks/{task_id}", headers=headers).json())
    assert status.end_time is not None, status
    with httpx.Client(verify=tls_context(), timeout=120) as http:  # built before the clock
        start = time.perf_counter()
        size = len(http.get(status.video_url).raise_for_status().content)
        seconds = time.perf_counter() - start
    return status.end_time.timestamp(), seconds, size


def measure_link(image: Path, mbps: float | None, log: Callable[[str], None]) -> Row:
    link = "loopback" if mbps is None else f"throttled to {mbps:g} Mbit/s"
    with start_simulator(TASK_SECONDS, limits=True, result_mbps=mbps) as sim, \
            start_studio(sim.url) as studio:
        client = user_client(studio.url)  # one earlier task: the studio learns an ETA
        client.predict(**studio_args(image, MODEL, RESOLUTION, DURATION), api_name="/generate")
        client.close()
        ready_at, task_id = generate_in_browser(studio.url, image)
        end, raw, size = raw_download(sim.url, task_id)
    to_screen = ready_at - end
    log(f"  §5 {link}: end → playable {to_screen:.2f} s, raw download {raw:.3f} s "
        f"({size / 1e6:.1f} MB)")
    ratio = to_screen / raw
    return Row(f"5 result to screen, {link}", f"{to_screen:.2f} s",
               f"raw download {raw:.3f} s ({size / 1e6:.1f} MB)", ratio, f"≤ {TARGET}×",
               ratio <= TARGET, f"{DURATION} s {RESOLUTION}; SUCCEEDED = the service's end_time")


def measure(log: Callable[[str], None] = print) -> list[Row]:
    image = Path(tempfile.mkdtemp(prefix="wan-bench-")) / "photo.jpg"
    image.write_bytes(photo_like(1920, 1080))  # grain and detail: a result as big as a real one
    return [measure_link(image, None, log), measure_link(image, REALISTIC_MBPS, log)]


if __name__ == "__main__":
    for row in measure():
        print(row)
