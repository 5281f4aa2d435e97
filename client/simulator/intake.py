"""Turn a create call's media URLs (oss://, data:, http(s)) into checked bytes, or refuse them,
role by role under the model's wire rules. Links are fetched by the guarded
client.links.LinkFetcher, never by a plain GET."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi.concurrency import run_in_threadpool

from .. import media
from ..catalog import DRIVING_AUDIO, FIRST_CLIP, FIRST_FRAME, LAST_FRAME
from ..errors import InvalidInput
from ..fields import BY_NAME, FIELDS, MEDIA, Field
from ..links import LinkFetcher, LinkRefused
from ..media import CLIP_RULES, ImageInfo, ImageRules, VideoInfo
from ..protocols import Wire
from ..request import VideoRequest, clip_length_rule, decode_data_uri, has_sound, source_kind
from .responses import FORMAT_UNSUPPORTED_MESSAGE, ApiRefusal, message_for
from .state import Store

# VideoRequest field -> where it sits in the create JSON (media: by the wire, see wire_field).
WIRE_FIELDS = {f.name: f.wire_name for f in FIELDS if f.wire is not None}
_OTHER_FIELDS = {"media": "input.media"}  # client.request.from_payload's unreadable media list


def wire_field(field_name: str, wire: Wire) -> str:
    """How the create JSON of this wire names a VideoRequest field, e.g. input.media[last_frame]."""
    f = BY_NAME.get(field_name)
    if f is not None and f.role is not None:
        return wire.wire_name(f.role)
    return WIRE_FIELDS.get(field_name) or _OTHER_FIELDS.get(field_name, f"parameters.{field_name}")


def invalid_parameter(exc: InvalidInput, wire: Wire) -> ApiRefusal:
    """InvalidParameter whose message names the JSON field, the rule and what is allowed."""
    name = wire_field(exc.field, wire)
    text = exc.message
    if text.startswith(f"{exc.field}:"):
        text = text[len(exc.field) + 1 :].lstrip()
    # A rule that names its field already ("Field required: input.media") is said as it is.
    return ApiRefusal("InvalidParameter", text if name in text else f"{name}: {text}")


@dataclass(frozen=True)
class Intake:
    """Where one create call's media come from and the rules they are checked by."""

    links: LinkFetcher
    store: Store
    account: str
    model_id: str
    wire: Wire
    image_rules: ImageRules  # first and last frames (the wire's, or the simulator's own)


@dataclass(frozen=True)
class Media:
    """A create call's media, fetched and checked: what its render needs."""

    image: bytes  # the first frame; b"" for a continuation
    width: int  # of the first frame, or of the clip a continuation begins with
    height: int
    audio: bytes | None  # driving audio (audio_url), when the video has sound
    last_frame: bytes | None
    first_clip: bytes | None
    clip_seconds: float  # 0.0 without a clip


def uses_oss(req: VideoRequest) -> bool:
    """Whether any medium is an oss:// upload (then the resolve header is required)."""
    return any(source_kind(str(v)) == "oss" for f in MEDIA if (v := getattr(req, f.name)))


async def gather_media(req: VideoRequest, intake: Intake) -> Media:
    """Every medium the validated request names, fetched and checked by its role's rules;
    ApiRefusal for the first that fails."""
    found: dict[str, bytes] = {}
    infos: dict[str, ImageInfo | VideoInfo] = {}
    for f in MEDIA:
        url = getattr(req, f.name)
        if url is None or (f.role == DRIVING_AUDIO and not has_sound(req)):
            continue  # a silenced video's track is not fetched: the service ignores it
        data = await _fetch(str(url), f, intake)
        info = await run_in_threadpool(_check, data, f, intake)
        found[str(f.role)] = data
        if info is not None:
            infos[str(f.role)] = info
    clip = infos.get(FIRST_CLIP)
    clip_seconds = clip.seconds if isinstance(clip, VideoInfo) else 0.0
    if clip is not None:
        _check_clip_length(clip_seconds, int(req.duration or 0), intake.wire)
    source = infos[FIRST_FRAME] if FIRST_FRAME in infos else infos[FIRST_CLIP]
    return Media(found.get(FIRST_FRAME, b""), source.width, source.height,
                 found.get(DRIVING_AUDIO), found.get(LAST_FRAME), found.get(FIRST_CLIP),
                 clip_seconds)


def _cap(f: Field, intake: Intake) -> int:
    """The most bytes a download for this role may hold."""
    if f.media == "image":
        return intake.image_rules.max_bytes
    return intake.wire.audio_rules.max_bytes if f.media == "audio" else CLIP_RULES.max_bytes


async def _fetch(url: str, f: Field, intake: Intake) -> bytes:
    """The bytes a media field names; a link goes through the guarded fetcher."""
    if source_kind(url) != "url":
        return await run_in_threadpool(_read_stored, url, f.name, intake)
    try:
        return await intake.links.fetch(url, str(f.media), _cap(f, intake))
    except LinkRefused as refusal:
        where = wire_field(f.name, intake.wire)
        raise ApiRefusal(
            "InvalidParameter.DataInspection",
            f"{message_for('InvalidParameter.DataInspection')} ({where}: {refusal})",
        ) from None


def _read_stored(url: str, field_name: str, intake: Intake) -> bytes:
    """A data URI's bytes or an oss:// upload's (off the event loop: decoding and disk reads).
    The resolve header for oss:// was checked before (uses_oss)."""
    kind = source_kind(url)
    if kind == "data":
        try:
            return decode_data_uri(url, field_name)[1]
        except InvalidInput as exc:
            raise invalid_parameter(exc, intake.wire) from None
    if kind == "oss":
        upload = intake.store.upload(url[len("oss://") :])
        if upload is None or upload.account != intake.account or upload.model != intake.model_id:
            raise ApiRefusal("InvalidParameter.DataInspection")
        return upload.data
    raise ApiRefusal(
        "InvalidURL",
        f"Invalid URL provided in your request: {wire_field(field_name, intake.wire)} must be "
        "an http(s) URL, an oss:// upload or a data URI, not a local path.",
    )


def _check(data: bytes, f: Field, intake: Intake) -> ImageInfo | VideoInfo | None:
    """The medium checked by its role's rules: a picture's or a clip's description, None for
    audio; ApiRefusal naming the wire field otherwise."""
    try:
        if f.media == "image":
            return media.probe_image(data, f.name, intake.image_rules)
        if f.media == "video":
            return media.probe_video(data, f.name, CLIP_RULES)  # the movie header only
        _check_audio(data, f.name, intake.wire)
        return None
    except InvalidInput as exc:
        if exc.allowed == media.IMAGE_FORMATS:
            raise ApiRefusal(
                "InvalidParameter.DataInspection",
                f"{FORMAT_UNSUPPORTED_MESSAGE} ({wire_field(f.name, intake.wire)}: {exc.rule})",
            ) from None
        raise invalid_parameter(exc, intake.wire) from None


def _check_audio(data: bytes, field_name: str, wire: Wire) -> None:
    with tempfile.TemporaryDirectory(prefix="wan-sim-audio-") as tmp:
        path = Path(tmp) / "audio"
        path.write_bytes(data)
        # Bounded; not cached, since every upload is a new file.
        media.probe_audio(path, field_name, cache=False, rules=wire.audio_rules)


def _check_clip_length(seconds: float, duration: int, wire: Wire) -> None:
    """`duration` counts the clip to continue (spec §5 decision 6): it must be longer."""
    if (rule := clip_length_rule(seconds, duration)) is not None:
        raise invalid_parameter(InvalidInput("duration", rule), wire)
