"""The studio page: what is on it and which event calls which handler (layout and wiring only)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder as gradio_upload_folder

from client import catalog

from . import controls, handlers
from .choices import ChoiceDropdown, ChoiceRadio
from .components import raw_image_file
from .handlers import Form, Services, Step
from .i18n import I18N, label, language_of, t
from .records import HISTORY_LIMIT
from .settings import Settings
from .visitors import visitor_of

ASSETS = Path(__file__).resolve().parent.parent / "assets"
HISTORY_STORAGE_KEY = "wan-studio-history"
QUEUE_IDLE_SECONDS = 0.02
MAX_EVENTS_AT_ONCE = 400
PROGRESS_IDLE_SECONDS = 0.1
GRADIO_CACHE_CLEANING = (900, 2 * 3600)  # (every, older than) in seconds
# Merged in the browser, at once: two events (a generation and a resumed task) may report
# records at the same moment, and a server round trip could lose one of them. The result is
# wrapped in a list because a returned array means "one value per output".
MERGE_RECORD_JS = """(record, history) => {
  const list = Array.isArray(history) ? history : [];
  if (!record || !record.token) return [list];
  const rest = list.filter((r) => r && r.token !== record.token);
  return [[record, ...rest].slice(0, LIMIT)];
}""".replace("LIMIT", str(HISTORY_LIMIT))
CSS = """
.gradio-container { max-width: 1280px !important; margin: auto; }
#banner { border-left: 4px solid var(--color-accent); padding: 8px 14px; border-radius: 6px;
          background: var(--background-fill-secondary); }
#status { min-height: 3em; }
#generate { font-size: 1.1em; }
.hint { font-size: 0.9em; opacity: 0.85; }
#history-gallery .grid-container { grid-template-columns: repeat(auto-fill, 180px) !important;
                                   grid-auto-rows: 180px !important; }
#history-gallery .thumbnail-item { width: 180px !important; height: 180px !important; }
#history-gallery .grid-wrap { padding-top: 40px; }
"""


def _lang(request: gr.Request | None) -> str:
    headers = getattr(request, "headers", None)
    return language_of(headers.get("accept-language") if headers is not None else None)


EXAMPLES = (  # (label key, image, prompt, model, template, shot type, audio file)
    ("ex_astronaut", "astronaut.jpg", "The astronaut smiles, turns to the camera and waves slowly.",
     "wan2.2-i2v-flash", "", "single", None),
    ("ex_rocket", "rocket.jpg", ("The rocket lifts off in a cloud of smoke and fire; the camera "
                                 "tilts up to follow it."), "wan2.6-i2v-flash", "", "single", None),
    ("ex_voice", "astronaut.jpg", "She looks into the camera and speaks calmly.",
     "wan2.6-i2v-flash", "", "single", "voice.wav"),
    ("ex_coffee", "coffee.jpg", ("Steam rises from the coffee. Then a close-up of the foam. "
                                 "Then a hand lifts the cup from the table."),
     "wan2.6-i2v", "", "multi", None),
    ("ex_cat", "cat.jpg", "", "wanx2.1-i2v-turbo", "inflate", "single", None),
    ("ex_galaxies", "galaxies.jpg", "A slow zoom into the deep field, stars twinkling.",
     "wan2.5-i2v-preview", "", "single", "tune.wav"),
)


def example_rows() -> tuple[list[list[Any]], list[str]]:
    """One-click examples whose files are present: rows for the inputs, and their labels."""
    rows, labels = [], []
    for key, image, prompt, model, template, shot, audio in EXAMPLES:
        if not (ASSETS / image).is_file() or (audio and not (ASSETS / audio).is_file()):
            continue
        rows.append([str(ASSETS / image), prompt, model, template, shot,
                     str(ASSETS / audio) if audio else None])
        labels.append(key)
    return rows, labels


def build_app(settings: Settings) -> gr.Blocks:
    """The whole studio for these settings."""
    services = Services.create(settings)
    # Finished videos are served from the store as they are: Gradio keeps no copy of its own.
    gr.set_static_paths([services.store.videos])

    def _visitor(request: gr.Request | None) -> str:
        return visitor_of(request, trust_proxy=settings.trust_proxy)

    region0 = catalog.DEFAULT_REGION
    model0 = controls.default_model(region0)
    spec0 = controls.control_spec(model0, region0)
    live = not settings.simulated

    # Gradio's own upload folder is cleaned every quarter hour of files older than two hours: a
    # request keeps its uploads in the store, and finished videos are served from the store.
    with gr.Blocks(title="Wan Studio", analytics_enabled=False,
                   delete_cache=GRADIO_CACHE_CLEANING) as demo:
        gr.Markdown(label("title"), elem_id="title")
        gr.Markdown(label("subtitle"), elem_classes="hint")
        banner_key = ("banner_simulator" if settings.simulated
                      else "banner_host" if settings.has_host_key else "banner_byok")
        banner = gr.Markdown(t(banner_key, limit=settings.host_key_limit), elem_id="banner")

        with gr.Row(visible=live):
            region = ChoiceDropdown(
                [(f"{r.name_en} / {r.name_zh}", r.id) for r in catalog.REGIONS.values()],
                value=region0, label=label("region"), info=label("region_info"),
                elem_id="region", visible=live)
            api_key = gr.Textbox(label=label("api_key"), placeholder=label("api_key_ph"),
                                 type="password", elem_id="api-key", visible=live)

        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=300):
                gr.Markdown(label("step_picture"))
                image = raw_image_file(gr.Image(
                    label=label("image"), type="filepath", image_mode=None,
                    sources=["upload", "clipboard", "webcam"], height=300, elem_id="image"))
                img_url = gr.Textbox(label=label("image_url"), placeholder=label("image_url_ph"),
                                     elem_id="image-url")
                image_info = gr.Markdown(elem_id="image-info", elem_classes="hint")
                with gr.Column(visible=spec0.audio_input, elem_id="audio-inputs") as audio_box:
                    audio_file = gr.Audio(label=label("audio"), type="filepath",
                                          sources=["upload", "microphone"], elem_id="audio")
                    audio_url = gr.Textbox(label=label("audio_url"),
                                           placeholder=label("audio_url_ph"), elem_id="audio-url")
                    audio_info = gr.Markdown(elem_id="audio-info", elem_classes="hint")

            with gr.Column(scale=5, min_width=320):
                gr.Markdown(label("step_model"))
                model = ChoiceDropdown(controls.model_choices(region0, "en"), value=model0,
                                       label=label("model"), elem_id="model")
                model_info = gr.Markdown(controls.model_label(spec0.model, region0, "en"),
                                         elem_id="model-info", elem_classes="hint")
                # allow_custom_value: an example can set a template before its model arrives,
                # and the page's dropdown would otherwise blank a value it does not list yet.
                template = ChoiceDropdown(
                    list(controls.all_template_choices("en")), value="", label=label("template"),
                    visible=bool(spec0.templates), elem_id="template", allow_custom_value=True)
                template_advice = gr.Markdown(visible=False, elem_id="template-advice",
                                              elem_classes="hint")
                prompt = gr.Textbox(label=label("prompt"), placeholder=label("prompt_ph"), lines=3,
                                    max_length=spec0.prompt_max, elem_id="prompt")
                with gr.Row():
                    resolution = ChoiceRadio(list(spec0.resolutions), value=spec0.resolution,
                                             label=label("resolution"), elem_id="resolution")
                    with gr.Column(elem_id="duration"):
                        d0 = spec0.duration
                        duration_slider = gr.Slider(d0.values[0], d0.values[-1], value=d0.value,
                                                    step=1, label=label("duration"),
                                                    visible=d0.kind == "range",
                                                    elem_id="duration-slider")
                        duration_choice = gr.Radio(list(d0.values), value=d0.value,
                                                   label=label("duration"),
                                                   visible=d0.kind != "range",
                                                   elem_id="duration-choice")
                        duration = gr.Number(value=d0.value, visible="hidden", precision=0,
                                             elem_id="duration-value")
                shot_type = ChoiceRadio(controls.shot_choices_i18n(), value="single",
                                        label=label("shot_type"), info=label("shot_info"),
                                        visible=spec0.shot_type, elem_id="shot-type")
                audio_switch = gr.Checkbox(value=True, label=label("audio_switch"),
                                           info=label("audio_switch_info"),
                                           visible=spec0.audio_switch, elem_id="audio-switch")
                with gr.Accordion(label("advanced"), open=False, elem_id="advanced"):
                    negative_prompt = gr.Textbox(label=label("negative_prompt"),
                                                 placeholder=label("negative_prompt_ph"),
                                                 max_length=catalog.NEGATIVE_PROMPT_MAX,
                                                 elem_id="negative-prompt")
                    seed = gr.Number(value=-1, precision=0, minimum=-1, maximum=catalog.SEED_MAX,
                                     label=label("seed"), info=label("seed_info"),
                                     elem_id="seed")
                    with gr.Row():
                        seed_random = gr.Button(label("seed_random"), size="sm")
                        seed_reuse = gr.Button(label("seed_reuse"), size="sm")
                    prompt_extend = gr.Checkbox(value=True, label=label("prompt_extend"),
                                                elem_id="prompt-extend")
                    watermark = gr.Checkbox(value=False, label=label("watermark"),
                                            elem_id="watermark")
                with gr.Row():
                    output_size = gr.Textbox(label=label("output_size"), interactive=False,
                                             elem_id="output-size")
                    price = gr.Textbox(label=label("price"), interactive=False, elem_id="price")
                with gr.Accordion(label("code"), open=False, elem_id="code"):
                    code_curl = gr.Code(language="shell", lines=10, interactive=False,
                                        label="curl", buttons=["copy"], elem_id="code-curl")
                    code_sdk = gr.Code(language="python", lines=10, interactive=False,
                                       label="Python SDK", buttons=["copy"],
                                       elem_id="code-python")

            with gr.Column(scale=5, min_width=320):
                gr.Markdown(label("step_generate"))
                with gr.Row():
                    generate_btn = gr.Button(label("generate"), variant="primary", scale=3,
                                             elem_id="generate")
                    cancel_btn = gr.Button(label("cancel"), variant="stop", scale=1,
                                           elem_id="cancel")
                status = gr.Markdown("", elem_id="status", container=True)  # filled on load
                notice = gr.Markdown(elem_id="notice", elem_classes="hint")
                video = gr.Video(label=label("video"), interactive=False, height=380,
                                 buttons=["download"], elem_id="video")

        examples, example_keys = example_rows()
        example_set = gr.Examples(
            examples or [[None, "", model0, "", "single", None]],
            inputs=[image, prompt, model, template, shot_type, audio_file],
            label=label("examples"), example_labels=[t(k) for k in example_keys] or [""],
            examples_per_page=6, visible=bool(examples), elem_id="examples").dataset

        with gr.Column(elem_id="history"):
            gr.Markdown(label("history_title"))
            history_gallery = gr.Gallery(label=label("history_hint"), columns=6, height=250,
                                         allow_preview=False, object_fit="cover",
                                         visible=False, elem_id="history-gallery")
            reuse_btn = gr.Button(label("history_reuse"), size="sm", visible=False,
                                  elem_id="history-reuse")
            history_table = gr.Markdown(label("history_empty"), elem_id="history-table")
            with gr.Accordion(label("resume_id"), open=False, elem_id="resume"), \
                    gr.Row(equal_height=True):
                    resume_id = gr.Textbox(show_label=False, placeholder=label("resume_id_ph"),
                                           elem_id="resume-id", scale=4)
                    resume_btn = gr.Button(label("resume_button"), elem_id="resume-button",
                                           scale=1)

        history = gr.BrowserState([], storage_key=HISTORY_STORAGE_KEY,
                                  secret=settings.browser_secret)
        record = gr.JSON(visible="hidden", elem_id="record")
        selected = gr.State(None)

        # --- wiring --------------------------------------------------------------------------
        form_inputs = [image, img_url, audio_file, audio_url, prompt, negative_prompt, model,
                       region, resolution, duration, shot_type, audio_switch, template, seed,
                       prompt_extend, watermark]
        fast: dict[str, Any] = {"concurrency_limit": None, "api_visibility": "private",
                                "show_progress": "hidden"}

        def on_region(region_v: str, model_v: str, request: gr.Request) -> Any:
            return handlers.model_choices_update(region_v, model_v, _lang(request))

        region.change(on_region, [region, model], [model], **fast)

        control_outputs = [resolution, duration_slider, duration_choice, duration,
                           shot_type, audio_switch, audio_box, template, template_advice,
                           prompt, negative_prompt, model_info]

        def on_model(model_v: str, region_v: str, resolution_v: str, duration_v: float,
                     template_v: str, request: gr.Request) -> tuple[Any, ...]:
            return handlers.model_updates(model_v, region_v, resolution_v, duration_v,
                                          template_v, _lang(request))

        model.change(on_model, [model, region, resolution, duration, template],
                     control_outputs, **fast)

        def on_template(template_v: str, request: gr.Request) -> tuple[Any, ...]:
            return handlers.template_updates(template_v, _lang(request))

        template.change(on_template, [template], [template_advice, prompt, negative_prompt],
                        **fast)

        # The slider and the choice both write the one `duration` value the request reads.
        duration_slider.change(None, [duration_slider], [duration], js="(v) => v")
        duration_choice.change(None, [duration_choice], [duration], js="(v) => v")

        def on_image(image_v: str | None, url_v: str, request: gr.Request) -> str:
            return handlers.describe_image(image_v, url_v, _lang(request))

        gr.on([image.change, img_url.change], on_image, [image, img_url], [image_info],
              trigger_mode="always_last", **fast)

        def on_audio(file_v: str | None, url_v: str, model_v: str, region_v: str,
                     request: gr.Request) -> str:
            return handlers.describe_audio(file_v, url_v, model_v, region_v, _lang(request))

        gr.on([audio_file.change, audio_url.change, model.change], on_audio,
              [audio_file, audio_url, model, region], [audio_info], trigger_mode="always_last",
              **fast)

        form_fields = dict(zip(Form.names(), form_inputs))

        def form_from(data: dict[Any, Any]) -> Form:
            return Form(**{name: data[component] for name, component in form_fields.items()})

        def on_preview(data: dict[Any, Any], request: gr.Request) -> tuple[str, ...]:
            return handlers.preview_outputs(form_from(data), _lang(request), settings.simulated)

        gr.on([c.change for c in form_inputs], on_preview, set(form_inputs),
              [output_size, price, code_curl, code_sdk], trigger_mode="always_last", **fast)

        seed_random.click(lambda: -1, None, [seed], **fast)
        seed_reuse.click(lambda r: handlers.last_seed(services, r), [record], [seed], **fast)

        async def generate(image: str | None, img_url: str, audio_file: str | None,
                           audio_url: str, prompt: str, negative_prompt: str, model: str,
                           region: str, resolution: str, duration: float | None,
                           shot_type: str | None, audio: bool, template: str | None,
                           seed: float | None, prompt_extend: bool, watermark: bool,
                           api_key: str | None = None,
                           request: gr.Request = None):  # type: ignore[assignment]
            """Make a video from a picture. Streams (status, video, record); the record holds
            the task id. Parameters are named like the DashScope API's; `duration` and
            `resolution` must be values the model accepts, `seed` -1 means random."""
            form = Form(image, img_url or "", audio_file, audio_url or "", prompt or "",
                        negative_prompt or "", model, region, resolution, duration, shot_type,
                        audio, template, seed, prompt_extend, watermark)
            step: Step | None = None
            async for step in handlers.generate(services, form, api_key, _lang(request),
                                                _visitor(request)):
                yield step.outputs()
            if step is not None and step.error:
                # API callers get an exception; the page shows it as a toast next to the status.
                raise gr.Error(step.error, print_exception=False)

        generate_btn.click(lambda: "", None, [notice], **fast)
        generate_btn.click(
            generate, [*form_inputs, api_key], [status, video, record], api_name="generate",
            api_visibility=settings.api_visibility,
            concurrency_limit=settings.generate_concurrency, show_progress="minimal")

        async def on_cancel(record_v: dict | None, request: gr.Request) -> str:
            return await handlers.cancel(services, record_v, _lang(request))

        cancel_btn.click(on_cancel, [record], [notice], **fast)

        # "multiple": every record must be merged, also while the previous merge is rendering.
        record.change(None, [record, history], [history], js=MERGE_RECORD_JS,
                      trigger_mode="multiple")
        def on_history(history_v: Any, request: gr.Request) -> tuple[Any, str]:
            return handlers.history_view(services, history_v, _lang(request))

        history.change(on_history, [history], [history_gallery, history_table],
                       trigger_mode="always_last", **fast)

        def on_select(history_v: Any, event: gr.SelectData) -> tuple[Any, Any, Any]:
            chosen = handlers.selected_record(services, history_v, event.index)
            if chosen is None:
                return None, gr.update(visible=False), gr.skip()
            chosen_record, chosen_video = chosen
            return chosen_record, gr.update(visible=True), str(chosen_video)

        history_gallery.select(on_select, [history], [selected, reuse_btn, video], **fast)

        reuse_outputs = {"region": region, "model": model, "image": image, "img_url": img_url,
                         "audio_file": audio_file, "audio_url": audio_url, "prompt": prompt,
                         "negative_prompt": negative_prompt, "resolution": resolution,
                         "duration": duration, "shot_type": shot_type, "audio": audio_switch,
                         "template": template, "seed": seed, "prompt_extend": prompt_extend,
                         "watermark": watermark}

        def on_reuse(selected_v: dict | None, request: gr.Request) -> tuple[Any, ...]:
            return handlers.reuse_settings(services, selected_v, _lang(request))

        reuse_btn.click(on_reuse, [selected],
                        [reuse_outputs[name] for name in handlers.REUSE_FIELDS], **fast)

        async def on_resume(task_id: str, region_v: str, key_v: str | None,
                            history_v: list | None, request: gr.Request):
            lang = _lang(request)
            steps = (handlers.resume_by_id(services, task_id, region_v, key_v, lang)
                     if (task_id or "").strip()  # no id: the history's unfinished tasks
                     else handlers.restore(services, history_v, key_v, lang,
                                           _visitor(request)))
            async for step in steps:
                yield step.outputs()

        resume_btn.click(on_resume, [resume_id, region, api_key, history], [status, video, record],
                         concurrency_limit=settings.generate_concurrency,
                         api_visibility="private")

        def on_load(data: dict[Any, Any], request: gr.Request) -> tuple[Any, ...]:
            lang = _lang(request)
            form = form_from(data)
            gallery_v, table_v = handlers.history_view(services, data[history], lang)
            return (handlers.model_choices_update(form.region, form.model, lang),
                    *handlers.model_updates(form.model, form.region, form.resolution,
                                            form.duration, form.template, lang),
                    gr.update(sample_labels=[t(k, lang) for k in example_keys] or [""]),
                    gallery_v, table_v, t("st_nothing", lang),
                    t(banner_key, lang, limit=settings.host_key_limit),
                    *handlers.preview_outputs(form, lang, settings.simulated))

        async def on_restore(history_v: list | None, key_v: str | None, request: gr.Request):
            async for step in handlers.restore(services, history_v, key_v, _lang(request),
                                               _visitor(request)):
                yield step.outputs()

        demo.load(on_load, {history, *form_inputs},
                  [model, *control_outputs, example_set, history_gallery, history_table, status,
                   banner,
                   output_size, price, code_curl, code_sdk],
                  **fast).then(on_restore, [history, api_key], [status, video, record],
                               concurrency_limit=None, api_visibility="private")

    demo.queue(default_concurrency_limit=16)
    _quiet_queue(demo)
    return demo


def _quiet_queue(demo: gr.Blocks) -> None:
    """Gradio's queue checks for new events every 1 ms and for progress every 10 ms even when
    idle (about 7 % of a core here); every 20 / 100 ms is soon enough for a page and costs
    almost nothing. These are Queue attributes, not options: left alone if they are renamed."""
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "sleep_when_free"):
        queue.sleep_when_free = QUEUE_IDLE_SECONDS
    if queue is not None and hasattr(queue, "progress_update_sleep_when_free"):
        queue.progress_update_sleep_when_free = PROGRESS_IDLE_SECONDS


# Counts the status line's clocks (handlers.ticking) in the page; the format is duration_text's.
TICK_CLOCKS_JS = """
() => {
  const show = (s, zh) => {
    const m = Math.floor(s / 60), r = s % 60, rr = String(r).padStart(2, "0");
    return zh ? (m ? `${m} 分 ${rr} 秒` : `${r} 秒`) : (m ? `${m} min ${rr} s` : `${r} s`);
  };
  setInterval(() => {
    const now = performance.now() / 1000;
    for (const el of document.querySelectorAll(".wan-clock")) {
      if (el.wanSeen === undefined) {
        el.wanSeen = now;
        el.wanStart = Number((el.className.match(/wan-s-(\\d+)/) || [0, 0])[1]);
      }
      const step = el.classList.contains("wan-down") ? -1 : 1;
      const s = el.wanStart + step * (now - el.wanSeen);
      el.textContent = show(Math.max(0, Math.round(s)), el.classList.contains("wan-zh"));
    }
  }, 500);
}
"""


def deny_all_but(root: Path, keep: list[Path]) -> list[Path]:
    """Paths that cover everything under `root` except the `keep` folders (and their parents,
    which must stay reachable): `root` itself when it holds none of them."""
    root = root.resolve()
    inside = [k for k in keep if k == root or root in k.parents]
    if not inside:
        return [root]
    if root in inside:
        return []
    denied: list[Path] = []
    try:
        children = sorted(root.iterdir())
    except OSError:
        return []
    for child in children:
        if child.is_symlink():
            # Gradio resolves links before it compares: a link to a kept folder (or to one that
            # holds it) must stay open; its target is covered where it really lies.
            target = child.resolve()
            if not any(k == target or target in k.parents for k in keep):
                denied.append(child)
        elif child.is_dir():
            denied += deny_all_but(child, inside)
        elif child not in inside:
            denied.append(child)
    return denied


def blocked_paths(settings: Settings) -> list[str]:
    """Deny by default: Gradio may hand out any file under the working directory or the temp
    dir when a handler returns its path. Only the store's videos and uploads, the example
    assets and Gradio's own folders stay open; everything else there, as it is at launch, is
    blocked (the state secret beside the cache among it)."""
    cache = settings.cache_dir.resolve()
    keep = [cache / "videos", cache / "uploads", ASSETS.resolve(),
            Path(gradio_upload_folder()).resolve(), (Path.cwd() / ".gradio").resolve()]
    roots = {Path.cwd().resolve(), Path(tempfile.gettempdir()).resolve()}
    return [str(p) for root in sorted(roots) for p in deny_all_but(root, keep)]


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for demo.launch(): look, languages and what may be served."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    return {
        "i18n": I18N,
        "theme": gr.themes.Soft(),
        "css": CSS,
        "js": TICK_CLOCKS_JS,
        "allowed_paths": [str(settings.cache_dir.resolve() / "videos"), str(ASSETS)],
        "blocked_paths": blocked_paths(settings),
        # Gradio would otherwise keep every call's inputs (a personal key!) in the browser.
        "run_history": False,
        "max_file_size": "20mb",
        # Gradio's queue runs at most this many events at once, whatever their own limits: each
        # page waiting for its video holds one (an async wait, not a thread), so 40 is too few.
        "max_threads": MAX_EVENTS_AT_ONCE,
        "footer_links": ["api"] if settings.api_visibility == "public" else [],
    }
