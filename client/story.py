"""A storyboard (a model, a first picture, a list of shots) read from JSON, and its plan: every
shot validated, which shot waits for which, the film's length and estimated price, all before
anything is sent. Shots are numbered from 0 in code and from 1 in every message ("shot 1")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import catalog, film
from .errors import InvalidInput
from .frames import FIRST_CLIP_SECONDS
from .request import (
    VideoRequest,
    clip_length_rule,
    estimated_price,
    local_path,
    source_kind,
    validate,
)

Continue = Literal["frame", "clip"]
CONTINUES: tuple[Continue, ...] = ("frame", "clip")
# A clip-continued shot starts from the previous shot's last seconds: the shortest clip the
# service takes, so the most of the shot's (paid) duration is new picture.
CONTINUE_CLIP_SECONDS = FIRST_CLIP_SECONDS[0]
Media = str | Path

# Request settings a storyboard may give once for all its shots (VideoRequest's names).
SETTINGS = ("negative_prompt", "prompt_extend", "watermark", "seed")
# Every key a storyboard and a shot may hold, with the JSON type its value must have.
TOP_KEYS: dict[str, type] = {
    "model": str, "region": str, "resolution": str, "image": str, "shots": list,
    "transition": str, "negative_prompt": str, "prompt_extend": bool, "watermark": bool,
    "seed": int}
SHOT_KEYS: dict[str, type] = {
    "prompt": str, "duration": int, "image": str, "last_frame": str, "audio": str,
    "continue": str}
# Which storyboard key a request field comes from, where the names differ.
_STORY_KEY = {"audio_url": "audio", "first_clip": "continue"}
_SHOT_FIELDS = ("prompt", "duration", "image", "last_frame", "audio_url", "first_clip")
_REQUIRED = {"model": "is required: name a model (python -m client models lists them)",
             "shots": "is required: a list of shots, e.g. [{\"prompt\": \"She waves\", "
                      "\"duration\": 4}]"}
_JSON_NAMES = {str: "text", int: "a whole number", bool: "true or false", list: "a list"}


class StoryError(InvalidInput):
    """A storyboard that cannot be run, with every problem found (`problems`, each an
    InvalidInput whose field reads "shot 3: duration" or a top-level key such as "model")."""

    def __init__(self, problems: list[InvalidInput]) -> None:
        first = problems[0]
        super().__init__(first.field, first.rule, first.allowed)
        self.problems = tuple(problems)
        if len(self.problems) > 1:
            self.message = "\n".join(str(p) for p in self.problems)
            self.args = (self.message,)


@dataclass(frozen=True)
class Shot:
    """One shot. `continues` None: it starts from its own picture `image` (the first shot, or
    a cut); "frame": from the previous shot's last frame; "clip": from its last seconds."""

    prompt: str = ""
    duration: int | None = None  # None: the model's default
    image: Media | None = None
    last_frame: Media | None = None
    audio: Media | None = None
    continues: Continue | None = None


@dataclass(frozen=True)
class Storyboard:
    model: str
    shots: tuple[Shot, ...]
    region: str = catalog.DEFAULT_REGION
    resolution: str | None = None  # None: the model's default
    transition: film.Transition = "cut"  # how a shot with its own picture follows the one before
    settings: Mapping[str, Any] = field(default_factory=dict)  # SETTINGS given for every shot
    id: str = ""  # names the story's files; from its content when parsed

    def request(self, shot: Shot) -> VideoRequest:
        """The shot's request as written (a continued shot's first frame or clip still unset)."""
        return VideoRequest(model=self.model, region=self.region, resolution=self.resolution,
                            prompt=shot.prompt, duration=shot.duration, image=shot.image,
                            last_frame=shot.last_frame, audio_url=shot.audio, **self.settings)


# --- reading -----------------------------------------------------------------------------------

def load(path: Path, *, confined: bool = False) -> Storyboard:
    """A storyboard file; its relative paths are relative to the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput("story", f"{path.name} cannot be read ({exc})") from None
    return parse(text, path.parent, confined=confined)


def parse(text: str, base: Path, *, confined: bool = False) -> Storyboard:
    """A storyboard from JSON text; relative paths are taken from `base`. `confined`: local files
    must lie inside `base` (a storyboard from someone else must not reach other files)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("story", f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                    f"{exc.msg}); check the file with a JSON validator") from None
    return from_dict(data, base, confined=confined)


def from_dict(data: Any, base: Path = Path("."), *, confined: bool = False) -> Storyboard:
    """A storyboard from parsed JSON, its keys checked strictly; StoryError lists what is wrong."""
    if not isinstance(data, dict):
        raise StoryError([InvalidInput("story", "must be a JSON object with \"model\" and "
                                                "\"shots\"")])
    problems: list[InvalidInput] = []
    top = _checked_keys(data, "", TOP_KEYS, problems)
    for key, rule in _REQUIRED.items():
        if key not in data:
            problems.append(InvalidInput(key, rule))
    raw_shots = top.get("shots") or []
    if "shots" in top and not raw_shots:
        problems.append(InvalidInput("shots", "needs at least one shot"))
    transition = top.get("transition", "cut")
    if transition not in film.TRANSITIONS:
        problems.append(InvalidInput("transition", f"unknown transition {transition!r}",
                                     film.TRANSITIONS))
    base = Path(base).absolute()
    story_image = _media(top.get("image"), "image", base, confined, problems)
    shots = [_shot(raw, n, story_image, base, confined, problems)
             for n, raw in enumerate(raw_shots)]
    if problems:
        raise StoryError(problems)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
    return Storyboard(model=top["model"], shots=tuple(shots),
                      region=top.get("region", catalog.DEFAULT_REGION),
                      resolution=top.get("resolution"), transition=transition,
                      settings={k: top[k] for k in SETTINGS if k in top}, id=f"story-{digest}")


def _checked_keys(data: dict[str, Any], where: str, keys: dict[str, type],
                  problems: list[InvalidInput]) -> dict[str, Any]:
    """The entries with a known key and a value of its JSON type (null: left out)."""
    kept = {}
    for key, value in data.items():
        name = f"{where}{key}"
        if key not in keys:
            problems.append(InvalidInput(name, "unknown key; check its spelling", tuple(keys)))
        elif value is None:
            continue
        elif not isinstance(value, keys[key]) or (keys[key] is int and isinstance(value, bool)):
            problems.append(InvalidInput(name, f"{value!r} is not {_JSON_NAMES[keys[key]]}"))
        else:
            kept[key] = value
    return kept


def _shot(raw: Any, n: int, story_image: Media | None, base: Path, confined: bool,
          problems: list[InvalidInput]) -> Shot:
    where = f"shot {n + 1}: "
    if not isinstance(raw, dict):
        problems.append(InvalidInput(f"shot {n + 1}", "must be a JSON object with a \"prompt\""))
        return Shot()
    values = _checked_keys(raw, where, SHOT_KEYS, problems)
    image = _media(values.get("image"), f"{where}image", base, confined, problems)
    continues = values.get("continue")
    if continues is not None and continues not in CONTINUES:
        problems.append(InvalidInput(f"{where}continue", f"unknown way to continue "
                                                         f"{continues!r}", CONTINUES))
    if n == 0:
        if image is not None and story_image is not None:
            problems.append(InvalidInput(f"{where}image", "the story's \"image\" is already "
                                                          "shot 1's picture; give only one"))
        image = story_image if image is None else image
        if image is None:
            problems.append(InvalidInput("image", "the story needs a first picture: give "
                                                  "\"image\" (a file next to the story, or a "
                                                  "public link)"))
        if continues is not None:
            problems.append(InvalidInput(f"{where}continue", "the first shot has nothing to "
                                                             "continue; leave it out"))
    elif image is not None and continues is not None:
        problems.append(InvalidInput(f"{where}continue", "a shot with its own \"image\" starts "
                                                         "from it (a cut); leave out one of them"))
    return Shot(prompt=values.get("prompt", ""), duration=values.get("duration"), image=image,
                last_frame=_media(values.get("last_frame"), f"{where}last_frame", base,
                                  confined, problems),
                audio=_media(values.get("audio"), f"{where}audio", base, confined, problems),
                continues=None if image is not None else continues or "frame")


def _media(value: str | None, name: str, base: Path, confined: bool,
           problems: list[InvalidInput]) -> Media | None:
    """A link as it is; a local path made absolute from `base`."""
    if value is None or source_kind(value) != "file":
        return value
    path = base / local_path(value)
    if confined and not path.resolve().is_relative_to(base.resolve()):
        problems.append(InvalidInput(name, f"{value} lies outside the story's folder; put the "
                                           "file next to the story"))
    return path


# --- planning ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedShot:
    index: int
    request: VideoRequest  # validated; a continued shot's image (or first_clip) is set when run
    after: int | None  # the shot it continues from; None: it starts from its own picture
    continues: Continue | None
    seconds: float  # how long it lasts in the film
    price: tuple[float, str] | None  # estimated (amount, currency); None: no published price


@dataclass(frozen=True)
class StoryPlan:
    story: Storyboard
    shots: tuple[PlannedShot, ...]
    seconds: float  # the film's length
    price: tuple[float, str] | None  # the whole story's; None when a shot's is unpublished

    def dependents(self, index: int) -> tuple[int, ...]:
        """The shots that continue from shot `index`, directly or through others."""
        found: list[int] = []
        for shot in self.shots[index + 1:]:
            if shot.after is not None and (shot.after == index or shot.after in found):
                found.append(shot.index)
        return tuple(found)

    def seams(self) -> list[film.Seam]:
        """How each shot joins the one before (film.assemble's `seams`)."""
        return _seams(self.shots, self.story.transition)

    def text(self) -> str:
        """The plan as a person reads it before paying for it."""
        story, first = self.story, self.shots[0].request
        lines = [(f"{story.id}: {len(self.shots)} shots on {story.model} "
                 f"({catalog.REGIONS[story.region].name_en}), {first.resolution}, "
                 f"film {self.seconds:g} s, estimated {_money(self.price)}")]
        for shot in self.shots:
            begins = (f"continues shot {shot.after + 1} from its last "
                      + ("frame" if shot.continues == "frame" else f"{CONTINUE_CLIP_SECONDS:g} s")
                      if shot.after is not None else f"starts from {_name(shot.request.image)}")
            lines.append(f"  shot {shot.index + 1}: {shot.request.duration} s, {begins}, "
                         f"{_money(shot.price)}: {shot.request.prompt!r}")
        starts = [s.index + 1 for s in self.shots if s.after is None]
        waits = [f"shot {s.index + 1} waits for shot {s.after + 1}"
                 for s in self.shots if s.after is not None]
        lines.append("; ".join([f"at once: shot{'s' if len(starts) > 1 else ''} "
                                + ", ".join(map(str, starts)), *waits]))
        return "\n".join(lines)


def _money(price: tuple[float, str] | None) -> str:
    return "price not published" if price is None else f"{price[1]} {price[0]:.2f}"


def _name(media: Media | None) -> str:
    return Path(media).name if isinstance(media, Path) else str(media)[:60]


def _seams(shots: tuple[PlannedShot, ...], transition: film.Transition) -> list[film.Seam]:
    """A continuation joins the shot before directly; a shot with its own picture follows it
    by the story's transition."""
    return [film.Seam("cut" if shot.after is not None else transition) for shot in shots[1:]]


def plan(story: Storyboard) -> StoryPlan:
    """Validate every shot (StoryError lists each problem, by shot) and plan the run."""
    problems: list[InvalidInput] = []
    shots: list[PlannedShot] = []
    root: Media | None = None  # the picture the current chain of shots began with
    for index, shot in enumerate(story.shots):
        root = shot.image if shot.continues is None else root
        try:
            request = _validated(story.request(shot), shot.continues, root)
        except InvalidInput as exc:
            if exc.field == "image" and shot.continues is not None:
                continue  # the chain's first picture, reported on the shot that starts it
            problem = _named(exc, index)
            if str(problem) not in map(str, problems):  # a top-level key's: said once
                problems.append(problem)
            continue
        seconds = float(request.duration or 0)
        if shot.continues == "clip":
            rule = clip_length_rule(CONTINUE_CLIP_SECONDS, int(request.duration or 0))
            if rule is not None:
                problems.append(InvalidInput(f"shot {index + 1}: duration", rule))
            seconds -= CONTINUE_CLIP_SECONDS
        shots.append(PlannedShot(index, request, None if shot.continues is None else index - 1,
                                 shot.continues, seconds, estimated_price(request)))
    if problems:
        raise StoryError(problems)
    planned = tuple(shots)
    overlaps = sum(s.seconds for s in _seams(planned, story.transition)
                   if s.transition == "crossfade")  # a crossfade lays two shots over each other
    known = [s.price for s in planned if s.price is not None]
    total = ((round(sum(amount for amount, _ in known), 4), known[0][1])
             if len(known) == len(planned) else None)
    return StoryPlan(story, planned, sum(s.seconds for s in planned) - overlaps, total)


def _validated(request: VideoRequest, continues: Continue | None,
               root: Media | None) -> VideoRequest:
    """The shot's request validated; a continued shot's coming first frame or clip stood in
    for, so that its fields, its own media and their combination are checked now."""
    if continues is None:
        return validate(request, check_media=True)
    if continues == "clip":  # the clip does not exist yet: its combination is checked alone
        validate(request.replace(first_clip=Path("previous-shot-tail.mp4")), check_media=False)
    # The chain's first picture stands in for the frame: the same kind of input.
    return validate(request.replace(image=root), check_media=True).replace(image=None)


def _named(exc: InvalidInput, index: int) -> InvalidInput:
    """The error under the storyboard's name for its field: "shot 3: duration", or a top-level
    key ("model", "resolution") for what the story sets once."""
    key = _STORY_KEY.get(exc.field, exc.field)
    name = f"shot {index + 1}: {key}" if exc.field in _SHOT_FIELDS else key
    return InvalidInput(name, exc.rule, exc.allowed)
