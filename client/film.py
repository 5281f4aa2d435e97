"""A story's shots assembled into one MP4 with PyAV: packets copied where the clips agree, and a
short re-encoded segment only where a seam must be blended, a shot trimmed or a clip conformed."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import islice, pairwise
from pathlib import Path
from typing import Literal

import av
import numpy as np
from av.video.frame import PictureType

from .errors import InvalidInput

Transition = Literal["cut", "crossfade"]
TRANSITIONS: tuple[Transition, ...] = ("cut", "crossfade")
DEFAULT_CROSSFADE_SECONDS = 0.5
# Re-encoded segments: the simulator's speed (and so a profile every H.264 decoder handles), a lower
# CRF than its 28 so a seam does not stand out among the service's clips; a keyframe every 2 s.
SEGMENT_OPTIONS = {"preset": "ultrafast", "crf": "20"}
SEGMENT_GOP_SECONDS = 2
AAC_FRAME = 1024
SILENT_RATE, SILENT_LAYOUT = 48_000, "stereo"  # the film's sound when no clip has any
_SPS, _PPS = 7, 8  # H.264 NAL unit types of the parameter sets


@dataclass(frozen=True)
class Seam:
    """How one shot hands over to the next: a hard cut, or a crossfade lasting `seconds`."""

    transition: Transition = "cut"
    seconds: float = DEFAULT_CROSSFADE_SECONDS


@dataclass(frozen=True)
class Clip:
    """A shot's video file from an in-point (seconds), e.g. a continued shot without the part
    that repeats the previous shot's tail."""

    path: Path
    start: float = 0.0


@dataclass(frozen=True)
class FilmInfo:
    path: Path
    seconds: float
    frames: int
    width: int
    height: int
    fps: Fraction
    shot_starts: tuple[float, ...]  # where each shot begins in the film, seconds
    copied_frames: int  # video frames whose packets were copied unchanged
    encoded_frames: int  # frames re-encoded around seams, in-points and conformed clips
    conformed: tuple[int, ...] = ()  # clips re-encoded: their video differs from the first clip's
    silent: tuple[int, ...] = ()  # clips without sound, given a silent track of their length
    sound_transcoded: tuple[int, ...] = ()  # clips whose sound was re-encoded to the film's format


# --- what a clip is made of ---------------------------------------------------------------------

@dataclass(frozen=True)
class VideoSpec:
    """Everything that must agree for one clip's packets to follow another's in one stream."""

    codec: str
    width: int
    height: int
    pix_fmt: str
    fps: Fraction
    delay: Fraction  # seconds the decoder holds frames back for B-frame reordering
    extradata: bytes


@dataclass(frozen=True)
class SoundSpec:
    codec: str
    profile: str | None
    rate: int
    layout: str
    channels: int


@dataclass(frozen=True)
class ClipInfo:
    path: Path
    video: VideoSpec
    seconds: Fraction  # from the first frame's start to the last frame's end
    frames: int
    keyframes: tuple[Fraction, ...]  # seconds from the first frame
    time_base: Fraction  # the video stream's
    first_pts: int  # the first frame's presentation time, in time_base
    sound: SoundSpec | None
    colors: tuple[int, int, int, int]  # colorspace, primaries, trc, range (H.273 numbers)


def unreadable(field_name: str, path: Path, why: str) -> InvalidInput:
    return InvalidInput(field_name, f"{path.name} cannot be read as a video ({why}); pass an MP4 "
                                    "of a finished shot, as downloaded from the service")


def probe(path: Path, field_name: str = "video") -> ClipInfo:
    """Read a clip's streams and its video packet index (no decoding)."""
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video or container.streams.video[0].average_rate is None:
                raise unreadable(field_name, path, "it has no video stream of a known frame rate")
            return _probe(path, container, field_name)
    except (av.FFmpegError, OSError) as exc:
        raise unreadable(field_name, path, str(exc)) from None


def _probe(path: Path, container: av.container.InputContainer, field_name: str) -> ClipInfo:
    stream = container.streams.video[0]
    ctx, tb, fps = stream.codec_context, Fraction(stream.time_base), Fraction(stream.average_rate)
    pts, ends, keys, first_dts = [], [], [], None
    for packet in container.demux(stream):
        if packet.pts is None or not packet.size:
            continue
        if first_dts is None:
            first_dts = packet.pts if packet.dts is None else packet.dts
        pts.append(packet.pts)
        ends.append(packet.pts + (packet.duration or round(1 / (fps * tb))))
        if packet.is_keyframe:
            keys.append(packet.pts)
    if not pts:
        raise unreadable(field_name, path, "its video stream has no frames")
    first = min(pts)
    delay = max((min(keys, default=first) - first_dts) * tb, Fraction(0))
    sound = None
    if container.streams.audio:
        actx = container.streams.audio[0].codec_context
        sound = SoundSpec(actx.name, actx.profile, actx.sample_rate, actx.layout.name,
                          actx.layout.nb_channels)
    spec = VideoSpec(ctx.name, ctx.width, ctx.height, ctx.format.name if ctx.format else "",
                     fps, delay, ctx.extradata or b"")
    colors = (int(ctx.colorspace), int(ctx.color_primaries), int(ctx.color_trc),
              int(ctx.color_range))
    return ClipInfo(path, spec, (max(ends) - first) * tb, len(pts),
                    tuple(sorted((k - first) * tb for k in keys)), tb, first, sound, colors)


# --- H.264 parameter sets: the film's header names those of the clips and of the new segments ---

@dataclass(frozen=True)
class AvcConfig:
    """An MP4 'avcC' record: the stream's SPS and PPS, and how long NAL unit lengths are."""

    head: bytes  # version, profile, compatibility, level
    length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    tail: bytes  # the High profiles' chroma and bit depth fields

    @classmethod
    def parse(cls, data: bytes) -> AvcConfig:
        if len(data) < 7 or data[0] != 1:
            raise ValueError("not an avcC record")
        pos, sets = 5, []
        for count_mask in (0x1F, 0xFF):
            count = data[pos] & count_mask
            pos += 1
            found = []
            for _ in range(count):
                size = int.from_bytes(data[pos:pos + 2], "big")
                found.append(data[pos + 2:pos + 2 + size])
                pos += 2 + size
            sets.append(tuple(found))
        return cls(data[:4], (data[4] & 3) + 1, sets[0], sets[1], data[pos:])

    def to_bytes(self) -> bytes:
        out = bytearray(self.head)
        out.append(0xFC | (self.length_size - 1))
        for marker, sets in ((0xE0, self.sps), (0, self.pps)):
            out.append(marker | len(sets))
            for unit in sets:
                out += len(unit).to_bytes(2, "big") + unit
        return bytes(out + self.tail)


def _first_ue(rbsp: bytes) -> int:
    """The first Exp-Golomb ue(v) number of a bitstream (an SPS's or PPS's id)."""
    bits = "".join(f"{byte:08b}" for byte in rbsp[:8].replace(b"\x00\x00\x03", b"\x00\x00"))
    zeros = bits.index("1")
    return int(bits[zeros:2 * zeros + 1], 2) - 1


def _parameter_set_id(unit: bytes) -> int:
    return _first_ue(unit[4:] if unit[0] & 0x1F == _SPS else unit[1:])


def _annexb_units(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (start-code separated, as libx264 writes them)."""
    return [unit.rstrip(b"\x00") for unit in data.split(b"\x00\x00\x01") if unit.strip(b"\x00")]


# --- the film's video, and the encoder of its re-encoded segments --------------------------------

@dataclass(frozen=True)
class _Picture:
    width: int
    height: int
    fps: Fraction
    colors: tuple[int, int, int, int]
    sps_id: int  # free in the first clip's header, so segments never redefine its sets


def _segment_encoder(picture: _Picture) -> av.VideoCodecContext:
    # Not bound to the MP4 container, so libx264 writes its SPS and PPS in-band at every keyframe.
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = picture.width, picture.height, "yuv420p"
    encoder.time_base = 1 / picture.fps
    encoder.framerate = picture.fps
    encoder.gop_size = round(SEGMENT_GOP_SECONDS * picture.fps)
    (encoder.colorspace, encoder.color_primaries, encoder.color_trc,
     encoder.color_range) = picture.colors
    encoder.thread_count = 2
    encoder.options = {**SEGMENT_OPTIONS, "x264-params": f"sps-id={picture.sps_id}"}
    return encoder


@functools.cache
def segment_parameter_sets(picture: _Picture) -> tuple[bytes, bytes]:
    """The SPS and PPS every segment encoder of this picture writes (they depend on the settings
    only, not on the content): encode one black frame and read them."""
    encoder = _segment_encoder(picture)
    black = np.full((picture.height * 3 // 2, picture.width), 128, np.uint8)
    black[:picture.height] = 16
    frame = av.VideoFrame.from_ndarray(black, format="yuv420p")
    frame.pts = 0
    packets = [*encoder.encode(frame), *encoder.encode(None)]
    units = [unit for packet in packets for unit in _annexb_units(bytes(packet))]
    sps = next(u for u in units if u[0] & 0x1F == _SPS)
    pps = next(u for u in units if u[0] & 0x1F == _PPS)
    return sps, pps


def _free_sps_id(config: AvcConfig) -> int:
    used = {_parameter_set_id(unit) for unit in (*config.sps, *config.pps)}
    return min(set(range(32)) - used)


# --- frames for the segments ---------------------------------------------------------------------

def _planes(buf: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """Y, U and V of the (height × 3/2, width) array PyAV uses for a yuv420p frame."""
    flat, luma = buf.reshape(-1), width * height
    return (flat[:luma].reshape(height, width),
            flat[luma:luma * 5 // 4].reshape(height // 2, width // 2),
            flat[luma * 5 // 4:].reshape(height // 2, width // 2))


def _conform(frame: av.VideoFrame, picture: _Picture) -> av.VideoFrame:
    """The frame at the film's size and pixel format: scaled to fit, centred on black. Scaled in
    YUV, so the colours are not converted through RGB and back."""
    width, height = picture.width, picture.height
    if (frame.width, frame.height, frame.format.name) == (width, height, "yuv420p"):
        return frame
    scale = min(width / frame.width, height / frame.height)
    w, h = (max(2, int(side * scale) // 2 * 2) for side in (frame.width, frame.height))
    fitted = frame.reformat(width=w, height=h, format="yuv420p").to_ndarray()
    canvas = np.full((height * 3 // 2, width), 128, np.uint8)
    canvas[:height] = 16  # black: Y 16, U = V = 128
    x, y = (width - w) // 4 * 2, (height - h) // 4 * 2  # even, for the half-size planes
    for index, (dst, src) in enumerate(zip(_planes(canvas, width, height), _planes(fitted, w, h))):
        step = 1 if index == 0 else 2
        dst[y // step:y // step + src.shape[0], x // step:x // step + src.shape[1]] = src
    return av.VideoFrame.from_ndarray(canvas, format="yuv420p")


def _frames(info: ClipInfo, start: Fraction, stop: Fraction, picture: _Picture
            ) -> Iterator[av.VideoFrame]:
    """The clip's frames shown at the film's frame times in [start, stop) (clip seconds): decoded
    from the keyframe before `start`, held or dropped where the clip's frame rate differs."""
    count = round((stop - start) * picture.fps)
    if count <= 0:
        return
    half = 1 / (2 * picture.fps)
    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if start > 0:
            container.seek(info.first_pts + math.floor(start / info.time_base), stream=stream,
                           backward=True)
        held, shown = None, 0
        for frame in container.decode(stream):
            at = (frame.pts - info.first_pts) * info.time_base
            while held is not None and shown < count and at > start + shown / picture.fps + half:
                yield _conform(held, picture)
                shown += 1
            if shown >= count:
                return
            held = frame
        while held is not None and shown < count:
            yield _conform(held, picture)
            shown += 1


def _blend(a: av.VideoFrame, b: av.VideoFrame, weight: float) -> av.VideoFrame:
    """(1 − weight) × a + weight × b, on the YUV planes."""
    w = round(weight * 256)
    mixed = (a.to_ndarray().astype(np.uint16) * (256 - w)
             + b.to_ndarray().astype(np.uint16) * w + 128) >> 8
    return av.VideoFrame.from_ndarray(mixed.astype(np.uint8), format="yuv420p")


# --- the plan: which span of each clip is copied, where it lands in the film ------------------------

@dataclass(frozen=True)
class _Part:
    """One clip's share of the film, in the clip's own seconds."""

    info: ClipInfo
    head: Fraction  # in-point
    blend_in: Fraction  # crossfade with the previous clip
    blend_out: Fraction  # crossfade with the next clip
    copy: tuple[Fraction, Fraction]  # packets copied: [start, end), empty when start == end
    film_start: Fraction  # where `head` lands in the film
    conform: bool

    @property
    def tail(self) -> Fraction:  # where the crossfade into the next clip begins
        return self.info.seconds - self.blend_out

    def film(self, local: Fraction) -> Fraction:
        return self.film_start + local - self.head


def _snap(seconds: float, fps: Fraction) -> Fraction:
    return Fraction(round(Fraction(seconds) * fps)) / fps


def _copy_span(info: ClipInfo, lo: Fraction, hi: Fraction, to_end: bool
               ) -> tuple[Fraction, Fraction]:
    """The span of [lo, hi) whose packets decode on their own: it starts at a keyframe, and ends
    at one too when B-frames may look ahead past the end (or at the clip's end)."""
    start = next((k for k in info.keyframes if k >= lo), None)
    if to_end:
        end: Fraction | None = info.seconds
    elif not info.video.delay:
        end = hi
    else:
        end = max((k for k in info.keyframes if k <= hi), default=None)
    if start is None or end is None or end <= start:
        return lo, lo
    return start, end


def _plan(infos: list[ClipInfo], starts: list[float], seams: list[Seam]) -> list[_Part]:
    first = infos[0].video
    parts: list[_Part] = []
    film_at = Fraction(0)
    for index, info in enumerate(infos):
        start = starts[index]
        head = _snap(start, first.fps) if isinstance(start, (int, float)) else Fraction(-1)
        if not 0 <= head < info.seconds:
            raise InvalidInput(f"clips[{index}].start",
                               f"must lie inside {info.path.name} (0 to "
                               f"{float(info.seconds):.2f} s), got {start!r}")
        blend_in = parts[-1].blend_out if parts else Fraction(0)
        seam = seams[index] if index < len(seams) else Seam()
        blend_out = Fraction(0)
        if seam.transition == "crossfade":
            seconds = seam.seconds
            blend_out = _snap(seconds, first.fps) if isinstance(seconds, (int, float)) else blend_out
            if blend_out <= 0:
                raise InvalidInput(f"seams[{index}]", "a crossfade must last at least one frame "
                                                      f"(1/{first.fps} s), got {seconds!r}")
        if head + blend_in > info.seconds - blend_out:
            raise InvalidInput(f"seams[{index if blend_out else index - 1}]",
                               f"the crossfades do not fit in {info.path.name}: it has "
                               f"{float(info.seconds - head):.2f} s, they need "
                               f"{float(blend_in + blend_out):.2f} s; use shorter crossfades")
        conform = info.video != first
        lo = head + blend_in
        copy = (lo, lo) if conform else _copy_span(info, lo, info.seconds - blend_out,
                                                   not blend_out)
        parts.append(_Part(info, head, blend_in, blend_out, copy, film_at, conform))
        film_at += info.seconds - head - blend_out
    return parts


def _seams(count: int, transition: Transition, crossfade_seconds: float,
           seams: Sequence[Seam] | None) -> list[Seam]:
    if seams is None:
        if transition not in TRANSITIONS:
            raise InvalidInput("transition", f"unknown transition {transition!r}", TRANSITIONS)
        seams = [Seam(transition, crossfade_seconds)] * (count - 1)
    elif len(seams) != count - 1:
        raise InvalidInput("seams", f"needs one seam per join: {count - 1} for {count} clips, "
                                    f"got {len(seams)}")
    for index, seam in enumerate(seams):
        if seam.transition not in TRANSITIONS:
            raise InvalidInput(f"seams[{index}]", f"unknown transition {seam.transition!r}",
                               TRANSITIONS)
    return list(seams)


# --- the film's one sound track --------------------------------------------------------------------

@functools.cache
def silent_aac(rate: int, layout: str) -> bytes:
    """One AAC frame of silence (the encoder's steady state, so any number of them in a row is
    silence): encoded once per format, repeated as long as a shot needs."""
    encoder = av.CodecContext.create("aac", "w")
    encoder.sample_rate, encoder.layout, encoder.format = rate, layout, "fltp"
    encoder.time_base = Fraction(1, rate)
    packets = []
    for index in range(4):
        zeros = np.zeros((av.AudioLayout(layout).nb_channels, AAC_FRAME), np.float32)
        frame = av.AudioFrame.from_ndarray(zeros, format="fltp", layout=layout)
        frame.sample_rate, frame.pts = rate, index * AAC_FRAME
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    return bytes(packets[2])  # after the priming frame and the first


class _Sound:
    """Writes the film's audio stream in order: copied or transcoded packets, and silence where a
    shot has none (or its sound stops early)."""

    def __init__(self, container: av.container.OutputContainer, stream: av.AudioStream,
                 rate: int, layout: str) -> None:
        self.container, self.stream, self.rate, self.layout = container, stream, rate, layout
        self.time_base = Fraction(1, rate)
        self.end = 0  # samples: where the track has got to
        self.last: int | None = None  # start of the last packet written

    def put(self, packet: av.Packet, start: int, duration: int) -> None:
        self.fill(start)
        if self.last is not None and start <= self.last:
            return  # an overlap of a fraction of a frame at a seam: the earlier packet wins
        packet.stream = self.stream
        packet.time_base = self.time_base
        packet.pts = packet.dts = start
        packet.duration = duration
        self.container.mux(packet)
        self.last, self.end = start, max(self.end, start + duration)

    def fill(self, until: int) -> None:
        while until - self.end >= AAC_FRAME // 2:
            self.put(av.Packet(silent_aac(self.rate, self.layout)), self.end, AAC_FRAME)


class _Transcoder:
    """A clip's sound in another format, decoded and re-encoded to the film's."""

    def __init__(self, sound: _Sound) -> None:
        self.sound = sound
        self.resampler = av.AudioResampler(format="fltp", layout=sound.layout, rate=sound.rate,
                                           frame_size=AAC_FRAME)
        self.encoder = av.CodecContext.create("aac", "w")
        self.encoder.sample_rate, self.encoder.layout = sound.rate, sound.layout
        self.encoder.format, self.encoder.time_base = "fltp", sound.time_base
        self.origin: int | None = None  # film sample of the first sample fed
        self.fed = 0

    def feed(self, frame: av.AudioFrame | None, film_sample: int) -> None:
        if self.origin is None:
            if frame is None:
                return
            self.origin = film_sample
        for out in self.resampler.resample(frame):
            out.pts, out.time_base = self.fed, self.sound.time_base
            self.fed += out.samples
            self._put(self.encoder.encode(out))
        if frame is None:
            self._put(self.encoder.encode(None))

    def _put(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            if packet.pts is not None and packet.pts >= 0:  # the priming frame lies before
                assert self.origin is not None
                self.sound.put(packet, self.origin + packet.pts, packet.duration or AAC_FRAME)


# --- writing ------------------------------------------------------------------------------------------

@dataclass
class _Writer:
    container: av.container.OutputContainer
    video: av.VideoStream
    sound: _Sound
    picture: _Picture
    length_size: int
    delay: Fraction  # the film's B-frame delay: every dts is pts minus this
    segment_sets: tuple[bytes, bytes] | None
    copied: int = 0
    encoded: int = 0
    transcoded: list[int] = field(default_factory=list)

    def clip(self, index: int, part: _Part, first: bool) -> None:
        """The clip's copied packets and its sound, in the clip's own interleaving."""
        info, (c0, c1) = part.info, part.copy
        sound_from = None if first and not part.head else part.head + part.blend_in / 2
        sound_to = info.seconds - part.blend_out / 2
        rate = self.sound.rate

        def film_sample(local: Fraction) -> int:
            return round(part.film(local) * rate)

        with av.open(str(info.path)) as container:
            vstream = container.streams.video[0]
            astream = container.streams.audio[0] if container.streams.audio else None
            atb = Fraction(astream.time_base) if astream is not None else Fraction(0)
            transcoder = None
            if astream is not None and not _copyable(info.sound, rate, self.sound.layout):
                transcoder = _Transcoder(self.sound)
                self.transcoded.append(index)
            shift = round((part.film_start - part.head) / info.time_base) - info.first_pts
            for packet in container.demux(vstream, *([astream] if astream else [])):
                if packet.pts is None or not packet.size:
                    continue
                if packet.stream is vstream:
                    local = (packet.pts - info.first_pts) * info.time_base
                    if not c0 <= local < c1:
                        continue
                    if astream is None:  # silence keeps pace with the picture
                        self.sound.fill(min(film_sample(local), film_sample(sound_to)))
                    packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                    packet.stream = self.video
                    self.container.mux(packet)
                    self.copied += 1
                    continue
                local = packet.pts * atb - info.first_pts * info.time_base  # on the video's clock
                if (sound_from is not None and local < sound_from) or local >= sound_to:
                    continue
                if transcoder is not None:
                    for frame in packet.decode():
                        transcoder.feed(frame, film_sample(local))
                else:
                    self.sound.put(packet, film_sample(local),
                                   round((packet.duration or AAC_FRAME) * atb * rate))
            if transcoder is not None:
                transcoder.feed(None, 0)
        self.sound.fill(film_sample(sound_to))

    def segment(self, frames: Iterator[av.VideoFrame], film_start: Fraction) -> None:
        """Frames encoded into the film from `film_start`: the parts that cannot be copied."""
        assert self.segment_sets is not None
        encoder = _segment_encoder(self.picture)
        tb = Fraction(self.video.time_base)
        delay = round(self.delay / tb)
        shown = 0

        def put(packets: list[av.Packet]) -> None:
            for packet in packets:
                units = _annexb_units(bytes(packet))
                sets = tuple(u for u in units if u[0] & 0x1F in (_SPS, _PPS))
                if sets and sets != self.segment_sets:
                    raise RuntimeError("the segment encoder changed its parameter sets")
                data = b"".join(len(u).to_bytes(self.length_size, "big") + u
                                for u in units if u[0] & 0x1F not in (_SPS, _PPS))
                out = av.Packet(data)
                out.stream, out.time_base = self.video, tb
                out.pts = round((film_start + packet.pts / self.picture.fps) / tb)
                out.dts = out.pts - delay
                out.duration = round(1 / (self.picture.fps * tb))
                out.is_keyframe = packet.is_keyframe
                self.container.mux(out)

        for frame in frames:
            frame.pts, frame.time_base = shown, encoder.time_base  # in frames, not the clip's ticks
            frame.pict_type = PictureType.NONE  # a decoded frame's type would force the encoder's
            shown += 1
            put(encoder.encode(frame))
        put(encoder.encode(None))
        self.encoded += shown


def _copyable(sound: SoundSpec | None, rate: int, layout: str) -> bool:
    """Whether the clip's AAC frames can go into the film's track as they are."""
    return (sound is not None and sound.codec == "aac" and sound.profile == "LC"
            and sound.rate == rate and sound.channels == av.AudioLayout(layout).nb_channels)


def _junction(a: _Part | None, b: _Part | None) -> bool:
    """Whether frames must be encoded between a's copied span and b's (None: the film's ends)."""
    return (a is not None and a.copy[1] < a.info.seconds) or (b is not None and b.copy[0] > b.head)


def _junction_frames(a: _Part | None, b: _Part | None, picture: _Picture
                     ) -> Iterator[av.VideoFrame]:
    """What lies between a's copied span and b's: a's rest, the crossfade, b's lead-in."""
    with ExitStack() as stack:
        a_frames: Iterator[av.VideoFrame] = iter(())
        b_frames: Iterator[av.VideoFrame] = iter(())
        if a is not None:
            a_frames = stack.enter_context(closing(_frames(a.info, a.copy[1], a.info.seconds,
                                                           picture)))
            yield from islice(a_frames, round((a.tail - a.copy[1]) * picture.fps))
        if b is not None:
            b_frames = stack.enter_context(closing(_frames(b.info, b.head, b.copy[0], picture)))
        count = round(a.blend_out * picture.fps) if a is not None and b is not None else 0
        for k, (x, y) in enumerate(zip(islice(a_frames, count), islice(b_frames, count))):
            yield _blend(x, y, (k + 1) / (count + 1))
        yield from b_frames


def assemble(clips: Sequence[Path | Clip], dest: Path, *, transition: Transition = "cut",
             crossfade_seconds: float = DEFAULT_CROSSFADE_SECONDS,
             seams: Sequence[Seam] | None = None) -> FilmInfo:
    """Join the clips (paths, or Clip(path, start) to begin a clip at an in-point) into one
    fast-start MP4 at `dest`, in order.

    Every join is `transition` (a crossfade lasts `crossfade_seconds`), or per join `seams[i]`
    (one per pair of neighbours). The film has the first clip's size, frame rate and H.264
    settings, one video stream and exactly one AAC audio stream: a clip without sound gets
    silence of its length, and a film of silent clips gets a silent track throughout.

    Packets are copied, never re-encoded, where a clip's video agrees with the first clip's
    (codec, size, pixel format, frame rate, B-frame delay and parameter sets). Re-encoded with
    libx264 (ultrafast, CRF 20, the first clip's colours): a clip whose video differs (scaled to
    fit, with black bars for another aspect), and around each crossfade the frames from the last
    keyframe of the outgoing clip before the crossfade (any frame when the clip has no B-frames)
    to the first keyframe of the incoming clip after it. Those segments name their own SPS and
    PPS (listed in the film's header beside the first clip's), so copied and new packets decode
    in one stream. A crossfade of d seconds overlaps the clips: the film is d shorter per
    crossfade; the sound cuts (packets copied) in its middle. Keyframes are taken to be closed-GOP
    (IDR), as the service's and every MP4 encoder's defaults are.

    Streamed: a few frames and packets are held at a time, whatever the film's length. Raises
    InvalidInput naming the clip or the seam that cannot be used; no file is left behind then.
    """
    if not clips:
        raise InvalidInput("clips", "needs at least one clip to make a film")
    items = [c if isinstance(c, Clip) else Clip(Path(c)) for c in clips]
    seam_list = _seams(len(items), transition, crossfade_seconds, seams)
    infos = [probe(Path(item.path), f"clips[{i}]") for i, item in enumerate(items)]
    first = infos[0]
    if first.video.codec != "h264" or first.video.pix_fmt != "yuv420p":
        raise InvalidInput("clips[0]", f"{first.path.name} is {first.video.codec} "
                                       f"{first.video.pix_fmt}; the film takes its format from "
                                       "the first clip, which must be H.264 yuv420p like the "
                                       "service's videos")
    try:
        config = AvcConfig.parse(first.video.extradata)
    except (ValueError, IndexError):
        raise InvalidInput("clips[0]", f"{first.path.name} has no H.264 'avcC' header; pass an "
                                       "MP4 as downloaded from the service") from None
    parts = _plan(infos, [item.start for item in items], seam_list)
    picture = _Picture(first.video.width, first.video.height, first.video.fps, first.colors,
                       _free_sps_id(config))
    ends: list[_Part | None] = [None, *parts, None]
    joins = list(pairwise(ends))  # before the first clip, between each two, after the last
    sets = segment_parameter_sets(picture) if any(_junction(*j) for j in joins) else None
    sound_spec = next((i.sound for i in infos if i.sound is not None), None)
    rate, layout = ((sound_spec.rate, sound_spec.layout) if sound_spec is not None
                    else (SILENT_RATE, SILENT_LAYOUT))
    dest = Path(dest)
    partial = dest.with_name(f".{dest.name}.part")
    try:
        with av.open(str(partial), "w", format="mp4",
                     options={"movflags": "+faststart"}) as container:
            with av.open(str(first.path)) as template:
                video = container.add_stream_from_template(template.streams.video[0])
            if sets is not None:
                header = AvcConfig(config.head, config.length_size, (*config.sps, sets[0]),
                                   (*config.pps, sets[1]), config.tail)
                video.codec_context.extradata = header.to_bytes()
            audio = container.add_stream("aac", rate=rate, layout=layout)
            writer = _Writer(container, video, _Sound(container, audio, rate, layout), picture,
                             config.length_size, first.video.delay, sets)
            for index, (a, b) in enumerate(joins):
                if _junction(a, b):
                    writer.segment(_junction_frames(a, b, picture),
                                   a.film(a.copy[1]) if a is not None else Fraction(0))
                if b is not None:
                    writer.clip(index, b, index == 0)
        os.replace(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    last = parts[-1]
    seconds = last.film(last.info.seconds)
    return FilmInfo(dest, float(seconds), writer.copied + writer.encoded, picture.width,
                    picture.height, picture.fps, tuple(float(p.film_start) for p in parts),
                    writer.copied, writer.encoded,
                    tuple(i for i, p in enumerate(parts) if p.conform),
                    tuple(i for i, info in enumerate(infos) if info.sound is None),
                    tuple(writer.transcoded))
