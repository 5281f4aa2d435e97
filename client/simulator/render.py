"""Renders the simulator's result videos: an H.264/AAC MP4 that moves the input picture, travels
to a last picture, or continues a given clip.

Each frame is a Pose (what part of the picture is seen, where it lands); frames are composed in
YUV 4:2:0 with libswscale doing the scaling, so a 5 s 720P clip renders well under real time.
"""

from __future__ import annotations

import io
import math
import queue
import random
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Colorspace, Interpolation
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from client import catalog, media
from client.errors import InvalidInput

SAMPLE_RATE = 48_000
AAC_FRAME = 1024
SHOT_TYPES = ("single", "multi")
WATERMARK_TEXT = "AI生成"
# Upscaling the picture past this for close-ups costs more per frame than it shows on screen.
MAX_SOURCE_SCALE = 2.0
FRAMES_IN_FLIGHT = 6  # frames composed ahead of the encoder: enough to keep both cores busy
COMPOSE_THREADS = 2  # frames drawn at once: the scaling and numpy release the GIL
ENCODER_THREADS = 1  # x264's own frame threads only contend with the two composing frames
# A constant QP, not CRF: CRF makes x264 build and cost a half-size copy of every frame, a fifth
# of the encoder's time at 1080P; QP 24 keeps luma PSNR near 45 dB with smaller files.
X264_OPTIONS = {"preset": "ultrafast", "qp": "24"}
# Shipped with the package (Noto Sans CJK SC cut down to the watermark's glyphs; see OFL.txt
# beside it), so a Space, a laptop and CI draw the same mark: no system font is ever searched.
WATERMARK_FONT = Path(__file__).with_name("fonts") / "NotoSansSC-watermark.otf"


@dataclass
class RenderJob:
    image: bytes  # the first frame; empty for a continuation of `first_clip`
    width: int
    height: int
    duration: int  # the whole video's seconds, a continued clip included
    fps: int = catalog.FPS
    shot_type: str = "single"
    template: str | None = None  # a first-frame (legacy) or a kf2v template id
    audio_track: bytes | None = None  # a WAV or MP3 file's bytes (audio_url, driving_audio)
    auto_sound: bool = False  # generate a sound bed when there is no track
    watermark: bool = False
    seed: int = 0
    last_frame: bytes | None = None  # the picture the video ends on, cover-fitted
    first_clip: bytes | Path | None = None  # an MP4/MOV the video begins with, then continues


@dataclass(frozen=True)
class Pose:
    """One frame: the view into the picture, and the card it is drawn on inside the frame."""

    zoom: float = 1.0  # 1 shows the whole cover-cropped picture
    cx: float = 0.5  # view centre in the picture, 0..1
    cy: float = 0.5
    sx: float = 1.0  # card size as a share of the frame; 1 × 1 at the centre fills it
    sy: float = 1.0
    x: float = 0.5  # card centre in the frame, 0..1
    y: float = 0.5
    mirror: bool = False  # the card's back side, half-way through a spin
    shadow: float = 0.0  # strength of a floor shadow under the card
    dissolve: float = 0.0  # share of the card scattered into the background
    toward: float = 0.0  # share of the last picture cross-dissolved over the frame; 1: it alone

    @property
    def fills_frame(self) -> bool:
        return self.sx == 1.0 and self.sy == 1.0 and self.x == 0.5 and self.y == 0.5


Motion = Callable[[float], Pose]  # seconds since the start -> pose
MotionFactory = Callable[[random.Random, float], Motion]  # (seeded rng, clip seconds) -> motion


def _ease(p: float) -> float:
    p = min(max(p, 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * p)


# --- camera moves ---------------------------------------------------------------------------------

CAMERA_MOVES = ("push", "pull", "pan", "tilt")


def single_shot(rng: random.Random, seconds: float,
                kinds: tuple[str, ...] = CAMERA_MOVES) -> Motion:
    """A slow push-in, pull-back, pan or tilt; the seed picks which, and towards where. Every
    move starts on the whole picture, as the service's first frame is the picture itself."""
    kind = rng.choice(kinds)
    target = (0.5 + rng.uniform(-0.12, 0.12), 0.45 + rng.uniform(-0.1, 0.1))
    zoom = rng.uniform(1.15, 1.25)
    forward = rng.random() < 0.5

    def motion(t: float) -> Pose:
        p = _ease(t / seconds)
        if kind in ("push", "pull"):  # a pull pushes in, then eases back out
            k = p if kind == "push" else math.sin(math.pi * p) * 0.8
            return Pose(zoom=1 + (zoom - 1) * k, cx=0.5 + (target[0] - 0.5) * k,
                        cy=0.5 + (target[1] - 0.5) * k)
        closer = 1 + (zoom - 1) * p  # nearing as it travels
        half = 0.5 / closer  # the view's half size: its centre may travel [half, 1 - half]
        along = 0.5 + (0.5 - half) * p * (1 if forward else -1)  # from the centre to an edge
        if kind == "pan":
            return Pose(zoom=closer, cx=along, cy=0.5 + (target[1] - 0.5) * p)
        return Pose(zoom=closer, cx=0.5 + (target[0] - 0.5) * p, cy=along)

    return motion


def push_in(rng: random.Random, seconds: float) -> Motion:
    """A slow push-in from the whole frame, so a continuation starts where its clip ends."""
    return single_shot(rng, seconds, ("push",))


def multi_shot(rng: random.Random, seconds: float) -> Motion:
    """Hard cuts between a wide shot, a medium shot and a close-up, each drifting a little."""
    fx, fy = 0.5 + rng.uniform(-0.08, 0.08), 0.42 + rng.uniform(-0.06, 0.06)
    shots = ((1.0, 0.5, 0.5), (1.55, fx, fy), (2.2, fx, fy - 0.04))
    cut = seconds / len(shots)

    def motion(t: float) -> Pose:
        index = min(int(t / cut), len(shots) - 1)
        zoom, cx, cy = shots[index]
        drift = (t - index * cut) / cut
        return Pose(zoom=zoom * (1 + 0.04 * drift), cx=cx, cy=cy)

    return motion


# --- template effects: the whole picture is a card moving over its own blurred copy --------------

def bounce(rng: random.Random, seconds: float) -> Motion:
    """A gentle hop with a little squash on landing: the fallback for every other template."""
    period = rng.uniform(0.9, 1.3)
    height = rng.uniform(0.04, 0.07)
    size = 0.86
    floor = 0.5 + (1 - size) / 2 * 0.8

    def motion(t: float) -> Pose:
        hop = abs(math.sin(math.pi * t / period))
        squash = (1 - hop) ** 6 * 0.06
        return Pose(sx=size * (1 + squash / 2), sy=size * (1 - squash),
                    y=floor - height * hop + size * squash / 2)

    return motion


def float_up(rng: random.Random, seconds: float) -> Motion:
    """Levitation: the card rises off the floor and hovers, its shadow left behind and fading."""
    size = 0.7
    rest = 0.94 - size / 2  # card centre when its bottom edge touches the floor line
    lift = rng.uniform(0.16, 0.22)
    bob = rng.uniform(1.6, 2.2)

    def motion(t: float) -> Pose:
        rise = _ease(t / (0.6 * seconds))
        hover = 0.012 * math.sin(2 * math.pi * t / bob) * rise
        return Pose(sx=size, sy=size, y=rest - lift * rise + hover, shadow=0.65 - 0.35 * rise)

    return motion


def pulse(rng: random.Random, seconds: float) -> Motion:
    """Balloon inflation: breathing pulses that swell the card bigger and bigger."""
    period = rng.uniform(0.7, 0.9)

    def motion(t: float) -> Pose:
        grow = _ease(t / seconds)
        breath = 0.5 + 0.5 * math.sin(2 * math.pi * t / period)
        size = 0.72 + 0.22 * grow + 0.06 * breath * (0.4 + grow)
        return Pose(sx=size, sy=size)

    return motion


def spin(rng: random.Random, seconds: float) -> Motion:
    """Turning round: the card spins about its vertical axis, showing its mirrored back half-way."""
    turns = max(1, round(seconds / rng.uniform(2.0, 3.0)))
    size = 0.82

    def motion(t: float) -> Pose:
        angle = 2 * math.pi * turns * _ease(t / seconds)
        return Pose(sx=size * abs(math.cos(angle)), sy=size, mirror=math.cos(angle) < 0)

    return motion


def squash(rng: random.Random, seconds: float) -> Motion:
    """Squeezed like a stress toy: the card flattens on the floor and springs back."""
    period = rng.uniform(0.8, 1.1)
    size = 0.82
    bottom = 0.5 + size / 2

    def motion(t: float) -> Pose:
        press = max(0.0, math.sin(2 * math.pi * t / period)) ** 2 * 0.25
        height = size * (1 - press)
        return Pose(sx=size * (1 + press * 0.6), sy=height, y=bottom - height / 2)

    return motion


def dissolve(rng: random.Random, seconds: float) -> Motion:
    """Molecular diffusion: after a slow push-in the picture scatters into particles."""
    start = rng.uniform(0.2, 0.3)

    def motion(t: float) -> Pose:
        p = t / seconds
        return Pose(zoom=1 + 0.08 * _ease(p), dissolve=0.97 * _ease((p - start) / (0.9 - start)))

    return motion


_TEMPLATE_EFFECTS: dict[str, MotionFactory] = {
    "flying": float_up,
    "inflate": pulse,
    "rotation": spin,
    "carousel": spin,
    "squish": squash,
    "poke": squash,
    "dissolve": dissolve,
}
TEMPLATE_MOTIONS: dict[str, MotionFactory] = {
    template: _TEMPLATE_EFFECTS.get(template, bounce) for template in catalog.ALL_TEMPLATES
}


# --- kf2v templates (wanx2.1-kf2v-plus): each its own motion ---------------------------------------

def sway(rng: random.Random, seconds: float) -> Motion:
    """Tang-style grace: the card sways in a slow figure-eight, like a dancer, as the view nears."""
    period = rng.uniform(2.4, 3.2)
    size = 0.84

    def motion(t: float) -> Pose:
        phase = 2 * math.pi * t / period
        return Pose(zoom=1 + 0.1 * _ease(t / seconds), sx=size, sy=size,
                    x=0.5 + 0.07 * math.sin(phase), y=0.5 + 0.025 * math.sin(2 * phase))

    return motion


def transform(rng: random.Random, seconds: float) -> Motion:
    """Mecha transformation: the picture holds, spins twice while shrinking and growing back to
    the whole frame, then the view pushes in."""
    start = rng.uniform(0.25, 0.35) * seconds
    length = min(1.5, 0.4 * seconds)

    def motion(t: float) -> Pose:
        p = (t - start) / length
        if p >= 1:
            return Pose(zoom=1 + 0.12 * _ease((t - start - length) / (seconds - start - length)))
        if p <= 0:
            return Pose()
        angle = 4 * math.pi * _ease(p)
        shrink = 1 - 0.25 * math.sin(math.pi * p)
        return Pose(sx=shrink * abs(math.cos(angle)), sy=shrink, mirror=math.cos(angle) < 0)

    return motion


def cover(rng: random.Random, seconds: float) -> Motion:
    """Shining magazine cover: the whole frame pulls back into a cover lying on the backdrop,
    with a shadow under it."""
    lift = rng.uniform(0.02, 0.04)

    def motion(t: float) -> Pose:
        p = _ease(t / (0.5 * seconds))
        size = 1 - 0.24 * p
        return Pose(zoom=1 + 0.06 * _ease(t / seconds), sx=size, sy=size, y=0.5 - lift * p,
                    shadow=0.5 * p)

    return motion


def judder(rng: random.Random, seconds: float) -> Motion:
    """Mechanical awakening: seeded jolts of the view, 15 a second, growing as it pushes in."""
    jolts = [(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(int(seconds * 15) + 2)]

    def motion(t: float) -> Pose:
        grow = _ease(t / seconds)
        dx, dy = jolts[min(int(t * 15), len(jolts) - 1)]
        reach = 0.01 + 0.03 * grow
        return Pose(zoom=1.12 + 0.1 * grow, cx=0.5 + reach * dx, cy=0.5 + reach * dy)

    return motion


def slide_in(rng: random.Random, seconds: float) -> Motion:
    """Cyber entrance: the card slides in from off one side, overshoots, settles, then the view
    pushes in."""
    side = rng.choice((-1, 1))
    arrive = 0.35 * seconds
    size = 0.86

    def motion(t: float) -> Pose:
        q = min(t / arrive, 1.0) - 1
        travel = 1 + 2.7 * q ** 3 + 1.7 * q ** 2  # "back" easing: past the centre, then back
        return Pose(zoom=1 + 0.1 * _ease((t - arrive) / (seconds - arrive)), sx=size, sy=size,
                    x=0.5 + side * (1 - travel))

    return motion


KF2V_TEMPLATE_MOTIONS: dict[str, MotionFactory] = {
    "hanfu-1": sway,
    "solaron": transform,
    "magazine": cover,
    "mech1": judder,
    "mech2": slide_in,
}
_MOTIONS: dict[str, MotionFactory] = {**TEMPLATE_MOTIONS, **KF2V_TEMPLATE_MOTIONS}


def motion_for(job: RenderJob, seconds: float | None = None) -> Motion:
    """The motion of the job's new frames, which last `seconds` (the whole duration by default)."""
    seconds = job.duration if seconds is None else seconds
    rng = random.Random(job.seed)
    if job.template is not None:
        return _MOTIONS[job.template](rng, seconds)
    if job.shot_type == "multi":  # its wide first shot also starts where a clip ends
        return multi_shot(rng, seconds)
    return (push_in if job.first_clip is not None else single_shot)(rng, seconds)


def toward_last(poses: list[Pose]) -> list[Pose]:
    """Cross-dissolve into the last picture over the second half; the final frame is it alone."""
    final = len(poses) - 1
    start = final / 2
    return [replace(pose, toward=1.0 if index == final else _ease((index - start) / (final - start)))
            for index, pose in enumerate(poses)]


# --- validation -----------------------------------------------------------------------------------

def _check(job: RenderJob) -> None:
    for name in ("width", "height"):
        value = getattr(job, name)
        if not isinstance(value, int) or value < 16 or value % 16:
            raise InvalidInput(name, f"must be a whole multiple of 16 pixels, got {value!r}")
    if not isinstance(job.duration, int) or job.duration < 1:
        raise InvalidInput("duration",
                           f"must be a whole number of seconds ≥ 1, got {job.duration!r}")
    if not isinstance(job.fps, int) or job.fps < 1:
        raise InvalidInput("fps", f"must be a whole number ≥ 1, got {job.fps!r}")
    if job.shot_type not in SHOT_TYPES:
        raise InvalidInput("shot_type", f"unknown shot type {job.shot_type!r}", SHOT_TYPES)
    if job.template is not None and job.template not in _MOTIONS:
        raise InvalidInput("template", f"unknown template {job.template!r}", tuple(_MOTIONS))
    if job.first_clip is None:
        if not job.image:
            raise InvalidInput("image", "is empty; pass the bytes of a JPEG, PNG, BMP or WEBP file")
    elif job.image:
        raise InvalidInput("first_clip", "cannot be combined with a first-frame image; a "
                                         "continuation starts from the clip, so pass one of them")
    elif job.template is not None:
        raise InvalidInput("template", "a continuation (first_clip) has no template effect; "
                                       "leave the template out")
    if job.last_frame is not None and not job.last_frame:
        raise InvalidInput("last_frame", "is empty; pass the bytes of a JPEG, PNG, BMP or WEBP "
                                         "file, or leave it out")


# --- pictures in YUV 4:2:0 ------------------------------------------------------------------------

def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # Y, U, V


def _planes(buf: np.ndarray, width: int, height: int) -> Planes:
    """Views of Y, U and V inside the (height * 3/2, width) array PyAV uses for yuv420p."""
    flat = buf.reshape(-1)
    luma, quarter = width * height, width * height // 4
    return (flat[:luma].reshape(height, width),
            flat[luma:luma + quarter].reshape(height // 2, width // 2),
            flat[luma + quarter:luma + 2 * quarter].reshape(height // 2, width // 2))


def _frame_planes(frame: av.VideoFrame) -> Planes:
    """Writable views of a yuv420p frame's own planes (rows may be padded past the width)."""
    views = []
    for index, plane in enumerate(frame.planes):
        step = 1 if index == 0 else 2
        rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        views.append(rows[:frame.height // step, :frame.width // step])
    return views[0], views[1], views[2]


def _rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709).to_ndarray()


def _open_picture(data: bytes, size: tuple[int, int], scale: float,
                  field: str = "image") -> Image.Image:
    """The picture cover-cropped to the output aspect, at up to `scale` × the output size."""
    try:
        picture = Image.open(io.BytesIO(data))
        picture.draft("RGB", (round(max(size) * scale),) * 2)  # JPEG: decode at a reduced size
        picture = ImageOps.exif_transpose(picture)
        picture.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(field, f"cannot be decoded ({exc}); pass a JPEG, PNG, BMP or WEBP "
                                  "file") from None
    if "A" in picture.getbands() or picture.mode == "P":
        flat = Image.new("RGB", picture.size, "white")
        flat.paste(picture.convert("RGBA"), mask=picture.convert("RGBA").getchannel("A"))
        picture = flat
    return _cover(picture.convert("RGB"), size, scale)


def _cover(picture: Image.Image, size: tuple[int, int], scale: float) -> Image.Image:
    """An RGB picture cover-cropped to the output aspect, at up to `scale` × the output size."""
    width, height = size
    native = min(picture.width / width, picture.height / height)  # cover scale at full detail
    scale = min(max(native, 1.0), scale)
    return ImageOps.fit(picture, (_even(width * scale), _even(height * scale)),
                        Image.Resampling.BILINEAR)


def _backdrop(picture: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """A dim, heavily blurred copy of the picture for cards that do not fill the frame."""
    width, height = size
    small = picture.resize((max(8, width // 8), max(8, height // 8)), Image.Resampling.BILINEAR)
    blurred = small.filter(ImageFilter.GaussianBlur(3)).resize(size, Image.Resampling.BILINEAR)
    return _rgb_to_yuv((np.asarray(blurred, dtype=np.float32) * 0.5).astype(np.uint8))


_FONT_LOCK = threading.Lock()  # FreeType faces are not safe to share between render threads


@cache
def _watermark_font(size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: Raqm works only where the system has libfribidi; this text needs no shaping.
    return ImageFont.truetype(str(WATERMARK_FONT), size, layout_engine=ImageFont.Layout.BASIC)


@dataclass(frozen=True)
class _Overlay:
    """A small pre-rendered picture with alpha, blended into the frame's YUV planes."""

    x: int
    y: int
    planes: tuple[np.ndarray, np.ndarray, np.ndarray]
    alphas: tuple[np.ndarray, np.ndarray]  # full-size for Y, half-size for U and V

    def blend(self, planes: Planes) -> None:
        for index, (plane, patch) in enumerate(zip(planes, self.planes)):
            step = 1 if index == 0 else 2
            alpha = self.alphas[0 if index == 0 else 1]
            y, x = self.y // step, self.x // step
            region = plane[y:y + patch.shape[0], x:x + patch.shape[1]]
            region[:] = region * (1 - alpha) + patch * alpha


@cache
def _watermark(width: int, height: int) -> _Overlay:
    """"AI生成" in the bottom-right corner, as the service marks its videos."""
    with _FONT_LOCK:
        font = _watermark_font(max(12, round(height * 0.045)))
        stroke = max(1, round(font.size / 14))
        left, top, right, bottom = font.getbbox(WATERMARK_TEXT, stroke_width=stroke)
        patch = Image.new("RGBA", (_even(right - left + 2), _even(bottom - top + 2)), (0, 0, 0, 0))
        ImageDraw.Draw(patch).text((1 - left, 1 - top), WATERMARK_TEXT, font=font,
                                   fill=(255, 255, 255, 215), stroke_width=stroke,
                                   stroke_fill=(0, 0, 0, 110))
    rgba = np.asarray(patch)
    yuv = _rgb_to_yuv(rgba[..., :3])
    alpha = rgba[..., 3].astype(np.float32) / 255
    margin = max(4, round(height * 0.03))
    x = (width - patch.width - margin) // 2 * 2
    y = (height - patch.height - margin) // 2 * 2
    return _Overlay(x, y, _planes(yuv, patch.width, patch.height), (alpha, alpha[::2, ::2]))


class _Compositor:
    """Draws a Pose as one yuv420p frame of the output size."""

    def __init__(self, job: RenderJob, poses: list[Pose], picture: bytes | Image.Image,
                 last: Planes | None = None) -> None:
        """`picture`: the file's bytes or a decoded picture; `last`: the last picture at the
        output size, for poses moving toward it."""
        self.width, self.height = job.width, job.height
        size = (job.width, job.height)
        needed = min(max(p.zoom * max(p.sx, p.sy, 1.0) for p in poses), MAX_SOURCE_SCALE)
        picture = (_open_picture(picture, size, needed) if isinstance(picture, bytes)
                   else _cover(picture, size, needed))
        self.src_w, self.src_h = picture.size
        self.source = _rgb_to_yuv(np.asarray(picture))
        self.source_planes = _planes(self.source, self.src_w, self.src_h)
        self.backdrop: Planes | None = None
        if any(not p.fills_frame or p.dissolve for p in poses):
            backdrop = _backdrop(picture, (job.width, job.height))
            self.backdrop = _planes(backdrop, job.width, job.height)
        self.particles = self._particles(job.seed) if any(p.dissolve for p in poses) else None
        self.watermark = _watermark(job.width, job.height) if job.watermark else None
        # int16 copies: the cross-dissolve's arithmetic, converted once, not per frame.
        self.last = None if last is None else tuple(plane.astype(np.int16) for plane in last)

    def _particles(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel dissolve thresholds 0–255: 4-pixel grains, sweeping from the right edge."""
        grain = 4
        rows, cols = -(-self.height // grain), -(-self.width // grain)
        noise = np.random.default_rng(seed).random((rows, cols), dtype=np.float32)
        sweep = np.linspace(1.0, 0.0, cols, dtype=np.float32)[None, :]
        grains = ((0.55 * noise + 0.45 * sweep) * 255).astype(np.uint8)
        luma = np.repeat(np.repeat(grains, grain, 0), grain, 1)[:self.height, :self.width]
        return luma, luma[::2, ::2]

    def _view(self, pose: Pose) -> av.VideoFrame:
        """The visible part of the picture, copied once into a frame of its own."""
        w = min(self.src_w, _even(self.src_w / pose.zoom))
        h = min(self.src_h, _even(self.src_h / pose.zoom))
        x = min(max(round(pose.cx * self.src_w - w / 2), 0), self.src_w - w)
        y = min(max(round(pose.cy * self.src_h - h / 2), 0), self.src_h - h)
        if (w, h) == (self.src_w, self.src_h) and not pose.mirror:
            return av.VideoFrame.from_ndarray(self.source, format="yuv420p")
        view = av.VideoFrame(w, h, "yuv420p")
        for index, (dst, src) in enumerate(zip(_frame_planes(view), self.source_planes)):
            step = 1 if index == 0 else 2
            crop = src[y // step:y // step + h // step, x // step:x // step + w // step]
            dst[:] = crop[:, ::-1] if pose.mirror else crop
        return view

    @staticmethod
    def _scaled(view: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
        """The view at `width` × `height`: a new frame, or the view itself if that is its size."""
        # One thread: frames are already scaled two at a time, and a scaler thread pool set up
        # anew for every frame size costs more than the scaling itself.
        return view.reformat(width=width, height=height, interpolation=Interpolation.BILINEAR,
                             threads=1)

    def frame(self, pose: Pose) -> av.VideoFrame:
        """Drawn straight into the planes of the frame handed to the encoder: no extra copies."""
        if pose.toward >= 1.0 and self.last is not None:  # the final frame: the last picture
            frame = av.VideoFrame(self.width, self.height, "yuv420p")
            planes = _frame_planes(frame)
            for dst, src in zip(planes, self.last):
                dst[:] = src
            if self.watermark is not None:
                self.watermark.blend(planes)
            return frame
        view = self._view(pose)
        if pose.fills_frame:
            frame = self._scaled(view, self.width, self.height)
            planes = _frame_planes(frame)
        else:
            assert self.backdrop is not None
            frame = av.VideoFrame(self.width, self.height, "yuv420p")
            planes = _frame_planes(frame)
            for dst, src in zip(planes, self.backdrop):
                dst[:] = src
            if pose.shadow:
                self._shadow(planes[0], pose)
            if pose.sx > 0.01:  # edge-on, half-way through a spin, the card is not there
                card_w, card_h = _even(self.width * pose.sx), _even(self.height * pose.sy)
                card = _frame_planes(self._scaled(view, card_w, card_h))
                left = (round(self.width * pose.x) - card_w // 2) // 2 * 2
                top = (round(self.height * pose.y) - card_h // 2) // 2 * 2
                _paste(planes, card, left, top)
        if pose.dissolve:
            self._scatter(planes, pose.dissolve)
        if pose.toward and self.last is not None:
            self._toward(planes, pose.toward)
        if self.watermark is not None:
            self.watermark.blend(planes)
        return frame

    def _toward(self, planes: Planes, share: float) -> None:
        """Cross-dissolve the frame toward the last picture (7-bit weights keep it in int16)."""
        assert self.last is not None
        weight = round(share * 128)
        for dst, target in zip(planes, self.last):
            mixed = target - dst  # int16, since target is
            mixed *= weight
            mixed >>= 7
            mixed += dst
            dst[:] = mixed

    def _shadow(self, luma: np.ndarray, pose: Pose) -> None:
        """A soft dark ellipse on the floor line under the card."""
        half_w = self.width * pose.sx * (0.25 + 0.35 * pose.shadow)
        half_h = max(2.0, self.height * 0.025)
        cx, cy = self.width * pose.x, self.height * 0.94
        x0, x1 = max(int(cx - half_w), 0), min(int(cx + half_w) + 1, self.width)
        y0, y1 = max(int(cy - half_h), 0), min(int(cy + half_h) + 1, self.height)
        xs = (np.arange(x0, x1, dtype=np.float32) - cx) / half_w
        ys = (np.arange(y0, y1, dtype=np.float32) - cy) / half_h
        inside = np.clip(1 - (xs[None, :] ** 2 + ys[:, None] ** 2), 0, 1)
        region = luma[y0:y1, x0:x1]
        region[:] = region * (1 - pose.shadow * inside)

    def _scatter(self, planes: Planes, level: float) -> None:
        assert self.particles is not None and self.backdrop is not None
        threshold = round(level * 255)
        for index, (dst, bg) in enumerate(zip(planes, self.backdrop)):
            np.copyto(dst, bg, where=self.particles[0 if index == 0 else 1] < threshold)


def _paste(planes: Planes, card: Planes, left: int, top: int) -> None:
    """Copy `card` into `planes` with its top-left corner at (left, top), clipped to the frame."""
    for index, (dst, src) in enumerate(zip(planes, card)):
        step = 1 if index == 0 else 2
        x, y = left // step, top // step
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + src.shape[1], dst.shape[1]), min(y + src.shape[0], dst.shape[0])
        if x1 > x0 and y1 > y0:
            dst[y0:y1, x0:x1] = src[y0 - y:y1 - y, x0 - x:x1 - x]


def _last_planes(job: RenderJob) -> Planes | None:
    """The last picture cover-fitted to exactly the output size, in YUV."""
    if job.last_frame is None:
        return None
    picture = _open_picture(job.last_frame, (job.width, job.height), 1.0, "last_frame")
    return _planes(_rgb_to_yuv(np.asarray(picture)), job.width, job.height)


# --- continuing a clip ----------------------------------------------------------------------------

class _Clip:
    """The clip a continuation begins with: its frames decoded on demand, cover-fitted to the
    output size at the output's rate (a frame repeats or drops where the clip's rate differs)."""

    def __init__(self, job: RenderJob) -> None:
        assert job.first_clip is not None
        self.data = job.first_clip
        self.width, self.height, self.fps = job.width, job.height, job.fps
        seconds = media.probe_video(self.data, "first_clip").seconds  # its header only
        if seconds >= job.duration:
            raise InvalidInput("duration", f"is {job.duration} s, but the first clip already "
                                           f"lasts {seconds:.1f} s; the duration counts the clip "
                                           "too, so make it longer than the clip")
        self.count = min(round(seconds * job.fps), job.duration * job.fps - 1)
        self.overlay = _watermark(job.width, job.height) if job.watermark else None
        self.last: av.VideoFrame | None = None  # the clip's last frame shown, once decoded

    def frames(self) -> Iterator[av.VideoFrame]:
        source = str(self.data) if isinstance(self.data, Path) else io.BytesIO(self.data)
        emitted, start, held, fitted = 0, None, None, None
        with av.open(source) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = float(stream.average_rate or self.fps)
            for index, frame in enumerate(container.decode(stream)):
                at = frame.time if frame.time is not None else index / rate
                start = at if start is None else start
                # The output frames due before this frame shows belong to the one before it
                # (fitted only when shown at all: a faster clip drops frames).
                while held is not None and emitted < self.count and \
                        (emitted + 0.5) / self.fps <= at - start:
                    fitted = self._fit(held) if fitted is None else fitted
                    yield fitted  # a repeat may be the same frame: the encoder copies its input
                    emitted += 1
                if emitted >= self.count:
                    break
                held, fitted = frame, None
        if held is None:
            raise InvalidInput("first_clip", "holds no picture that can be decoded; export it "
                                             "again as MP4 (H.264)")
        while emitted < self.count:  # its last frame holds to the clip's end
            fitted = self._fit(held) if fitted is None else fitted
            yield fitted
            emitted += 1
        self.last = held

    def _fit(self, frame: av.VideoFrame) -> av.VideoFrame:
        """A decoded frame scaled to cover the output and centre-cropped, as a new frame."""
        scale = max(self.width / frame.width, self.height / frame.height)
        width = max(self.width, _even(frame.width * scale))
        height = max(self.height, _even(frame.height * scale))
        # Into the colours the output is tagged with (BT.709), whatever the clip's.
        scaled = frame.reformat(width=width, height=height, format="yuv420p",
                                dst_colorspace=Colorspace.ITU709,
                                interpolation=Interpolation.BILINEAR, threads=1)
        out = av.VideoFrame(self.width, self.height, "yuv420p")
        planes = _frame_planes(out)
        _paste(planes, _frame_planes(scaled), -((width - self.width) // 4 * 2),
               -((height - self.height) // 4 * 2))
        if self.overlay is not None:
            self.overlay.blend(planes)
        return out


# --- sound ----------------------------------------------------------------------------------------

def _decode_track(data: bytes, samples: int) -> np.ndarray:
    """The track's first `samples` samples as stereo float32 at SAMPLE_RATE (maybe fewer)."""
    chunks: list[np.ndarray] = []
    got = 0
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    got += out.samples
                if got >= samples:
                    break
            else:
                chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise InvalidInput("audio_track", f"cannot be decoded ({exc}); pass a WAV or MP3 "
                                          "file") from None
    return np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), np.float32)


# Seventh chords by scale degree (semitones above the key's root): Imaj7, IVmaj7, V7, vi7.
_CHORD_SHAPES = {0: (0, 4, 7, 11), 5: (0, 4, 7, 11), 7: (0, 4, 7, 10), 9: (0, 3, 7, 10)}


def _sound_bed(seconds: float, rng: random.Random) -> np.ndarray:
    """A soft pad: slow seventh chords with gentle chorus, faded in and out, about −14 dBFS."""
    progressions = ((0, 9, 5, 7), (0, 5, 9, 7), (9, 5, 0, 7), (0, 7, 9, 5))
    progression = rng.choice(progressions)
    root = 196.0 * 2 ** (rng.randrange(0, 5) / 12)  # G3 to B3
    count = len(progression)
    total = int(seconds * SAMPLE_RATE)
    chord_len = max(total // max(1, round(seconds / 2.5)), 1)
    out = np.zeros((2, total), np.float32)
    for start in range(0, total, chord_len):
        degree = progression[(start // chord_len) % count]
        base = root * 2 ** (degree / 12)
        # Chords overlap by half a second so the change is a swell, not a click.
        lo, hi = max(0, start - SAMPLE_RATE // 4), min(total, start + chord_len + SAMPLE_RATE // 4)
        t = np.arange(lo, hi, dtype=np.float32) / SAMPLE_RATE
        window = np.sin(np.linspace(0, np.pi, hi - lo, dtype=np.float32)) ** 2
        for semis in _CHORD_SHAPES[degree]:
            freq = base * 2 ** (semis / 12)
            for channel, detune in ((0, 0.998), (1, 1.002)):
                tone = np.sin(2 * np.pi * freq * detune * t) + 0.25 * np.sin(4 * np.pi * freq * t)
                out[channel, lo:hi] += tone * window
    fade = min(total // 4, SAMPLE_RATE // 2)
    if fade:
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        out[:, :fade] *= ramp
        out[:, total - fade:] *= ramp[::-1]
    peak = float(np.abs(out).max()) or 1.0
    return out * (0.2 / peak)


def _soundtrack(job: RenderJob, rng: random.Random) -> np.ndarray | None:
    samples = job.duration * SAMPLE_RATE
    if job.audio_track is not None:
        track = _decode_track(job.audio_track, samples)[:, :samples]
        return np.pad(track, ((0, 0), (0, samples - track.shape[1])))  # silence after the track
    if job.auto_sound:
        return _sound_bed(job.duration, rng)
    return None


# --- encoding -------------------------------------------------------------------------------------

def _frames(compositor: _Compositor, poses: list[Pose]) -> Iterator[av.VideoFrame]:
    """Frames in order, composed COMPOSE_THREADS at a time."""
    with ThreadPoolExecutor(max_workers=COMPOSE_THREADS, thread_name_prefix="wan-render-frame") as pool:
        pending: deque[Future[av.VideoFrame]] = deque()
        for pose in poses:
            pending.append(pool.submit(compositor.frame, pose))
            if len(pending) >= FRAMES_IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _continued(job: RenderJob, clip: _Clip, poses: list[Pose],
               last: Planes | None) -> Iterator[av.VideoFrame]:
    """The clip's frames, then new ones moving on from the clip's last frame."""
    yield from clip.frames()
    assert clip.last is not None
    yield from _frames(_Compositor(job, poses, clip.last.to_image(), last), poses)


def render(job: RenderJob, out: Path) -> Path:
    """Write the clip for `job` to `out` (an MP4 file) and return its path."""
    _check(job)
    rng = random.Random(job.seed)
    last = _last_planes(job)  # opened first: a bad picture is refused before anything is written
    clip = None if job.first_clip is None else _Clip(job)
    fresh = job.duration * job.fps - (0 if clip is None else clip.count)  # frames made here
    motion = motion_for(job, fresh / job.fps)
    poses = [motion(index / job.fps) for index in range(fresh)]
    if last is not None:
        poses = toward_last(poses)
    frames = (_frames(_Compositor(job, poses, job.image, last), poses) if clip is None
              else _continued(job, clip, poses, last))
    sound = _soundtrack(job, rng)
    out = Path(out)
    try:
        with av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as container:
            video = container.add_stream("libx264", rate=job.fps)
            video.width, video.height, video.pix_fmt = job.width, job.height, "yuv420p"
            video.codec_context.time_base = Fraction(1, job.fps)
            video.codec_context.gop_size = 2 * job.fps  # a keyframe every 2 s keeps seeking quick
            video.codec_context.colorspace = video.codec_context.color_primaries = 1  # BT.709
            video.codec_context.color_trc, video.codec_context.color_range = 1, 1
            video.codec_context.thread_count = ENCODER_THREADS
            video.options = dict(X264_OPTIONS)
            audio = None
            if sound is not None:
                stream = container.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
                stream.bit_rate = 128_000
                container.start_encoding()  # opens both encoders here, before the sound's thread
                audio = _AudioEncoder(stream, sound)
            try:
                for index, frame in enumerate(frames):
                    frame.pts = index
                    container.mux(video.encode(frame))
                    if audio is not None:  # keep the sound interleaved with the picture
                        container.mux(audio.due((index + 1) * SAMPLE_RATE // job.fps))
                container.mux(video.encode(None))
                if audio is not None:
                    container.mux(audio.due(sound.shape[1] + 1))
            finally:
                if audio is not None:  # never leave it encoding into a closing container
                    audio.stop()
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


class _AudioEncoder:
    """Encodes the sound to AAC on a thread of its own, beside the picture (AAC costs a tenth of a
    1080P render); the render thread muxes its packets as the picture reaches them."""

    def __init__(self, stream: av.AudioStream, sound: np.ndarray) -> None:
        self._stream, self._sound = stream, sound
        self._packets: queue.SimpleQueue[av.Packet | Exception | None] = queue.SimpleQueue()
        self._held: av.Packet | None = None  # the first packet not yet due
        self._done = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._encode, name="wan-render-audio", daemon=True)
        self._thread.start()

    def _encode(self) -> None:
        try:
            total = self._sound.shape[1]
            for start in range(0, total, AAC_FRAME):
                if self._stopping.is_set():
                    return
                chunk = np.ascontiguousarray(self._sound[:, start:start + AAC_FRAME])
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = SAMPLE_RATE, start
                frame.time_base = Fraction(1, SAMPLE_RATE)
                for packet in self._stream.encode(frame):
                    self._packets.put(packet)
            for packet in self._stream.encode(None):
                self._packets.put(packet)
        except Exception as exc:  # noqa: BLE001 - handed to the render thread, which raises it
            self._packets.put(exc)
        finally:
            self._packets.put(None)

    def due(self, until: int) -> list[av.Packet]:
        """The packets that start before sample `until`, waiting for them if need be."""
        due: list[av.Packet] = []
        while not self._done:
            packet = self._held if self._held is not None else self._packets.get()
            self._held = None
            if packet is None:
                self._done = True
            elif isinstance(packet, Exception):
                self._done = True
                raise packet
            elif packet.pts is not None and packet.pts >= until:
                self._held = packet
                break
            else:
                due.append(packet)
        return due

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
