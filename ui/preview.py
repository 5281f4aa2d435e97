"""What a request will cost and produce, and the same request as curl and Python SDK code."""

from __future__ import annotations

import json
import shlex
from typing import Any

from client import catalog
from client.request import VideoRequest, deployed_model, has_sound, source_kind, to_payload

CREATE_PATH = "/services/aigc/video-generation/video-synthesis"
KEY_PLACEHOLDER = "$DASHSCOPE_API_KEY"  # the code never carries a key, only this reference
_LOCAL_IMAGE = "https://example.com/your-picture.jpg"
_LOCAL_AUDIO = "https://example.com/your-audio.mp3"


def _shown_media(value: str | None, stand_in: str) -> str | None:
    """Public URLs as they are; a local file or data URI becomes a stand-in URL to replace."""
    if value is None:
        return None
    return value if source_kind(str(value)) in ("url", "oss") else stand_in


def _base_url(region: str) -> str:
    return catalog.REGIONS[region].base_url


def curl_code(req: VideoRequest) -> str:
    """A curl command that creates the same task; the key is read from the environment."""
    payload = to_payload(req, _shown_media(str(req.image), _LOCAL_IMAGE) or "",
                         _shown_media(None if req.audio_url is None else str(req.audio_url),
                                      _LOCAL_AUDIO))
    body = json.dumps(payload, ensure_ascii=False, indent=2)
    lines = [f"curl -X POST {_base_url(req.region)}{CREATE_PATH} \\",
             "  -H 'X-DashScope-Async: enable' \\",
             f'  -H "Authorization: Bearer {KEY_PLACEHOLDER}" \\',
             "  -H 'Content-Type: application/json' \\",
             f"  -d {shlex.quote(body)}"]
    note = _local_note(req)
    return (note + "\n" if note else "") + "\n".join(lines)


def _local_note(req: VideoRequest) -> str:
    local = [name for name, value in (("picture", req.image), ("audio", req.audio_url))
             if value is not None and source_kind(str(value)) not in ("url", "oss")]
    if not local:
        return ""
    return (f"# Your {' and '.join(local)} is a local file: put it at a public https:// link and "
            "use that link below (the Python SDK can upload local files itself).")


def sdk_code(req: VideoRequest) -> str:
    """The same request with the official dashscope SDK; local files become file:// paths."""
    model = deployed_model(req.model, req.region)
    args: list[tuple[str, Any]] = [("api_key", None), ("model", req.model)]
    args.append(("img_url", _sdk_media(req.image)))
    if req.template is not None:
        args.append(("template", req.template))
    else:
        if req.prompt:
            args.append(("prompt", req.prompt))
        if req.negative_prompt:
            args.append(("negative_prompt", req.negative_prompt))
        args.append(("prompt_extend", req.prompt_extend))
    if req.audio_url is not None:
        args.append(("audio_url", _sdk_media(req.audio_url)))
    args.append(("resolution", req.resolution or model.default_resolution))
    if not model.duration_is_fixed:
        args.append(("duration", req.duration or model.default_duration))
    if req.shot_type is not None:
        args.append(("shot_type", req.shot_type))
    if req.audio is not None:
        args.append(("audio", req.audio))
    if req.seed is not None:
        args.append(("seed", req.seed))
    args.append(("watermark", req.watermark))
    rendered = []
    for name, value in args:
        text = 'os.environ["DASHSCOPE_API_KEY"]' if name == "api_key" else _py(value)
        rendered.append(f"    {name}={text},")
    lines = ["# pip install dashscope", "import os", "", "import dashscope",
             "from dashscope import VideoSynthesis", "",
             f'dashscope.base_http_api_url = "{_base_url(req.region)}"',
             "response = VideoSynthesis.call(", *rendered, ")",
             "print(response.output.video_url)"]
    return "\n".join(lines)


def _sdk_media(value: str | Any) -> str:
    kind = source_kind(str(value))
    if kind in ("url", "oss"):
        return str(value)
    if kind == "file":
        return "file://" + str(value).removeprefix("file://")
    return _LOCAL_IMAGE


def _py(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def output_seconds_and_sound(req: VideoRequest) -> tuple[int, bool]:
    model = deployed_model(req.model, req.region)
    return (model.default_duration if req.duration is None else req.duration), has_sound(req)
