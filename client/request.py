"""VideoRequest: what a person asks for, checked against the catalog, and the JSON it becomes."""

from __future__ import annotations

import base64
import binascii
import math
import re
import unicodedata
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from . import catalog
from .catalog import Audio, Model
from .errors import InvalidInput
from .links import URL_MAX_CHARS, check_public_url  # noqa: F401 - callers import it from here
from .media import ImageInfo, probe_image

SHOT_TYPES = ("single", "multi")
_REMOTE_SCHEMES = ("http", "https", "oss")


@dataclass(frozen=True)
class VideoRequest:
    """One image-to-video job. Media are URLs (http/https/oss/data) or local paths."""

    model: str
    image: str | Path | None = None
    prompt: str = ""
    negative_prompt: str = ""
    audio_url: str | Path | None = None  # a voice track or song (wan2.5 / wan2.6)
    audio: bool | None = None  # the sound switch (wan2.6-i2v-flash only); None = model default
    resolution: str | None = None  # None = the model's default
    duration: int | None = None  # None = the model's default
    shot_type: str | None = None  # "single" / "multi" (wan2.6 only)
    template: str | None = None  # effect template id (wan2.1 in Beijing only)
    seed: int | None = None
    prompt_extend: bool = True
    watermark: bool = False
    region: str = catalog.DEFAULT_REGION
    notices: tuple[str, ...] = field(default=(), compare=False)  # filled in by validate()

    def replace(self, **changes: Any) -> VideoRequest:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able settings (for history records and "use these settings again")."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "notices"}
        for key in ("image", "audio_url"):
            if isinstance(out[key], Path):
                out[key] = str(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoRequest:
        known = {f.name for f in fields(cls)} - {"notices"}
        return cls(**{k: v for k, v in data.items() if k in known})


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


def _check_template(req: VideoRequest, base: Model, model: Model) -> None:
    if not base.templates:
        holders = ", ".join(m.id for m in catalog.models_in_region(req.region) if m.templates)
        raise InvalidInput("template", f"{req.model} does not take effect templates"
                                       + (f"; they exist on {holders}" if holders else ""))
    if not catalog.REGIONS[req.region].templates:
        raise InvalidInput("template", "effect templates exist only in the Beijing region; "
                                       "switch the region to Beijing")
    if req.template not in model.templates:
        raise InvalidInput("template", f"{req.model} has no template {req.template!r}",
                           model.templates)


def validate(req: VideoRequest, *, check_media: bool = True) -> VideoRequest:
    """Refuse with InvalidInput what the service would refuse (or silently ignore).

    Returns the request with defaults filled in and `notices` for things worth telling the user.
    With check_media, local files and data URIs are opened and checked (size, format, sides...).
    """
    model = deployed_model(req.model, req.region)
    base = catalog.MODELS[req.model]
    notices: list[str] = []

    resolution = req.resolution or model.default_resolution
    if resolution not in model.resolutions:
        raise InvalidInput("resolution", f"{req.model} does not make {resolution} video",
                           model.resolutions)
    duration = model.default_duration if req.duration is None else req.duration
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise InvalidInput("duration", "must be a whole number of seconds", model.durations)
    if duration not in model.durations:
        rule = (f"{req.model} makes {model.durations[0]}–{model.durations[-1]} s videos"
                if model.duration_is_range else f"{req.model} cannot make {duration} s videos")
        raise InvalidInput("duration", rule, model.durations)

    if req.shot_type is not None:
        if not model.accepts_shot_type:
            raise InvalidInput("shot_type", f"{req.model} has no shot type; multi-shot "
                                            "storytelling needs a wan2.6 model")
        if req.shot_type not in SHOT_TYPES:
            raise InvalidInput("shot_type", f"unknown shot type {req.shot_type!r}", SHOT_TYPES)
        if req.shot_type == "multi" and not req.prompt_extend:
            # The service would quietly make a single shot; say so instead of charging for it.
            raise InvalidInput("shot_type", "multi-shot needs prompt rewriting (prompt_extend) "
                                            "on; turn it on or choose a single shot")
    if req.audio is not None and model.audio is not Audio.SWITCHABLE:
        raise InvalidInput("audio", f"{req.model} has no sound switch; "
                           + ("its videos always have sound" if model.audio is Audio.ALWAYS
                              else "its videos are always silent"))
    if req.audio_url is not None and not model.accepts_audio_url:
        raise InvalidInput("audio_url", f"{req.model} makes silent video and takes no audio; "
                                        "choose a wan2.5 or wan2.6 model for sound")
    if req.audio is False and req.audio_url is not None:
        notices.append("Sound is off, so the audio track is not used (and the video is silent).")

    if req.template is not None:
        _check_template(req, base, model)
        if req.prompt.strip():
            notices.append("With an effect template the prompt is not used.")
    _check_text(req.prompt, "prompt", model.prompt_max)
    _check_text(req.negative_prompt, "negative_prompt", model.negative_prompt_max)

    if req.seed is not None and (isinstance(req.seed, bool) or not isinstance(req.seed, int)
                                 or not 0 <= req.seed <= catalog.SEED_MAX):
        raise InvalidInput("seed", f"{req.seed!r} is outside the allowed range",
                           f"a whole number from 0 to {catalog.SEED_MAX}")

    if req.image is None or (isinstance(req.image, str) and not req.image.strip()):
        raise InvalidInput("image", "a first-frame picture is required; upload one or give its URL")
    _check_source(req.image, "image")
    if req.audio_url is not None:
        _check_source(req.audio_url, "audio_url")
    if check_media:
        _check_media(req)
    return req.replace(resolution=resolution, duration=duration, notices=tuple(notices))


_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+):")
_ACCEPTED_SCHEMES = ("http", "https", "oss", "data", "file")


def _check_source(value: str | Path, field_name: str) -> None:
    if isinstance(value, Path):
        return
    kind = source_kind(value)
    if len(value) > URL_MAX_CHARS and kind != "data":
        raise InvalidInput(field_name, f"the link is {len(value)} characters long; at most "
                                       f"{URL_MAX_CHARS} are accepted")
    if kind == "data" and field_name != "image":
        raise InvalidInput(field_name, "audio cannot be sent as a data URI; upload the file")
    scheme = _SCHEME.match(value)
    if scheme and scheme.group(1).lower() not in _ACCEPTED_SCHEMES:
        raise InvalidInput(field_name, f"links starting with {scheme.group(1)}: cannot be used",
                           ("http", "https", "oss", "data", "a local file"))


def _check_media(req: VideoRequest) -> None:
    from .media import probe_audio

    image_info(req.image)  # raises on a bad picture
    if req.audio_url is not None and source_kind(req.audio_url) == "file":
        path = local_path(req.audio_url)
        if not path.is_file():
            raise InvalidInput("audio_url", f"no such file: {path.name}")
        probe_audio(path, "audio_url")


def image_info(image: str | Path) -> ImageInfo | None:
    """Probe a local or data-URI image; None for remote URLs (the service checks those)."""
    kind = source_kind(image)
    if kind == "data":
        mime, data = decode_data_uri(str(image))
        info = probe_image(data, "image")
        if mime != info.mime:
            raise InvalidInput("image", f"the data URI says {mime} but holds {info.format}")
        return info
    if kind == "file":
        path = local_path(image)
        if not path.is_file():
            raise InvalidInput("image", f"no such file: {path.name}")
        return probe_image(path, "image")
    return None


# --- wire format -------------------------------------------------------------------------------------

def to_payload(req: VideoRequest, img_url: str, audio_url: str | None = None) -> dict[str, Any]:
    """The create-task JSON for a validated request, with media already turned into URLs.

    Leaves out every field the model does not take, and the prompt when a template drives it.
    """
    model = deployed_model(req.model, req.region)
    inp: dict[str, Any] = {"img_url": img_url}
    params: dict[str, Any] = {"resolution": req.resolution or model.default_resolution}
    if req.template is not None:
        inp["template"] = req.template
    else:
        if req.prompt:
            inp["prompt"] = req.prompt
        if req.negative_prompt:
            inp["negative_prompt"] = req.negative_prompt
        params["prompt_extend"] = req.prompt_extend
    if audio_url is not None and model.accepts_audio_url:
        inp["audio_url"] = audio_url
    if not model.duration_is_fixed:
        params["duration"] = model.default_duration if req.duration is None else req.duration
    if model.accepts_shot_type and req.shot_type is not None:
        params["shot_type"] = req.shot_type
    if model.audio is Audio.SWITCHABLE and req.audio is not None:
        params["audio"] = req.audio
    params["watermark"] = req.watermark
    if req.seed is not None:
        params["seed"] = req.seed
    return {"model": req.model, "input": inp, "parameters": params}


def from_payload(payload: dict[str, Any], region: str) -> VideoRequest:
    """The request a create-task JSON describes (the simulator checks it with validate())."""
    inp = payload.get("input") or {}
    params = payload.get("parameters") or {}
    return VideoRequest(
        model=payload.get("model") or "",
        image=inp.get("img_url"),
        prompt=inp.get("prompt") or "",
        negative_prompt=inp.get("negative_prompt") or "",
        audio_url=inp.get("audio_url"),
        audio=params.get("audio"),
        resolution=params.get("resolution"),
        duration=params.get("duration"),
        shot_type=params.get("shot_type"),
        template=inp.get("template"),
        seed=params.get("seed"),
        prompt_extend=params.get("prompt_extend", True),
        watermark=params.get("watermark", False),
        region=region,
    )


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
