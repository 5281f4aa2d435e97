"""Stories run on the simulator as a real server: continued shots wait for their shot and start
from its last frame, independent shots run at once, a failure stops only what continues from it,
redo and cancel do no more than they must, and the film is checked with PyAV."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from client import events, film, frames, story_cli
from client.errors import TaskCanceled, TaskFailed
from client.eta import EtaEstimator
from client.http import WanClient
from client.simulator import render
from client.simulator.server import RunningSimulator, SimConfig, start_simulator
from client.simulator.state import SimTask, account_of
from client.story import CONTINUE_CLIP_SECONDS, from_dict, plan
from client.story_run import (
    Continuing,
    FilmDone,
    ShotDone,
    ShotEvent,
    ShotFailed,
    ShotSkipped,
    StoryEvent,
    StoryRun,
)
from tests.integration.helpers import creates

ASSETS = Path(__file__).resolve().parents[2] / "assets"
TASK_SECONDS = 0.3
SHOT_SECONDS = 2  # the shortest wan2.6-i2v-flash makes
# The simulator's pull, pan and tilt begin zoomed in, while the service's first frame is the
# picture itself: a seed whose move is a push-in starts every shot on its picture.
PUSH_IN_SEED = next(s for s in range(100)
                    if render.single_shot(random.Random(s), SHOT_SECONDS)(0.0) == render.Pose())
SAME_PICTURE = 8.0  # mean |difference| per RGB value of two frames that show one picture
OTHER_PICTURE = 40.0  # … and at least this for two different pictures


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    """One simulator with the account limits on (wan2.6-i2v-flash: 5 tasks at once)."""
    running = start_simulator(SimConfig(task_seconds=TASK_SECONDS, limits=True))
    yield running
    running.stop()


def storyboard(*shots: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"model": "wan2.6-i2v-flash", "resolution": "720P", "image": "astronaut.jpg",
            "seed": PUSH_IN_SEED, **top,
            "shots": [{"prompt": f"shot {n + 1}", "duration": SHOT_SECONDS, **s}
                      for n, s in enumerate(shots)]}


@dataclass
class Ran:
    run: StoryRun
    key: str
    seen: list[tuple[float, StoryEvent]]  # with the moment each arrived

    def of(self, kind: type) -> list[Any]:
        return [event for _, event in self.seen if isinstance(event, kind)]


async def collect(run: StoryRun, seen: list[tuple[float, StoryEvent]], *, redo: int | None = None,
                  on_event: Any = None) -> None:
    async for event in (run.run() if redo is None else run.redo(redo)):
        seen.append((time.time(), event))
        if on_event is not None:
            on_event(run, event, [e for _, e in seen])


def start(sim: RunningSimulator, data: dict[str, Any], dest: Path, **collect_options: Any) -> Ran:
    """Run a storyboard (a new account) to its end in a fresh event loop."""
    key = f"sk-story-{uuid.uuid4().hex}"
    seen: list[tuple[float, StoryEvent]] = []
    holder: list[StoryRun] = []

    async def main() -> None:
        async with WanClient(key, base_url=sim.base_url) as client:
            run = StoryRun(client, plan(from_dict(data, ASSETS)), dest, eta=EtaEstimator())
            holder.append(run)
            await collect(run, seen, **collect_options)

    asyncio.run(main())
    return Ran(holder[0], key, seen)


def again(sim: RunningSimulator, ran: Ran, *, redo: int | None = None) -> None:
    """Run the same story again (what is not saved yet, or a redo) on a new connection."""
    async def main() -> None:
        async with WanClient(ran.key, base_url=sim.base_url) as client:
            ran.run.client = client
            await collect(ran.run, ran.seen, redo=redo)

    asyncio.run(main())


def tasks_of(sim: RunningSimulator, key: str) -> list[SimTask]:
    return sorted(sim.sim.store.tasks_of(account_of(key)), key=lambda t: t.submitted)


def frames_at(path: Path, *wanted: int) -> list[np.ndarray]:
    """The video's frames at these positions (decoding keeps only them: frames are large)."""
    kept: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n in wanted:
                kept[n] = frame.to_ndarray(format="rgb24").astype(np.int16)
            if n >= max(wanted):
                break
    return [kept[n] for n in wanted]


def frame_count(path: Path) -> int:
    return film.probe(path).frames


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@pytest.fixture(scope="module")
def chain(sim: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """Three shots; shots 2 and 3 continue the one before."""
    return start(sim, storyboard({}, {}, {}), tmp_path_factory.mktemp("chain"))


def test_a_continued_story_is_one_film_with_seamless_seams(chain: Ran) -> None:
    (done,) = chain.of(FilmDone)
    shot_frames = [frame_count(chain.run.videos[i]) for i in range(3)]
    with av.open(str(done.path)) as container:
        assert len(container.streams.video) == 1 and len(container.streams.audio) == 1
        assert container.streams.audio[0].codec_context.name == "aac"
        decoded = sum(1 for _ in container.decode(video=0))
    assert abs(decoded - sum(shot_frames)) <= 1
    assert abs(decoded - 3 * SHOT_SECONDS * 30) <= 1
    for seam in (shot_frames[0], shot_frames[0] + shot_frames[1]):
        before, after = frames_at(done.path, seam - 1, seam)
        assert difference(before, after) < SAME_PICTURE, seam


def test_a_continuation_is_created_after_its_shot_succeeded_from_its_last_frame(
        sim: RunningSimulator, chain: Ran) -> None:
    first, second, third = tasks_of(sim, chain.key)[:3]
    sent = sorted(r.at for r in creates(sim, chain.key))[:3]
    now = time.time()
    assert sent[1] >= first.end_time(now) and sent[2] >= second.end_time(now)
    video = chain.run.videos[0]
    frame = video.with_name(f"{video.stem}-last.png")
    last = frames.last_frame(video)
    with Image.open(frame) as handed:
        assert handed.size == last.size and np.array_equal(np.asarray(handed), np.asarray(last))
    assert str(second.request.image).endswith("/" + frame.name)  # uploaded, then sent by oss://
    assert third.request.image is not None and third.request.image != second.request.image
    (start_of_second,) = frames_at(chain.run.videos[1], 0)
    assert difference(start_of_second, np.asarray(last, np.int16)) < SAME_PICTURE


def test_redoing_shot_2_of_3_sends_two_creates_and_keeps_shot_1(sim: RunningSimulator,
                                                                 chain: Ran) -> None:
    before = len(creates(sim, chain.key))
    kept, replaced = chain.run.videos[0], (chain.run.videos[1], chain.run.videos[2])
    again(sim, chain, redo=1)
    assert len(creates(sim, chain.key)) == before + 2
    assert chain.run.videos[0] == kept
    assert all(chain.run.videos[i] != old and old.is_file() for i, old in ((1, replaced[0]),
                                                                           (2, replaced[1])))
    assert chain.run.film is not None and chain.run.film.shot_starts[1] == SHOT_SECONDS


def test_a_story_with_a_cut_runs_both_shots_at_once_and_shows_the_cut(
        sim: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    key = f"sk-story-cli-{uuid.uuid4().hex}"
    monkeypatch.setenv("DASHSCOPE_API_KEY", key)
    path = tmp_path / "cut.json"
    data = storyboard({}, {"image": str(ASSETS / "rocket.jpg")},
                      image=str(ASSETS / "astronaut.jpg"))  # absolute paths: the file is elsewhere
    path.write_text(json.dumps(data))
    parser = argparse.ArgumentParser()
    story_cli.add_story_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["story", str(path), "--out", str(tmp_path / "cut.mp4"),
                              "--base-url", sim.base_url])
    assert asyncio.run(story_cli.story_command(args)) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(tmp_path / "cut.mp4")
    assert "at once: shots 1, 2" in err and "shot 2: saved " in err and "film: 4.0 s" in err
    first, second = tasks_of(sim, key)
    now = time.time()
    assert second.submitted < first.end_time(now)  # neither waited for the other
    seam = SHOT_SECONDS * 30
    before_last, last, first = frames_at(tmp_path / "cut.mp4", seam - 2, seam - 1, seam)
    assert difference(last, first) > OTHER_PICTURE
    assert difference(before_last, last) < SAME_PICTURE


def test_a_failed_shot_stops_only_the_shots_continuing_from_it_and_can_be_made_again(
        sim: RunningSimulator, tmp_path: Path) -> None:
    def fail_shot_2(run: StoryRun, event: StoryEvent, seen: list[StoryEvent]) -> None:
        if isinstance(event, ShotDone) and event.index == 0:
            assert any(isinstance(e, ShotEvent) and e.index == 3  # shot 4 started with shot 1
                       and isinstance(e.event, events.Pending) for e in seen)
            sim.faults.add("fail", route="create", code="InternalError")  # shot 2's create

    ran = start(sim, storyboard({}, {}, {}, {"image": "rocket.jpg"}), tmp_path,
                on_event=fail_shot_2)
    (failed,) = ran.of(ShotFailed)
    assert failed.index == 1 and isinstance(failed.error, TaskFailed)
    assert [(s.index, s.because_of) for s in ran.of(ShotSkipped)] == [(2, 1)]
    assert sorted(s.index for s in ran.of(ShotDone)) == [0, 3]
    assert not ran.of(FilmDone) and ran.run.film is None
    assert len(creates(sim, ran.key)) == 3  # shot 3 never sent
    again(sim, ran)
    assert len(creates(sim, ran.key)) == 5
    assert ran.run.film is not None and len(ran.run.film.shot_starts) == 4


def test_cancel_stops_the_shots_that_have_not_started(sim: RunningSimulator,
                                                      tmp_path: Path) -> None:
    def cancel_once_shot_1_has_a_task(run: StoryRun, event: StoryEvent,
                                      seen: list[StoryEvent]) -> None:
        if isinstance(event, ShotEvent) and isinstance(event.event, events.Pending):
            run.cancel()

    ran = start(sim, storyboard({}, {}), tmp_path, on_event=cancel_once_shot_1_has_a_task)
    assert [s.index for s in ran.of(ShotDone)] == [0]  # its task existed: it goes on
    (stopped,) = ran.of(ShotFailed)
    assert stopped.index == 1 and isinstance(stopped.error, TaskCanceled)
    assert not ran.of(Continuing) and len(creates(sim, ran.key)) == 1
    again(sim, ran)
    assert len(creates(sim, ran.key)) == 2 and ran.run.film is not None


def test_a_wan27_shot_continues_the_previous_shots_last_seconds(sim: RunningSimulator,
                                                                tmp_path: Path) -> None:
    data = storyboard({"duration": 3}, {"duration": 5, "continue": "clip"},
                      {"duration": 2, "last_frame": "rocket.jpg"}, model="wan2.7-i2v")
    ran = start(sim, data, tmp_path)
    (done,) = ran.of(FilmDone)
    _, second, third = tasks_of(sim, ran.key)
    assert second.request.image is None and second.request.first_clip is not None
    tail = ran.run.videos[0].with_name(f"{ran.run.videos[0].stem}-tail.mp4")
    assert str(second.request.first_clip).endswith("/" + tail.name)
    assert film.probe(tail).seconds == CONTINUE_CLIP_SECONDS  # cut exactly, not at a keyframe
    assert third.request.image is not None and third.request.last_frame is not None
    assert done.info.seconds == 3 + 5 - CONTINUE_CLIP_SECONDS + 2 == ran.run.plan.seconds
    assert done.info.shot_starts[1] == 3
    assert abs(frame_count(done.path) - round(done.info.seconds * 30)) <= 1
    for seam in (3 * 30, 6 * 30):
        before, after = frames_at(done.path, seam - 1, seam)
        assert difference(before, after) < SAME_PICTURE, seam


def _task_ids(ran: Ran) -> dict[int, str]:
    return {e.index: e.event.task_id for e in ran.of(ShotEvent)
            if isinstance(e.event, events.Pending)}


def finish(sim: RunningSimulator, ran: Ran, dest: Path, adopt: dict[int, str],
           attach: dict[int, str]) -> Ran:
    """What a restarted studio does with a stopped story: a new run of the same plan that
    keeps the shots made, follows the tasks made and makes only the rest."""
    seen: list[tuple[float, StoryEvent]] = []
    holder: list[StoryRun] = []

    async def main() -> None:
        async with WanClient(ran.key, base_url=sim.base_url) as client:
            run = StoryRun(client, ran.run.plan, dest, eta=EtaEstimator())
            for index, task_id in adopt.items():
                run.adopt(index, task_id, ran.run.videos[index])
            for index, task_id in attach.items():
                run.attach(index, task_id)
            holder.append(run)
            await collect(run, seen)

    asyncio.run(main())
    return Ran(holder[0], ran.key, seen)


@pytest.fixture(scope="module")
def wan27_chain(sim: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """wan2.7: shot 2 continues shot 1's last seconds, shot 3 its last frame."""
    data = storyboard({"duration": 3}, {"duration": 5, "continue": "clip"}, {"duration": 2},
                      model="wan2.7-i2v")
    return start(sim, data, tmp_path_factory.mktemp("wan27-chain"))


def test_a_stopped_story_is_finished_keeping_made_shots_and_following_made_tasks(
        sim: RunningSimulator, wan27_chain: Ran, tmp_path: Path) -> None:
    ids = _task_ids(wan27_chain)
    before = len(creates(sim, wan27_chain.key))
    ran = finish(sim, wan27_chain, tmp_path, adopt={0: ids[0]}, attach={1: ids[1]})
    assert len(creates(sim, wan27_chain.key)) == before + 1  # shot 3 only
    assert not [e for e in ran.of(ShotEvent) if e.index in (0, 1)
                and isinstance(e.event, events.Pending)]  # nothing created for shots 1 and 2
    (done,) = ran.of(FilmDone)
    assert {e.index for e in ran.of(ShotDone)} == {1, 2}
    assert ran.run.videos[0].parent == tmp_path and ids[0] in ran.run.videos[0].name
    assert done.info.seconds == 3 + 5 - CONTINUE_CLIP_SECONDS + 2 == ran.run.plan.seconds
    assert done.info.shot_starts[1] == 3  # the followed clip-continued shot's in-point
    assert abs(frame_count(done.path) - round(done.info.seconds * 30)) <= 1


def test_a_story_whose_shots_were_all_made_is_only_assembled(sim: RunningSimulator,
                                                             wan27_chain: Ran,
                                                             tmp_path: Path) -> None:
    ids = _task_ids(wan27_chain)
    before = len(creates(sim, wan27_chain.key))
    ran = finish(sim, wan27_chain, tmp_path, adopt=ids, attach={})
    assert len(creates(sim, wan27_chain.key)) == before
    (done,) = ran.of(FilmDone)
    assert done.info.shot_starts == wan27_chain.run.film.shot_starts  # in-points found again
    assert abs(frame_count(done.path) - frame_count(wan27_chain.run.film.path)) <= 1
