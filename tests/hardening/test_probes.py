"""Bounded probes: audio length from decoded samples, decoding stops past 30 s (a lying header is
refused at once), silence found in the same pass, and one probe per file."""

from __future__ import annotations

import io
import os
import struct
import time
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from client import media
from client.errors import InvalidInput
from client.media import probe_audio, probe_image
from client.simulator.server import SimConfig, start_simulator
from tests.hardening.loopback import MB, file_body, serving
from tests.integration.helpers import CREATE, payload
from tests.media_factory import tone, write_encoded, write_image, write_wav

RATE = 8000  # MPEG-2.5 layer III at 8 kbit/s: 1000 bytes a second
LYING_HOURS = 4


def _encode_mp3(samples: np.ndarray) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as out:
        stream = out.add_stream("mp3", rate=RATE, layout="mono")
        stream.bit_rate = 8000
        for start in range(0, len(samples), 1152):
            frame = av.AudioFrame.from_ndarray(samples[start:start + 1152][None, :], format="flt",
                                               layout="mono")
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def _frames(mp3: bytes) -> bytes:
    with av.open(io.BytesIO(mp3)) as container:
        return b"".join(bytes(p) for p in container.demux(container.streams.audio[0]) if p.size)


def lying_mp3(path: Path, hours: float = LYING_HOURS) -> Path:
    """Hours of near-silence, then a 2 s tone, under a Xing/Info header that counts 10 s.

    Ten seconds are encoded once; their frames are repeated (MP3 frames stand alone) and the
    Info frame's byte count is set to the real size, so a demuxer trusts its frame count.
    """
    ten = _encode_mp3(np.zeros(10 * RATE, np.float32))
    body = _frames(ten)
    head = ten[: ten.index(body[:64])]  # ID3 tag and the Info frame
    tail = _frames(_encode_mp3(tone(2.0, RATE)))
    data = bytearray(head + body * int(hours * 360) + tail)
    info = data.index(b"Info")
    assert struct.unpack(">I", data[info + 4: info + 8])[0] & 0x3 == 0x3  # frames and bytes
    data[info + 12: info + 16] = struct.pack(">I", len(data))
    path.write_bytes(bytes(data))
    return path


def header_seconds(path: Path) -> float:
    """What the old probe reported: the stream duration the demuxer derives from the header."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return float(stream.duration * stream.time_base)


@pytest.fixture(autouse=True)
def fresh_cache():
    media.clear_probe_cache()
    yield
    media.clear_probe_cache()


def test_the_lying_mp3_fools_a_header_read(tmp_path):
    path = lying_mp3(tmp_path / "long.mp3")
    size = path.stat().st_size
    assert 14_000_000 <= size < media.AUDIO_MAX_BYTES  # under the size cap: only its length lies
    assert abs(header_seconds(path) - 10.0) < 0.1  # what the header-based probe believed
    assert size / 1000 > (LYING_HOURS - 0.1) * 3600  # 1000 B/s: it holds about four hours


def test_the_lying_mp3_is_refused_quickly(tmp_path):
    path = lying_mp3(tmp_path / "long.mp3")
    probe_audio(Path(write_encoded(tmp_path / "warm.mp3", 4.0, "mp3", "mp3")))  # load the codecs
    started, cpu = time.perf_counter(), time.thread_time()
    with pytest.raises(InvalidInput) as caught:
        probe_audio(path, "audio_url")
    took, cpu_took = time.perf_counter() - started, time.thread_time() - cpu
    assert caught.value.field == "audio_url"
    assert "lasts more than 30 s" in caught.value.rule and "3–30 s" in caught.value.rule
    assert took < 2.0  # generous: it decodes 30 s of audio, not 4 h
    print(f"\nlying MP3 ({path.stat().st_size / MB:.1f} MB, header 10 s, holds {LYING_HOURS} h): "
          f"refused in {took * 1000:.0f} ms, {cpu_took * 1000:.0f} ms CPU")


def test_the_simulator_refuses_the_lying_mp3_link_quickly(tmp_path):
    data = lying_mp3(tmp_path / "long.mp3").read_bytes()
    with serving(file_body(data, "audio/mpeg")) as server:
        sim = start_simulator(SimConfig(task_seconds=0.3, limits=False,
                                        link_allow=(server.where,)))
        try:
            body = payload("wan2.5-i2v-preview", audio_url=f"http://{server.where}/long.mp3")
            started = time.perf_counter()
            answer = httpx.post(sim.base_url + CREATE, json=body, timeout=30, headers={
                "Authorization": "Bearer sk-probe-test", "X-DashScope-Async": "enable"})
            took = time.perf_counter() - started
        finally:
            sim.stop()
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "InvalidParameter"
    assert "input.audio_url: the audio lasts more than 30 s" in answer.json()["message"]
    assert took < 3.0  # download of 14.5 MB over loopback + a bounded probe
    print(f"\nlying MP3 by link through the simulator: refused in {took * 1000:.0f} ms")


def test_one_decoding_pass_finds_both_length_and_sound(tmp_path, monkeypatch):
    quiet_then_tone = np.concatenate([np.zeros(9 * RATE, np.float32), tone(0.5, RATE)])
    late_sound = tmp_path / "late.mp3"
    late_sound.write_bytes(_encode_mp3(quiet_then_tone))
    silent = tmp_path / "silent.mp3"
    silent.write_bytes(_encode_mp3(np.zeros(6 * RATE, np.float32)))
    opened: list[str] = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: opened.append(str(a[0])) or real_open(*a, **k))
    info = probe_audio(late_sound)
    assert abs(info.seconds - 9.5) < 0.1
    with pytest.raises(InvalidInput, match="completely silent"):
        probe_audio(silent)
    assert opened == [str(late_sound), str(silent)]  # one decode each, not one per check


@pytest.mark.parametrize("seconds, accepted", [(30.0, True), (31.0, False), (2.5, False)])
def test_mp3_length_from_samples_at_the_limits(tmp_path, seconds, accepted):
    path = write_encoded(tmp_path / "a.mp3", seconds, "mp3", "mp3")
    if accepted:
        assert abs(probe_audio(path).seconds - seconds) < 0.06
    else:
        with pytest.raises(InvalidInput, match="3–30 s"):
            probe_audio(path)


def test_a_wav_header_claiming_more_than_it_holds_is_measured_by_its_samples(tmp_path):
    path = write_wav(tmp_path / "short.wav", 4.0, RATE)
    data = bytearray(path.read_bytes())
    data[40:44] = struct.pack("<I", 40 * RATE * 2)  # the data chunk now claims 40 s
    path.write_bytes(bytes(data))
    assert abs(probe_audio(path).seconds - 4.0) < 0.01


def test_the_decode_budget_is_a_safety_net(tmp_path, monkeypatch):
    path = write_encoded(tmp_path / "a.mp3", 5.0, "mp3", "mp3")
    monkeypatch.setattr(media, "AUDIO_DECODE_BUDGET_SECONDS", 0.0)
    with pytest.raises(InvalidInput, match="takes too long to read"):
        probe_audio(path)


# --- one probe per file -------------------------------------------------------------------------


def test_an_audio_file_is_probed_once_for_the_preview_and_generate(tmp_path):
    path = write_encoded(tmp_path / "voice.mp3", 4.0, "mp3", "mp3")
    before = media.probe_counts["audio"]
    first, second = probe_audio(path, "audio"), probe_audio(path, "audio_url")
    assert first == second and media.probe_counts["audio"] == before + 1
    write_encoded(path, 5.0, "mp3", "mp3")  # the same name, new content: probed again
    assert abs(probe_audio(path).seconds - 5.0) < 0.06
    assert media.probe_counts["audio"] == before + 2


def test_a_refusal_is_remembered_and_names_each_callers_field(tmp_path):
    path = lying_mp3(tmp_path / "long.mp3", hours=0.1)
    before = media.probe_counts["audio"]
    for field in ("audio", "audio_url", "audio"):
        with pytest.raises(InvalidInput) as caught:
            probe_audio(path, field)
        assert caught.value.field == field and "more than 30 s" in caught.value.rule
    assert media.probe_counts["audio"] == before + 1


def test_an_image_file_is_probed_once_and_bytes_are_not_remembered(tmp_path):
    path = write_image(tmp_path / "cat.jpg", 640, 480)
    before = media.probe_counts["image"]
    assert probe_image(path) == probe_image(path, "img_url")
    assert media.probe_counts["image"] == before + 1
    data = path.read_bytes()
    probe_image(data)
    probe_image(data)
    assert media.probe_counts["image"] == before + 3
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched: probed again
    probe_image(path)
    assert media.probe_counts["image"] == before + 4


def test_the_probe_cache_is_bounded(tmp_path):
    paths = [write_image(tmp_path / f"{i}.png", 400, 400, "PNG", "L")
             for i in range(media.PROBE_CACHE_SIZE + 1)]
    for path in paths:
        probe_image(path)
    before = media.probe_counts["image"]
    probe_image(paths[-1])  # still remembered
    probe_image(paths[0])  # the oldest was forgotten
    assert media.probe_counts["image"] == before + 1
