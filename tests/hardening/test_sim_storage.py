"""Bounded storage in the simulator: uploads live on disk under a cap and go once a task is made
from them, results go once downloaded, over the cap or expired, and tasks are forgotten at 24 h."""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from client import catalog
from client.request import VideoRequest
from client.simulator.server import RunningSimulator, SimConfig
from client.simulator.state import SimTask
from client.simulator.worker import RenderInput, RenderWorker
from tests.integration.helpers import Raw, data_uri, payload
from tests.integration.test_sim_tasks import get_policy, post_file
from tests.media_factory import image_bytes

MODEL = "wanx2.1-i2v-turbo"  # the cheapest render: 3 s at 480P
OSS = {"X-DashScope-OssResourceResolve": "enable"}
HOUR = 3600.0


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """The download's last chunk reaches the client a moment before the server's cleanup runs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def clip(image: str | None = None) -> dict:
    return payload(MODEL, image or data_uri(480, 360), resolution="480P", duration=3)


def upload(raw: Raw, name: str, data: bytes) -> str:
    """Upload `data` for MODEL; returns its oss:// URL."""
    policy = get_policy(raw, MODEL)
    answer = post_file(policy, name, data)
    assert answer.status_code == 200, answer.text
    return f"oss://{policy['upload_dir']}/{name}"


def key_of(url: str) -> str:
    return url.removeprefix("oss://")


def result_file(sim: RunningSimulator, video_url: str) -> Path:
    name = httpx.URL(video_url).path.rsplit("/", 1)[-1]
    return sim.sim.data_dir / "results" / name


def test_storage_caps_must_be_positive() -> None:
    for name in ("uploads_max_mb", "results_max_mb"):
        with pytest.raises(ValueError, match=f"^{name}: must be more than 0"):
            SimConfig(**{name: 0})


def test_uploads_live_on_disk_under_the_cap_and_the_oldest_go_first(start_sim, api_key, tmp_path):
    cap_mb, size, count = 2.0, 500_000, 20  # 10 MB sent; the cap holds 4 uploads
    sim = start_sim(data_dir=tmp_path, uploads_max_mb=cap_mb, limits=False)
    raw = Raw(sim, api_key)
    store, folder = sim.sim.store, tmp_path / "uploads"
    warm_ups = [upload(raw, f"warm-up-{n}.bin", os.urandom(size)) for n in range(3)]
    first = warm_ups[0]  # the oldest: the first to go once the cap is reached
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(count):
            last_data = os.urandom(size)
            last = upload(raw, f"{index}.bin", last_data)
            assert folder_bytes(folder) <= cap_mb * 1024 * 1024
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before - size  # less `last_data`
    finally:
        tracemalloc.stop()
    print(f"uploads: {count} x {size} B sent, {retained} B of Python memory retained, "
          f"{folder_bytes(folder)} B on disk (cap {int(cap_mb * 1024 * 1024)} B)")
    assert retained < size  # less than one upload: the 4 the store keeps are not in memory
    assert folder_bytes(folder) == store.upload_bytes == 4 * size
    kept = store.upload(key_of(last))
    assert kept is not None and kept.data == last_data and kept.path.parent == folder
    assert store.upload(key_of(first)) is None
    evicted = raw.create(clip(first), headers=OSS)
    assert evicted.status_code == 400
    assert evicted.json()["code"] == "InvalidParameter.DataInspection"
    policy = get_policy(raw, MODEL)
    too_big = post_file(policy, "big.bin", os.urandom(int(cap_mb * 1024 * 1024) + 1))
    assert too_big.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_big.text
    assert folder_bytes(folder) == 4 * size
    raw.close()


def test_an_upload_outlives_a_refused_create_and_goes_once_its_task_exists(
    start_sim, api_key, tmp_path
):
    sim = start_sim(data_dir=tmp_path, task_seconds=60, limits=True)  # 15 s PENDING: no renders
    raw = Raw(sim, api_key)
    url = upload(raw, "cat.jpg", image_bytes(480, 360))
    busy = [raw.submit(clip()) for _ in range(catalog.MODELS[MODEL].concurrent_tasks)]
    refused = raw.create(clip(url), headers=OSS)
    assert refused.status_code == 429 and refused.json()["code"] == "Throttling.AllocationQuota"
    assert sim.sim.store.upload(key_of(url)) is not None
    for task_id in busy:
        assert raw.cancel(task_id).status_code == 200
    for _ in range(5):  # the sliding 1 s submit window may still be full
        answer = raw.create(clip(url), headers=OSS)
        if answer.status_code != 429:
            break
        time.sleep(int(answer.headers["retry-after"]))
    assert answer.status_code == 200, answer.text
    assert raw.cancel(answer.json()["output"]["task_id"]).status_code == 200
    assert sim.sim.store.upload(key_of(url)) is None
    assert folder_bytes(tmp_path / "uploads") == 0
    again = raw.create(clip(url), headers=OSS)
    assert again.status_code == 400 and again.json()["code"] == "InvalidParameter.DataInspection"
    raw.close()


def test_results_go_once_downloaded_and_over_the_cap(start_sim, api_key, tmp_path):
    sim = start_sim(data_dir=tmp_path, forget_downloaded_results=True, results_max_mb=0.001,
                    limits=False)
    raw = Raw(sim, api_key)
    older = raw.wait(raw.submit(clip()))["output"]
    newer_id = raw.submit(clip())
    newer = raw.wait(newer_id)["output"]
    assert older["task_status"] == newer["task_status"] == "SUCCEEDED"
    # The cap is smaller than one video: only the newest is kept.
    assert [p.name for p in (tmp_path / "results").iterdir()] == [
        result_file(sim, newer["video_url"]).name
    ]
    gone = httpx.get(older["video_url"], timeout=30)
    assert gone.status_code == 404 and "<Code>NoSuchKey</Code>" in gone.text
    path = result_file(sim, newer["video_url"])
    size = path.stat().st_size
    with pytest.raises(httpx.RemoteProtocolError):  # a broken-off download deletes nothing
        httpx.get(newer["video_url"], headers={"X-Wan-Sim-Fault": "truncated"}, timeout=30)
    assert path.is_file()
    whole = httpx.get(newer["video_url"], timeout=30)
    assert whole.status_code == 200 and len(whole.content) == size == int(
        whole.headers["content-length"]
    )
    assert whole.content[4:8] == b"ftyp"
    assert eventually(lambda: not path.exists())
    assert raw.status(newer_id)["output"]["task_status"] == "SUCCEEDED"
    again = httpx.get(newer["video_url"], timeout=30)
    assert again.status_code == 404 and "<Code>NoSuchKey</Code>" in again.text
    raw.close()


def test_results_stay_until_downloaded_when_the_flag_is_off(start_sim, api_key, tmp_path):
    sim = start_sim(data_dir=tmp_path, result_bytes_per_second=4_000_000, limits=False)
    raw = Raw(sim, api_key)
    done = raw.wait(raw.submit(clip()))["output"]
    path = result_file(sim, done["video_url"])
    for _ in range(2):  # paced in chunks, and still there for the second download
        answer = httpx.get(done["video_url"], timeout=30)
        assert answer.status_code == 200 and answer.content == path.read_bytes()
    raw.close()


def test_tasks_are_forgotten_after_24_hours_and_expired_results_deleted(
    start_sim, api_key, tmp_path
):
    sim = start_sim(data_dir=tmp_path, result_ttl_seconds=HOUR, limits=False)
    raw = Raw(sim, api_key)
    store, uploads = sim.sim.store, tmp_path / "uploads"
    task_id = raw.submit(clip())
    video = result_file(sim, raw.wait(task_id)["output"]["video_url"])
    assert video.is_file()
    unused = upload(raw, "unused.jpg", image_bytes(64, 64))

    def age(hours: float, name: str) -> str:
        """Move the store's clock on, then upload (which runs the sweep)."""
        store.clock = lambda: time.time() + hours * HOUR
        return upload(raw, name, image_bytes(64, 64))

    two_hours = age(2, "two-hours.jpg")  # past the link's 1 h: the file goes, the task stays
    assert not video.exists()
    assert raw.status(task_id)["output"]["task_status"] == "SUCCEEDED"
    a_day = age(25, "a-day.jpg")  # past 24 h: the task goes too
    assert raw.status(task_id)["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}
    assert store.all_tasks() == []
    assert raw.list().json()["total"] == 0
    assert store.upload(key_of(unused)) is not None
    age(51, "two-days.jpg")  # past the first two uploads' 48 h
    assert store.upload(key_of(unused)) is None and store.upload(key_of(two_hours)) is None
    assert store.upload(key_of(a_day)) is not None
    assert len(list(uploads.iterdir())) == 2  # a-day.jpg and two-days.jpg
    raw.close()


def test_many_upload_policies_are_not_all_remembered(start_sim, api_key):
    sim = start_sim(policy_ttl_seconds=0, limits=False)
    raw = Raw(sim, api_key)
    for _ in range(20):
        get_policy(raw, MODEL)
        time.sleep(0.002)
    assert len(sim.sim.policies) == 1  # every earlier one had expired
    raw.close()


def test_a_failed_render_leaves_no_partial_file(tmp_path, monkeypatch):
    from client.simulator import render as rendering

    def fails_half_way(job: object, out: Path) -> Path:
        out.write_bytes(b"half a video")
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(rendering, "render", fails_half_way)
    worker = RenderWorker(tmp_path, workers=1)
    task = SimTask("t", "a", catalog.MODELS[MODEL], VideoRequest(model=MODEL), "r", time.time(),
                   pending_seconds=0, running_seconds=0)
    worker.schedule(task, RenderInput(b"", 480, 480, None, False))
    assert eventually(lambda: task.render_error is not None)
    worker.shutdown()
    assert task.render_error == "RuntimeError: encoder crashed"
    assert list(tmp_path.iterdir()) == []
