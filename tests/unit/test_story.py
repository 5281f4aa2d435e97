"""client.story: reading a storyboard strictly, validation messages that name the shot, the plan's
dependencies, length and price; and the `story` command's refusals, which send nothing."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from client import catalog, film, story
from client.errors import InvalidInput
from client.http import WanClient
from client.story import StoryError, from_dict, load, parse, plan
from client.story_cli import add_story_command, story_command
from client.story_run import StoryRun

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EXAMPLE = ASSETS / "story_example.json"
FLASH = "wan2.6-i2v-flash"


def board(*shots: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"model": FLASH, "resolution": "720P", "image": "astronaut.jpg", **top,
            "shots": list(shots)}


def problems(data: Any, base: Path = ASSETS, **options: Any) -> list[str]:
    """Every problem the storyboard is refused for (parsing, then planning)."""
    with pytest.raises(StoryError) as refused:
        plan(from_dict(data, base, **options))
    return [str(p) for p in refused.value.problems]


def per_second(model: str, resolution: str, region: str = "beijing") -> float:
    deployed = catalog.model_in_region(model, region)
    assert deployed is not None
    price = deployed.price(catalog.REGIONS[region].currency)
    assert price is not None
    return price.per_second[resolution]


# --- reading -------------------------------------------------------------------------------------

def test_the_example_file_reads_into_shots_with_paths_from_its_folder() -> None:
    read = load(EXAMPLE)
    assert read.model == FLASH and read.region == "beijing" and read.resolution == "720P"
    first, second, third = read.shots
    assert first.image == ASSETS / "astronaut.jpg" and first.continues is None
    assert second.image is None and second.continues == "frame"
    assert third.image == ASSETS / "rocket.jpg" and third.continues is None
    assert [s.duration for s in read.shots] == [3, 4, 3]
    assert read.id == load(EXAMPLE).id  # from the content: the same file, the same id
    changed = json.loads(EXAMPLE.read_text())
    changed["shots"][0]["prompt"] += "!"
    assert from_dict(changed, ASSETS).id != read.id


def test_links_stay_links_and_relative_paths_follow_the_base(tmp_path: Path) -> None:
    read = from_dict(board({"prompt": "a"}, {"image": "pics/b.jpg"},
                           image="https://example.com/a.jpg"), tmp_path)
    assert read.shots[0].image == "https://example.com/a.jpg"
    assert read.shots[1].image == tmp_path / "pics" / "b.jpg"


def test_unknown_keys_are_named_with_the_keys_allowed() -> None:
    found = problems(board({"prompt": "a", "promt": "b"}, transitions="cut"))
    assert found[0].startswith("transitions: unknown key; check its spelling (allowed: model, "
                               "region, resolution, image, shots, transition,")
    assert found[1].startswith("shot 1: promt: unknown key; check its spelling (allowed: prompt, "
                               "duration, image, last_frame, audio, continue)")


def test_the_model_and_the_shots_are_required() -> None:
    assert [p.split(":")[0] for p in problems({"image": "astronaut.jpg"})] == ["model", "shots"]
    assert problems({"model": FLASH, "image": "astronaut.jpg"}) == [
        'shots: is required: a list of shots, e.g. [{"prompt": "She waves", "duration": 4}]']


def test_values_of_the_wrong_json_type_are_named() -> None:
    found = problems(board({"prompt": "a", "duration": "3"}, {"prompt": 5}, seed=True))
    assert found == ["seed: True is not a whole number",
                     "shot 1: duration: '3' is not a whole number",
                     "shot 2: prompt: 5 is not text"]
    assert problems({"model": FLASH, "shots": "one"}) == ["shots: 'one' is not a list"]
    assert problems([1, 2]) == ['story: must be a JSON object with "model" and "shots"']


def test_text_that_is_not_json_names_the_line_and_column() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse('{"model": "x",\n "shots": [}', ASSETS)
    assert refused.value.field == "story"
    assert "not valid JSON (line 2, column 12" in str(refused.value)


def test_how_shots_begin_is_checked() -> None:
    assert problems(board({"prompt": "a", "continue": "frame"})) == [
        "shot 1: continue: the first shot has nothing to continue; leave it out"]
    assert problems(board({"image": "cat.jpg"})) == [
        "shot 1: image: the story's \"image\" is already shot 1's picture; give only one"]
    assert problems({"model": FLASH, "shots": [{"prompt": "a"}]})[0].startswith(
        "image: the story needs a first picture")
    assert problems(board({}, {"image": "rocket.jpg", "continue": "frame"}, {"continue": "x"}))\
        == [("shot 2: continue: a shot with its own \"image\" starts from it (a cut); leave out "
            "one of them"),
            "shot 3: continue: unknown way to continue 'x' (allowed: frame, clip)"]
    assert problems(board()) == ["shots: needs at least one shot"]


def test_a_confined_story_reaches_no_file_outside_its_folder(tmp_path: Path) -> None:
    inside = tmp_path / "story"
    inside.mkdir()
    data = board({"prompt": "a"}, {"image": "../secret.jpg"}, image="/etc/hostname")
    assert from_dict(data, inside).shots[1].image == inside / ".." / "secret.jpg"  # a CLI user's
    found = problems(data, inside, confined=True)
    assert found == [("image: /etc/hostname lies outside the story's folder; put the file next "
                     "to the story"),
                     ("shot 2: image: ../secret.jpg lies outside the story's folder; put the file "
                     "next to the story")]


# --- validation ----------------------------------------------------------------------------------

def test_field_errors_name_the_shot_and_every_bad_shot_is_listed() -> None:
    with pytest.raises(StoryError) as refused:
        plan(from_dict(board({"duration": 3}, {"duration": 20}, {"duration": 1}), ASSETS))
    error = refused.value
    assert isinstance(error, InvalidInput) and error.status is None  # the CLI's exit 2
    assert error.field == "shot 2: duration"
    assert [p.field for p in error.problems] == ["shot 2: duration", "shot 3: duration"]
    assert str(error.problems[0]) == ("shot 2: duration: wan2.6-i2v-flash makes 2–15 s videos "
                                      "(allowed: " + ", ".join(map(str, range(2, 16))) + ")")
    assert str(error).splitlines() == [str(p) for p in error.problems]


def test_a_problem_with_the_storys_own_settings_is_said_once_without_a_shot() -> None:
    assert problems(board({}, {}, {}, resolution="480P")) == [
        "resolution: wan2.6-i2v-flash does not make 480P video (allowed: 720P, 1080P)"]
    assert problems(board({}, {}, model="wan9"))[0].startswith("model: unknown model 'wan9'")


def test_media_problems_name_the_storyboard_key_of_the_shot() -> None:
    assert problems(board({}, {"last_frame": "rocket.jpg"}))[0].startswith(
        "shot 2: last_frame: wan2.6-i2v-flash takes no last frame")
    assert problems(board({}, {"continue": "clip"}))[0].startswith(
        "shot 2: continue: wan2.6-i2v-flash takes no clip to continue")
    assert problems(board({"audio": "voice.wav"}, model="wan2.2-i2v-flash",
                          resolution="480P"))[0].startswith(
        "shot 1: audio: wan2.2-i2v-flash makes silent video and takes no audio")
    assert problems(board({}, {"audio": "missing.wav"})) == [
        "shot 2: audio: no such file: missing.wav"]


def test_a_missing_first_picture_is_reported_on_the_shot_it_begins_only() -> None:
    assert problems(board({}, {}, {}, image="missing.jpg")) == [
        "shot 1: image: no such file: missing.jpg"]


def test_a_clip_continuation_must_last_longer_than_the_clip() -> None:
    wan27 = {"model": "wan2.7-i2v"}
    assert problems(board({}, {"continue": "clip", "duration": 2}, **wan27)) == [
        ("shot 2: duration: the duration counts the 2.0 s clip to continue, so 2 s leaves no "
         "new video; choose at least 3 s")]
    assert problems(board({}, {"continue": "clip", "duration": 4, "audio": "voice.wav"},
                          **wan27))[0].startswith("shot 2: continue: wan2.7-i2v cannot take")
    planned = plan(from_dict(board({"duration": 3}, {"continue": "clip", "duration": 5},
                                   **wan27), ASSETS))
    assert planned.shots[1].continues == "clip" and planned.shots[1].after == 0
    assert planned.seconds == 3 + 5 - story.CONTINUE_CLIP_SECONDS


# --- the plan -------------------------------------------------------------------------------

def test_the_plan_says_which_shot_waits_for_which() -> None:
    planned = plan(from_dict(board({}, {}, {}, {"image": "rocket.jpg"}, {}), ASSETS))
    assert [s.after for s in planned.shots] == [None, 0, 1, None, 3]
    assert planned.dependents(0) == (1, 2)
    assert planned.dependents(1) == (2,)
    assert planned.dependents(2) == ()
    assert planned.dependents(3) == (4,)


def test_a_continued_shot_has_its_settings_but_not_yet_its_first_frame() -> None:
    planned = plan(from_dict(board({"duration": 3}, {"prompt": "waves"}, seed=7,
                                   watermark=True), ASSETS))
    first, second = (s.request for s in planned.shots)
    assert first.image == ASSETS / "astronaut.jpg"
    assert second.image is None and second.prompt == "waves"
    model = catalog.model_in_region(FLASH, "beijing")
    assert model is not None and second.duration == model.default_duration  # filled in
    assert first.seed == second.seed == 7 and first.watermark and second.watermark
    assert second.resolution == "720P"


def test_length_and_price_are_the_sums_of_the_shots() -> None:
    planned = plan(load(EXAMPLE))
    rate = per_second(FLASH, "720P")
    assert planned.seconds == 3 + 4 + 3
    assert [s.price for s in planned.shots] == [(round(rate * d, 4), "CNY") for d in (3, 4, 3)]
    assert planned.price == (round(rate * 10, 4), "CNY")
    lines = planned.text().splitlines()
    assert lines[0].endswith(f"3 shots on {FLASH} (China (Beijing)), 720P, film 10 s, "
                             f"estimated CNY {rate * 10:.2f}")
    assert lines[2] == (f"  shot 2: 4 s, continues shot 1 from its last frame, CNY "
                        f"{rate * 4:.2f}: 'She waves'")
    assert lines[3].startswith("  shot 3: 3 s, starts from rocket.jpg")
    assert lines[-1] == "at once: shots 1, 3; shot 2 waits for shot 1"


def test_a_crossfade_blends_only_at_cuts_and_shortens_the_film() -> None:
    planned = plan(from_dict(board({"duration": 3}, {"duration": 4}, {"duration": 3,
                                    "image": "rocket.jpg"}, transition="crossfade"), ASSETS))
    assert [s.transition for s in planned.seams()] == ["cut", "crossfade"]
    assert planned.seconds == 10 - film.DEFAULT_CROSSFADE_SECONDS


def test_the_price_is_unknown_where_a_shot_has_no_published_price() -> None:
    planned = plan(from_dict(board({"duration": 5}, {"duration": 10}, model="wan2.6-i2v-us",
                                   region="virginia"), ASSETS))
    assert planned.price is None and planned.shots[0].price is None
    assert planned.seconds == 15
    assert "estimated price not published" in planned.text()


# --- the run's bookkeeping and the command's refusals ------------------------------------------

class Nothing:
    """A service that must not be called."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500)


def test_forgetting_a_shot_forgets_the_shots_that_continue_from_it(tmp_path: Path) -> None:
    planned = plan(from_dict(board({}, {}, {}, {"image": "rocket.jpg"}), ASSETS))
    client = WanClient("sk-story-unit", base_url="https://api.test/api/v1",
                       transport=httpx.MockTransport(Nothing()))
    run = StoryRun(client, planned, tmp_path)
    run.videos.update({i: tmp_path / f"{i}.mp4" for i in range(4)})
    assert run.forget(1) == (1, 2)
    assert sorted(run.videos) == [0, 3]


def command(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_story_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["story", *argv])


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "story.json"
    path.write_text(json.dumps(data))
    for name in ("astronaut.jpg", "rocket.jpg"):
        (tmp_path / name).write_bytes((ASSETS / name).read_bytes())
    return path


def test_a_refused_storyboard_sends_nothing_and_needs_no_key(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    service = Nothing()
    path = write(tmp_path, board({}, {"duration": 99}))
    with pytest.raises(StoryError) as refused:
        asyncio.run(story_command(command(str(path)), httpx.MockTransport(service)))
    assert refused.value.field == "shot 2: duration" and refused.value.status is None
    assert service.requests == []


def test_a_dry_run_prints_the_plan_and_sends_nothing(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    service = Nothing()
    path = write(tmp_path, board({"duration": 3}, {"duration": 4}))
    code = asyncio.run(story_command(command(str(path), "--dry-run"),
                                     httpx.MockTransport(service)))
    assert code == 0 and service.requests == []
    out = capsys.readouterr().out
    assert "shot 2: 4 s, continues shot 1 from its last frame" in out
    assert out.splitlines()[-1] == "at once: shot 1; shot 2 waits for shot 1"
