"""The studio page: what is on it and which event calls which handler (layout and wiring only)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder as gradio_upload_folder

from client import catalog
from client.catalog import FIRST_CLIP
from client.fields import BY_ROLE, MEDIA
from client.media import AUDIO_MAX_BYTES, MEDIA_IMAGE, VIDEO_MAX_BYTES

from . import controls, flows, story_tab
from .examples import ASSETS, EXAMPLE_INPUTS, example_rows
from .form import INPUT_NAMES, Form, inputs_of, with_form_defaults
from .history_view import history_view, last_seed, reuse_settings, selected_record
from .i18n import I18N, label, language_of, t
from .inputs import describe
from .page import CSS, MERGE_RECORD_JS, TICK_CLOCKS_JS
from .preview import preview_outputs
from .services import Services
from .settings import Settings
from .shots import first_table, shots_outputs, table_from_prompt
from .visitors import visitor_of
from .widgets import FormBuilder

HISTORY_STORAGE_KEY = "wan-studio-history"
QUEUE_IDLE_SECONDS = 0.02
MAX_EVENTS_AT_ONCE = 400
PROGRESS_IDLE_SECONDS = 0.1
GRADIO_CACHE_CLEANING = (900, 2 * 3600)  # (every, older than) in seconds
# An upload may be as large as the largest medium the service takes: a clip to continue.
MAX_UPLOAD_BYTES = max(VIDEO_MAX_BYTES, AUDIO_MAX_BYTES, MEDIA_IMAGE.max_bytes)


def _lang(request: gr.Request | None) -> str:
    headers = getattr(request, "headers", None)
    return language_of(headers.get("accept-language") if headers is not None else None)


def build_app(settings: Settings) -> gr.Blocks:
    """The whole studio for these settings."""
    services = Services.create(settings)
    # Finished videos are served from the store as they are: Gradio keeps no copy of its own.
    gr.set_static_paths([services.store.videos])

    def _visitor(request: gr.Request | None) -> str:
        return visitor_of(request, trust_proxy=settings.trust_proxy)

    region0 = catalog.DEFAULT_REGION
    live = not settings.simulated
    form = FormBuilder(controls.default_model(region0), region0)

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
            form.field("region", visible=live)
            api_key = gr.Textbox(label=label("api_key"), placeholder=label("api_key_ph"),
                                 type="password", elem_id="api-key", visible=live)
            form.rest("top")

        with gr.Tabs(elem_id="modes"):
            with gr.Tab(label("tab_video"), id="video", elem_id="tab-video"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4, min_width=300):
                        gr.Markdown(label("step_picture"))
                        for name in ("image", "last_frame", "first_clip"):
                            form.field(name)
                        form.rest("picture")  # the voice or music

                    with gr.Column(scale=5, min_width=320):
                        gr.Markdown(label("step_model"))
                        form.field("model")
                        form.hint("model-info")
                        form.rest("model")
                        form.field("template")
                        form.hint("template-advice")
                        form.field("prompt")
                        shots_box, shots_table, shots_write, shots_hint = form.shot_list()
                        with gr.Row():
                            form.field("resolution")
                            form.field("duration")
                        form.rest("main")  # shot type, sound switch
                        with gr.Accordion(label("advanced"), open=False, elem_id="advanced"):
                            form.field("negative_prompt")
                            form.field("seed")
                            with gr.Row():
                                seed_random = gr.Button(label("seed_random"), size="sm")
                                seed_reuse = gr.Button(label("seed_reuse"), size="sm")
                            form.rest("advanced")  # prompt rewriting, watermark
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
                        with gr.Column(visible=False, elem_id="actual-prompt-box") as rewritten:
                            rewritten_text = gr.Textbox(label=label("actual_prompt"), lines=3,
                                                        interactive=False, buttons=["copy"],
                                                        elem_id="actual-prompt")
                            use_rewritten = gr.Button(label("actual_prompt_use"), size="sm",
                                                      elem_id="use-actual-prompt")

                inputs = form.inputs
                examples, example_keys = example_rows()
                example_set = gr.Examples(
                    examples or [[inputs[name].value for name in EXAMPLE_INPUTS]],
                    inputs=[inputs[name] for name in EXAMPLE_INPUTS],
                    label=label("examples"), example_labels=[t(k) for k in example_keys] or [""],
                    examples_per_page=8, visible=bool(examples), elem_id="examples").dataset

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

            with gr.Tab(label("tab_story"), id="story", elem_id="tab-story"):
                story_tab.build(services, settings, _visitor)

        history = gr.BrowserState([], storage_key=HISTORY_STORAGE_KEY,
                                  secret=settings.browser_secret)
        record = gr.JSON(visible="hidden", elem_id="record")
        selected = gr.State(None)

        # --- wiring --------------------------------------------------------------------------
        form_inputs = form.form_inputs()  # in /generate's order
        model, region, parts = inputs["model"], inputs["region"], form.parts
        fast: dict[str, Any] = {"concurrency_limit": None, "api_visibility": "private",
                                "show_progress": "hidden"}

        def values_of(data: dict[Any, Any]) -> dict[str, Any]:
            return {name: data[component] for name, component in inputs.items()}

        def by_component(updates: dict[str, Any]) -> dict[Any, Any]:
            return {parts[key]: update for key, update in updates.items()}

        def on_region(region_v: str, model_v: str, request: gr.Request) -> Any:
            return controls.model_choices_update(region_v, model_v, _lang(request))

        region.change(on_region, [region, model], [model], **fast)

        followers = [parts[key] for key in form.first]  # what follows the model

        def on_model(data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
            values = values_of(data)
            return by_component(controls.model_updates(values["model"], values["region"],
                                                       values, _lang(request)))

        model.change(on_model, set(form_inputs), followers, **fast)

        def on_template(template_v: str, request: gr.Request) -> dict[Any, Any]:
            return by_component(controls.template_updates(template_v, _lang(request)))

        inputs["template"].change(on_template, [inputs["template"]],
                                  [parts[key] for key in controls.template_updates("", "en")],
                                  **fast)

        def describer(name: str) -> Callable[..., str]:
            def on_media(upload_v: str | None, link_v: str, model_v: str, region_v: str,
                         request: gr.Request) -> str:
                return describe(name, upload_v, link_v, model_v, region_v, _lang(request))
            return on_media

        for field in MEDIA:  # the line under each picture or sound: what it is, or what is wrong
            upload, link = (inputs[i.name] for i in inputs_of(field))
            gr.on([upload.change, link.change, model.change], describer(field.name),
                  [upload, link, model, region], [parts[f"{upload.elem_id}-info"]],
                  trigger_mode="always_last", **fast)

        clip_inputs = [i.name for i in inputs_of(BY_ROLE[FIRST_CLIP])]  # its upload and link
        clip_upload, clip_link = (inputs[name] for name in clip_inputs)

        def on_clip(model_v: str, region_v: str, upload_v: str | None, link_v: str) -> Any:
            current = dict(zip(clip_inputs, (upload_v, link_v)))
            return by_component(controls.media_updates(model_v, region_v, current))

        gr.on([clip_upload.change, clip_link.change], on_clip,  # a clip replaces some media
              [model, region, clip_upload, clip_link],
              [parts[key] for key in controls.media_updates(model.value, region.value, {})],
              trigger_mode="always_last", **fast)

        def on_shots(rows: Any, prompt_v: str, duration_v: Any,
                     request: gr.Request) -> tuple[Any, str]:
            return shots_outputs(rows, prompt_v, duration_v, _lang(request))

        shots_write.click(on_shots, [shots_table, inputs["prompt"], inputs["duration"]],
                          [inputs["prompt"], shots_hint], **fast)

        def on_prompt_shots(prompt_v: str, request: gr.Request) -> Any:
            return table_from_prompt(prompt_v, _lang(request))

        # Shot lines edited in the prompt are what the list then shows (and writes back).
        gr.on([shots_box.expand, inputs["prompt"].blur], on_prompt_shots, [inputs["prompt"]],
              [shots_table], **fast)

        def on_preview(data: dict[Any, Any], request: gr.Request) -> tuple[str, ...]:
            return preview_outputs(Form(**values_of(data)), _lang(request), settings.simulated)

        gr.on([c.change for c in form_inputs], on_preview, set(form_inputs),
              [output_size, price, code_curl, code_sdk], trigger_mode="always_last", **fast)

        seed = inputs["seed"]
        seed_random.click(lambda: -1, None, [seed], **fast)  # -1: a new random seed each time
        seed_reuse.click(lambda r: last_seed(services, r), [record], [seed], **fast)

        @with_form_defaults
        async def generate(request: gr.Request, api_key: str | None = None, **form_v: Any):
            """Make a video from a picture (or, on wan2.7, continue a clip). Streams (status,
            video, record); the record holds the task id. Parameters are named like the
            DashScope API's; `duration` and `resolution` must be values the model accepts,
            `seed` -1 means random. `last_frame` / `first_clip` (or their `_url` links) are the
            picture the video ends on and a clip to continue; a clip replaces `image` and the
            audio, which the service takes no clip with."""
            step = None
            async for step in flows.generate(services, Form(**form_v), api_key, _lang(request),
                                             _visitor(request)):
                yield step.outputs()
            if step is not None and step.error:
                # API callers get an exception; the page shows it as a toast next to the status.
                raise gr.Error(step.error, print_exception=False)

        generate_btn.click(lambda: "", None, [notice], **fast)
        generate_btn.click(
            generate, inputs_kwargs={**{name: inputs[name] for name in INPUT_NAMES},
                                     "api_key": api_key},
            outputs=[status, video, record], api_name="generate",
            api_visibility=settings.api_visibility,
            concurrency_limit=settings.generate_concurrency, show_progress="minimal")

        async def on_cancel(record_v: dict | None, request: gr.Request) -> str:
            return await flows.cancel(services, record_v, _lang(request))

        cancel_btn.click(on_cancel, [record], [notice], **fast)

        # "multiple": every record must be merged, also while the previous merge is rendering.
        record.change(None, [record, history], [history], js=MERGE_RECORD_JS,
                      trigger_mode="multiple")

        def on_record(record_v: Any) -> tuple[Any, str]:
            text = flows.rewritten_prompt(services, record_v)  # "" until a job succeeds
            return gr.update(visible=bool(text)), text

        record.change(on_record, [record], [rewritten, rewritten_text],
                      trigger_mode="always_last", **fast)
        use_rewritten.click(None, [rewritten_text], [inputs["prompt"]], js="(text) => text")

        def on_history(history_v: Any, request: gr.Request) -> tuple[Any, str]:
            return history_view(services, history_v, _lang(request))

        history.change(on_history, [history], [history_gallery, history_table],
                       trigger_mode="always_last", **fast)

        def on_select(history_v: Any, event: gr.SelectData) -> tuple[Any, Any, Any]:
            chosen = selected_record(services, history_v, event.index)
            if chosen is None:
                return None, gr.update(visible=False), gr.skip()
            chosen_record, chosen_video = chosen
            return chosen_record, gr.update(visible=True), str(chosen_video)

        history_gallery.select(on_select, [history], [selected, reuse_btn, video], **fast)

        def on_reuse(selected_v: dict | None, request: gr.Request) -> dict[Any, Any]:
            values = reuse_settings(services, selected_v, _lang(request))
            return {inputs[name]: value for name, value in values.items()}

        reuse_btn.click(on_reuse, [selected], form_inputs, **fast)

        async def on_resume(task_id: str, region_v: str, key_v: str | None,
                            history_v: list | None, request: gr.Request):
            lang = _lang(request)
            steps = (flows.resume_by_id(services, task_id, region_v, key_v, lang)
                     if (task_id or "").strip()  # no id: the history's unfinished tasks
                     else flows.restore(services, history_v, key_v, lang,
                                        _visitor(request)))
            async for step in steps:
                yield step.outputs()

        resume_btn.click(on_resume, [resume_id, region, api_key, history], [status, video, record],
                         concurrency_limit=settings.generate_concurrency,
                         api_visibility="private")

        def on_load(data: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
            lang = _lang(request)
            values = values_of(data)
            gallery_v, table_v = history_view(services, data[history], lang)
            shown = {model: controls.model_choices_update(values["region"], values["model"],
                                                          lang),
                     **by_component(controls.model_updates(values["model"], values["region"],
                                                           values, lang)),
                     example_set: gr.update(sample_labels=[t(k, lang) for k in example_keys]
                                            or [""]),
                     history_gallery: gallery_v, history_table: table_v,
                     shots_table: first_table(lang),
                     status: t("st_nothing", lang),
                     banner: t(banner_key, lang, limit=settings.host_key_limit)}
            previews = preview_outputs(Form(**values), lang, settings.simulated)
            return {**shown, **dict(zip((output_size, price, code_curl, code_sdk), previews))}

        async def on_restore(history_v: list | None, key_v: str | None, request: gr.Request):
            async for step in flows.restore(services, history_v, key_v, _lang(request),
                                            _visitor(request)):
                yield step.outputs()

        demo.load(on_load, {history, *form_inputs},
                  [model, *followers, example_set, history_gallery, history_table, shots_table,
                   status, banner, output_size, price, code_curl, code_sdk],
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
        "max_file_size": MAX_UPLOAD_BYTES,
        # Gradio's queue runs at most this many events at once, whatever their own limits: each
        # page waiting for its video holds one (an async wait, not a thread), so 40 is too few.
        "max_threads": MAX_EVENTS_AT_ONCE,
        "footer_links": ["api"] if settings.api_visibility == "public" else [],
    }
