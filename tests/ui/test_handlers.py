"""The studio's handlers without a browser: controls per model, messages, preview, jobs, history."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from client import catalog, errors
from client.catalog import Audio
from tests.media_factory import write_image, write_wav
from ui import controls, handlers, preview
from ui.handlers import Form, Services
from ui.history import needs_follow, record_of
from ui.i18n import EN, ZH, language_of, t
from ui.messages import error_sentence, sentence_key
from ui.runner import Job, Phase, Runner
from ui.settings import Settings, load_settings
from ui.store import VideoStore

MODEL_AND_REGION = [(m.id, r) for r in catalog.REGIONS for m in catalog.models_in_region(r)]
# The controls' elem_ids: updates are keyed by them.
(RES, SLIDER, CHOICE, VALUE, SHOT, SWITCH, AUDIO_BOX, TEMPLATE, ADVICE, PROMPT, NEGATIVE,
 EXTEND, MODEL_INFO) = ("resolution", "duration-slider", "duration-choice", "duration-value",
                        "shot-type", "audio-switch", "audio-inputs", "template",
                        "template-advice", "prompt", "negative-prompt", "prompt-extend",
                        "model-info")


def updates(model: str, region: str, template: str | None = "", lang: str = "en",
            resolution: str | None = None, duration: float | None = None) -> dict[str, dict]:
    current = {"resolution": resolution, "duration": duration, "template": template}
    return handlers.model_updates(model, region, current, lang)


def describe_image(image: str | None, link: str, lang: str) -> str:
    return handlers.describe("image", image, link, "wan2.6-i2v-flash", "beijing", lang)


def describe_audio(audio: str | None, link: str, model: str, region: str, lang: str) -> str:
    return handlers.describe("audio_url", audio, link, model, region, lang)


def is_record(value: Any) -> bool:
    return isinstance(value, dict) and "token" in value  # gr.skip() is a dict too


def collect(agen: Any) -> list[Any]:
    async def run() -> list[Any]:
        return [item async for item in agen]
    return asyncio.run(run())


# --- model-aware controls ------------------------------------------------------------------------

@pytest.mark.parametrize("model_id,region", MODEL_AND_REGION)
def test_every_model_shows_only_its_controls(model_id: str, region: str) -> None:
    model = catalog.model_in_region(model_id, region)
    assert model is not None
    u = updates(model_id, region)
    assert u[RES]["choices"] == [(r, r) for r in model.resolutions] or \
        u[RES]["choices"] == list(model.resolutions)
    assert u[RES]["value"] == model.default_resolution
    assert u[RES]["interactive"] is (len(model.resolutions) > 1)
    assert u[SLIDER]["visible"] is model.duration_is_range
    assert u[CHOICE]["visible"] is (not model.duration_is_range)
    assert u[CHOICE]["interactive"] is (not model.duration_is_fixed and not model.duration_is_range)
    assert u[VALUE]["value"] == model.default_duration
    assert u[SHOT]["visible"] is model.accepts_shot_type
    assert u[SWITCH]["visible"] is (model.audio is Audio.SWITCHABLE)
    assert u[AUDIO_BOX]["visible"] is model.accepts_audio_url
    assert u[TEMPLATE]["visible"] is bool(model.templates)
    assert u[PROMPT]["visible"] is True and u[PROMPT]["max_length"] == model.prompt_max
    assert u[MODEL_INFO]["value"].startswith(model_id + " — ")


def test_known_models_in_plain_terms() -> None:
    flash = updates("wan2.6-i2v-flash", "beijing")
    assert (flash[SLIDER]["minimum"], flash[SLIDER]["maximum"]) == (2, 15)
    assert flash[SHOT]["visible"] and flash[SWITCH]["visible"] and flash[AUDIO_BOX]["visible"]
    wan26 = updates("wan2.6-i2v", "beijing")
    assert not wan26[SWITCH]["visible"] and wan26[SHOT]["visible"]
    virginia = updates("wan2.6-i2v", "virginia")
    assert not virginia[SLIDER]["visible"] and virginia[CHOICE]["choices"] == [5, 10, 15]
    wan25 = updates("wan2.5-i2v-preview", "beijing")
    assert wan25[CHOICE]["choices"] == [5, 10] and not wan25[SHOT]["visible"]
    assert wan25[AUDIO_BOX]["visible"] and not wan25[SWITCH]["visible"]
    flash22 = updates("wan2.2-i2v-flash", "beijing")
    assert flash22[CHOICE]["interactive"] is False and "5 s" in flash22[CHOICE]["info"]
    assert flash[RES]["info"] == "" and wan25[CHOICE]["info"] == ""  # no stale "fixed" note
    assert not flash22[AUDIO_BOX]["visible"] and not flash22[TEMPLATE]["visible"]
    plus21 = updates("wanx2.1-i2v-plus", "beijing")
    assert plus21[RES]["interactive"] is False and "720P" in plus21[RES]["info"]
    assert plus21[TEMPLATE]["visible"] and len(plus21[TEMPLATE]["choices"]) == 1 + 26
    turbo21 = updates("wanx2.1-i2v-turbo", "beijing")
    assert [v for _, v in turbo21[TEMPLATE]["choices"]][1:] == list(catalog.TURBO_TEMPLATES)
    assert not updates("wan2.1-i2v-plus", "singapore")[TEMPLATE]["visible"]  # Beijing only


def test_current_values_are_kept_when_the_new_model_allows_them() -> None:
    kept = updates("wan2.6-i2v", "beijing", resolution="720P", duration=12)
    assert kept[RES]["value"] == "720P" and kept[SLIDER]["value"] == 12
    reset = updates("wan2.5-i2v-preview", "beijing", resolution="720P", duration=12)
    assert reset[RES]["value"] == "720P" and reset[CHOICE]["value"] == 5


def test_a_template_hides_the_prompt_and_gives_advice_in_the_ui_language() -> None:
    u = updates("wanx2.1-i2v-plus", "beijing", template="hug", lang="zh")
    assert u[PROMPT]["visible"] is False and u[NEGATIVE]["visible"] is False
    assert u[EXTEND]["visible"] is False  # prompt rewriting is not sent with a template
    assert "爱的抱抱" in u[ADVICE]["value"] and "两人" in u[ADVICE]["value"]
    names = {v: name for name, v in u[TEMPLATE]["choices"]}
    assert names["flying"] == "魔法悬浮"
    cleared = handlers.template_updates("", "en")
    assert set(cleared) == {ADVICE, PROMPT, NEGATIVE, EXTEND}
    assert cleared[PROMPT]["visible"] and cleared[NEGATIVE]["visible"]
    assert not cleared[ADVICE]["visible"]
    chosen = handlers.template_updates("flying", "en")
    assert not chosen[PROMPT]["visible"] and not chosen[EXTEND]["visible"]
    assert "Magic levitation" in chosen[ADVICE]["value"]


@pytest.mark.parametrize("region", list(catalog.REGIONS))
def test_model_picker_lists_only_the_regions_models_with_price(region: str) -> None:
    choices = controls.model_choices(region, "en")
    assert [v for _, v in choices] == [m.id for m in catalog.models_in_region(region)]
    labels = {v: text for text, v in choices}
    if region == "beijing":
        assert "≈0.5 CNY/s" in labels["wan2.6-i2v-flash"]
        assert "price not published" in labels["wanx2.1-i2v-plus"]
    if region == "singapore":
        assert "≈0.075 USD/s" in labels["wan2.6-i2v-flash"]
    update = handlers.model_choices_update(region, "wanx2.1-i2v-turbo", "zh")
    first = catalog.models_in_region(region)[0].id
    expected = "wanx2.1-i2v-turbo" if region == "beijing" else first
    assert update["value"] == expected


# --- requests built from the form ----------------------------------------------------------------

def test_request_carries_only_what_the_model_takes(tmp_path: Path) -> None:
    image = str(write_image(tmp_path / "p.jpg", 750, 1000))
    audio = str(write_wav(tmp_path / "v.wav", 5))
    form = Form(image=image, audio_file=audio, prompt="hi", model="wan2.2-i2v-flash",
                shot_type="multi", audio=False, template="hug", duration=12, seed=-1)
    req = handlers.build_request(form)
    assert (req.audio_url, req.shot_type, req.audio, req.template, req.duration, req.seed) == \
        (None, None, None, None, None, None)
    flash = handlers.build_request(replace(form, model="wan2.6-i2v-flash", seed=42))
    assert flash.audio_url == audio and flash.audio is False and flash.duration == 12
    assert flash.shot_type == "multi" and flash.seed == 42 and flash.template is None
    templated = handlers.build_request(replace(form, model="wanx2.1-i2v-plus"))
    assert templated.template == "hug" and templated.prompt == ""


def test_typed_links_must_be_public() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        handlers.build_request(Form(img_url="http://127.0.0.1/x.jpg", model="wan2.2-i2v-flash"))
    assert caught.value.field == "img_url"
    assert "⚠" in describe_image(None, "file:///etc/passwd", "en")
    assert "✓" in describe_image(None, "https://example.com/a.jpg", "en")


def test_inputs_are_described_or_refused_at_once(tmp_path: Path) -> None:
    good = write_image(tmp_path / "good.jpg", 750, 1000)
    assert describe_image(str(good), "", "en").startswith("✓ 750×1000 px, JPEG")
    small = write_image(tmp_path / "small.jpg", 300, 500)
    message = describe_image(str(small), "", "en")
    assert "picture" in message and "360–2000 px" in message
    assert "图片" in describe_image(str(small), "", "zh")
    voice = write_wav(tmp_path / "voice.wav", 5)
    assert describe_audio(str(voice), "", "wan2.6-i2v", "beijing", "en") \
        .startswith("✓ 5.0 s, WAV")
    short = write_wav(tmp_path / "short.wav", 2)
    assert "3–30 s" in describe_audio(str(short), "", "wan2.6-i2v", "beijing", "en")
    assert describe_audio(str(voice), "", "wan2.2-i2v-flash", "beijing", "en") == \
        t("audio_unused")
    assert describe_audio(None, "http://10.0.0.1/a.mp3", "wan2.6-i2v", "beijing",
                          "en").startswith("⚠")
    assert describe_audio(None, "", "wan2.6-i2v", "beijing", "en") == ""


# --- preview: size, price, code ------------------------------------------------------------------

def test_preview_predicts_size_price_and_code(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-host-secret-123")
    image = str(write_image(tmp_path / "p.jpg", 750, 1000))
    form = Form(image=image, prompt="a cat", model="wan2.6-i2v-flash", resolution="720P",
                duration=10, audio=False, shot_type="single", seed=7)
    size, price, curl, sdk = handlers.preview_outputs(form, "en", simulated=False)
    code = curl + "\n" + sdk
    assert size.startswith("816×1104 px, 10 s, 30 fps, silent")
    assert price.startswith("≈ 1.5 CNY (10 s × 0.15 CNY/s")  # silent at 720P: half price
    assert "sk-host-secret-123" not in code
    assert 'Authorization: Bearer $DASHSCOPE_API_KEY' in code
    assert 'api_key=os.environ["DASHSCOPE_API_KEY"]' in code
    assert '"duration": 10' in code and "audio=False" in code and "seed=7" in code
    assert "file://" + image in code  # the SDK uploads local files itself
    assert "your-picture.jpg" in code  # curl needs a public link instead
    _, simulated_price, _, _ = handlers.preview_outputs(form, "zh", simulated=True)
    assert "模拟" in simulated_price and "免费" in simulated_price


def test_preview_names_the_problem_instead_of_code() -> None:
    size, _, code, _ = handlers.preview_outputs(
        Form(model="wan2.6-i2v", prompt="x" * 1501), "en", simulated=True)
    assert "prompt" in size and "1500" in size and code.startswith("# ⚠")
    size, _, _, _ = handlers.preview_outputs(Form(model="wan2.2-i2v-plus"), "en", simulated=True)
    assert size == t("size_needs_image", "en", resolution="1080P")


def test_code_for_a_template_has_no_prompt() -> None:
    req = handlers.build_request(Form(img_url="https://example.com/a.jpg",
                                      model="wanx2.1-i2v-turbo", template="flying", prompt="x"))
    sdk = preview.sdk_code(req)
    assert 'template="flying"' in sdk and "prompt=" not in sdk.replace("prompt_extend", "")
    assert "https://example.com/a.jpg" in preview.curl_code(req)


# --- messages ------------------------------------------------------------------------------------

ERROR_CLASSES = [cls for cls in vars(errors).values()
                 if isinstance(cls, type) and issubclass(cls, errors.WanError)
                 and cls is not errors.InvalidInput]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_gets_one_translated_sentence(cls: type[errors.WanError]) -> None:
    secret_text = "internal detail sk-should-not-show Traceback"
    exc = cls(secret_text)
    for lang in ("en", "zh"):
        sentence = error_sentence(exc, lang)
        assert secret_text not in sentence and "Traceback" not in sentence
        assert sentence == (EN if lang == "en" else ZH)[sentence_key(exc)]
        assert sentence.count("\n") == 0 and len(sentence) < 200


def test_specific_classes_have_their_own_sentences() -> None:
    keys = {cls: sentence_key(cls("x")) for cls in ERROR_CLASSES}
    assert keys[errors.AuthError] == "err_auth"
    assert keys[errors.RateLimited] == "err_rate"
    assert keys[errors.CancelNotAllowed] == "err_cancel_not_allowed"
    assert keys[errors.TaskExpired] == "err_task_expired"
    assert keys[errors.ResultExpired] == "err_result_expired"
    assert keys[errors.ContentRejected] == "err_content"
    # After a create that may have made a task, nothing says "press Generate again".
    assert keys[errors.NoAnswer] == "err_no_answer" and keys[errors.AmbiguousTask] == "err_ambiguous"
    assert "again" not in t("err_no_answer").replace("Generate again", "") and \
        "Don't press Generate again" in t("err_no_answer")
    assert keys[errors.NotSent] == "err_not_sent" and keys[errors.QuotaExhausted] == "err_quota"
    distinct = {keys[c] for c in (errors.AuthError, errors.AccessDenied, errors.Arrearage,
                                  errors.ModelNotFound, errors.ServiceError, errors.TaskFailed)}
    assert len(distinct) == 6
    assert sentence_key(ValueError("boom")) == "err_unexpected"


def test_invalid_input_names_the_field_and_rule_in_the_language() -> None:
    exc = errors.InvalidInput("duration", "wan2.5-i2v-preview cannot make 7 s videos", (5, 10))
    assert error_sentence(exc, "en") == ("Please fix “length”: wan2.5-i2v-preview cannot make "
                                         "7 s videos (5, 10).")
    assert error_sentence(exc, "zh").startswith("请修改“时长”")


def test_every_string_exists_in_both_languages() -> None:
    assert set(EN) == set(ZH)
    assert language_of("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert language_of("en-US,en;q=0.9") == "en"
    assert language_of(None) == "en" and language_of("fr-FR") == "en"


# --- generating against the simulator ------------------------------------------------------------

@pytest.fixture
def services(sim: Any, tmp_path: Path) -> Services:
    settings = Settings(simulator_url=sim.base_url, cache_dir=tmp_path / "cache",
                        task_seconds_hint=0.3)
    return Services.create(settings)


def image_form(tmp_path: Path, **changes: Any) -> Form:
    image = str(write_image(tmp_path / "in.jpg", 750, 1000))
    return replace(Form(image=image, prompt="waves", model="wan2.2-i2v-flash",
                        resolution="480P"), **changes)


def test_generate_streams_to_a_video_and_a_record(services: Services, tmp_path: Path) -> None:
    steps = collect(handlers.generate(services, image_form(tmp_path), None, "en", "v1"))
    final = steps[-1]
    assert final.error is None and final.status.startswith("✓")
    assert Path(final.video).is_file() and Path(final.video).parent == \
        services.settings.cache_dir / "videos"
    records = [s.record for s in steps if is_record(s.record)]
    assert [r["status"] for r in records][-1] == "SUCCEEDED"
    assert {"PENDING", "SUCCEEDED"} <= {r["status"] for r in records}
    assert "video" not in records[-1] and records[-1]["request"]["seed"] is not None
    assert services.store.video_for(records[-1]["task_id"]) == Path(final.video)
    assert services.seal.open(records[-1]) == records[-1]  # sealed by this server


def test_invalid_input_sends_nothing(services: Services, sim: Any, tmp_path: Path) -> None:
    before = len(sim.requests)
    form = image_form(tmp_path, duration=7, model="wan2.5-i2v-preview", resolution="720P")
    steps = collect(handlers.generate(services, form, None, "en", "v1"))
    assert len(steps) == 1 and "length" in steps[0].error and "5, 10" in steps[0].error
    assert len(sim.requests) == before


def test_personal_key_never_reaches_records_logs_or_text(sim: Any, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-personal-9f8e7d6c5b4a"
    caplog.set_level(logging.DEBUG)
    # Personal keys exist only off the demo (a typed key on the demo is not used at all).
    services = Services.create(Settings(base_url=sim.base_url, cache_dir=tmp_path / "cache",
                                        task_seconds_hint=0.3))
    steps = collect(handlers.generate(services, image_form(tmp_path), key, "en", "v1"))
    assert steps[-1].status.startswith("✓")
    dumped = json.dumps([s.record for s in steps if is_record(s.record)])
    texts = " ".join(s.status for s in steps)
    assert key not in dumped and key not in texts and key not in caplog.text
    assert all(key not in p.name for p in services.settings.cache_dir.rglob("*"))
    assert json.loads(dumped)[-1]["key_kind"] == "personal"


def test_host_key_is_capped_per_visitor(sim: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-host")
    settings = Settings(has_host_key=True, base_url=sim.base_url, host_key_limit=1,
                        cache_dir=tmp_path / "cache", api_visibility="private")
    services = Services.create(settings)
    first = collect(handlers.generate(services, image_form(tmp_path), None, "en", "1.2.3.4"))
    assert first[-1].status.startswith("✓")
    second = collect(handlers.generate(services, image_form(tmp_path), None, "en", "1.2.3.4"))
    assert second[-1].error and "1 videos with the host's key" in second[-1].error
    other = collect(handlers.generate(services, image_form(tmp_path), None, "en", "5.6.7.8"))
    assert other[-1].status.startswith("✓")
    own_key = collect(handlers.generate(services, image_form(tmp_path), "sk-mine", "en", "1.2.3.4"))
    assert own_key[-1].status.startswith("✓")  # a personal key is not capped


def test_without_any_key_the_person_is_asked_for_one(sim: Any, tmp_path: Path) -> None:
    services = Services.create(Settings(base_url=sim.base_url, cache_dir=tmp_path / "c"))
    steps = collect(handlers.generate(services, image_form(tmp_path), "", "en", "v"))
    assert "API key" in steps[-1].error and "enter your own API key" in steps[-1].error


def test_jobs_beyond_the_concurrent_limit_wait_in_the_local_queue(start_sim: Any,
                                                                  tmp_path: Path) -> None:
    slow = start_sim(task_seconds=2.0, limits=True)
    services = Services.create(Settings(simulator_url=slow.base_url, cache_dir=tmp_path / "c",
                                        task_seconds_hint=2.0))
    limit = catalog.MODELS["wan2.2-i2v-flash"].concurrent_tasks
    form = image_form(tmp_path)

    async def run_all() -> list[list[Any]]:
        async def one(visitor: str) -> list[Any]:
            return [s async for s in handlers.generate(services, form, None, "en", visitor)]
        # Visitors of their own: one visitor's third job would wait in that visitor's line.
        return await asyncio.gather(*(one(f"v{i}") for i in range(limit + 1)))

    runs = asyncio.run(run_all())
    assert all(r[-1].status.startswith("✓") for r in runs)
    # Every run's last record says SUCCEEDED: a record is never lost while the job moves on.
    assert all([s.record for s in r if is_record(s.record)][-1]["status"] == "SUCCEEDED"
               for r in runs)
    waited = [r for r in runs if any("position 1 in this studio" in s.status for s in r)]
    assert len(waited) == 1
    assert not any(x.status == 429 for x in slow.requests)


def test_cancel_while_pending_and_refusal_while_running(start_sim: Any, tmp_path: Path) -> None:
    slow = start_sim(task_seconds=8.0, limits=False)
    services = Services.create(Settings(simulator_url=slow.base_url, cache_dir=tmp_path / "c"))
    form = image_form(tmp_path)

    async def scenario() -> tuple[list[Any], str, str, str]:
        steps: list[Any] = []
        agen = handlers.generate(services, form, None, "en", "v")
        async for step in agen:
            steps.append(step)
            if is_record(step.record) and step.record["status"] == "PENDING":
                break
        record = steps[-1].record
        said = await handlers.cancel(services, record, "en")
        async for step in agen:
            steps.append(step)
        again = await handlers.cancel(services, record, "en")
        # a second task, cancelled once it runs
        running: dict | None = None
        async for step in handlers.generate(services, form, None, "en", "v"):
            if is_record(step.record) and step.record["status"] == "RUNNING":
                running = step.record
                break
        late = await handlers.cancel(services, running, "en")
        return steps, said, again, late

    steps, said, again, late = asyncio.run(scenario())
    assert said == t("st_cancel_sent")
    assert steps[-1].record["status"] == "CANCELED" and "nothing is charged" in steps[-1].status
    assert again == t("st_cancel_none")
    assert late == t("err_cancel_not_allowed")


def test_restore_follows_unfinished_tasks_after_a_restart(services: Services, sim: Any,
                                                          tmp_path: Path) -> None:
    steps = collect(handlers.generate(services, image_form(tmp_path), None, "en", "v"))
    pending = next(s.record for s in steps
                   if is_record(s.record) and s.record["status"] == "PENDING")
    # A new process: no jobs in memory, the video not yet in its cache.
    fresh = Services.create(replace(services.settings, cache_dir=tmp_path / "other-cache"))
    restored = collect(handlers.restore(fresh, [pending], None, "en"))
    tampered = {**pending, "task_id": "someone-else"}
    assert collect(handlers.restore(fresh, [tampered], None, "en"))[-1].status == \
        t("st_nothing")  # not sealed as it is: ignored
    final = restored[-1]
    assert final.record["status"] == "SUCCEEDED" and Path(final.video).is_file()
    assert final.record["token"] == pending["token"]
    assert final.record["task_id"] == pending["task_id"]


def test_restore_asks_for_the_personal_key_it_may_not_keep(sim: Any, tmp_path: Path) -> None:
    services = Services.create(Settings(base_url=sim.base_url, cache_dir=tmp_path / "cache"))
    record = services.seal.seal({"token": "t1", "task_id": "abc", "region": "beijing",
                                 "key_kind": "personal", "status": "RUNNING", "request": None,
                                 "created": __import__("time").time()})
    steps = collect(handlers.restore(services, [record], "", "en"))
    assert steps[-1].status == t("st_need_key", "en", count=1)


def test_resume_by_task_id(services: Services, sim: Any, tmp_path: Path) -> None:
    done = collect(handlers.generate(services, image_form(tmp_path), None, "en", "v"))
    task_id = done[-1].record["task_id"]
    other = Services.create(replace(services.settings, cache_dir=tmp_path / "c2"))
    steps = collect(handlers.resume_by_id(other, task_id, "beijing", None, "en"))
    assert steps[-1].record["status"] == "SUCCEEDED" and Path(steps[-1].video).is_file()
    # The owner's settings and token stay the owner's.
    assert steps[-1].record["request"] is None and steps[-1].record["view"] is True
    assert steps[-1].record["token"] != done[-1].record["token"]
    mine = collect(handlers.resume_by_id(services, task_id, "beijing", None, "en"))
    assert mine[-1].record["request"] is None and mine[-1].record["token"] != \
        done[-1].record["token"]
    unknown = collect(handlers.resume_by_id(other, "no-such-task", "beijing", None, "en"))
    assert unknown[-1].error and t("err_task_expired") in unknown[-1].error
    bad = collect(handlers.resume_by_id(other, "../../etc/passwd", "beijing", None, "en"))
    assert "task id" in bad[-1].error


# --- history -------------------------------------------------------------------------------------

def test_history_records_and_reuse(tmp_path: Path) -> None:
    services = Services.create(Settings(simulator_url="http://127.0.0.1:9/api/v1",
                                        cache_dir=tmp_path / "cache", state_secret="s"))
    store, seal = services.store, services.seal
    video = store.video_path("t1")
    video.write_bytes(b"\0\0\0\x18ftypmp42")
    upload = write_image(tmp_path / "in.jpg", 750, 1000)
    image = str(store.keep_upload(upload))
    req = handlers.build_request(Form(image=image, prompt="p", model="wan2.6-i2v-flash",
                                      duration=9, audio=False, seed=3, shot_type="multi"))
    job = Job(token="tok", region="beijing", request=req, key_kind="personal", task_id="t1",
              phase=Phase.SUCCEEDED, video=video)
    record = record_of(job, store, seal)
    assert set(record) == {"v", "sig", "token", "task_id", "region", "key_kind", "status",
                           "view", "request", "error", "code", "created", "updated"}
    assert record["request"]["image"] == "upload:" + Path(image).name  # a name, not a path
    assert seal.open(record) == record and seal.open({**record, "status": "RUNNING"}) is None
    assert not needs_follow(record, store)
    assert needs_follow({**record, "status": "RUNNING"}, store)
    assert needs_follow({**record, "task_id": "gone"}, store)  # fetch it again
    assert not needs_follow({**record, "status": "RUNNING", "created": 0}, store)  # > 24 h
    failed = seal.seal({**record, "token": "x", "status": "FAILED", "error": "err_task_failed",
                        "code": "DataInspectionFailed"})
    history = [record, failed]
    gallery, table = handlers.history_view(services, history, "en")
    assert gallery["value"] == [(str(video), "wan2.6-i2v-flash · p")] and gallery["visible"]
    assert "FAILED `DataInspectionFailed`" in table and t("err_task_failed") in table
    assert handlers.selected_record(services, history, 0) == (record, video)
    values = handlers.reuse_settings(services, record, "en")
    assert list(values) == list(handlers.INPUT_NAMES)
    assert values["model"] == "wan2.6-i2v-flash" and values["duration"] == 9
    assert values["audio"] is False and values["seed"] == 3 and values["image"] == image
    assert values["shot_type"] == "multi"
    assert handlers.last_seed(services, record) == 3
    assert handlers.history_view(services, [], "zh")[1] == t("history_empty", "zh")
    # A page's edited record is nobody's: no settings, no seed, no gallery entry.
    edited = {**record, "request": {**record["request"], "image": str(upload)}}
    assert set(map(str, handlers.reuse_settings(services, edited, "en").values())) == \
        {str(gr.skip())}
    assert handlers.history_view(services, [edited], "en")[0]["visible"] is False


# --- settings ------------------------------------------------------------------------------------

def test_settings_defaults_follow_the_key(tmp_path: Path) -> None:
    env = {"WAN_STUDIO_CACHE_DIR": str(tmp_path)}
    sim = load_settings(env, simulator_url="http://127.0.0.1:9/api/v1")
    assert sim.api_visibility == "public" and sim.simulated and sim.host_key_limit == 10
    hosted = load_settings({**env, "DASHSCOPE_API_KEY": "sk-x", "WAN_STUDIO_HOST_KEY_LIMIT": "3"})
    assert hosted.api_visibility == "private" and hosted.host_key_limit == 3
    assert "sk-x" not in repr(hosted)
    assert load_settings({**env, "DASHSCOPE_API_KEY": "k", "WAN_STUDIO_API": "public"}) \
        .api_visibility == "public"
    with pytest.raises(ValueError, match="WAN_STUDIO_API"):
        load_settings({**env, "WAN_STUDIO_API": "open"})
    assert load_settings(env).state_secret == sim.state_secret  # stable across restarts
    assert load_settings({**env, "WAN_STUDIO_STATE_SECRET": "s3"}).state_secret == "s3"
    assert load_settings({**env, "WAN_STUDIO_CACHE_MAX_MB": "5"}).cache_max_mb == 5


# --- examples ------------------------------------------------------------------------------------

def test_every_example_makes_a_video(services: Services) -> None:
    from ui.examples import EXAMPLE_INPUTS, EXAMPLES, example_rows

    rows, keys = example_rows()
    assert len(rows) == len(EXAMPLES) >= 8, "the assets/ files of the examples are missing"
    examples = [dict(zip(EXAMPLE_INPUTS, row)) for row in rows]
    assert any(e["audio_file"] for e in examples)  # one with audio
    assert any(e["shot_type"] == "multi" for e in examples) and any(e["template"] for e in examples)
    first_last = next(e for e in examples if e["last_frame"])
    continued = next(e for e in examples if e["first_clip"])
    assert first_last["model"] == continued["model"] == "wan2.7-i2v"
    assert continued["image"] is None and continued["duration"] == 8
    assert all(isinstance(e["duration"], int) for e in examples)  # none keeps the last length
    forms = []
    for values, key in zip(examples, keys):
        assert t(key, "zh") != t(key, "en")
        smallest = min(catalog.MODELS[values["model"]].resolutions,
                       key=catalog.TIER_PIXELS.__getitem__)
        forms.append(Form(**values, audio=True, resolution=smallest))  # quick to render

    async def run_all() -> list[list[Any]]:
        async def one(form: Form, visitor: str) -> list[Any]:
            return [s async for s in handlers.generate(services, form, None, "en", visitor)]
        # A visitor of its own each: one visitor's line holds fewer than all the examples.
        return await asyncio.gather(*(one(f, f"v{i}") for i, f in enumerate(forms)))

    for key, steps in zip(keys, asyncio.run(run_all())):
        assert steps[-1].status.startswith("✓"), (key, steps[-1].status)


def test_unknown_model_or_region_names_what_is_offered() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        handlers.build_request(Form(model="wanx2.1-i2v-plus", region="singapore"))
    assert caught.value.field == "model" and "wan2.1-i2v-plus" in caught.value.allowed
    with pytest.raises(errors.InvalidInput) as caught:
        handlers.build_request(Form(model="wan2.6-i2v", region="mars"))
    assert caught.value.field == "region"


def test_waiting_clocks_tick_in_the_page_not_on_the_server() -> None:
    job = Job(token="t", region="beijing", request=None, key_kind="simulator", task_id="abc",
              phase=Phase.RUNNING, submitted=1000.0, expected_end=1060.0)
    live = handlers.status_text(job, "en")
    assert 'class="wan-clock wan-up wan-en wan-s-' in live  # elapsed counts up in the browser
    assert "wan-down" in live  # the ETA counts down
    quiet_then = handlers.status_text(job, "en", live=False)
    job.submitted = 990.0  # ten seconds later: only the clocks differ
    assert handlers.status_text(job, "en", live=False) == quiet_then
    assert "wan-clock" not in quiet_then and "abc" in quiet_then


def test_a_waiting_job_wakes_its_page_only_when_it_changes(tmp_path: Path) -> None:
    runner = Runner(VideoStore(tmp_path, 10**9))
    job = Job(token="t", region="beijing", request=None, key_kind="simulator", phase=Phase.RUNNING)

    async def scenario() -> list[str]:
        seen: list[str] = []

        async def page() -> None:
            async for current in runner.follow(job):
                seen.append(current.phase)

        following = asyncio.create_task(page())
        await asyncio.sleep(2.5)  # no change: the page is not woken (clocks tick in the browser)
        quiet = list(seen)
        job.update(phase=Phase.DOWNLOADING)
        await asyncio.sleep(0)
        job.update(phase=Phase.SUCCEEDED, finished=1.0)
        await asyncio.wait_for(following, 1)
        return quiet + ["|"] + seen[len(quiet):]

    assert asyncio.run(scenario()) == ["RUNNING", "|", "DOWNLOADING", "SUCCEEDED"]
