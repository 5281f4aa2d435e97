"""Files: Gradio's file routes serve the video cache and assets/ only; oversized uploads are
refused before they are stored; the studio's caches stay bounded."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from tests.hardening.conftest import collect, launched
from tests.media_factory import write_image
from ui import handlers
from ui.app import ASSETS, MAX_UPLOAD_BYTES, build_app
from ui.handlers import Form, Services
from ui.store import VideoStore

REPO = Path(__file__).resolve().parents[2]
FILE_ROUTES = ("/gradio_api/file=", "/file=")


def forbidden_paths(cache_dir: Path) -> dict[str, str]:
    """Paths that must never be served, written the ways an attacker would write them."""
    videos = cache_dir / "videos"
    secret = cache_dir / "state-secret"
    source = REPO / "client" / "http.py"
    return {
        "/etc/passwd": "/etc/passwd",
        "source file": str(source),
        "pyproject": str(REPO / "pyproject.toml"),
        "state secret (beside the video cache)": str(secret),
        "dot-dot out of the video cache": f"{videos}/../state-secret",
        "dot-dot out of assets": f"{ASSETS}/../client/http.py",
        "dot-dot to /etc": f"{ASSETS}/../../../../../../etc/passwd",
        "url-encoded dot-dot": quote(f"{videos}/../state-secret", safe=""),
        "url-encoded slashes": quote("/etc/passwd", safe=""),
        "double-encoded dot-dot": quote(quote(f"{ASSETS}/../pyproject.toml", safe=""), safe=""),
        "relative path": "client/http.py",
        "relative dot-dot": "../../etc/passwd",
        "backslashes": str(source).replace("/", "\\"),
        "proc environ": "/proc/self/environ",
        "prefix twin of assets": f"{ASSETS}-private/x",
    }


def test_file_routes_serve_only_the_cache_and_assets(services: Services, sim: Any,
                                                     studio_settings: Any, tmp_path: Path) -> None:
    image = str(write_image(tmp_path / "in.jpg", 640, 480))
    steps = collect(handlers.generate(services, Form(image=image, prompt="p",
                                                     model="wan2.2-i2v-flash"), None, "en", "v"))
    video = Path(steps[-1].video)
    secret_text = "the studio's state secret"
    (studio_settings.cache_dir / "state-secret").write_text(secret_text)
    served = refused = 0
    leaks: list[str] = []
    with launched(studio_settings) as url, httpx.Client(timeout=10) as http:
        for route in FILE_ROUTES:
            for what, path in forbidden_paths(studio_settings.cache_dir).items():
                answer = http.get(url + route + path)
                body = answer.content
                if answer.status_code == 200 and (b"root:" in body or b"httpx" in body or
                                                  secret_text.encode() in body or
                                                  b"[project]" in body or b"PATH=" in body):
                    leaks.append(f"{route}{what}: HTTP 200 with the file")
                refused += 1
        good = http.get(f"{url}/gradio_api/file={video}")
        asset = http.get(f"{url}/gradio_api/file={ASSETS / 'astronaut.jpg'}")
        served = sum(a.status_code == 200 for a in (good, asset))
        assert good.content[4:8] == b"ftyp" and asset.content[:2] == b"\xff\xd8"
    print(f"\nfile routes: forbidden paths tried {refused}, served {len(leaks)}, "
          f"allowed files served {served}")
    assert not leaks, leaks
    assert served == 2


def test_oversized_upload_is_refused_before_it_is_stored(studio_settings: Any) -> None:
    temp = Path(os.environ["GRADIO_TEMP_DIR"])
    before = {p for p in temp.rglob("*") if p.is_file()}
    body = b"\xff\xd8" + b"\0" * (MAX_UPLOAD_BYTES + 1)
    with launched(studio_settings) as url, httpx.Client(timeout=60) as http:
        small = http.post(f"{url}/gradio_api/upload", files={"files": ("ok.jpg", b"\xff\xd8ok")})
        big = http.post(f"{url}/gradio_api/upload", files={"files": ("big.jpg", body)})
    stored = [p for p in temp.rglob("*") if p.is_file() and p not in before
              and p.stat().st_size > MAX_UPLOAD_BYTES]
    print(f"\nupload of {len(body)} bytes: HTTP {big.status_code}, files stored {len(stored)}")
    assert small.status_code == 200
    assert big.status_code == 413, big.text
    assert not stored


def _video(folder: Path, name: str, size: int, age: float) -> Path:
    path = folder / f"{name}.mp4"
    path.write_bytes(b"\0\0\0\x18ftypmp42" + b"\0" * (size - 12))
    path.with_suffix(".jpg").write_bytes(b"\xff\xd8poster")
    moment = time.time() - age
    os.utime(path, (moment, moment))
    return path


def test_video_cache_is_bounded_oldest_first(tmp_path: Path) -> None:
    store = VideoStore(tmp_path, 2100)
    folder = store.videos
    old, middle, new = (_video(folder, n, 1000, age) for n, age in
                        (("old", 300), ("middle", 200), ("new", 100)))
    removed = store.prune(keep=old)  # the one just downloaded is kept
    assert removed == [middle]
    assert old.is_file() and new.is_file() and not middle.exists()
    assert not middle.with_suffix(".jpg").exists()  # its poster goes with it
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert total <= 2100


def test_leftover_partial_downloads_are_cleaned(tmp_path: Path) -> None:
    """A studio killed mid-download leaves `.<name>.part`; an old one goes, a fresh one (a
    download still running) stays."""
    store = VideoStore(tmp_path, 10**9)
    folder = store.videos
    stale, running = folder / ".a.mp4.1234abcd.part", folder / ".b.mp4.5678ef01.part"
    for path in (stale, running):
        path.write_bytes(b"\0" * 100)
    moment = time.time() - 2 * 3600
    os.utime(stale, (moment, moment))
    store.prune()
    assert not stale.exists() and running.exists()


def test_every_download_prunes_the_cache(services: Services, tmp_path: Path) -> None:
    """With a cap of 0 MB only the newest video stays: pruning runs after each download."""
    tight = Services.create(replace(services.settings, cache_max_mb=0))
    image = str(write_image(tmp_path / "in.jpg", 640, 480))
    form = Form(image=image, prompt="p", model="wan2.2-i2v-flash")

    async def two() -> list[Any]:
        first = [s async for s in handlers.generate(tight, form, None, "en", "v")]
        second = [s async for s in handlers.generate(tight, form, None, "en", "v")]
        return [first[-1], second[-1]]

    first, second = asyncio.run(two())
    videos = sorted((tight.settings.cache_dir / "videos").glob("*.mp4"))
    print(f"\nvideo cache with a 0 MB cap after 2 downloads: {len(videos)} video(s) kept")
    assert videos == [Path(second.video)] and not Path(first.video).exists()


def test_gradio_cache_is_cleaned(studio_settings: Any) -> None:
    """Gradio keeps its own copy of every upload and of every video it serves (in its temp dir,
    outside the pruned video cache): the app must have Gradio clean it."""
    demo = build_app(studio_settings)
    assert demo.delete_cache is not None, "Gradio's copies of uploads and videos pile up"
    frequency, age = demo.delete_cache
    assert 0 < frequency <= 86400 and 0 < age <= 7 * 86400
