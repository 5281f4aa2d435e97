"""Our client against the simulator: every model × region × feature, videos checked with PyAV."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from client import catalog
from client.catalog import FIRST_CLIP, FRAME_ONLY, LAST_FRAME, Audio, Usage
from client.http import WanClient
from client.jobs import run
from client.request import MEDIA, VideoRequest, has_sound, predict_output_size, source_kind
from client.simulator.server import RunningSimulator
from client.simulator.state import account_of
from client.status import Succeeded
from client.tasks import Progress
from tests.integration.helpers import assert_video, data_uri
from tests.media_factory import write_clip, write_image, write_wav

pytestmark = pytest.mark.anyio
LANDSCAPE = (480, 360)
PORTRAIT = (360, 480)
CLIP = (320, 240)
CLIP_SECONDS = 2.0


@dataclass(frozen=True)
class Case:
    region: str
    model: str
    feature: str
    settings: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.region}-{self.model}-{self.feature}"


def matrix() -> list[Case]:
    """Per region and model: the cheapest clip from a local file (upload flow) with watermark,
    seed and negative prompt; in Beijing every other resolution; and each feature the model has."""
    cases = []
    for region in catalog.REGIONS:
        for model in catalog.models_in_region(region):
            low, short = model.resolutions[0], model.durations[0]
            cases.append(
                Case(
                    region,
                    model.id,
                    "base",
                    {
                        "resolution": low,
                        "duration": short,
                        "watermark": True,
                        "seed": 7,
                        "negative_prompt": "blur",
                        "prompt": "a quiet harbour at dawn",
                    },
                )
            )
            if region == catalog.DEFAULT_REGION:
                cases += [
                    Case(region, model.id, f"res{r}", {"resolution": r, "duration": short})
                    for r in model.resolutions[1:]
                ]
            if model.audio is Audio.SWITCHABLE:
                cases.append(
                    Case(
                        region,
                        model.id,
                        "silent",
                        {"resolution": low, "duration": short, "audio": False},
                    )
                )
            if model.accepts_audio_url:
                cases.append(
                    Case(
                        region,
                        model.id,
                        "audio_url",
                        {"resolution": low, "duration": short, "audio_url": "wav"},
                    )
                )
            if LAST_FRAME in model.roles and FRAME_ONLY[0] in model.media:  # optional there
                cases.append(
                    Case(region, model.id, "last_frame",
                         {"resolution": low, "duration": short, "last_frame": "jpg"})
                )
            if FIRST_CLIP in model.roles:
                cases.append(
                    Case(region, model.id, "first_clip",
                         {"resolution": low, "duration": 3, "first_clip": "mp4"})
                )
            if model.accepts_shot_type:
                cases.append(
                    Case(
                        region,
                        model.id,
                        "multi",
                        {"resolution": low, "duration": short, "shot_type": "multi"},
                    )
                )
            for template in sorted(
                {*model.templates[:1], "flying", "rotation"} & set(model.templates)
            ):
                cases.append(
                    Case(
                        region,
                        model.id,
                        f"template-{template}",
                        {"resolution": low, "duration": short, "template": template},
                    )
                )
    return cases


async def make_and_check(case: Case, sim: RunningSimulator, api_key: str, tmp_path: Path) -> None:
    settings = dict(case.settings)
    model = catalog.MODELS[case.model]
    if case.feature == "base":
        size, image = LANDSCAPE, write_image(tmp_path / "harbour.jpg", *LANDSCAPE)
        last: str | Path = write_image(tmp_path / "dusk.jpg", *PORTRAIT)
    else:
        size, image, last = PORTRAIT, data_uri(*PORTRAIT), data_uri(*LANDSCAPE)
    if settings.get("audio_url") == "wav":
        settings["audio_url"] = write_wav(tmp_path / "voice.wav", 4.0)
    # A model that takes no first frame alone (kf2v) needs the last one, unless a template.
    if settings.get("last_frame") == "jpg" or (
        FRAME_ONLY[0] not in model.media and "template" not in settings
    ):
        settings["last_frame"] = last
    if settings.get("first_clip") == "mp4":
        size, image = CLIP, None
        settings["first_clip"] = write_clip(tmp_path / "clip.mp4", CLIP_SECONDS, *CLIP)
    req = VideoRequest(model=case.model, image=image, region=case.region, **settings)

    progress: Progress | None = None
    video: Path | None = None
    async with WanClient(api_key, region=case.region, base_url=sim.base_url) as client:
        async for event in run(client, req, tmp_path / "out", deadline=90):
            if isinstance(event, Path):
                video = event
            else:
                progress = event
    assert video is not None and progress is not None
    width, height = predict_output_size(*size, req.resolution)
    assert_video(video, width=width, height=height, seconds=req.duration, audio=has_sound(req))

    final = progress.status
    assert isinstance(final, Succeeded) and final.usage is not None
    assert final.usage.seconds == req.duration
    tier = None if model.usage is Usage.RATIO else int(req.resolution[:-1])
    assert final.usage.resolution == tier
    if model.audio is Audio.SWITCHABLE:
        assert final.usage.audio is has_sound(req)
    if req.first_clip is not None:
        assert final.usage.raw["input_video_duration"] == CLIP_SECONDS
        assert final.usage.raw["output_video_duration"] == req.duration - CLIP_SECONDS
    wants_rewrite = model.returns_actual_prompt and not req.template
    assert (final.actual_prompt is not None) is wants_rewrite
    policies = [r for r in sim.requests if r.route == "policy" and r.account == account_of(api_key)]
    local = [f for f in MEDIA if (v := getattr(req, f.name)) is not None and source_kind(v) == "file"]
    assert len(policies) == len(local)


@pytest.mark.parametrize("region", list(catalog.REGIONS))
async def test_client_makes_the_video_each_request_implies(
    region, regional_simulator, simulator, tmp_path
):
    """All of a region's cases run at once (the renders share 2 cores); every failure is listed."""
    sim = simulator if region == catalog.DEFAULT_REGION else regional_simulator(region)
    cases = [c for c in matrix() if c.region == region]
    failures: list[str] = []

    async def one(index: int, case: Case) -> None:
        where = tmp_path / str(index)
        where.mkdir()
        try:
            # A key per case: its own account, so the upload count above is its own.
            await make_and_check(case, sim, f"sk-matrix-{uuid.uuid4().hex}", where)
        except Exception as exc:  # noqa: BLE001 - collected, so one broken case hides no other
            failures.append(f"{case}: {type(exc).__name__}: {exc}")

    async with anyio.create_task_group() as group:
        for index, case in enumerate(cases):
            group.start_soon(one, index, case)
    assert not failures, "\n".join(failures)
    assert len(cases) >= len(catalog.models_in_region(region))
