"""Plain functions from what the page holds to what it should show; no layout, no browser."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import gradio as gr

from client import catalog
from client.errors import AmbiguousTask, CancelNotAllowed, InvalidInput, WanError
from client.media import probe_audio
from client.request import (
    VideoRequest,
    check_public_url,
    deployed_model,
    estimated_price,
    image_info,
    local_path,
    predict_output_size,
    source_kind,
    validate,
)

from . import controls, preview
from .history import finished_videos, needs_follow, record_of, request_of
from .i18n import t
from .messages import error_sentence
from .records import HISTORY_LIMIT, Record, RecordSeal
from .runner import Credentials, Job, Phase, Runner
from .settings import SIMULATOR_KEY, Settings
from .store import VideoStore
from .visitors import HourlyCap, VisitorLines

Update = dict[str, Any]


RESTORES_AT_ONCE = 2  # restore events one visitor may have running


@dataclass
class Services:
    """What the handlers share for the life of the app: settings, the video store, the jobs,
    the seal on history records and the limits per visitor of a shared key."""

    settings: Settings
    store: VideoStore
    runner: Runner
    seal: RecordSeal
    cap: HourlyCap  # videos per visitor per hour on the host's key, or on the demo's
    lines: VisitorLines  # videos per visitor at once on a shared key
    restoring: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings) -> Services:
        store = VideoStore(settings.cache_dir, settings.cache_max_mb * 1024 * 1024)
        runner = Runner(store, base_url=settings.endpoint,
                        expected_seconds=settings.task_seconds_hint)
        limit = settings.demo_limit if settings.simulated else settings.host_key_limit
        return cls(settings, store, runner, RecordSeal(settings.record_key), HourlyCap(limit),
                   VisitorLines(settings.visitor_at_once, settings.visitor_waiting))


@dataclass(frozen=True)
class Form:
    """The request as the page holds it (API names; empty strings for empty fields)."""

    image: str | None = None
    img_url: str = ""
    audio_file: str | None = None
    audio_url: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    model: str = ""
    region: str = catalog.DEFAULT_REGION
    resolution: str | None = None
    duration: float | None = None
    shot_type: str | None = None
    audio: bool | None = None
    template: str | None = None
    seed: float | None = -1
    prompt_extend: bool = True
    watermark: bool = False

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


# --- building the request ------------------------------------------------------------------------

def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _file_or_link(file: str | None, link: Any, field_name: str) -> str | None:
    """The uploaded file, else the typed link (checked to be public)."""
    if file:
        return file
    url = _text(link).strip()
    if url:
        check_public_url(url, field_name)
        return url
    return None


def image_source(form: Form) -> str | None:
    return _file_or_link(form.image, form.img_url, "img_url")


def audio_source(form: Form, model: catalog.Model) -> str | None:
    if not model.accepts_audio_url:
        return None  # the input is hidden for this model; a stale file must not be sent
    return _file_or_link(form.audio_file, form.audio_url, "audio_url")


def _whole(value: float | None, field_name: str) -> int | None:
    if value is None or value == "":
        return None
    number = float(value)
    if not number.is_integer():
        raise InvalidInput(field_name, f"{value} is not a whole number")
    return int(number)


def build_request(form: Form) -> VideoRequest:
    """The VideoRequest for a form, with only the fields the chosen model takes."""
    region = form.region or catalog.DEFAULT_REGION
    if region not in catalog.REGIONS:
        raise InvalidInput("region", f"unknown region {region!r}", tuple(catalog.REGIONS))
    # Raises InvalidInput naming the region's models when this one is not offered there.
    model = deployed_model(form.model or controls.default_model(region), region)
    template = (form.template or None) if model.templates else None
    seed = _whole(form.seed, "seed")
    return VideoRequest(
        model=model.id,
        image=image_source(form),
        prompt="" if template else _text(form.prompt),
        negative_prompt="" if template else _text(form.negative_prompt),
        audio_url=audio_source(form, model),
        audio=bool(form.audio) if model.audio is catalog.Audio.SWITCHABLE else None,
        resolution=form.resolution or None,
        duration=None if model.duration_is_fixed else _whole(form.duration, "duration"),
        shot_type=((form.shot_type or "single") if model.accepts_shot_type and not template
                   else None),
        template=template,
        seed=None if seed is None or seed < 0 else seed,
        prompt_extend=bool(form.prompt_extend),
        watermark=bool(form.watermark),
        region=region,
    )


# --- controls that follow the model --------------------------------------------------------------

def _region(value: Any) -> str:
    """The page's region, or the default one for a value that is no region."""
    return value if value in catalog.REGIONS else catalog.DEFAULT_REGION


def model_choices_update(region: Any, current: str | None, lang: str) -> Update:
    region = _region(region)
    choices = controls.model_choices(region, lang)
    ids = [value for _, value in choices]
    return gr.update(choices=choices, value=current if current in ids else ids[0])


def model_updates(model_id: str, region: str, resolution: str | None, duration: float | None,
                  template: str | None, lang: str) -> tuple[Update, ...]:
    """Updates for: resolution, duration slider, duration choice, duration value, shot type,
    sound switch, audio inputs group, template picker, template advice, prompt, negative prompt,
    model description."""
    region = _region(region)
    current = int(duration) if isinstance(duration, (int, float)) else None
    spec = controls.control_spec(model_id, region, lang, resolution=resolution, duration=current)
    # "" rather than None: None would leave the previous model's note in place.
    fixed_res = t("fixed_resolution", lang, value=spec.resolution) if spec.resolution_fixed else ""
    resolution_u = gr.update(choices=list(spec.resolutions), value=spec.resolution,
                             interactive=not spec.resolution_fixed, info=fixed_res)
    d = spec.duration
    slider_u = (gr.update(visible=True, minimum=d.values[0], maximum=d.values[-1], value=d.value,
                          step=1)
                if d.kind == "range" else gr.update(visible=False))
    fixed_dur = t("fixed_duration", lang, value=d.value) if d.kind == "fixed" else ""
    choice_u = gr.update(visible=d.kind != "range", choices=list(d.values), value=d.value,
                         interactive=d.kind == "choice", info=fixed_dur)
    value_u = gr.update(value=d.value)
    kept_template = template if template in {v for _, v in spec.templates} else ""
    template_u = gr.update(visible=bool(spec.templates), value=kept_template,
                           choices=list(spec.templates) or [(t("template_none", lang), "")])
    prompt_visible = not (spec.templates and kept_template)
    return (resolution_u, slider_u, choice_u, value_u,
            gr.update(visible=spec.shot_type),
            gr.update(visible=spec.audio_switch),
            gr.update(visible=spec.audio_input),
            template_u,
            gr.update(value=controls.template_advice(kept_template, lang),
                      visible=bool(kept_template)),
            gr.update(visible=prompt_visible, max_length=spec.prompt_max),
            gr.update(visible=prompt_visible),
            gr.update(value=controls.model_label(spec.model, region, lang)))


def template_updates(template: str | None, lang: str) -> tuple[Update, Update, Update]:
    """Updates for: template advice, prompt, negative prompt (hidden while a template is chosen)."""
    chosen = bool(template)
    return (gr.update(value=controls.template_advice(template, lang), visible=chosen),
            gr.update(visible=not chosen), gr.update(visible=not chosen))


# --- what each input is --------------------------------------------------------------------------

def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MB"


def describe_image(image: str | None, img_url: str, lang: str) -> str:
    """The picture's size, or the rule it breaks, shown at once under the input."""
    try:
        if image:
            info = image_info(image)
            assert info is not None
            return "✓ " + t("image_info", lang, width=info.width, height=info.height,
                            format=info.format, size=_size(info.size_bytes))
        if _text(img_url).strip():
            check_public_url(img_url.strip(), "img_url")
            return "✓ " + t("image_url_ok", lang)
    except InvalidInput as exc:
        return "⚠ " + error_sentence(exc, lang)
    return ""


def describe_audio(audio_file: str | None, audio_url: str, model_id: str, region: str,
                   lang: str) -> str:
    """The audio's length, or the rule it breaks; says so when the model ignores audio."""
    model = catalog.model_in_region(model_id, region)
    has_input = bool(audio_file) or bool(_text(audio_url).strip())
    if not has_input:
        return ""
    if model is not None and not model.accepts_audio_url:
        return t("audio_unused", lang)
    try:
        if audio_file:
            info = probe_audio(Path(audio_file), "audio_url")
            return "✓ " + t("audio_info", lang, seconds=info.seconds, format=info.format.upper(),
                            size=_size(info.size_bytes))
        check_public_url(audio_url.strip(), "audio_url")
        return "✓ " + t("audio_url_ok", lang)
    except InvalidInput as exc:
        return "⚠ " + error_sentence(exc, lang)


# --- before generating: size, price, code --------------------------------------------------------

def preview_outputs(form: Form, lang: str, simulated: bool) -> tuple[str, str, str, str]:
    """(predicted video size, estimated price, curl, Python SDK code) for the form as it is."""
    try:
        req = build_request(form)
        checked = validate(req if req.image else req.replace(image=preview._LOCAL_IMAGE),
                           check_media=False)
    except InvalidInput as exc:
        sentence = "⚠ " + error_sentence(exc, lang)
        return sentence, "", "# " + sentence, "# " + sentence
    model = catalog.model_in_region(checked.model, checked.region)
    assert model is not None and checked.resolution is not None
    seconds, sound = preview.output_seconds_and_sound(checked)
    size = _predicted_size(req.image, checked, seconds, sound, lang)
    price = estimated_price(checked)
    if price is None:
        price_text = t("price_unknown", lang)
    else:
        amount, currency = price
        price_text = t("price_value", lang, amount=f"{amount:g}", currency=currency,
                       duration=seconds, rate=f"{amount / seconds:g}",
                       checked=catalog.PRICES_CHECKED)
    if simulated:
        price_text = t("price_simulated", lang, value=price_text)
    return size, price_text, preview.curl_code(checked), preview.sdk_code(checked)


def _predicted_size(image: str | Path | None, req: VideoRequest, seconds: int, sound: bool,
                    lang: str) -> str:
    assert req.resolution is not None
    if image is None:
        return t("size_needs_image", lang, resolution=req.resolution)
    try:
        info = image_info(image)
    except InvalidInput as exc:
        return "⚠ " + error_sentence(exc, lang)
    if info is None:
        return t("size_from_url", lang, pixels=f"{catalog.TIER_PIXELS[req.resolution]:,}",
                 resolution=req.resolution)
    width, height = predict_output_size(info.width, info.height, req.resolution)
    return t("size_predicted", lang, width=width, height=height, duration=seconds,
             fps=catalog.FPS, sound=t("size_sound" if sound else "size_silent", lang))


# --- status --------------------------------------------------------------------------------------

def duration_text(seconds: float, lang: str) -> str:
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    if lang == "zh":
        return f"{minutes} 分 {secs:02d} 秒" if minutes else f"{secs} 秒"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def ticking(seconds: float, step: int, lang: str) -> str:
    """A duration the page keeps counting (up with step 1, down with -1) by itself, so a waiting
    page needs no update from the server each second (ui/app.py: TICK_CLOCKS_JS)."""
    # Gradio's sanitiser drops data-* attributes, so the clock's state rides in class names.
    whole = round(max(0.0, seconds))
    direction = "up" if step > 0 else "down"
    return (f'<span class="wan-clock wan-{direction} wan-{lang} wan-s-{whole}">'
            f'{duration_text(whole, lang)}</span>')


def status_text(job: Job, lang: str, *, live: bool = True) -> str:
    """The status line(s) for a job, in the page's language. With live=False the running clocks
    are left out: what is left changes only when there is news worth sending to the page."""
    lines: list[str] = []
    phase = job.phase
    waited = (" · " + t("st_waited", lang, elapsed=ticking(job.elapsed, 1, lang))) if live else ""
    if phase is Phase.QUEUED and job.line_position > 0:
        lines.append(t("st_line", lang, position=job.line_position) + waited)
    elif phase is Phase.QUEUED and job.queue_position > 0:
        lines.append(t("st_queue", lang, position=job.queue_position) + waited)
    elif job.recovering:
        lines.append(t("st_recovering", lang))
    elif phase in (Phase.QUEUED, Phase.SUBMITTING):
        lines.append(t("st_submitting", lang))
        if job.retry_in:
            lines.append(t("st_retrying", lang, seconds=round(job.retry_in)))
    elif phase.waiting_at_service:
        elapsed = ticking(job.elapsed, 1, lang) if live else ""
        parts = [t("st_elapsed", lang, elapsed=elapsed)]
        if job.eta is not None:
            parts.append(t("st_eta", lang, eta=ticking(job.eta, -1, lang) if live else ""))
        lines.append(" · ".join([t(f"st_{phase.value.lower()}", lang), *parts]))
    elif phase is Phase.DOWNLOADING:
        lines.append(t("st_downloading", lang))
    elif phase is Phase.SUCCEEDED:
        lines.append("✓ " + t("st_succeeded", lang, elapsed=duration_text(job.elapsed, lang),
                              task_id=job.task_id or "—"))
        if job.waited >= 1:
            lines.append(t("st_waited_total", lang, elapsed=duration_text(job.waited, lang)))
    elif phase is Phase.CANCELED:
        lines.append(t("st_canceled", lang))
    elif job.error is not None:
        lines.append("⚠ " + error_sentence(job.error, lang))
        if isinstance(job.error, AmbiguousTask):
            lines.append(t("st_candidates", lang,
                           ids=", ".join(f"`{c}`" for c in job.error.candidates)))
    if job.task_id and phase is not Phase.SUCCEEDED:
        lines.append(t("st_task", lang, task_id=job.task_id))
    if job.resumed and not job.done:
        lines.append(t("st_resumed", lang))
    return "\n\n".join(lines)


def record_status_text(record: Record, lang: str) -> str:
    key = record.get("error")
    return "⚠ " + t(key, lang) if key else ""


# --- generate, cancel, resume --------------------------------------------------------------------

@dataclass
class Step:
    """One streamed update of the generate / resume events."""

    status: str
    video: str | None | Any = field(default_factory=gr.skip)
    record: Record | Any = field(default_factory=gr.skip)
    error: str | None = None  # set on the last step when the request was refused or failed

    def outputs(self) -> tuple[Any, Any, Any]:
        return self.status, self.video, self.record


def credentials_for(services: Services, api_key: str | None, lang: str = "en") -> Credentials:
    """The key a request is paid with: the visitor's own, else the host's, else the simulator."""
    if services.settings.simulated:
        # One demo account for everyone: a typed key must not open an account (and limits) of
        # its own on the built-in simulator.
        return Credentials(SIMULATOR_KEY, "simulator")
    key = (api_key or "").strip()
    if key:
        return Credentials(key, "personal")
    if services.settings.has_host_key:
        return Credentials(None, "host")
    raise InvalidInput("api_key", t("rule_no_key", lang))


def _refused(sentence: str) -> Step:
    return Step("⚠ " + sentence, None, gr.skip(), error="⚠ " + sentence)


def _kept(services: Services, req: VideoRequest) -> VideoRequest:
    """The request with its uploaded files copied into the store, where "use these settings
    again" finds them by name later."""
    changes = {}
    for name in ("image", "audio_url"):
        value = getattr(req, name)
        if value is not None and source_kind(value) == "file":
            changes[name] = str(services.store.keep_upload(local_path(value)))
    return req.replace(**changes) if changes else req


def _checked(services: Services, form: Form) -> VideoRequest:
    """The validated request, its uploads kept in the store."""
    req = build_request(form)
    if req.seed is None:
        req = req.replace(seed=random.randint(0, catalog.SEED_MAX))
    return _kept(services, validate(req, check_media=True))


async def generate(services: Services, form: Form, api_key: str | None, lang: str,
                   visitor: str) -> AsyncIterator[Step]:
    """Validate, wait for a turn and a slot, submit, stream the status, end with the video."""
    try:
        credentials = credentials_for(services, api_key, lang)
        # Probing media decodes files: off the event loop, which serves every other page.
        req = await asyncio.to_thread(_checked, services, form)
    except InvalidInput as exc:
        yield _refused(error_sentence(exc, lang))
        return
    turn = None
    if credentials.kind in ("host", "simulator"):  # a shared key: limits per visitor
        wait = services.cap.take(visitor)
        if wait is not None:
            key = "cap_reached" if credentials.kind == "host" else "demo_cap_reached"
            yield _refused(t(key, lang, limit=services.cap.limit,
                             minutes=max(1, int(wait // 60))))
            return
        turn = services.lines.join(visitor)
        if turn is None:
            yield _refused(t("st_busy", lang, count=services.lines.busy(visitor),
                             seconds=max(5, round(services.runner.eta.prior or 60))))
            return
    job = services.runner.start(req, credentials, turn)
    async for step in follow(services, job, lang, first_video=None):
        yield step


async def follow(services: Services, job: Job, lang: str, *,
                 first_video: Any = None) -> AsyncIterator[Step]:
    """Stream a job: a record whenever its phase changes, the video once it is downloaded."""
    last_phase = None
    last_text = None
    first = True
    async for current in services.runner.follow(job):
        # The job is live: read everything now, before the yield lets it move on.
        phase = current.phase
        text = status_text(current, lang)
        news = status_text(current, lang, live=False)
        if not first and phase == last_phase and news == last_text and not current.done:
            continue  # the clocks tick in the page; every update costs the server with many pages
        record = (record_of(current, services.store, services.seal)
                  if phase != last_phase or first else gr.skip())
        video: Any = first_video if first else gr.skip()
        if phase is Phase.SUCCEEDED and current.video is not None:
            video = str(current.video)
        error = text if current.done and phase is not Phase.SUCCEEDED else None
        last_phase, last_text, first = phase, news, False
        yield Step(text, video, record, error=error)


async def cancel(services: Services, record: Record | None, lang: str) -> str:
    """Cancel the page's current task; a plain sentence when it cannot be cancelled any more."""
    opened = services.seal.open(record)
    job = services.runner.get(opened["token"]) if opened is not None else None
    if job is not None and job.view_only:
        return t("st_cancel_not_owner", lang)
    if job is None or job.done:
        return t("st_cancel_none", lang)
    try:
        await services.runner.cancel(job.token)
    except CancelNotAllowed as exc:
        return error_sentence(exc, lang)
    except WanError as exc:
        return error_sentence(exc, lang)
    return t("st_cancel_sent", lang)


async def restore(services: Services, history: Any, api_key: str | None, lang: str,
                  visitor: str = "unknown") -> AsyncIterator[Step]:
    """After a reload or restart: follow every unfinished task of this browser again. Only
    records the server sealed count, at most HISTORY_LIMIT, and a visitor restores at most
    RESTORES_AT_ONCE times at once (each restore may follow many tasks)."""
    if services.restoring.get(visitor, 0) >= RESTORES_AT_ONCE:
        yield Step(t("st_restore_busy", lang))
        return
    services.restoring[visitor] = services.restoring.get(visitor, 0) + 1
    try:
        async for step in _restore(services, services.seal.open_history(history), api_key,
                                   lang):
            yield step
    finally:
        services.restoring[visitor] -= 1
        if not services.restoring[visitor]:
            del services.restoring[visitor]


async def _restore(services: Services, history: list[Record], api_key: str | None,
                   lang: str) -> AsyncIterator[Step]:
    waiting_for_key = 0
    followed = 0
    for record in history[:HISTORY_LIMIT]:
        job = services.runner.get(record.get("token"))
        if job is None:
            if not needs_follow(record, services.store):
                continue
            try:
                credentials = _resume_credentials(services, record, api_key, lang)
            except InvalidInput:
                waiting_for_key += 1
                continue
            region = str(record.get("region"))
            if record.get("view"):
                job = services.runner.view(str(record["task_id"]), region, credentials,
                                           token=str(record["token"]))
            else:
                job = services.runner.resume(str(record["task_id"]), region, credentials,
                                             request=request_of(record, services.store),
                                             token=str(record["token"]))
        elif job.done and Phase.of(record.get("status")) is job.phase:
            continue
        followed += 1
        async for step in follow(services, job, lang, first_video=gr.skip()):
            yield step
    if waiting_for_key:
        yield Step(t("st_need_key", lang, count=waiting_for_key))
    elif not followed:
        yield Step(t("st_nothing", lang))  # an event that yields nothing would blank its outputs


def _resume_credentials(services: Services, record: Record, api_key: str | None,
                        lang: str) -> Credentials:
    """A personal key's task can only be followed again with that person's key."""
    if record.get("key_kind") == "personal" and not (api_key or "").strip():
        raise InvalidInput("api_key", t("rule_no_key", lang))
    return credentials_for(services, api_key, lang)


async def resume_by_id(services: Services, task_id: str, region: str, api_key: str | None,
                       lang: str) -> AsyncIterator[Step]:
    """Follow a task by its id (from another tab, the CLI, or before the history existed)."""
    task_id = _text(task_id).strip()
    try:
        plain = task_id.replace("-", "").replace("_", "")
        if not task_id or len(task_id) > 128 or not plain.isalnum():
            raise InvalidInput("task_id", t("rule_task_id", lang))
        credentials = credentials_for(services, api_key, lang)
    except InvalidInput as exc:
        sentence = "⚠ " + error_sentence(exc, lang)
        yield Step(sentence, gr.skip(), gr.skip(), error=sentence)
        return
    region = region if region in catalog.REGIONS else catalog.DEFAULT_REGION
    job = services.runner.view(task_id, region, credentials)
    async for step in follow(services, job, lang, first_video=None):
        yield step


# --- history -------------------------------------------------------------------------------------

def reuse_settings(services: Services, record: Any, lang: str) -> tuple[Any, ...]:
    """Values for the form from a history entry ("use these settings again"): public links, and
    uploads the studio kept (found by name), never a path the browser names."""
    opened = services.seal.open(record)
    req = request_of(opened, services.store) if opened is not None else None
    if req is None:
        return tuple(gr.skip() for _ in REUSE_FIELDS)
    image = str(req.image) if req.image is not None else None
    image_is_file = image is not None and source_kind(image) == "file"
    audio = str(req.audio_url) if req.audio_url is not None else None
    audio_is_file = audio is not None and source_kind(audio) == "file"
    values: dict[str, Any] = {
        "region": req.region,
        "model": req.model,
        "image": image if image_is_file else gr.skip(),
        "img_url": image if image and not image_is_file else "",
        "audio_file": audio if audio_is_file else None,
        "audio_url": audio if audio and not audio_is_file else "",
        "prompt": req.prompt,
        "negative_prompt": req.negative_prompt,
        "resolution": req.resolution,
        "duration": req.duration,
        "shot_type": req.shot_type or "single",
        "audio": True if req.audio is None else req.audio,
        "template": req.template or "",
        "seed": req.seed if req.seed is not None else -1,
        "prompt_extend": req.prompt_extend,
        "watermark": req.watermark,
    }
    return tuple(values[name] for name in REUSE_FIELDS)


REUSE_FIELDS = ("region", "model", "image", "img_url", "audio_file", "audio_url", "prompt",
                "negative_prompt", "resolution", "duration", "shot_type", "audio", "template",
                "seed", "prompt_extend", "watermark")


def last_seed(services: Services, record: Any) -> Any:
    opened = services.seal.open(record)
    req = request_of(opened, services.store) if opened is not None else None
    return req.seed if req is not None and req.seed is not None else gr.skip()


def history_view(services: Services, history: Any, lang: str) -> tuple[Update, str]:
    """(gallery of finished videos with captions, a list of every task with its status). Only
    sealed records count; each picture is found by the record's task id in the store."""
    records = services.seal.open_history(history)
    items = [(str(services.store.poster_for(r["task_id"]) or video), _caption(r))
             for r, video in finished_videos(records, services.store)]
    gallery = gr.update(value=items, visible=bool(items))
    rows = []
    for record in records:
        req = record.get("request") or {}
        what = req.get("template") or (req.get("prompt") or "")[:60]
        error = record_status_text(record, lang)
        code = f" `{record['code']}`" if record.get("code") else ""
        rows.append(f"| `{record.get('task_id') or '—'}` | {req.get('model', '—')} | "
                    f"{_cell(what)} | {record.get('status')}{code} {_cell(error)} |")
    if not rows:
        return gallery, t("history_empty", lang)
    header = " | ".join(t(k, lang) for k in ("col_task", "col_model", "col_prompt", "col_status"))
    table = f"| {header} |\n|---|---|---|---|\n" + "\n".join(rows)
    return gallery, table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _caption(record: Record) -> str:
    req = record.get("request") or {}
    what = req.get("template") or req.get("prompt") or ""
    return f"{req.get('model', '')} · {what[:40]}".strip(" ·")


def selected_record(services: Services, history: Any,
                    index: Any) -> tuple[Record, Path] | None:
    """The history entry behind the gallery item at `index`, and its video."""
    videos = finished_videos(services.seal.open_history(history), services.store)
    if not isinstance(index, int) or not 0 <= index < len(videos):
        return None
    return videos[index]
