"""A create whose answer is lost, on the real simulator: the CLI and the pipeline find the task it
made and end with its video, one task on the account; with two candidates they send nothing more."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from client import catalog, events
from client.__main__ import main
from client.error_codes import FREE_QUOTA_MESSAGE
from client.errors import NotSent, QuotaExhausted
from client.http import WanClient
from client.pipeline import run_job
from client.request import VideoRequest, predict_output_size
from client.slots import SlotQueue
from tests.integration.helpers import account_tasks, assert_video, creates, payload
from tests.media_factory import write_image

MODEL = "wan2.2-i2v-flash"
pytestmark = pytest.mark.usefixtures("quick_rechecks")


def cli(sim, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("DASHSCOPE_API_KEY", key)
    image = write_image(tmp_path / "harbour.jpg", 480, 360)
    return main(["generate", "--model", MODEL, "--image", str(image), "--resolution", "480P",
                 "--base-url", sim.base_url, "--out", str(tmp_path / "out.mp4")])


def test_the_cli_ends_with_the_video_of_the_task_the_lost_answer_made(
        sim, api_key, raw, tmp_path, monkeypatch, capsys):
    sim.faults.add("lost-answer", route="create", times=1)
    assert cli(sim, api_key, tmp_path, monkeypatch) == 0
    out, err = capsys.readouterr()
    saved = Path(out.strip())
    assert saved == tmp_path / "out.mp4"
    width, height = predict_output_size(480, 360, "480P")
    seconds = catalog.MODELS[MODEL].default_duration
    assert_video(saved, width=width, height=height, seconds=seconds, audio=False)
    (task_id,) = account_tasks(raw)  # exactly one task on the account
    assert [r.fault for r in creates(sim, api_key)] == ["lost-answer"]
    assert f"task {task_id}" in err and "found in the task list" in err


def test_with_two_candidates_the_cli_names_both_and_sends_nothing_more(
        sim, api_key, raw, tmp_path, monkeypatch, capsys):
    theirs = raw.submit(payload(MODEL, resolution="480P"))  # another user of the key, just now
    sim.faults.add("lost-answer", route="create", times=1)
    assert cli(sim, api_key, tmp_path, monkeypatch) == 1
    out, err = capsys.readouterr()
    tasks = account_tasks(raw)
    assert len(tasks) == 2 and theirs in tasks
    assert "AmbiguousTask" in err and all(f"python -m client resume {t}" in err for t in tasks)
    assert len(creates(sim, api_key)) == 2  # theirs, and the CLI's one with the lost answer
    mine = next(t for t in tasks if t != theirs)
    assert not [r for r in sim.requests if mine in r.path]  # never followed
    assert out == "" and not (tmp_path / "out.mp4").exists()


async def _run(sim, key: str, tmp_path: Path, **options) -> list[events.Event]:
    image = write_image(tmp_path / "frame.jpg", 480, 360)
    request = VideoRequest(model=MODEL, image=image, resolution="480P")
    async with WanClient(key, base_url=sim.base_url) as client:
        return [event async for event in run_job(client, request, dest=tmp_path, **options)]


def test_the_pipeline_follows_a_lost_answer_holding_its_slot(sim, api_key, raw, tmp_path):
    slots = SlotQueue()
    sim.faults.add("lost-answer", route="create", times=1)
    seen = asyncio.run(_run(sim, api_key, tmp_path, slots=slots))
    recovered = next(e for e in seen if isinstance(e, events.Pending))
    done = seen[-1]
    assert recovered.recovered and isinstance(done, events.Done)
    assert account_tasks(raw) == [done.task_id] and done.path.stat().st_size > 0
    async def both_slots_free() -> bool:
        async with WanClient(api_key, base_url=sim.base_url) as client:
            return all(slots.join(client.account, MODEL, 2).holds_slot for _ in range(2))

    assert asyncio.run(both_slots_free())  # the job gave its slot back


@pytest.mark.parametrize("fault", ["500", "503", "drop"])
def test_a_create_that_made_no_task_is_not_sent_and_safe_to_send_again(
        sim, api_key, raw, tmp_path, fault):
    sim.faults.add(fault, route="create", times=1)
    seen = asyncio.run(_run(sim, api_key, tmp_path))
    assert isinstance(seen[-1], events.Failed) and isinstance(seen[-1].error, NotSent)
    assert account_tasks(raw) == [] and len(creates(sim, api_key)) == 1


def test_throttled_creates_are_waited_out_in_one_layer(sim, api_key, raw, tmp_path):
    sim.faults.add("429", route="create", times=2, retry_after=0)
    seen = asyncio.run(_run(sim, api_key, tmp_path))
    assert isinstance(seen[-1], events.Done)
    assert [r.status for r in creates(sim, api_key)] == [429, 429, 200]


def test_a_used_up_free_quota_is_said_once_and_not_retried(sim, api_key, raw, tmp_path):
    sim.faults.add("429", route="create", times=5, code="Throttling.AllocationQuota",
                   message=FREE_QUOTA_MESSAGE)
    seen = asyncio.run(_run(sim, api_key, tmp_path))
    assert isinstance(seen[-1], events.Failed) and isinstance(seen[-1].error, QuotaExhausted)
    assert len(creates(sim, api_key)) == 1 and account_tasks(raw) == []
