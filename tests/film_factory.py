"""Small H.264/AAC clips made with PyAV for the film and last-frame tests: pictures that move, and
a steady tone per clip, so a seam, a cut and the sound's timing all show in the decoded output."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Colorspace
from PIL import Image, ImageDraw, ImageFilter

FPS = 30
SIZE = (320, 180)


def picture(seed: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """A soft picture of coloured discs on a gradient: different for every seed."""
    width, height = size
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 200, width, dtype=np.float32)[None, :, None]
    base = np.broadcast_to(ramp * rng.uniform(0.5, 1.0, 3), (height, width, 3))
    image = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        cx, cy = rng.integers(0, width), rng.integers(0, height)
        r = int(rng.integers(height // 10, height // 3))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(int(v) for v in
                                                                  rng.integers(0, 255, 3)))
    return image.filter(ImageFilter.GaussianBlur(2))


def panning(image: Image.Image, frames: int, step: int = 1) -> Iterator[np.ndarray]:
    """`frames` RGB frames sliding the picture left by `step` pixels a frame; the first is the
    picture itself."""
    rgb = np.asarray(image.convert("RGB"))
    for index in range(frames):
        yield np.roll(rgb, -index * step, axis=1)


def tone(seconds: float, hz: float, rate: int, channels: int) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)[None], channels, 0)


def write_clip(path: Path, frames: Iterable[np.ndarray], *, tone_hz: float | None = 440.0,
               rate: int = 48_000, layout: str = "stereo", bframes: bool = False,
               gop: int = 2 * FPS, size: tuple[int, int] | None = None) -> Path:
    """An MP4 like the simulator's (H.264 yuv420p BT.709, 30 fps, AAC, fast-start), with B-frames
    (x264 'veryfast') when asked; `tone_hz=None` leaves out the audio stream."""
    rgb = list(frames)
    height, width = rgb[0].shape[:2] if size is None else size[::-1]
    channels = av.AudioLayout(layout).nb_channels
    sound = None if tone_hz is None else tone(len(rgb) / FPS, tone_hz, rate, channels)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, FPS)
        video.codec_context.gop_size = gop
        video.codec_context.colorspace = video.codec_context.color_primaries = 1
        video.codec_context.color_trc, video.codec_context.color_range = 1, 1
        x264 = "scenecut=0" + ("" if bframes else ":bframes=0")
        video.options = {"preset": "veryfast" if bframes else "ultrafast", "crf": "18",
                         "x264-params": x264}
        audio = None
        if sound is not None:
            audio = container.add_stream("aac", rate=rate, layout=layout)
        fed = 0
        for index, pixels in enumerate(rgb):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame = frame.reformat(width=width, height=height, format="yuv420p",
                                   dst_colorspace=Colorspace.ITU709)
            frame.pts = index
            container.mux(video.encode(frame))
            if audio is not None and sound is not None:
                fed = _feed(container, audio, sound, fed, (index + 1) * rate // FPS, layout)
        container.mux(video.encode(None))
        if audio is not None and sound is not None:
            _feed(container, audio, sound, fed, sound.shape[1], layout)
            container.mux(audio.encode(None))
    return path


def _feed(container: av.container.OutputContainer, stream: av.AudioStream, sound: np.ndarray,
          start: int, stop: int, layout: str) -> int:
    while start < stop and (start + 1024 <= stop or stop == sound.shape[1]):
        chunk = np.ascontiguousarray(sound[:, start:min(start + 1024, stop)])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate, frame.pts = stream.codec_context.sample_rate, start
        frame.time_base = Fraction(1, frame.sample_rate)
        container.mux(stream.encode(frame))
        start += chunk.shape[1]
    return start


def decode_rgb(path: Path) -> list[np.ndarray]:
    """Every frame of the video, in presentation order, as int16 RGB (for differences)."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def decode_sound(path: Path) -> tuple[np.ndarray, int]:
    """The first channel of the audio, as float32 samples, and the sample rate."""
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].codec_context.sample_rate
        return np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)]), rate


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(spectrum.argmax())])
