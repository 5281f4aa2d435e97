"""The Story tab's rows as a storyboard (client.story's JSON) and back, with its plan: the first
row's picture is the story's first picture, every later row continues the one before or starts
from its own picture."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from client import catalog
from client.errors import InvalidInput
from client.fields import takes
from client.request import source_kind
from client.story import StoryError, StoryPlan, from_dict, plan

from .examples import ASSETS
from .i18n import t
from .messages import error_sentence, field_name
from .store import VideoStore

MAX_SHOTS = 8  # rows the tab holds: a page of shots a person can still read
BEGINS = ("frame", "clip", "image")  # the previous shot's last frame, its last seconds, a picture
SHOT_MEDIA = ("image", "last_frame", "audio")  # a shot's media keys in the storyboard
UPLOAD_PREFIX = "upload:"  # a kept upload, by its name in the store (as history records do)
_SHOT_FIELD = re.compile(r"^shot (\d+): (\w+)$")


@dataclass(frozen=True)
class ShotRow:
    """One row of the tab, as its controls hold it."""

    prompt: str = ""
    duration: Any = None
    begins: str = "frame"
    image: str | None = None
    last_frame: str | None = None
    audio: str | None = None


@dataclass(frozen=True)
class Board:
    """What the tab holds: the model and its settings, and the shown rows in order."""

    model: str
    region: str
    resolution: str | None
    transition: str
    rows: tuple[ShotRow, ...]


def _whole(value: Any) -> Any:
    """A page's number as the storyboard's whole number (it sends 5.0 for 5)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def storyboard(board: Board) -> dict[str, Any]:
    """The storyboard JSON of the rows: media the model does not take are left out."""
    model = catalog.model_in_region(board.model, board.region)
    taken = {key: model is None or takes(model, "audio_url" if key == "audio" else key)
             for key in ("last_frame", "audio")}
    shots: list[dict[str, Any]] = []
    for n, row in enumerate(board.rows):
        shot: dict[str, Any] = {"prompt": row.prompt or "", "duration": _whole(row.duration)}
        if n and row.begins == "image":
            shot["image"] = row.image
        elif n and row.begins == "clip":
            shot["continue"] = "clip"
        for key in ("last_frame", "audio"):
            if taken[key] and getattr(row, key):
                shot[key] = getattr(row, key)
        shots.append({k: v for k, v in shot.items() if v is not None})
    data: dict[str, Any] = {"model": board.model, "region": board.region,
                            "transition": board.transition, "shots": shots}
    if board.resolution:
        data["resolution"] = board.resolution
    if board.rows and board.rows[0].image:
        data["image"] = board.rows[0].image
    return data


def board_of(data: dict[str, Any]) -> Board:
    """The rows a storyboard fills in ("use this story again"); at most MAX_SHOTS of them."""
    raw_shots = data.get("shots") if isinstance(data.get("shots"), list) else []
    rows = []
    for n, shot in enumerate(s for s in raw_shots[:MAX_SHOTS] if isinstance(s, dict)):
        begins = "image" if n == 0 or shot.get("image") else str(shot.get("continue") or "frame")
        rows.append(ShotRow(prompt=str(shot.get("prompt") or ""), duration=shot.get("duration"),
                            begins=begins if begins in BEGINS else "frame",
                            image=data.get("image") if n == 0 else shot.get("image"),
                            last_frame=shot.get("last_frame"), audio=shot.get("audio")))
    region = str(data.get("region") or catalog.DEFAULT_REGION)
    transition = str(data.get("transition") or "cut")
    return Board(model=str(data.get("model") or ""), region=region,
                 resolution=data.get("resolution"), transition=transition, rows=tuple(rows))


def _missing_pictures(board: Board) -> list[InvalidInput]:
    first = ([InvalidInput("shot 1: image", "add the picture the film starts from")]
             if board.rows and not board.rows[0].image else [])
    return first + [InvalidInput(f"shot {n + 1}: image", "add the shot's own picture, or let "
                                                         "it continue the shot before")
                    for n, row in enumerate(board.rows)
                    if n and row.begins == "image" and not row.image]


def plan_of(board: Board, store: VideoStore | None = None) -> tuple[StoryPlan, dict[str, Any]]:
    """The plan of the rows and the storyboard it runs, its uploads copied into `store` when
    given (where the run and "use this story again" find them); StoryError names every
    problem by its shot."""
    problems = _missing_pictures(board)
    data = storyboard(board)
    if store is not None:
        data = kept(data, store)
    try:
        story_plan = plan(from_dict(data))
    except StoryError as exc:  # the story's picture is the first row's: said there
        raise StoryError([*problems, *(p for p in exc.problems if p.field != "image")]
                         ) from None
    except InvalidInput as exc:
        raise StoryError([*problems, exc]) from None
    if problems:
        raise StoryError(problems)
    return story_plan, data


def example_storyboard() -> dict[str, Any]:
    """assets/story_example.json, its pictures found beside it."""
    path = ASSETS / "story_example.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for holder, key in _media_values(data):
        value = holder[key]
        if isinstance(value, str) and source_kind(value) == "file":
            holder[key] = str(ASSETS / value)
    return data


# --- media: kept in the store, named by the store ------------------------------------------

def _media_values(data: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(holder, key) of every media value of a storyboard: its picture and each shot's."""
    places = [(data, "image")]
    for shot in data.get("shots") or []:
        if isinstance(shot, dict):
            places += [(shot, key) for key in SHOT_MEDIA]
    return [(holder, key) for holder, key in places if holder.get(key) is not None]


def _copied(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "shots": [dict(s) if isinstance(s, dict) else s
                              for s in data.get("shots") or []]}


def kept(data: dict[str, Any], store: VideoStore) -> dict[str, Any]:
    """The storyboard with its local files copied into the store (what it runs with), where
    "use this story again" finds them later by name."""
    data = _copied(data)
    for holder, key in _media_values(data):
        value = holder[key]
        if isinstance(value, str) and source_kind(value) == "file" and Path(value).is_file():
            holder[key] = str(store.keep_upload(Path(value)))
    return data


def for_browser(data: dict[str, Any], store: VideoStore) -> dict[str, Any]:
    """The storyboard as the browser keeps it: public links as they are, kept uploads by name,
    never a path."""
    data = _copied(data)
    for holder, key in _media_values(data):
        value = holder[key]
        if isinstance(value, str) and source_kind(value) == "url":
            continue
        ref = store.upload_ref(value)
        holder[key] = UPLOAD_PREFIX + ref if ref else None
    return data


def from_browser(data: dict[str, Any], store: VideoStore) -> dict[str, Any]:
    """A storyboard the browser kept, its uploads found again in the store: a missing one, or
    anything but a link or a kept upload's name, is left out (never read as a path)."""
    data = _copied(data)
    for holder, key in _media_values(data):
        value = holder[key]
        path = (store.upload_for(value[len(UPLOAD_PREFIX):])
                if isinstance(value, str) and value.startswith(UPLOAD_PREFIX) else None)
        if path is not None:
            holder[key] = str(path)
        elif not (isinstance(value, str) and source_kind(value) == "url"):
            holder[key] = None
    return data


# --- what the person reads --------------------------------------------------------------------

def problem_sentence(problem: InvalidInput, lang: str) -> str:
    """A problem's sentence, its field named by its shot in the page's language."""
    found = _SHOT_FIELD.match(problem.field)
    if found is None:
        return error_sentence(problem, lang)
    name = t("story_shot_field", lang, n=found[1], field=field_name(found[2], lang))
    return error_sentence(InvalidInput(name, problem.rule, problem.allowed), lang)


def summary(story_plan: StoryPlan, lang: str, simulated: bool) -> str:
    """The film's length, its shots and the estimated price, on one line."""
    price = story_plan.price
    money = (t("price_unknown", lang) if price is None
             else f"≈ {price[1]} {price[0]:.2f}")
    if simulated:
        money = t("price_simulated", lang, value=money)
    return t("story_summary", lang, seconds=f"{story_plan.seconds:g}",
             count=len(story_plan.shots), price=money)


def plan_view(board: Board, lang: str, simulated: bool) -> tuple[str, str]:
    """(the summary or the problems, the plan's text) as the person edits."""
    try:
        story_plan, _ = plan_of(board)
    except StoryError as exc:
        return problems_text(exc, lang), ""
    return summary(story_plan, lang, simulated), story_plan.text()


def problems_text(exc: InvalidInput, lang: str) -> str:
    """Every problem of a refused storyboard, one line each."""
    problems = exc.problems if isinstance(exc, StoryError) else (exc,)
    return "\n\n".join("⚠ " + problem_sentence(p, lang) for p in problems)


# --- reordering ---------------------------------------------------------------------------------

def _first_as_cut(rows: list[ShotRow]) -> list[ShotRow]:
    """The first row starts from its picture whatever its (hidden) choice says."""
    rows = list(rows)
    if rows:
        rows[0] = replace(rows[0], begins="image")
    return rows


def moved_up(rows: list[ShotRow], index: int) -> list[ShotRow]:
    """The rows with row `index` before the one above it: the first row, moved down, keeps
    its picture as a cut."""
    rows = _first_as_cut(rows)
    if 0 < index < len(rows):
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    return rows


def removed(rows: list[ShotRow], index: int) -> list[ShotRow]:
    """The rows without row `index`; one row always stays."""
    rows = _first_as_cut(rows)
    if len(rows) > 1 and 0 <= index < len(rows):
        del rows[index]
    return rows
