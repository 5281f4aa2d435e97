"""The studio's small helpers: the local queue, the hourly cap, the video cache, posters."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from client.slots import SlotQueue
from ui.store import VideoStore
from ui.visitors import WINDOW_SECONDS, HourlyCap


def test_queue_keeps_order_and_positions_per_key_and_model() -> None:
    async def scenario() -> None:
        queue = SlotQueue()
        key = queue.key_id("sk-a", "personal")
        assert key != "sk-a" and key == queue.key_id("sk-a", "personal")
        first, second = queue.join(key, "m", 1), queue.join(key, "m", 1)
        third = queue.join(key, "m", 1)
        other_model = queue.join(key, "n", 1)
        other_key = queue.join(queue.key_id("sk-b", "personal"), "m", 1)
        assert [t.position for t in (first, second, third, other_model, other_key)] == \
            [0, 1, 2, 0, 0]
        assert not await second.wait(0.01)
        second.release()  # leaves the line: the third moves up
        assert third.position == 1
        first.release()
        assert await third.wait(0.1) and third.holds_slot
        third.release()
        third.release()  # twice is harmless
    asyncio.run(scenario())


def test_hourly_cap_counts_a_rolling_hour_per_visitor() -> None:
    now = [1000.0]
    cap = HourlyCap(2, clock=lambda: now[0])
    assert cap.take("a") is None and cap.take("a") is None
    wait = cap.take("a")
    assert wait is not None and 0 < wait <= WINDOW_SECONDS
    assert cap.take("b") is None
    now[0] += WINDOW_SECONDS
    assert cap.take("a") is None
    assert HourlyCap(0).take("a") is not None


def test_hourly_cap_takes_a_storys_videos_all_or_none() -> None:
    now = [1000.0]
    cap = HourlyCap(5, clock=lambda: now[0])
    assert cap.take("a", 2) is None  # 2 of 5 at 1000
    now[0] += 600
    assert cap.take("a", 2) is None  # 4 of 5
    assert cap.take("a", 3) == WINDOW_SECONDS - 600  # both of 1000 must age out: none taken
    assert cap.take("a") is None  # the one still left was not taken by the refusal
    assert cap.take("a", 6) == WINDOW_SECONDS  # more than the limit: never at once


def test_cache_drops_the_oldest_videos_first(tmp_path: Path) -> None:
    store = VideoStore(tmp_path, 2300)
    videos = []
    for i in range(4):
        video = store.video_path(f"t{i}")
        video.write_bytes(b"x" * 1000)
        video.with_suffix(".jpg").write_bytes(b"y" * 100)
        os.utime(video, (1000 + i, 1000 + i))
        videos.append(video)
    os.utime(videos[0], (5000, 5000))  # t0 is the newest now
    removed = store.prune(keep=videos[1])
    assert removed == [videos[2], videos[3]]
    assert sorted(p.name for p in store.videos.iterdir()) == \
        ["t0.jpg", "t0.mp4", "t1.jpg", "t1.mp4"]


def test_poster_is_the_first_frame(tmp_path: Path) -> None:
    import av
    import numpy as np

    store = VideoStore(tmp_path, 10**9)
    video = store.video_path("v")
    with av.open(str(video), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 200, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    poster = store.poster_for("v")
    assert poster is not None and poster.suffix == ".jpg" and poster.stat().st_size > 0
    store.video_path("broken").write_bytes(b"not a video")
    assert store.poster_for("broken") is None
    assert store.poster_for("missing") is None
