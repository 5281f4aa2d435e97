"""Property: over the whole catalog, validate(check_media=False) and the simulator agree on every
request — what one accepts the other accepts (HTTP 200), what one refuses the other refuses."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client import catalog
from client.errors import InvalidInput, WanError
from client.http import WanClient
from client.request import VideoRequest, validate
from client.tasks import create_task
from client.uploads import upload_file
from tests.media_factory import image_bytes, write_wav

KEY = "sk-hardening-property"
TEMPLATE_CHOICES = (None, *sorted(catalog.TEMPLATES), "no-such-template")
GOOD_IMAGE = "data:image/jpeg;base64," + base64.b64encode(image_bytes(640, 480)).decode()


def raw_payload(req: VideoRequest, audio_url: str | None) -> dict[str, Any]:
    """The create JSON with every field the request sets: nothing dropped for the model (unlike
    to_payload), so the simulator judges exactly what validate() judged."""
    inp = {"img_url": req.image, "prompt": req.prompt or None,
           "negative_prompt": req.negative_prompt or None, "audio_url": audio_url,
           "template": req.template}
    params = {"resolution": req.resolution, "duration": req.duration,
              "shot_type": req.shot_type, "audio": req.audio, "seed": req.seed,
              "prompt_extend": req.prompt_extend, "watermark": req.watermark}
    return {"model": req.model, "input": {k: v for k, v in inp.items() if v is not None},
            "parameters": {k: v for k, v in params.items() if v is not None}}


@st.composite
def requests(draw: st.DrawFn) -> tuple[VideoRequest, str | None]:
    """(request, audio kind): any model in any region with any parameter values. Each value is
    one the model takes nine times in ten, so both accepted and refused requests are common."""
    model = catalog.MODELS[draw(st.sampled_from(sorted(catalog.MODELS)))]

    def pick(valid: tuple[Any, ...], anything: tuple[Any, ...]) -> Any:
        return draw(st.sampled_from(valid if draw(st.integers(0, 9)) < 9 else anything))

    region = pick(model.regions, tuple(catalog.REGIONS))
    offered = catalog.model_in_region(model.id, region) or model
    shot_types = ("single", "multi", None) if offered.accepts_shot_type else (None,)
    switch = (True, False, None) if offered.audio is catalog.Audio.SWITCHABLE else (None,)
    audio_kinds = (None, "oss") if offered.accepts_audio_url else (None,)
    limit, negative = offered.prompt_max, offered.negative_prompt_max
    req = VideoRequest(
        model=model.id, region=region, image=GOOD_IMAGE,
        prompt="猫" * pick((0, 12, limit), (limit + 1,)),
        negative_prompt="n" * pick((0, 20, negative), (negative + 1,)),
        resolution=pick((None, *offered.resolutions), tuple(catalog.TIER_PIXELS)),
        duration=pick((None, *offered.durations), tuple(range(1, 17))),
        shot_type=pick(shot_types, ("single", "multi", "sideways")),
        audio=pick(switch, (True, False)),
        template=pick((None, *offered.templates), TEMPLATE_CHOICES),
        seed=pick((None, 0, 7, catalog.SEED_MAX), (-1, catalog.SEED_MAX + 1)),
        prompt_extend=pick((True,), (False,)), watermark=draw(st.booleans()),
    )
    audio_kind = pick(audio_kinds, ("oss", "data"))
    if audio_kind is not None:
        req = req.replace(audio_url="data:audio/wav;base64,AAAA" if audio_kind == "data"
                          else "oss://placeholder")
    return req, audio_kind


def test_validate_and_simulator_agree(start_sim: Any, tmp_path: Path) -> None:
    sims = {region: start_sim(region=region, task_seconds=3600.0, limits=False)
            for region in catalog.REGIONS}  # tasks stay PENDING: nothing is rendered
    wav = write_wav(tmp_path / "voice.wav", 4.0)
    tally = {"tried": 0, "accepted": 0, "refused": 0, "disagreed": 0}

    async def create(req: VideoRequest, audio_kind: str | None) -> int:
        async with WanClient(KEY, region=req.region, base_url=sims[req.region].base_url) as c:
            audio_url = req.audio_url
            if audio_kind == "oss" and catalog.model_in_region(req.model, req.region):
                # An upload for each create: the simulator forgets one once a task used it.
                audio_url = await upload_file(c, wav, req.model)
            try:
                await create_task(c, raw_payload(req, audio_url), oss=audio_kind == "oss")
            except WanError as exc:
                return exc.status or 0
            return 200

    @settings(max_examples=60, deadline=None, derandomize=True,  # the same cases in every CI run
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(requests())
    def agree(drawn: tuple[VideoRequest, str | None]) -> None:
        req, audio_kind = drawn
        try:
            validate(req, check_media=False)
            expected = "accepted"
        except InvalidInput:
            expected = "refused"
        status = asyncio.run(create(req, audio_kind))
        tally["tried"] += 1
        tally[expected] += 1
        if expected == "accepted":
            ok = status == 200
        else:
            ok = status in (400, 404)
        if not ok:
            tally["disagreed"] += 1
        assert ok, f"validate: {expected}, simulator: HTTP {status}, for {req}"

    agree()
    print(f"\nproperty validate ⇔ simulator: cases tried {tally['tried']}, accepted "
          f"{tally['accepted']}, refused {tally['refused']}, disagreements {tally['disagreed']}, "
          "crashes 0")
    assert tally["accepted"] >= 5 and tally["refused"] >= 5
