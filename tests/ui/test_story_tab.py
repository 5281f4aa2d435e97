"""The Story tab's flows without a browser: rows ↔ storyboard, the plan as the person edits, the
sealed story the browser keeps, the /story input, and stories made on the simulator (limits per
visitor, redo, cancel, a reload, a restart, forged records)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import pytest

from client.errors import InvalidInput
from client.simulator.state import account_of
from client.story import StoryError
from tests.integration.helpers import creates
from tests.media_factory import write_image
from ui.services import Services
from ui.settings import SIMULATOR_KEY, Settings
from ui.story_board import (
    Board,
    ShotRow,
    board_of,
    example_storyboard,
    for_browser,
    from_browser,
    moved_up,
    plan_view,
    removed,
    storyboard,
)
from ui.story_flows import StoryFlows, View
from ui.story_input import api_plan
from ui.story_jobs import FILM_PREFIX

SHOT = 2  # seconds: the shortest wan2.6-i2v-flash makes
VISITOR = "203.0.113.9"


@pytest.fixture
def picture(tmp_path: Path) -> str:
    return str(write_image(tmp_path / "first.jpg", 640, 480))


def board(picture: str | None, *rows: ShotRow, model: str = "wan2.6-i2v-flash",
          transition: str = "cut") -> Board:
    first = ShotRow("She looks up", SHOT, "image", image=picture)
    return Board(model=model, region="beijing", resolution="720P", transition=transition,
                 rows=(first, *(rows or (ShotRow("She waves", SHOT),))))


def services_for(sim: Any, tmp_path: Path, **changes: Any) -> Services:
    settings = Settings(simulator_url=sim.base_url, cache_dir=tmp_path / "cache",
                        task_seconds_hint=0.3, state_secret="story-test")
    return Services.create(replace(settings, **changes))


def run(agen: Any, on_view: Callable[[View], None] | None = None) -> list[View]:
    async def main() -> list[View]:
        seen = []
        async for view in agen:
            seen.append(view)
            if on_view is not None:
                on_view(view)
        return seen
    return asyncio.run(main())


def skipped(value: Any) -> bool:
    return isinstance(value, dict) and value == {"__type__": "update"}


def latest(views: list[View], name: str) -> Any:
    """What the page shows of an output after these updates (the last value sent)."""
    values = [getattr(v, name) for v in views if not skipped(getattr(v, name))]
    return values[-1] if values else None


def last_state(views: list[View]) -> dict[str, Any]:
    states = [v.state for v in views if isinstance(v.state, dict) and "record" in v.state]
    return states[-1]


def sim_creates(sim: Any) -> int:
    return len(creates(sim, SIMULATOR_KEY))


def seconds_of(path: str | Path) -> tuple[float, int, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.demux(stream) if _.size)
        return float(stream.duration * stream.time_base), frames, stream.codec_context.name


# --- rows, storyboard and plan -----------------------------------------------------------------

def test_rows_make_a_storyboard_and_come_back_from_it(picture: str) -> None:
    rows = board(picture, ShotRow("Rocket", 3.0, "image", image="https://example.com/r.jpg",
                                  audio="/tmp/voice.wav"), ShotRow("Smoke", "4", "clip"))
    data = storyboard(rows)
    assert data["image"] == picture and data["resolution"] == "720P"
    assert data["shots"] == [
        {"prompt": "She looks up", "duration": 2},
        {"prompt": "Rocket", "duration": 3, "image": "https://example.com/r.jpg",
         "audio": "/tmp/voice.wav"},
        {"prompt": "Smoke", "duration": 4, "continue": "clip"}]
    again = board_of(data)
    assert [(r.prompt, r.duration, r.begins) for r in again.rows] == [
        ("She looks up", 2, "image"), ("Rocket", 3, "image"), ("Smoke", 4, "clip")]
    assert again.rows[0].image == picture and again.rows[1].audio == "/tmp/voice.wav"
    # A model without sound takes no audio: the storyboard leaves it out.
    silent = storyboard(replace(rows, model="wan2.2-i2v-flash"))
    assert "audio" not in silent["shots"][1]


def test_the_example_story_fills_the_rows_with_its_pictures() -> None:
    example = board_of(example_storyboard())
    assert [(r.prompt, r.duration, r.begins) for r in example.rows] == [
        ("She looks up", 3, "image"), ("She waves", 4, "frame"),
        ("The rocket lifts off", 3, "image")]
    assert [Path(r.image).name for r in example.rows if r.image] == ["astronaut.jpg",
                                                                     "rocket.jpg"]
    summary, text = plan_view(example, "en", simulated=False)
    assert summary == "Film: 10 s from 3 shot(s) · estimated price ≈ CNY 3.00"
    assert text.endswith("at once: shots 1, 3; shot 2 waits for shot 1")


def test_moving_a_shot_up_and_removing_one() -> None:
    rows = [ShotRow("a", begins="frame", image="/a.jpg"), ShotRow("b"),
            ShotRow("c", begins="image", image="/c.jpg")]
    moved = moved_up(rows, 1)
    assert [r.prompt for r in moved] == ["b", "a", "c"]
    assert moved[1].begins == "image" and moved[1].image == "/a.jpg"  # the old first: a cut
    assert [r.prompt for r in moved_up(rows, 0)] == ["a", "b", "c"]
    assert [r.prompt for r in removed(rows, 1)] == ["a", "c"]
    assert [r.prompt for r in removed([ShotRow("only")], 0)] == ["only"]


def test_the_plan_follows_the_edits_and_names_the_shot_in_each_problem(picture: str) -> None:
    summary, text = plan_view(board(picture), "en", simulated=True)
    assert summary.startswith(f"Film: {2 * SHOT} s from 2 shot(s)")
    assert "CNY 1.20" in summary and "simulated: free" in summary
    assert "shot 2 waits for shot 1" in text
    # wan2.5 makes 5 or 10 s, and the second shot's own picture is missing.
    wrong = board(picture, ShotRow("b", 7, "image"), model="wan2.5-i2v-preview")
    problems, text = plan_view(wrong, "en", simulated=False)
    assert text == ""
    assert problems.split("\n\n") == [
        ("⚠ Please fix “shot 2: picture”: add the shot's own picture, or let it continue the "
         "shot before."),
        "⚠ Please fix “shot 1: length”: wan2.5-i2v-preview cannot make 2 s videos (5, 10).",
        "⚠ Please fix “shot 2: length”: wan2.5-i2v-preview cannot make 7 s videos (5, 10)."]
    zh, _ = plan_view(wrong, "zh", simulated=False)
    assert "“镜头 2：时长”" in zh and "“镜头 2：图片”" in zh
    no_picture, _ = plan_view(board(None), "en", simulated=False)
    assert no_picture == ("⚠ Please fix “shot 1: picture”: add the picture the film starts "
                          "from.")


# --- what the browser keeps --------------------------------------------------------------------

def test_media_the_browser_keeps_are_links_or_names_in_the_store(sim: Any, tmp_path: Path,
                                                                 picture: str) -> None:
    store = services_for(sim, tmp_path).store
    kept = store.keep_upload(Path(picture))
    data = {"image": str(kept), "shots": [{"prompt": "a"}, {
        "image": "https://example.com/b.jpg", "audio": "/etc/passwd"}]}
    browser = for_browser(data, store)
    assert browser["image"] == f"upload:{kept.name}"
    assert browser["shots"][1] == {"image": "https://example.com/b.jpg", "audio": None}
    assert from_browser(browser, store)["image"] == str(kept)
    forged = {"image": "/etc/passwd", "shots": [{"image": "upload:../../state-secret",
                                                 "last_frame": "upload:" + "0" * 32 + ".jpg",
                                                 "audio": 7}]}
    back = from_browser(forged, store)
    assert back["image"] is None
    assert back["shots"][0] == {"image": None, "last_frame": None, "audio": None}


def test_api_input_reads_only_links_and_the_uploaded_picture(sim: Any, tmp_path: Path,
                                                            picture: str) -> None:
    store = services_for(sim, tmp_path).store
    shots = [{"prompt": "a", "duration": SHOT}, {"prompt": "b", "duration": SHOT}]
    plan, data = api_plan(json.dumps({"model": "wan2.6-i2v-flash", "image": "astronaut.jpg",
                                      "shots": shots}), picture, store)
    assert Path(data["image"]).parent == store.uploads  # the upload is the named picture
    assert plan.seconds == 2 * SHOT and plan.shots[1].after == 0

    def refused(data: Any, upload: str | None = picture) -> list[str]:
        with pytest.raises(InvalidInput) as caught:
            api_plan(data if isinstance(data, str) else json.dumps(data), upload, store)
        found = caught.value.problems if isinstance(caught.value, StoryError) else (caught.value,)
        return [f"{p.field}: {p.rule}" for p in found]

    path_shot = [shots[0], {"prompt": "b", "image": "../../ui/settings.py"}]
    assert refused({"model": "wan2.6-i2v-flash", "shots": path_shot}) == [
        ("shot 2: image: is a path, and paths in the storyboard are not read on the server; "
         "give a public http(s) link")]
    assert refused({"model": "wan2.6-i2v-flash", "image": "/etc/hostname", "shots": shots},
                   None)[0].startswith("image: is a path")
    assert refused({"model": "wan2.6-i2v-flash", "image": "https://example.com/a.jpg",
                    "shots": shots})[0].startswith("image: is given twice")
    data_uri = [shots[0], {"prompt": "b", "audio": "data:audio/wav;base64,AAAA"}]
    assert refused({"model": "wan2.6-i2v-flash", "shots": data_uri})[0].startswith(
        "shot 2: audio: is a path")
    assert refused("[1, 2]")[0].startswith("storyboard: must be a JSON object")
    assert refused("{")[0].startswith("storyboard: is not valid JSON")
    assert refused({"model": "wan2.6-i2v-flash", "shots": [{"prompt": "a", "duration": 7.5}]}
                   )[0].startswith("shot 1: duration")


# --- stories on the simulator ------------------------------------------------------------------

def test_a_story_streams_its_shots_and_keeps_them_and_the_film_by_the_servers_ids(
        sim: Any, tmp_path: Path, picture: str) -> None:
    services = services_for(sim, tmp_path)
    flows = StoryFlows(services)
    before = sim_creates(sim)
    views = run(flows.make_film(board(picture), None, "en", VISITOR))
    assert sim_creates(sim) - before == 2
    final = views[-1]
    assert final.error is None and latest(views, "status").startswith(
        "✓ The film is ready: 4 s")
    state = last_state(views)
    record, kept_board = flows.seal.open(json.loads(json.dumps(state)))
    assert kept_board["shots"][1] == {"prompt": "She waves", "duration": SHOT}
    assert kept_board["image"].startswith("upload:")  # never a path
    store = services.store
    film = store.video_for(FILM_PREFIX + record["token"])
    assert film is not None and latest(views, "film") == str(film)
    seconds, frames, codec = seconds_of(film)
    assert codec == "h264" and abs(frames - 2 * SHOT * 30) <= 1 and abs(seconds - 2 * SHOT) < 0.1
    shot_videos = [store.video_for(shot["task_id"]) for shot in record["shots"]]
    assert all(v is not None for v in shot_videos)
    assert [shot["status"] for shot in record["shots"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert final.shot_files == [str(v) for v in shot_videos]
    # Each shot's status streamed: shot 2 waited for shot 1, then took its last frame.
    shot2 = [v.shots[1] for v in views if isinstance(v.shots[1], str)]
    assert any("Waits for shot 1" in s for s in shot2)
    assert any("taking its last frame" in s for s in shot2)
    assert "✓ Finished" in shot2[-1]


def test_a_story_counts_one_video_per_shot_all_or_nothing(sim: Any, tmp_path: Path,
                                                          picture: str) -> None:
    flows = StoryFlows(services_for(sim, tmp_path, demo_limit=3))
    before = sim_creates(sim)
    assert run(flows.make_film(board(picture), None, "en", VISITOR))[-1].error is None
    three = board(picture, ShotRow("b", SHOT), ShotRow("c", SHOT))
    (refused,) = run(flows.make_film(three, None, "en", VISITOR))
    assert refused.error and "A story of 3 shots counts 3 videos" in refused.error
    assert sim_creates(sim) - before == 2  # nothing sent for the refused story
    single = replace(board(picture), rows=board(picture).rows[:1])
    assert run(flows.make_film(single, None, "en", VISITOR))[-1].error is None  # 1 left
    (capped,) = run(flows.make_film(single, None, "en", VISITOR))
    assert "demo videos this hour" in capped.error
    assert run(flows.make_film(single, None, "en", "198.51.100.1"))[-1].error is None


def test_shots_take_their_turns_in_the_visitors_line(sim: Any, tmp_path: Path,
                                                     picture: str) -> None:
    """Two independent shots (a cut) with one video at once per visitor: the second is sent
    only when the first has ended."""
    flows = StoryFlows(services_for(sim, tmp_path, visitor_at_once=1))
    cut = board(picture, ShotRow("Rocket", SHOT, "image", image=picture))
    views = run(flows.make_film(cut, None, "en", VISITOR))
    assert views[-1].error is None
    story = flows.jobs.get(flows.seal.open(last_state(views))[0]["token"])
    tasks = {t.task_id: t for t in sim.sim.store.tasks_of(account_of(SIMULATOR_KEY))}
    first, second = sorted((tasks[job.task_id] for job in story.shots),
                           key=lambda task: task.submitted)  # either shot may go first
    assert second.submitted >= first.end_time(time.time())  # sent once the first had ended
    assert any("queue" in v.shots[1] for v in views if isinstance(v.shots[1], str))
    assert flows.services.lines.busy(VISITOR) == 0  # every turn given back


def test_a_failed_shot_is_made_again_with_what_continues_from_it(sim: Any, tmp_path: Path,
                                                                 picture: str) -> None:
    flows = StoryFlows(services_for(sim, tmp_path))
    armed: list[bool] = []

    def fail_shot_2(view: View) -> None:
        if not armed and isinstance(view.shots[0], str) and "✓ Finished" in view.shots[0]:
            armed.append(True)
            sim.faults.add("fail", route="create", code="InternalError")

    three = board(picture, ShotRow("b", SHOT), ShotRow("c", SHOT))
    before = sim_creates(sim)
    views = run(flows.make_film(three, None, "en", VISITOR), fail_shot_2)
    final = views[-1]
    assert final.error and "could not be made" in latest(views, "status")
    assert latest(views, "film") is None
    assert sim_creates(sim) - before == 2  # shot 3 continues shot 2: never sent
    redo_shown = {n: v.redo[n]["visible"] for v in views for n in range(3)
                  if isinstance(v.redo[n], dict) and "visible" in v.redo[n]}
    assert redo_shown == {0: False, 1: True, 2: False}
    shot3 = [v.shots[2] for v in views if isinstance(v.shots[2], str)][-1]
    assert "continues shot 2, which failed" in shot3
    state = last_state(views)
    again = run(flows.redo(state, 1, None, "en", VISITOR))
    assert latest(again, "status").startswith("✓ The film is ready: 6 s")
    assert sim_creates(sim) - before == 4  # shots 2 and 3 again, not shot 1
    assert {n: v.redo[n]["visible"] for v in again for n in range(3)
            if isinstance(v.redo[n], dict) and "visible" in v.redo[n]} == {
        0: False, 1: False, 2: False}


def test_cancel_stops_the_shots_that_have_not_started(sim: Any, tmp_path: Path,
                                                      picture: str) -> None:
    flows = StoryFlows(services_for(sim, tmp_path))
    answers: list[str] = []

    def cancel_when_shot_1_has_a_task(view: View) -> None:
        if not answers and isinstance(view.state, dict) and "record" in view.state \
                and view.state["record"]["shots"][0]["task_id"]:
            answers.append(flows.cancel(view.state, "en"))

    before = sim_creates(sim)
    views = run(flows.make_film(board(picture), None, "en", VISITOR),
                cancel_when_shot_1_has_a_task)
    assert answers == ["Cancelling: shots that have not started will not be made."]
    assert latest(views, "status").startswith("Cancelled") and sim_creates(sim) - before == 1
    record = flows.seal.open(last_state(views))[0]
    assert [s["status"] for s in record["shots"]] == ["SUCCEEDED", "CANCELED"]
    assert flows.cancel(last_state(views), "en") == "There is no story being made to cancel."


def test_a_reload_follows_the_story_and_a_restart_finds_it_in_the_store(
        sim: Any, tmp_path: Path, picture: str) -> None:
    services = services_for(sim, tmp_path)
    flows = StoryFlows(services)
    picked_up: list[list[View]] = []

    async def reload_mid_way() -> list[View]:
        seen = []
        async for view in flows.make_film(board(picture), None, "en", VISITOR, "page-1"):
            seen.append(view)
            if isinstance(view.state, dict) and not picked_up:
                # A reloaded page (a new session) picks the story up from the browser's value.
                picked_up.append([v async for v in flows.restore(view.state, "en", VISITOR,
                                                                  "page-2")])
                return seen
        return seen

    started = asyncio.run(reload_mid_way())
    (followed,) = picked_up
    assert len(started) == 1 and latest(followed, "status").startswith("✓ The film is ready")
    state = last_state(followed)
    # The page that follows a story already is not given a second stream of it.
    token = flows.seal.open(state)[0]["token"]
    flows._pages["page-3"] = token
    assert [v.outputs() == View().outputs() for v in run(flows.restore(
        state, "en", VISITOR, "page-3"))] == [True]
    # After a restart the story is not running anywhere: the store still has it.
    restarted = StoryFlows(services)
    (shown,) = run(restarted.restore(state, "en", VISITOR))
    record = flows.seal.open(state)[0]
    assert shown.film == str(services.store.video_for(FILM_PREFIX + token))
    assert shown.status.startswith("✓ The film is ready: 4 s")
    assert [v["value"] for v in shown.videos[:2]] == [
        str(services.store.video_for(s["task_id"])) for s in record["shots"]]
    assert [b["visible"] for b in shown.boxes] == [True, True] + [False] * 6
    assert restarted.storyboard_of(state)["shots"][0]["prompt"] == "She looks up"


def test_a_story_stopped_by_a_restart_is_finished_without_paying_twice(
        sim: Any, tmp_path: Path, picture: str) -> None:
    """The studio restarts while shot 2 of 3 is being made: the page finds the story stopped;
    "Put the film together again" keeps shot 1, follows shot 2's task and makes only shot 3."""
    services = services_for(sim, tmp_path)
    flows = StoryFlows(services)

    async def until_shot_2_has_a_task() -> dict[str, Any]:
        async for view in flows.make_film(board(picture, ShotRow("She waves", SHOT),
                                                ShotRow("She turns", SHOT)),
                                          None, "en", VISITOR):
            if isinstance(view.state, dict) and "record" in view.state:
                shots = flows.seal.open(view.state)[0]["shots"]
                if shots[1]["task_id"]:
                    return view.state
        raise AssertionError("shot 2 never had a task")

    before = sim_creates(sim)
    # asyncio.run ends the loop here: the story's run is gone, as in a restart.
    state = json.loads(json.dumps(asyncio.run(until_shot_2_has_a_task())))
    assert sim_creates(sim) - before == 2
    shot_2_task = flows.seal.open(state)[0]["shots"][1]["task_id"]
    restarted = StoryFlows(services)
    (shown,) = run(restarted.restore(state, "en", VISITOR))
    assert shown.status.startswith("This story stopped when the studio restarted: 1 of 3")
    assert shown.refilm == {"__type__": "update", "visible": True}
    # A story made with a visitor's own key is not finished on the studio's.
    stopped = flows.jobs.get(flows.seal.open(state)[0]["token"])
    stopped.key_kind = "personal"
    (own,) = run(restarted.redo(flows.seal.keep(stopped), None, None, "en", VISITOR))
    assert own.error is not None and "your own API key" in own.error
    assert sim_creates(sim) - before == 2
    views = run(restarted.redo(state, None, None, "en", VISITOR))
    assert sim_creates(sim) - before == 3  # shot 3 only: shot 2's task was followed
    assert latest(views, "status").startswith("✓ The film is ready: 6 s")
    record = restarted.seal.open(last_state(views))[0]
    assert record["token"] == flows.seal.open(state)[0]["token"]  # the same story, finished
    assert [s["status"] for s in record["shots"]] == ["SUCCEEDED"] * 3
    assert record["shots"][1]["task_id"] == shot_2_task
    shot_1 = [v.shots[0] for v in views if isinstance(v.shots[0], str)]
    assert "✓ Made earlier. Task id:" in shot_1[-1]  # kept, not timed as made just now
    film = services.store.video_for(FILM_PREFIX + record["token"])
    assert film is not None and abs(seconds_of(film)[1] - 3 * SHOT * 30) <= 1
    # A second press finds the film made: nothing more is made.
    run(restarted.redo(last_state(views), None, None, "en", VISITOR))
    assert sim_creates(sim) - before == 3


def test_forged_or_changed_stories_are_ignored(sim: Any, tmp_path: Path,
                                               picture: str) -> None:
    services = services_for(sim, tmp_path)
    flows = StoryFlows(services)
    mine = last_state(run(flows.make_film(board(picture), None, "en", VISITOR)))
    alone = replace(board(picture), rows=board(picture).rows[:1])
    theirs = last_state(run(flows.make_film(alone, None, "en", "198.51.100.7")))
    their_token = theirs["record"]["token"]
    other_id = {**mine, "record": {**mine["record"], "token": their_token}}
    changed_board = {**mine, "storyboard": {**mine["storyboard"], "image": "/etc/passwd"}}
    swapped = {"record": mine["record"], "storyboard": theirs["storyboard"]}
    unsigned = {"record": {k: v for k, v in mine["record"].items() if k != "sig"},
                "storyboard": mine["storyboard"]}
    single = {"record": services.seal.seal({"token": their_token, "kind": "story",
                                            "shots": []}), "storyboard": {}}
    for forged in (other_id, changed_board, swapped, unsigned, single, "x", None,
                   {"record": None, "storyboard": None}):
        assert flows.seal.open(forged) is None
        assert flows.story_of(forged) is None and flows.storyboard_of(forged) is None
        (view,) = run(flows.restore(forged, "en", VISITOR))
        assert view.status == "Set up the shots, then press “Make the film”."
        assert view.film is None and all(v["value"] is None for v in view.videos)
        (redo,) = run(flows.redo(forged, 0, None, "en", VISITOR))
        assert redo.status == "No story is kept in this browser yet."
    assert flows.seal.open(json.loads(json.dumps(theirs))) is not None  # theirs still opens
    assert services.seal.open(mine["record"]) is None  # not a single video's record either
