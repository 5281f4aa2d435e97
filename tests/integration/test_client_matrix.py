"""Our client against the simulator: every model × region × feature, videos checked with PyAV."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from client import catalog
from client.catalog import Audio
from client.http import WanClient
from client.jobs import run
from client.request import VideoRequest, has_sound, predict_output_size
from client.simulator.server import RunningSimulator
from client.simulator.state import account_of
from client.status import Succeeded
from client.tasks import Progress
from tests.integration.helpers import assert_video, data_uri
from tests.media_factory import write_image, write_wav

pytestmark = pytest.mark.anyio
LANDSCAPE = (480, 360)
PORTRAIT = (360, 480)


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
    if case.feature == "base":
        size, image = LANDSCAPE, write_image(tmp_path / "harbour.jpg", *LANDSCAPE)
    else:
        size, image = PORTRAIT, data_uri(*PORTRAIT)
    if settings.get("audio_url") == "wav":
        settings["audio_url"] = write_wav(tmp_path / "voice.wav", 4.0)
    req = VideoRequest(model=case.model, image=image, region=case.region, **settings)

    last: Progress | None = None
    video: Path | None = None
    async with WanClient(api_key, region=case.region, base_url=sim.base_url) as client:
        async for event in run(client, req, tmp_path / "out", deadline=90):
            if isinstance(event, Path):
                video = event
            else:
                last = event
    assert video is not None and last is not None
    width, height = predict_output_size(*size, req.resolution)
    assert_video(video, width=width, height=height, seconds=req.duration, audio=has_sound(req))

    final = last.status
    assert isinstance(final, Succeeded) and final.usage is not None
    assert final.usage.seconds == req.duration
    family = catalog.MODELS[case.model].family
    assert final.usage.resolution == (None if family == "wan2.1" else int(req.resolution[:-1]))
    if catalog.MODELS[case.model].audio is Audio.SWITCHABLE:
        assert final.usage.audio is has_sound(req)
    assert (final.actual_prompt is not None) is (family != "wan2.6" and not req.template)
    policies = [r for r in sim.requests if r.route == "policy" and r.account == account_of(api_key)]
    assert len(policies) == (case.feature == "base") + ("audio_url" in case.settings)


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
