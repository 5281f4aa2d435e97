"""Helpers for the wan2.7 and kf2v tests: distinct pictures, uploads to a simulator, and what a
finished video's first and final frames and sound are."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageOps

from tests.integration.helpers import Raw
from tests.integration.test_sim_tasks import get_policy, post_file


def poster(width: int, height: int, fmt: str = "PNG") -> bytes:
    """A picture unlike media_factory.image_bytes: deep blue with a white bar and a red block,
    so a frame that shows it is told apart from one showing the first picture."""
    im = Image.new("RGB", (width, height), (20, 50, 170))
    draw = ImageDraw.Draw(im)
    draw.rectangle((width // 6, height // 3, width * 5 // 6, height // 2), fill=(245, 245, 245))
    draw.rectangle((width // 3, height * 2 // 3, width * 2 // 3, height * 5 // 6), fill=(210, 30, 30))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def upload(raw: Raw, model: str, name: str, data: bytes) -> str:
    """Upload through the simulator's policy flow, for `model`; the oss:// URL."""
    policy = get_policy(raw, model)
    answer = post_file(policy, name, data)
    assert answer.status_code == 200, answer.text
    return f"oss://{policy['upload_dir']}/{name}"


def create(raw: Raw, path: str, body: dict[str, Any], oss: bool = False):
    """POST a create body to one of the two create endpoints (helpers.Raw knows only one)."""
    headers = {**raw.headers, "X-DashScope-Async": "enable"}
    if oss:
        headers["X-DashScope-OssResourceResolve"] = "enable"
    return raw.http.post(path, json=body, headers=headers)


def fitted(picture: bytes, size: tuple[int, int]) -> np.ndarray:
    """The picture cover-fitted to the output size, as the service fits a last frame."""
    im = Image.open(io.BytesIO(picture)).convert("RGB")
    return np.asarray(ImageOps.fit(im, size, Image.Resampling.BILINEAR)).astype(np.int16)


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference per channel value, 0–255."""
    return float(np.abs(a - b).mean())


def sound(path: Path) -> tuple[np.ndarray, int]:
    """The audio track's first channel, decoded, and its sample rate."""
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].rate
        samples = [f.to_ndarray()[0] for f in container.decode(audio=0)]
    return np.concatenate(samples), rate


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency in the samples (media_factory's tone is 440 Hz; the simulator's
    own sound bed is chords around 200–500 Hz, never a lone 440)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(spectrum.argmax())])
