"""Before generating: what a request will cost and produce, and the same request as curl and
Python SDK code, both rendered from the JSON it sends (client.request.to_payload)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from client import catalog
from client.errors import InvalidInput
from client.fields import MEDIA, Field
from client.media import probe_video
from client.protocols import wire_of
from client.request import (
    VideoRequest,
    deployed_model,
    estimated_price,
    has_sound,
    image_info,
    local_path,
    predict_output_size,
    source_kind,
    to_payload,
    validate,
)

from .form import Form, build_request
from .i18n import t
from .messages import error_sentence

KEY_PLACEHOLDER = "$DASHSCOPE_API_KEY"  # the code never carries a key, only this reference
# A local file or data URI becomes a public link to replace in curl (and an inline one in the
# SDK code, which uploads local files itself), by media field.
STAND_INS = {"image": "https://example.com/your-picture.jpg",
             "audio_url": "https://example.com/your-audio.mp3",
             "last_frame": "https://example.com/your-last-frame.jpg",
             "first_clip": "https://example.com/your-clip.mp4"}
_NOUNS = {"image": "picture", "audio_url": "audio", "last_frame": "last frame",
          "first_clip": "clip"}
# The input keys VideoSynthesis.call (dashscope 2.0.2) takes as keywords; any other input key
# goes in its extra_input. Every parameters key is a keyword too: the ones it does not name it
# puts into parameters itself.
SDK_INPUT_KEYWORDS = ("prompt", "negative_prompt", "template", "img_url", "audio_url",
                      "first_frame_url", "last_frame_url", "media")


def _base_url(region: str) -> str:
    return catalog.REGIONS[region].base_url


def _curl_media(field: Field, value: str | Path | None) -> str | None:
    if value is None:
        return None
    return str(value) if source_kind(str(value)) in ("url", "oss") else STAND_INS[field.name]


def _sdk_media(field: Field, value: str | Path | None) -> str | None:
    if value is None:
        return None
    kind = source_kind(str(value))
    if kind in ("url", "oss"):
        return str(value)
    if kind == "file":
        return "file://" + str(value).removeprefix("file://")
    return STAND_INS[field.name]


def curl_code(req: VideoRequest) -> str:
    """A curl command that creates the same task; the key is read from the environment."""
    payload = to_payload(req, *(_curl_media(f, getattr(req, f.name)) for f in MEDIA))
    body = json.dumps(payload, ensure_ascii=False, indent=2)
    path = wire_of(deployed_model(req.model, req.region)).path
    lines = [f"curl -X POST {_base_url(req.region)}{path} \\",
             "  -H 'X-DashScope-Async: enable' \\",
             f'  -H "Authorization: Bearer {KEY_PLACEHOLDER}" \\',
             "  -H 'Content-Type: application/json' \\",
             f"  -d {shlex.quote(body)}"]
    note = _local_note(req)
    return (note + "\n" if note else "") + "\n".join(lines)


def _local_note(req: VideoRequest) -> str:
    local = [_NOUNS[f.name] for f in MEDIA if (value := getattr(req, f.name)) is not None
             and source_kind(str(value)) not in ("url", "oss")]
    if not local:
        return ""
    which = local[0] if len(local) == 1 else ", ".join(local[:-1]) + " and " + local[-1]
    files = "is a local file: put it" if len(local) == 1 else "are local files: put them"
    return (f"# Your {which} {files} at a public https:// link and use that link below (the "
            "Python SDK can upload local files itself).")


def sdk_arguments(payload: dict[str, Any]) -> list[tuple[str, Any]]:
    """VideoSynthesis.call's keyword arguments for a create JSON."""
    given = payload.get("input", {})
    extra = {k: v for k, v in given.items() if k not in SDK_INPUT_KEYWORDS}
    args: list[tuple[str, Any]] = [("model", payload["model"])]
    args += [(k, v) for k, v in given.items() if k in SDK_INPUT_KEYWORDS]
    if extra:
        args.append(("extra_input", extra))
    return args + list(payload.get("parameters", {}).items())


def sdk_code(req: VideoRequest) -> str:
    """The same request with the official dashscope SDK; local files become file:// paths."""
    payload = to_payload(req, *(_sdk_media(f, getattr(req, f.name)) for f in MEDIA))
    rendered = ['    api_key=os.environ["DASHSCOPE_API_KEY"],']
    rendered += [f"    {name}={_py(value)}," for name, value in sdk_arguments(payload)]
    lines = ["# pip install dashscope", "import os", "", "import dashscope",
             "from dashscope import VideoSynthesis", "",
             f'dashscope.base_http_api_url = "{_base_url(req.region)}"',
             "response = VideoSynthesis.call(", *rendered, ")",
             "print(response.output.video_url)"]
    return "\n".join(lines)


def _py(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def output_seconds_and_sound(req: VideoRequest) -> tuple[int, bool]:
    model = deployed_model(req.model, req.region)
    return (model.default_duration if req.duration is None else req.duration), has_sound(req)


def preview_outputs(form: Form, lang: str, simulated: bool) -> tuple[str, str, str, str]:
    """(predicted video size, estimated price, curl, Python SDK code) for the form as it is."""
    try:
        req = build_request(form)
        start = {} if req.image or req.first_clip else {"image": STAND_INS["image"]}
        checked = validate(req.replace(**start), check_media=False)  # code shows a stand-in
    except InvalidInput as exc:
        sentence = "⚠ " + error_sentence(exc, lang)
        return sentence, "", "# " + sentence, "# " + sentence
    seconds, sound = output_seconds_and_sound(checked)
    size = _predicted_size(req, checked, seconds, sound, lang)
    price = estimated_price(checked)
    if price is None:
        price_text = t("price_unknown", lang)
    else:
        amount, currency = price
        listed = deployed_model(checked.model, checked.region).price(currency)
        price_text = t("price_value", lang, amount=f"{amount:g}", currency=currency,
                       duration=seconds, rate=f"{amount / seconds:g}",
                       checked=listed.checked if listed else catalog.PRICES_CHECKED)
    if simulated:
        price_text = t("price_simulated", lang, value=price_text)
    return size, price_text, curl_code(checked), sdk_code(checked)


def _predicted_size(given: VideoRequest, req: VideoRequest, seconds: int, sound: bool,
                    lang: str) -> str:
    """The output size, from the first frame or the clip to continue (their shape at the tier's
    pixels), each probed by the model's rules; a link says only the tier."""
    assert req.resolution is not None
    if given.image is None and given.first_clip is None:
        return t("size_needs_image", lang, resolution=req.resolution)
    try:
        if given.first_clip is not None:
            return _continued_size(given.first_clip, req, seconds, sound, lang)
        info = image_info(given.image, "image",
                          wire_of(deployed_model(req.model, req.region)).image_rules)
    except InvalidInput as exc:
        return "⚠ " + error_sentence(exc, lang)
    if info is None:
        return t("size_from_url", lang, pixels=f"{catalog.TIER_PIXELS[req.resolution]:,}",
                 resolution=req.resolution)
    width, height = predict_output_size(info.width, info.height, req.resolution)
    return t("size_predicted", lang, width=width, height=height, duration=seconds,
             fps=catalog.FPS, sound=_sound(sound, lang))


def _continued_size(clip: str | Path, req: VideoRequest, seconds: int, sound: bool,
                    lang: str) -> str:
    assert req.resolution is not None
    if source_kind(str(clip)) != "file":
        return t("size_from_clip_url", lang, pixels=f"{catalog.TIER_PIXELS[req.resolution]:,}",
                 resolution=req.resolution)
    path = local_path(clip)
    if not path.is_file():
        raise InvalidInput("first_clip", f"no such file: {path.name}")
    info = probe_video(path, "first_clip")  # the headers only
    width, height = predict_output_size(info.width, info.height, req.resolution)
    if seconds <= info.seconds:  # the duration counts the clip: validate() says what to do
        validate(req, check_media=True)
    return t("size_continued", lang, width=width, height=height, duration=seconds,
             clip=info.seconds, new=seconds - info.seconds, fps=catalog.FPS,
             sound=_sound(sound, lang))


def _sound(sound: bool, lang: str) -> str:
    return t("size_sound" if sound else "size_silent", lang)
