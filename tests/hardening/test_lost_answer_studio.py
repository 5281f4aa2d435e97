"""A create whose answer is lost, through the launched studio's public /generate (the page's queue
calls): it ends with the video of the task that create made, one task on the account; with two
candidates it names both, says it cannot tell them apart and sends nothing more. After the lost
answer no step of the page tells the person to press Generate again."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from client import catalog
from client.request import predict_output_size
from tests.hardening.conftest import launched
from tests.hardening.studio_http import Call, call, fn_index, generate_data, upload
from tests.integration.helpers import Raw, account_tasks, assert_video, creates, payload
from tests.media_factory import write_image
from ui.i18n import t
from ui.settings import Settings

MODEL, RESOLUTION = "wan2.2-i2v-flash", "480P"  # generate_data's defaults
WIDTH, HEIGHT = 480, 360
# The page may say "Don't press Generate again"; it must never invite a second create.
SEND_AGAIN = re.compile(r"(?<!don't )press generate again", re.IGNORECASE)

pytestmark = pytest.mark.usefixtures("quick_rechecks")


def generate(settings: Settings, key: str, image: Path, dest: Path,
             before: Callable[[], object] = lambda: None) -> tuple[Call, Path | None]:
    """One /generate call on a launched studio, `before` run just before it is sent; the call
    and the video it ended with, downloaded from the studio as the page would (None: no video)."""
    with launched(settings) as url:
        async def run() -> tuple[Call, Path | None]:
            async with httpx.AsyncClient(timeout=60) as http:
                config = (await http.get(f"{url}/config")).json()
                uploaded = await upload(http, url, image)
                before()
                result = await call(http, url, fn_index(config, "generate"),
                                    generate_data(uploaded, key))
                video = result.output[1] if result.output else None
                if not video:
                    return result, None
                answer = await http.get(video["url"])  # a FileData, as the page gets it
                answer.raise_for_status()
                dest.write_bytes(answer.content)
                return result, dest

        return asyncio.run(run())


def invitations_to_send_again(result: Call) -> list[str]:
    """The status texts of the page's steps, and the error it ended with, that say to press
    Generate again."""
    shown = [out[0] for out in result.outputs if isinstance(out[0], str)]
    return [text for text in [*shown, result.error or ""] if SEND_AGAIN.search(text)]


def test_the_check_for_an_invitation_to_send_again_knows_the_studios_words() -> None:
    assert SEND_AGAIN.search(t("err_not_sent", "en"))  # what a create that made no task says
    assert not SEND_AGAIN.search(t("err_no_answer", "en"))  # "Don't press Generate again"


def test_a_lost_create_answer_ends_with_the_video_and_one_task(
        byok_settings: Settings, sim: Any, api_key: str, raw: Raw, tmp_path: Path) -> None:
    image = write_image(tmp_path / "harbour.jpg", WIDTH, HEIGHT)
    sim.faults.add("lost-answer", route="create", times=1)
    result, video = generate(byok_settings, api_key, image, tmp_path / "got.mp4")
    assert result.error is None, result.raw
    assert video is not None, result.raw
    width, height = predict_output_size(WIDTH, HEIGHT, RESOLUTION)
    assert_video(video, width=width, height=height, audio=False,
                 seconds=catalog.MODELS[MODEL].default_duration)
    (task_id,) = account_tasks(raw)  # exactly one task on the account
    sent = creates(sim, api_key)
    assert [r.fault for r in sent] == ["lost-answer"]
    assert result.records[-1]["task_id"] == task_id
    assert result.records[-1]["status"] == "SUCCEEDED"
    assert task_id in result.output[0]  # the last status names the task
    assert invitations_to_send_again(result) == []
    print(f"\nlost create answer through the studio: videos 1, tasks on the account "
          f"{len(account_tasks(raw))}, creates sent {len(sent)}")


def test_with_two_candidates_the_studio_names_both_and_sends_nothing_more(
        byok_settings: Settings, sim: Any, api_key: str, raw: Raw, tmp_path: Path) -> None:
    image = write_image(tmp_path / "harbour.jpg", WIDTH, HEIGHT)
    theirs: list[str] = []

    def another_user_of_the_key() -> None:
        """A task of the same key and model, just now; then the studio's create loses its answer."""
        theirs.append(raw.submit(payload(MODEL, resolution=RESOLUTION)))
        sim.faults.add("lost-answer", route="create", times=1)

    result, video = generate(byok_settings, api_key, image, tmp_path / "got.mp4",
                             before=another_user_of_the_key)
    tasks = account_tasks(raw)
    assert len(tasks) == 2 and theirs[0] in tasks
    assert result.error is not None and video is None, result.raw
    assert all(task in result.error for task in tasks), result.error
    assert "can't be told apart" in result.error and "Nothing more was sent" in result.error
    sent = creates(sim, api_key)
    assert [r.fault for r in sent] == [None, "lost-answer"]  # theirs, then the studio's one
    followed = [r for r in sim.requests if any(task in r.path for task in tasks)]
    assert followed == []  # neither task was polled, cancelled or downloaded
    assert not [r for r in result.records if r.get("task_id")], result.records
    assert invitations_to_send_again(result) == []
    print(f"\nlost create answer, two candidates, through the studio: candidates named "
          f"{sum(task in result.error for task in tasks)}, creates sent {len(sent)} (by the "
          f"studio {sum(r.fault is not None for r in sent)}), tasks followed {len(followed)}")
