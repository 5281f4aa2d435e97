"""Our client against the simulator: each error path and each fault ends in the right exception."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from client import errors, handle
from client.http import WanClient
from client.jobs import run, submit
from client.protocols import VIDEO_GENERATION_PATH as CREATE_PATH
from client.request import VideoRequest
from client.simulator.state import account_of
from client.status import Canceled, Pending, Succeeded, Unknown
from client.tasks import cancel_task, create_task, download, get_task, list_tasks
from client.uploads import upload_file
from tests.integration.helpers import data_uri, payload
from tests.media_factory import write_image

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def quick_download_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken download is fetched again (with a fresh link) after 10 ms, not 0.5 s."""
    monkeypatch.setattr(handle, "DOWNLOAD_RETRY_SECONDS", 0.01)


def quick_request(**changes) -> VideoRequest:
    return VideoRequest(model="wan2.2-i2v-flash", image=data_uri(), resolution="480P", **changes)


async def finish(client: WanClient, req: VideoRequest, out: Path) -> Path:
    async for event in run(client, req, out, deadline=60):
        if isinstance(event, Path):
            return event
    raise AssertionError("run() ended without a video")


def routes_of(sim, key: str, route: str) -> list:
    return [r for r in sim.requests if r.account == account_of(key) and r.route == route]


# --- error paths --------------------------------------------------------------------------------


async def test_invalid_key_is_an_auth_error(sim):
    async with WanClient("sk-invalid-abc", base_url=sim.base_url) as client:
        with pytest.raises(errors.AuthError) as caught:
            await get_task(client, "x")
    assert caught.value.status == 401 and caught.value.code == "InvalidApiKey"


async def test_missing_async_header_is_access_denied(sim, api_key):
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(errors.AccessDenied) as caught:
            await client.api("POST", CREATE_PATH, json_body=payload("wan2.2-i2v-flash"))
    assert "synchronous" in caught.value.message


async def test_model_not_in_region_from_the_service(sim, api_key):
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(errors.ModelNotFound):
            await create_task(client, payload("wan2.6-i2v-us"))


@pytest.mark.parametrize(
    "body, field",
    [
        (payload("wan2.2-i2v-flash", duration=10), "parameters.duration"),
        (payload("wan2.5-i2v-preview", shot_type="multi"), "parameters.shot_type"),
        (payload("wanx2.1-i2v-plus", template="bogus"), "input.template"),
    ],
)
async def test_invalid_parameter_from_the_service(sim, api_key, body, field):
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(errors.InvalidParameter) as caught:
            await create_task(client, body)
    assert caught.value.message.startswith(field) and caught.value.status == 400


@pytest.mark.parametrize(
    "body, code",
    [
        ({"model": "wan2.2-i2v-flash"}, "BadRequest.EmptyInput"),
        ({"input": {"img_url": "x"}}, "BadRequest.EmptyModel"),
    ],
)
async def test_bad_request_codes_map_to_invalid_parameter(sim, api_key, body, code):
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(errors.InvalidParameter) as caught:
            await create_task(client, body)
    assert caught.value.code == code


async def test_oss_url_without_resolve_header(sim, api_key, tmp_path):
    async with WanClient(api_key, base_url=sim.base_url) as client:
        url = await upload_file(
            client, write_image(tmp_path / "a.jpg", 480, 360), "wan2.2-i2v-flash"
        )
        with pytest.raises(errors.InvalidURL) as caught:
            await create_task(client, payload("wan2.2-i2v-flash", url, resolution="480P"))
        assert caught.value.code == "invalid_parameter_error"
        assert isinstance(
            await create_task(
                client, payload("wan2.2-i2v-flash", url, resolution="480P"), oss=True
            ),
            Pending,
        )


async def test_bad_image_from_a_url_the_client_cannot_check(sim, api_key):
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(errors.InvalidURL) as caught:
            await create_task(client, payload("wan2.2-i2v-flash", "http://127.0.0.1:9/x.png"))
    assert caught.value.code == "InvalidParameter.DataInspection"


async def test_unknown_and_foreign_tasks_are_unknown(sim, api_key, tmp_path):
    async with (
        WanClient(api_key, base_url=sim.base_url) as mine,
        WanClient("sk-other-" + api_key, base_url=sim.base_url) as theirs,
    ):
        task_id = (await submit(mine, quick_request())).task_id
        assert isinstance(await get_task(mine, "no-such-task"), Unknown)
        assert isinstance(await get_task(theirs, task_id), Unknown)
        assert task_id not in [t.task_id for t in (await list_tasks(theirs)).tasks]
        with pytest.raises(errors.CancelNotAllowed):
            await cancel_task(theirs, task_id)
        assert task_id in [t.task_id for t in (await list_tasks(mine)).tasks]
        assert not isinstance(await get_task(mine, task_id), Unknown)
    accounts = {r.account for r in sim.requests if task_id in r.path}
    assert accounts == {account_of(api_key), account_of("sk-other-" + api_key)}


async def test_cancel_pending_then_running_refused(start_sim, api_key):
    slow = start_sim(task_seconds=8, limits=False)
    async with WanClient(api_key, base_url=slow.base_url) as client:
        task_id = (await submit(client, quick_request())).task_id
        await cancel_task(client, task_id)
        assert isinstance(await get_task(client, task_id), Canceled)
        await cancel_task(client, task_id)  # a repeated cancel of a cancelled task is fine
        other = (await submit(client, quick_request())).task_id
        while (await get_task(client, other)).name != "RUNNING":
            await anyio.sleep(0.1)
        with pytest.raises(errors.CancelNotAllowed):
            await cancel_task(client, other)
        page = await list_tasks(client, status="CANCELED")
        assert [t.task_id for t in page.tasks] == [task_id] and page.total == 1


async def test_run_of_a_cancelled_task_raises_task_canceled(start_sim, api_key, tmp_path):
    slow = start_sim(task_seconds=8, limits=False)
    async with WanClient(api_key, base_url=slow.base_url) as client:
        events = run(client, quick_request(), tmp_path)
        first = await events.__anext__()
        await cancel_task(client, first.status.task_id)
        with pytest.raises(errors.TaskCanceled):
            async for _ in events:
                pass


async def test_account_limits_reach_the_client_as_rate_limited(start_sim, api_key):
    limited = start_sim(task_seconds=5, limits=True)
    async with WanClient(api_key, base_url=limited.base_url, max_retries=0) as client:
        for _ in range(2):
            await submit(client, quick_request())
        with pytest.raises(errors.RateLimited) as caught:
            await submit(client, quick_request())
    assert caught.value.code == "Throttling.AllocationQuota" and caught.value.retry_after >= 1


# --- faults -------------------------------------------------------------------------------------


async def test_429_burst_on_status_is_ridden_out(sim, api_key, tmp_path):
    sim.faults.add("429", route="status", times=3, retry_after=0)
    async with WanClient(api_key, base_url=sim.base_url) as client:
        video = await finish(client, quick_request(), tmp_path)
    assert video.stat().st_size > 0
    assert [r.status for r in routes_of(sim, api_key, "status")][:4] == [429, 429, 429, 200]


async def test_429_on_create_is_left_to_the_pipeline(sim, api_key):
    # The transport never repeats a create; client.pipeline waits throttling out
    # (tests/integration/test_lost_answer.py).
    sim.faults.add("429", route="create", times=2, retry_after=0)
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(errors.RateLimited):
            await submit(client, quick_request())
    assert [r.status for r in routes_of(sim, api_key, "create")] == [429]


@pytest.mark.parametrize("fault", ["500", "503", "drop"])
async def test_status_faults_are_retried(sim, api_key, tmp_path, fault):
    sim.faults.add(fault, route="status", times=2)
    async with WanClient(api_key, base_url=sim.base_url) as client:
        video = await finish(client, quick_request(), tmp_path)
    assert video.is_file()
    assert [r.fault for r in routes_of(sim, api_key, "status")][:3] == [fault, fault, None]


@pytest.mark.parametrize(
    "fault, error",
    [
        ("500", errors.ServiceError),
        ("503", errors.ServiceError),
        ("drop", errors.NoAnswer),  # sent, then no answer: not a 5xx
        ("lost-answer", errors.NoAnswer),
    ],
)
async def test_create_is_never_repeated_after_a_server_failure(sim, api_key, fault, error):
    sim.faults.add(fault, route="create", times=1)
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(error) as caught:
            await submit(client, quick_request())
    assert type(caught.value) is error
    assert len(routes_of(sim, api_key, "create")) == 1


async def test_slow_answer_past_the_client_timeout(sim, api_key):
    sim.faults.add("slow", route="status", times=5, seconds=1.5)
    async with WanClient(api_key, base_url=sim.base_url, timeout=0.5, max_retries=0) as client:
        with pytest.raises(errors.ServiceError) as caught:
            await get_task(client, "x")
    assert "in time" in caught.value.message


async def test_slow_answer_within_the_timeout(sim, api_key):
    sim.faults.add("slow", route="status", times=1, seconds=0.5)
    async with WanClient(api_key, base_url=sim.base_url) as client:
        assert isinstance(await get_task(client, "x"), Unknown)


async def test_malformed_json_is_a_service_error(sim, api_key):
    sim.faults.add("malformed", route="status", times=1)
    async with WanClient(api_key, base_url=sim.base_url, max_retries=0) as client:
        with pytest.raises(errors.ServiceError):
            await get_task(client, "x")


@pytest.mark.parametrize(
    "code, cls",
    [
        ("DataInspectionFailed", errors.TaskFailed),
        ("InternalError.Timeout", errors.TaskFailed),
        ("IPInfringementSuspect", errors.TaskFailed),
    ],
)
async def test_failed_task(sim, api_key, tmp_path, code, cls):
    sim.faults.add("fail", route="create", times=1, code=code)
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(cls) as caught:
            await finish(client, quick_request(), tmp_path)
    assert caught.value.code == code


async def test_expired_result_url(sim, api_key, tmp_path):
    sim.faults.add("expired-url", route="create", times=1)
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(errors.ResultExpired):
            await finish(client, quick_request(), tmp_path)


async def test_result_url_that_expires_on_the_server_side(sim, api_key, tmp_path):
    async with WanClient(api_key, base_url=sim.base_url) as client:
        task_id = (await submit(client, quick_request())).task_id
        while not isinstance(status := await get_task(client, task_id), Succeeded):
            await anyio.sleep(0.05)
        sim.faults.add("expired-url", route="result", times=1)  # the URL looks valid, OSS says no
        with pytest.raises(errors.ResultExpired):
            await download(client, status.video_url, tmp_path / "v.mp4")
        assert (await download(client, status.video_url, tmp_path / "v.mp4")).stat().st_size > 0


async def test_truncated_download(sim, api_key, tmp_path):
    sim.faults.add("truncated", route="create", times=1)
    async with WanClient(api_key, base_url=sim.base_url) as client:
        with pytest.raises(errors.DownloadFailed):
            await finish(client, quick_request(), tmp_path)
    assert not list(tmp_path.glob("*.mp4"))  # no half file left behind
