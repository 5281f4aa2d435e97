"""A storyboard sent to the /story endpoint: JSON text from anyone and one uploaded picture. On
the server only public links and that picture are read: a path inside the JSON never is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from client.errors import InvalidInput
from client.request import source_kind
from client.story import StoryError, StoryPlan, from_dict, plan

from .store import VideoStore
from .story_board import SHOT_MEDIA

STORYBOARD_MAX_CHARS = 256 * 1024
_LINK_ONLY = ("is a path, and paths in the storyboard are not read on the server; give a "
              "public http(s) link")


def _json(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("storyboard", "is empty: send the storyboard's JSON as text, e.g. "
                                         "{\"model\": \"wan2.6-i2v-flash\", \"shots\": [...]}")
    if len(text) > STORYBOARD_MAX_CHARS:
        raise InvalidInput("storyboard", f"is longer than {STORYBOARD_MAX_CHARS} characters")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("storyboard", f"is not valid JSON (line {exc.lineno}, column "
                                         f"{exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise InvalidInput("storyboard", "must be a JSON object with \"model\" and \"shots\"")
    return data


def _links_only(data: dict[str, Any]) -> list[InvalidInput]:
    """Every media value that is not a public link, named by its shot."""
    problems = []
    shots = data.get("shots") if isinstance(data.get("shots"), list) else []
    for n, shot in enumerate(shots):
        for key in SHOT_MEDIA if isinstance(shot, dict) else ():
            value = shot.get(key)
            if isinstance(value, str) and source_kind(value) != "url":
                problems.append(InvalidInput(f"shot {n + 1}: {key}", _LINK_ONLY))
    return problems


def api_plan(text: Any, picture: str | None, store: VideoStore) -> tuple[StoryPlan,
                                                                          dict[str, Any]]:
    """The plan of a storyboard sent with its first picture (`picture`, a file the endpoint
    received; or a public link as the JSON's "image"), and the storyboard it runs with the
    picture kept in the store."""
    data = _json(text)
    image = data.get("image")
    problems = _links_only(data)
    if picture is not None:
        if isinstance(image, str) and source_kind(image) == "url":
            problems.append(InvalidInput("image", "is given twice: send the picture or link "
                                                  "it in the storyboard, not both"))
        else:  # the JSON may name it ("astronaut.jpg"): the upload is that picture
            data["image"] = str(store.keep_upload(Path(picture)))
    elif isinstance(image, str) and source_kind(image) != "url":
        problems.append(InvalidInput("image", "is a path, and paths in the storyboard are not "
                                              "read on the server; send the picture as the "
                                              "endpoint's `image`, or give a public link"))
    if problems:
        raise StoryError(problems)
    # Confined: nothing local is left but the kept picture, and nothing else may be reached.
    return plan(from_dict(data, store.uploads, confined=True)), data
