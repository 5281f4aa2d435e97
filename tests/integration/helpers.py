"""Helpers for driving a simulator over HTTP and checking the videos it makes."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx

from client.simulator.context import RequestRecord
from client.simulator.server import RunningSimulator
from client.simulator.state import account_of
from tests.media_factory import image_bytes

CREATE = "/services/aigc/video-generation/video-synthesis"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN")


def as_data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def data_uri(w: int = 480, h: int = 360, fmt: str = "JPEG") -> str:
    mime = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "BMP": "image/bmp"}[fmt]
    return as_data_uri(image_bytes(w, h, fmt), mime)


class Raw:
    """Plain httpx calls to a simulator, with one key: no retries, no parsing beyond JSON."""

    def __init__(self, sim: RunningSimulator, key: str | None) -> None:
        self.sim = sim
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=sim.base_url, timeout=30)

    def create(
        self, payload: Any, *, headers: dict[str, str] | None = None, async_header: bool = True
    ) -> httpx.Response:
        sent = {**self.headers, **(headers or {})}
        if async_header:
            sent["X-DashScope-Async"] = "enable"
        if isinstance(payload, (bytes, str)):
            return self.http.post(CREATE, content=payload, headers=sent)
        return self.http.post(CREATE, json=payload, headers=sent)

    def submit(self, payload: dict[str, Any], **kw: Any) -> str:
        answer = self.create(payload, **kw)
        assert answer.status_code == 200, answer.text
        return answer.json()["output"]["task_id"]

    def status(self, task_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        answer = self.http.get(f"/tasks/{task_id}", headers={**self.headers, **(headers or {})})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def wait(self, task_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.status(task_id)
            if body["output"]["task_status"] in TERMINAL:
                return body
            assert time.monotonic() < deadline, f"task {task_id} still {body}"
            time.sleep(0.05)

    def cancel(self, task_id: str) -> httpx.Response:
        return self.http.post(f"/tasks/{task_id}/cancel", headers=self.headers)

    def list(self, **params: Any) -> httpx.Response:
        return self.http.get("/tasks", params=params, headers=self.headers)

    def download(self, url: str, dest: Path) -> Path:
        answer = httpx.get(url, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "video/mp4"
        dest.write_bytes(answer.content)
        return dest

    def close(self) -> None:
        self.http.close()


def creates(sim: RunningSimulator, key: str) -> list[RequestRecord]:
    """The create calls the simulator received with this key, answered or not."""
    return [r for r in sim.requests if r.account == account_of(key) and r.route == "create"]


def account_tasks(raw: Raw) -> list[str]:
    """The ids of the tasks on the raw client's account, as its task list shows them."""
    return [row["task_id"] for row in raw.list(page_size=100).json()["data"]]


def payload(model: str, image: str | None = None, **params: Any) -> dict[str, Any]:
    inp: dict[str, Any] = {"img_url": image or data_uri()}
    for key in ("prompt", "negative_prompt", "audio_url", "template"):
        if key in params:
            inp[key] = params.pop(key)
    return {"model": model, "input": inp, "parameters": params}


@dataclass(frozen=True)
class VideoFacts:
    codec: str
    fps: Fraction
    seconds: float
    width: int
    height: int
    has_audio: bool
    audio_codec: str | None


def video_facts(path: Path) -> VideoFacts:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        if video.duration is not None:
            seconds = float(video.duration * video.time_base)
        else:
            seconds = container.duration / 1_000_000
        return VideoFacts(
            video.codec_context.name,
            Fraction(video.average_rate),
            seconds,
            video.codec_context.width,
            video.codec_context.height,
            audio is not None,
            audio.codec_context.name if audio else None,
        )


def assert_video(path: Path, *, width: int, height: int, seconds: float, audio: bool) -> VideoFacts:
    facts = video_facts(path)
    assert facts.codec == "h264", facts
    assert facts.fps == 30, facts
    assert abs(facts.seconds - seconds) <= 0.1, facts
    assert (facts.width, facts.height) == (width, height), facts
    assert facts.has_audio is audio, facts
    if audio:
        assert facts.audio_codec == "aac", facts
    return facts
