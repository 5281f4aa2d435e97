"""What a request may hold, checked against the catalog, and the JSON it becomes. The fields and
their rules are declared once, in client.fields; this module applies them."""

from __future__ import annotations

import base64
import binascii
import math
import re
import unicodedata
from pathlib import Path
from typing import Any

from . import catalog
from .catalog import FIRST_CLIP, FIRST_FRAME, FRAME_ONLY, LAST_FRAME, Audio, Model
from .errors import InvalidInput
from .fields import (  # noqa: F401 - SHOT_TYPES and VideoRequest: callers import them from here
    BY_ROLE,
    FIELDS,
    MEDIA,
    MEDIA_FIELDS,
    ROLE_NOUNS,
    SHOT_TYPES,
    Field,
    VideoRequest,
    fields_for,
)
from .links import URL_MAX_CHARS, check_public_url  # noqa: F401 - callers import it from here
from .media import LEGACY_IMAGE, ImageInfo, ImageRules, probe_image, probe_video
from .protocols import Wire, wire_for, wire_of

# --- media sources ---------------------------------------------------------------------------------

def source_kind(value: str | Path) -> str:
    """'url' (http/https), 'oss', 'data' (base64 data URI) or 'file' (a local path or file://)."""
    if isinstance(value, Path):
        return "file"
    lowered = value[:12].lower()
    if lowered.startswith(("http://", "https://")):
        return "url"
    if lowered.startswith("oss://"):
        return "oss"
    if lowered.startswith("data:"):
        return "data"
    return "file"


def local_path(value: str | Path) -> Path:
    """The path of a local file source (bare path or file:// URI)."""
    if isinstance(value, Path):
        return value
    return Path(value.removeprefix("file://"))


def decode_data_uri(uri: str, field_name: str = "image") -> tuple[str, bytes]:
    """(mime, bytes) of a data:{mime};base64,{data} URI."""
    header, sep, payload = uri.partition(",")
    if not sep or not header.endswith(";base64"):
        raise InvalidInput(field_name, "a data URI must look like data:image/png;base64,…")
    try:
        return header[5:-7], base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(field_name, "the base64 data in the data URI is damaged") from None


# --- validation --------------------------------------------------------------------------------------

def deployed_model(model_id: str, region_id: str) -> Model:
    """The model as offered in the region, or InvalidInput naming what is offered there."""
    if region_id not in catalog.REGIONS:
        raise InvalidInput("region", f"unknown region {region_id!r}", tuple(catalog.REGIONS))
    model = catalog.model_in_region(model_id, region_id)
    if model is None:
        offered = tuple(m.id for m in catalog.models_in_region(region_id))
        where = catalog.REGIONS[region_id].name_en
        rule = (f"{model_id} is not offered in {where}" if model_id in catalog.MODELS
                else f"unknown model {model_id!r}")
        raise InvalidInput("model", rule, offered)
    return model


def _check_text(value: str, field_name: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidInput(field_name, f"{len(value)} characters is over the limit of {limit}; "
                                       f"shorten it by {len(value) - limit}")
    bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in "\n\t\r"), None)
    if bad is not None:
        raise InvalidInput(field_name, f"contains the control character U+{ord(bad):04X}; "
                                       "remove it (paste the text as plain text)")


def validate(req: VideoRequest, *, check_media: bool = True) -> VideoRequest:
    """Refuse with InvalidInput what the service would refuse (or silently ignore).

    Returns the request with defaults filled in and `notices` for things worth telling the user.
    With check_media, local files and data URIs are opened and checked (size, format, sides...).
    """
    model = deployed_model(req.model, req.region)
    checked = {f.name: _checked(f, getattr(req, f.name), model, req.region) for f in FIELDS}
    if checked["shot_type"] == "multi" and not checked["prompt_extend"]:
        # The service would quietly make a single shot; say so instead of charging for it.
        raise InvalidInput("shot_type", "multi-shot needs prompt rewriting (prompt_extend) "
                                        "on; turn it on or choose a single shot")
    notices: list[str] = []
    if req.audio is False and checked["audio_url"] is not None:
        notices.append("Sound is off, so the audio track is not used (and the video is silent).")
    if req.template is not None and req.prompt.strip():
        notices.append("With an effect template the prompt is not used.")
    if req.template is not None and checked["last_frame"] is not None:
        checked["last_frame"] = None  # the service ignores it; do not upload it either
        notices.append("With an effect template the last frame is not used.")
    _check_media_set(model, {f.role for f in MEDIA if checked[f.name] is not None},
                     req.template is not None)
    valid = req.replace(**checked, notices=tuple(notices))
    if check_media:
        wire = wire_of(model)
        for f in MEDIA:
            _check_media(f, getattr(valid, f.name), wire)
        valid = _check_clip_length(valid)
    return valid


def _check_media_set(model: Model, present: set[str | None], template: bool) -> None:
    """Refuse media the model does not take together, naming the field to add or remove."""
    allowed = model.media + (FRAME_ONLY if template else ())  # a template needs one picture
    if present in allowed:
        return
    wider = [combo for combo in allowed if present <= combo]
    if wider:
        role = next(r for r in BY_ROLE if r in min(wider, key=len) - present)
        rule = BY_ROLE[role].required or f"{model.id} needs {ROLE_NOUNS[role]}"
        if role == FIRST_FRAME and FIRST_CLIP in model.roles:
            rule += " (or a clip to continue)"
        elif role == LAST_FRAME and model.templates:
            rule += ", or choose an effect template (it needs only the first frame)"
        raise InvalidInput(BY_ROLE[role].name, rule)
    given = [r for r in BY_ROLE if r in present]
    for later, role in enumerate(given[1:], 1):
        for earlier in given[:later]:
            if not any({earlier, role} <= combo for combo in allowed):
                raise InvalidInput(BY_ROLE[role].name,
                                   f"{model.id} cannot take {ROLE_NOUNS[role]} together with "
                                   f"{ROLE_NOUNS[earlier]}; remove one of them")
    raise InvalidInput(BY_ROLE[given[-1]].name, f"{model.id} does not take this set of media")


def clip_length_rule(seconds: float, total: int) -> str | None:
    """Why `total` seconds cannot continue a clip of `seconds` (it counts the clip), or None."""
    if total > seconds:
        return None
    return (f"the duration counts the {seconds:.1f} s clip to continue, so {total} s leaves no "
            f"new video; choose at least {math.floor(seconds) + 1} s")


def _check_clip_length(req: VideoRequest) -> VideoRequest:
    """`duration` counts a clip to continue: it must be longer than the clip; say what is new."""
    if req.first_clip is None or source_kind(req.first_clip) != "file":
        return req
    seconds = probe_video(local_path(req.first_clip), "first_clip").seconds
    total = req.duration or deployed_model(req.model, req.region).default_duration
    if (rule := clip_length_rule(seconds, total)) is not None:
        raise InvalidInput("duration", rule)
    new = f"The {seconds:.1f} s clip and {total - seconds:.1f} s of new video make {total} s."
    return req.replace(notices=(*req.notices, new))


def _checked(f: Field, value: Any, model: Model, region: str) -> Any:
    """The field's value as the model takes it (its default filled in), or InvalidInput."""
    if value is None or (f.kind == "media" and isinstance(value, str) and not value.strip()):
        if f.required and f.role is None:  # a medium is needed or not by its combination
            raise InvalidInput(f.name, f.required)
        return f.fallback(model) if f.fallback else f.default
    if f.refusal is not None and value != f.default and not f.takes(model):
        raise InvalidInput(f.name, f.refusal(model, region))
    _check_type(f, value, model)
    allowed = f.allowed(model)
    if allowed is not None and value not in allowed:
        rule = f.bad_value(model, value) if f.bad_value else f"{value!r} is not offered"
        raise InvalidInput(f.name, rule, allowed)
    if f.bounds is not None and not f.bounds[0] <= value <= f.bounds[1]:
        raise InvalidInput(f.name, f"{value!r} is outside the allowed range",
                           f"a whole number from {f.bounds[0]} to {f.bounds[1]}")
    if f.max_chars is not None:
        _check_text(value, f.name, f.max_chars(model))
    if f.kind == "media":
        _check_source(value, f)
    return value


def _check_type(f: Field, value: Any, model: Model) -> None:
    if f.kind == "media":
        ok = isinstance(value, (str, Path))
    elif f.json_type is int:  # bool is an int to Python, not to the service
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, f.json_type)
    if not ok:
        what = {str: "text", int: "a whole number", bool: "true or false"}[f.json_type]
        allowed = f.allowed(model) or (f.bounds and
                                       f"a whole number from {f.bounds[0]} to {f.bounds[1]}")
        raise InvalidInput(f.name, f"{value!r} is not {what}", allowed or None)


_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+):")
_ACCEPTED_SCHEMES = ("http", "https", "oss", "data", "file")


def _check_source(value: str | Path, f: Field) -> None:
    if isinstance(value, Path):
        return
    kind = source_kind(value)
    if len(value) > URL_MAX_CHARS and kind != "data":
        raise InvalidInput(f.name, f"the link is {len(value)} characters long; at most "
                                   f"{URL_MAX_CHARS} are accepted")
    if kind == "data" and f.media != "image":
        raise InvalidInput(f.name, f"{f.media} cannot be sent as a data URI; upload the file")
    scheme = _SCHEME.match(value)
    if scheme and scheme.group(1).lower() not in _ACCEPTED_SCHEMES:
        raise InvalidInput(f.name, f"links starting with {scheme.group(1)}: cannot be used",
                           ("http", "https", "oss", "data", "a local file"))


def _check_media(f: Field, value: str | Path | None, wire: Wire) -> None:
    """Open and check a local or inline medium by its role's rules (links are the service's
    to fetch)."""
    from .media import probe_audio

    if value is None:
        return
    if f.media == "image":
        image_info(value, f.name, wire.image_rules)  # raises on a bad picture
    elif source_kind(value) == "file":
        path = local_path(value)
        if not path.is_file():
            raise InvalidInput(f.name, f"no such file: {path.name}")
        if f.media == "audio":
            probe_audio(path, f.name, rules=wire.audio_rules)
        else:
            probe_video(path, f.name)


def image_info(image: str | Path, field_name: str = "image",
               rules: ImageRules = LEGACY_IMAGE) -> ImageInfo | None:
    """Probe a local or data-URI image; None for remote URLs (the service checks those)."""
    kind = source_kind(image)
    if kind == "data":
        mime, data = decode_data_uri(str(image), field_name)
        info = probe_image(data, field_name, rules)
        if mime != info.mime:
            raise InvalidInput(field_name, f"the data URI says {mime} but holds {info.format}")
        return info
    if kind == "file":
        path = local_path(image)
        if not path.is_file():
            raise InvalidInput(field_name, f"no such file: {path.name}")
        return probe_image(path, field_name, rules)
    return None


# --- wire format -------------------------------------------------------------------------------------

def to_payload(req: VideoRequest, *media_urls: str | None) -> dict[str, Any]:
    """The create-task JSON for a validated request, its media (in the field list's order:
    image, audio_url, last_frame, first_clip) already turned into URLs, in the body the
    model's protocol speaks.

    Holds only the fields the model takes, and no prompt when a template drives the video.
    """
    model = deployed_model(req.model, req.region)
    wire = wire_of(model)
    urls = dict(zip(MEDIA_FIELDS, media_urls))
    body: dict[str, Any] = {"model": None, "input": {}, "parameters": {}}
    for f in fields_for(model):
        if f.prompt_part and req.template is not None:
            continue
        if f.role is not None:
            if url := urls.get(f.name):
                wire.put(body["input"], f.role, url)
            continue
        if f.wire is None:
            continue
        value = getattr(req, f.name)
        if value is None and f.fallback is not None:
            value = f.fallback(model)
        if value is not None and value != "":
            *path, key = f.wire
            (body[path[0]] if path else body)[key] = value
    return body


def from_payload(payload: dict[str, Any], region: str) -> VideoRequest:
    """The request a create-task JSON describes (the simulator checks it with validate()).
    InvalidInput("media", …) when the body's media cannot be read in its model's protocol."""
    values: dict[str, Any] = {"model": "", "region": region}
    model_id = payload.get("model")
    section = payload.get("input")
    if isinstance(model_id, str) and isinstance(section, dict):
        for role, url in wire_for(model_id).media_of(section).items():
            values[BY_ROLE[role].name] = url
    for f in FIELDS:
        if f.wire is None:
            continue
        *path, key = f.wire
        section = (payload.get(path[0]) or {}) if path else payload
        if section.get(key) is not None:
            values[f.name] = section[key]
    return VideoRequest(**values)


def has_sound(req: VideoRequest) -> bool:
    """Whether the finished video will carry an audio track."""
    model = deployed_model(req.model, req.region)
    if model.audio is Audio.SWITCHABLE:
        return req.audio is not False
    return model.audio is Audio.ALWAYS


def predict_output_size(width: int, height: int, resolution: str) -> tuple[int, int]:
    """Output width × height: the input's aspect at the tier's pixel count, sides floored to 16."""
    pixels = catalog.TIER_PIXELS[resolution]
    aspect = width / height
    return (int(math.sqrt(pixels * aspect)) // 16 * 16, int(math.sqrt(pixels / aspect)) // 16 * 16)


def estimated_price(req: VideoRequest) -> tuple[float, str] | None:
    model = deployed_model(req.model, req.region)
    return catalog.estimate_price(model, req.region, req.resolution or model.default_resolution,
                                  model.default_duration if req.duration is None else req.duration,
                                  has_sound(req))
