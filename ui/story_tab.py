"""The Story tab: several shots, one film (its layout and events)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.context import Context

from client import catalog
from client.catalog import FIRST_CLIP, Model
from client.fields import takes

from . import controls
from .components import raw_image_file
from .i18n import label, language_of, t
from .services import Services
from .settings import Settings
from .story_board import (
    MAX_SHOTS,
    Board,
    ShotRow,
    board_of,
    example_storyboard,
    moved_up,
    plan_view,
    removed,
)
from .story_flows import StoryFlows

STORY_STORAGE_KEY = "wan-studio-story"
FIRST_ROWS = 2  # a story: one shot and the one that continues it
ROW_FIELDS = ("prompt", "duration", "begins", "image", "last_frame", "audio")


def _lang(request: gr.Request | None) -> str:
    headers = getattr(request, "headers", None)
    return language_of(headers.get("accept-language") if headers is not None else None)


def _deployed(model_id: Any, region: Any) -> Model:
    region = region if region in catalog.REGIONS else catalog.DEFAULT_REGION
    return (catalog.model_in_region(model_id, region) or catalog.models_in_region(region)[0])


def _page_of(request: gr.Request | None) -> str | None:
    """The page (its session) an event comes from."""
    return getattr(request, "session_hash", None)


def _skipped(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def _page_component(elem_id: str) -> Any:
    """A control of the page above the tabs (the region, the API key), or None."""
    root = Context.root_block
    blocks = root.blocks.values() if root is not None else ()
    return next((b for b in blocks if getattr(b, "elem_id", None) == elem_id), None)


@dataclass
class ShotRowControls:
    """One row of the shot list."""

    box: Any
    prompt: Any
    duration: Any
    begins: Any
    image: Any
    last_frame: Any
    audio: Any
    up: Any
    remove: Any
    more: Any  # the accordion of the optional media

    def fields(self) -> list[Any]:
        return [getattr(self, name) for name in ROW_FIELDS]


@dataclass
class ResultSlot:
    """One shot's status and player under the film."""

    box: Any
    status: Any
    video: Any
    redo: Any


def _begins_choices(model: Model) -> list[tuple[Any, str]]:
    names = ["frame", "clip", "image"] if FIRST_CLIP in model.roles else ["frame", "image"]
    return [(label(f"story_begins_{name}"), name) for name in names]


def _picture(text: Any, height: int, **options: Any) -> gr.Image:
    """A picture upload handed to the handlers as it is, as on the single video's tab."""
    return raw_image_file(gr.Image(label=text, type="filepath", image_mode=None,
                                   sources=["upload", "clipboard"], height=height, **options))


def _row(n: int, model: Model) -> ShotRowControls:
    first = n == 0
    with gr.Column(visible=n < FIRST_ROWS, variant="panel",
                   elem_id=f"story-shot-{n + 1}") as box:
        with gr.Row(equal_height=True):
            gr.Markdown(f"#### {n + 1}", container=False)
            up = gr.Button(label("story_up"), size="sm", visible=not first, scale=0,
                           min_width=110, elem_id=f"story-up-{n + 1}")
            remove = gr.Button(label("story_remove"), size="sm", scale=0, min_width=110,
                               elem_id=f"story-remove-{n + 1}")
        prompt = gr.Textbox(label=label("story_shot_prompt"), lines=2, max_lines=6,
                            max_length=model.prompt_max, elem_id=f"story-prompt-{n + 1}")
        with gr.Row():
            duration = gr.Dropdown(list(model.durations), value=model.default_duration,
                                   label=label("story_shot_duration"), scale=1, min_width=110,
                                   elem_id=f"story-duration-{n + 1}")
            begins = gr.Radio(_begins_choices(model), value="image" if first else "frame",
                              label=label("story_begins"), visible=not first, scale=4,
                              elem_id=f"story-begins-{n + 1}")
        image = _picture(label("story_first_picture" if first else "story_own_picture"), 170,
                         visible=first, elem_id=f"story-image-{n + 1}")
        with gr.Accordion(label("story_more"), open=False, visible=_takes_more(model),
                          elem_id=f"story-more-{n + 1}") as more, gr.Row():
            last_frame = _picture(label("story_last_frame"), 150,
                                  visible=takes(model, "last_frame"),
                                  elem_id=f"story-last-frame-{n + 1}")
            audio = gr.Audio(type="filepath", sources=["upload"], label=label("story_audio"),
                             visible=takes(model, "audio_url"),
                             elem_id=f"story-audio-{n + 1}")
    return ShotRowControls(box, prompt, duration, begins, image, last_frame, audio, up, remove,
                           more)


def _takes_more(model: Model) -> bool:
    return takes(model, "last_frame") or takes(model, "audio_url")


def _result(n: int) -> ResultSlot:
    with gr.Column(visible=False, elem_id=f"story-result-{n + 1}") as box:
        status = gr.Markdown("", elem_id=f"story-status-{n + 1}", container=True)
        video = gr.Video(interactive=False, height=220, buttons=["download"],
                         show_label=False, elem_id=f"story-video-{n + 1}")
        redo = gr.Button(label("story_redo"), size="sm", visible=False,
                         elem_id=f"story-redo-{n + 1}")
    return ResultSlot(box, status, video, redo)


def _row_updates(rows: list[ShotRow], model: Model) -> list[Any]:
    """Every row's values and what shows, in `fields()` order, row after row, then each row's
    box. Rows past the end are only hidden (a row is filled again when it is added)."""
    values: list[Any] = []
    for n in range(MAX_SHOTS):
        if n >= len(rows):
            values += [gr.skip()] * len(ROW_FIELDS)
            continue
        row = rows[n]
        begins = "image" if n == 0 else row.begins
        duration = row.duration if row.duration in model.durations else model.default_duration
        values += [row.prompt, duration, begins,
                   gr.update(value=row.image, visible=n == 0 or begins == "image"),
                   row.last_frame, row.audio]
    return values + [gr.update(visible=n < len(rows)) for n in range(MAX_SHOTS)]


def build(services: Services, settings: Settings, visitor: Callable[[gr.Request | None], str],
          *, region: Any = None, api_key: Any = None) -> None:
    """Lay out the tab's controls in the current Blocks context and wire their events.
    `region` and `api_key`: the page's controls above the tabs (found by their elem_ids when
    not given)."""
    flows = StoryFlows(services)
    region = region if region is not None else _page_component("region")
    api_key = api_key if api_key is not None else _page_component("api-key")
    region0 = region.value if region is not None else catalog.DEFAULT_REGION
    model0 = _deployed(controls.default_model(region0), region0)
    fast: dict[str, Any] = {"concurrency_limit": None, "api_visibility": "private",
                            "show_progress": "hidden"}

    gr.Markdown(label("story_intro"), elem_classes="hint")
    with gr.Row(equal_height=False):
        with gr.Column(scale=6, min_width=340):
            gr.Markdown(label("story_step_shots"))
            with gr.Row():
                model = gr.Dropdown(controls.model_choices(region0, "en"), value=model0.id,
                                    label=label("model"), scale=3, elem_id="story-model")
                resolution = gr.Radio(list(model0.resolutions),
                                      value=model0.default_resolution,
                                      label=label("resolution"), scale=2,
                                      elem_id="story-resolution")
            transition = gr.Radio([(label("story_transition_cut"), "cut"),
                                   (label("story_transition_crossfade"), "crossfade")],
                                  value="cut", label=label("story_transition"),
                                  elem_id="story-transition")
            rows = [_row(n, model0) for n in range(MAX_SHOTS)]
            count = gr.State(FIRST_ROWS)
            add = gr.Button(label("story_add"), size="sm", elem_id="story-add")

        with gr.Column(scale=5, min_width=320):
            gr.Markdown(label("story_step_film"))
            summary = gr.Markdown("", elem_id="story-summary", container=True)
            with gr.Accordion(label("story_plan"), open=False, elem_id="story-plan-box"):
                plan_text = gr.Code(language=None, lines=6, interactive=False,
                                    show_label=False, elem_id="story-plan")
            with gr.Row():
                make = gr.Button(label("story_make"), variant="primary", scale=3,
                                 elem_id="story-make")
                cancel = gr.Button(label("story_cancel"), variant="stop", scale=1,
                                   elem_id="story-cancel")
            status = gr.Markdown("", elem_id="story-status", container=True)
            notice = gr.Markdown(elem_id="story-notice", elem_classes="hint")
            film = gr.Video(label=label("story_film"), interactive=False, height=340,
                            buttons=["download"], elem_id="story-film")
            refilm = gr.Button(label("story_refilm"), size="sm", visible=False,
                               elem_id="story-refilm")
            with gr.Row():
                again = gr.Button(label("story_again"), size="sm", elem_id="story-again")
                example = gr.Button(label("story_example"), size="sm", elem_id="story-example")
            results = [_result(n) for n in range(MAX_SHOTS)]

    state = gr.BrowserState(None, storage_key=STORY_STORAGE_KEY,
                            secret=settings.browser_secret)
    # The /story endpoint's own inputs and outputs: not on the page.
    api_storyboard = gr.Textbox(visible=False)
    api_image = _picture("image", 100, visible=False)
    api_key_box = gr.Textbox(visible=False)
    api_status = gr.Markdown(visible=False)
    api_film = gr.Video(visible=False)
    api_shots = gr.File(file_count="multiple", visible=False)
    api_button = gr.Button(visible=False)

    # --- wiring --------------------------------------------------------------------------
    row_fields = [c for row in rows for c in row.fields()]
    boxes = [row.box for row in rows]
    page = [c for c in (region, api_key) if c is not None]
    board_inputs = {model, resolution, transition, count, *row_fields, *page}
    view_outputs = [status, film, state, refilm, *(r.box for r in results),
                    *(r.status for r in results), *(r.video for r in results),
                    *(r.redo for r in results)]

    def region_of(data: dict[Any, Any]) -> str:
        return data[region] if region is not None else region0

    def board_from(data: dict[Any, Any]) -> Board:
        shown = data[count] if isinstance(data[count], int) else FIRST_ROWS
        values = [ShotRow(**{name: data[c] for name, c in zip(ROW_FIELDS, row.fields())})
                  for row in rows[:max(1, min(MAX_SHOTS, shown))]]
        return Board(model=data[model], region=region_of(data), resolution=data[resolution],
                     transition=data[transition], rows=tuple(values))

    def api_key_of(data: dict[Any, Any]) -> str | None:
        return data[api_key] if api_key is not None else None

    def story_model(data: dict[Any, Any], request: gr.Request) -> list[Any]:
        lang, region_v = _lang(request), region_of(data)
        chosen = _deployed(data[model], region_v)
        updates: list[Any] = [controls.model_choices_update(region_v, chosen.id, lang),
                              gr.update(choices=list(chosen.resolutions),
                                        value=data[resolution] if data[resolution]
                                        in chosen.resolutions else chosen.default_resolution)]
        choices = _begins_choices(chosen)
        names = [value for _, value in choices]
        for row in rows:
            current = data[row.duration]
            begins = data[row.begins] if data[row.begins] in names else "frame"
            updates += [gr.update(choices=list(chosen.durations),
                                  value=current if current in chosen.durations
                                  else chosen.default_duration),
                        gr.update(choices=choices, value=begins),
                        gr.update(visible=takes(chosen, "last_frame")),
                        gr.update(visible=takes(chosen, "audio_url")),
                        gr.update(max_length=chosen.prompt_max),
                        gr.update(visible=_takes_more(chosen))]
        return updates

    model_outputs = [model, resolution]
    for row in rows:
        model_outputs += [row.duration, row.begins, row.last_frame, row.audio, row.prompt,
                          row.more]
    model_triggers = [model.change] + ([region.change] if region is not None else [])
    gr.on(model_triggers, story_model, board_inputs, model_outputs, **fast)

    def story_own_picture(begins: str) -> Any:
        return gr.update(visible=begins == "image")

    for row in rows[1:]:
        row.begins.change(story_own_picture, [row.begins], [row.image], **fast)

    def shown_rows(data: dict[Any, Any]) -> tuple[list[ShotRow], Model]:
        board = board_from(data)
        return list(board.rows), _deployed(board.model, board.region)

    rows_outputs = [*row_fields, *boxes, count]

    def story_add(data: dict[Any, Any]) -> list[Any]:
        current, chosen = shown_rows(data)
        if len(current) < MAX_SHOTS:
            current.append(ShotRow(duration=chosen.default_duration))
        return [*_row_updates(current, chosen), len(current)]

    add.click(story_add, board_inputs, rows_outputs, **fast)

    def reorder(change: Callable[[list[ShotRow], int], list[ShotRow]],
                index: int) -> Callable[[dict[Any, Any]], list[Any]]:
        def story_reorder(data: dict[Any, Any]) -> list[Any]:
            current, chosen = shown_rows(data)
            changed = change(current, index)
            return [*_row_updates(changed, chosen), len(changed)]
        return story_reorder

    for n, row in enumerate(rows):
        row.up.click(reorder(moved_up, n), board_inputs, rows_outputs, **fast)
        row.remove.click(reorder(removed, n), board_inputs, rows_outputs, **fast)

    def story_plan(data: dict[Any, Any], request: gr.Request) -> tuple[str, str]:
        return plan_view(board_from(data), _lang(request), settings.simulated)

    # Changes only, never a button's click: the browser repeats a trigger that an
    # "always_last" event left pending, and a click repeated adds or removes a second shot.
    plan_triggers = [c.change for c in (model, resolution, transition, count, *row_fields,
                                        *([region] if region is not None else []))]
    gr.on(plan_triggers, story_plan, board_inputs, [summary, plan_text],
          trigger_mode="always_last", concurrency_limit=4, api_visibility="private",
          show_progress="hidden")

    async def story_make(data: dict[Any, Any], request: gr.Request):
        async for view in flows.make_film(board_from(data), api_key_of(data), _lang(request),
                                          visitor(request), _page_of(request)):
            yield view.outputs()

    def story_clear() -> str:
        return ""

    make.click(story_clear, None, [notice], **fast)
    make.click(story_make, board_inputs | {state}, view_outputs,
               concurrency_limit=settings.generate_concurrency, api_visibility="private",
               show_progress="minimal")

    def story_cancel(value: Any, request: gr.Request) -> str:
        return flows.cancel(value, _lang(request))

    cancel.click(story_cancel, [state], [notice], **fast)

    def redoer(index: int | None) -> Callable[..., Any]:
        async def story_redo(value: Any, key_v: str | None = None, request: gr.Request = None):
            async for view in flows.redo(value, index, key_v, _lang(request), visitor(request),
                                         _page_of(request)):
                yield view.outputs()
        return story_redo

    key_input = [api_key] if api_key is not None else []
    for n, result in enumerate(results):
        result.redo.click(redoer(n), [state, *key_input], view_outputs,
                          concurrency_limit=settings.generate_concurrency,
                          api_visibility="private", show_progress="minimal")
    refilm.click(redoer(None), [state, *key_input], view_outputs,
                 concurrency_limit=settings.generate_concurrency, api_visibility="private",
                 show_progress="minimal")

    def filled(data: dict[str, Any] | None, note: str) -> list[Any]:
        """The rows, model and settings of a storyboard, and the line under the buttons."""
        if data is None:
            return [gr.skip()] * (len(fill_outputs) - 1) + [note]
        board = board_of(data)
        chosen = _deployed(board.model, board.region)
        current = list(board.rows) or [ShotRow(duration=chosen.default_duration)]
        page_region = [board.region] if region is not None else []
        return [*page_region, chosen.id, board.resolution or chosen.default_resolution,
                board.transition, *_row_updates(current, chosen), len(current), note]

    def story_again(value: Any, request: gr.Request) -> list[Any]:
        data = flows.storyboard_of(value)
        lang = _lang(request)
        return filled(data, t("story_none_kept" if data is None else "story_restored", lang))

    def story_example(request: gr.Request) -> list[Any]:
        return filled(example_storyboard(), t("story_example_loaded", _lang(request)))

    fill_outputs = [*([region] if region is not None else []), model, resolution, transition,
                    *rows_outputs, notice]
    again.click(story_again, [state], fill_outputs, **fast)
    example.click(story_example, None, fill_outputs, **fast)

    async def story(storyboard: str, image: str | None, api_key: str | None = None,
                    request: gr.Request = None):
        """Make a film from a storyboard (the JSON of `python -m client story`, e.g.
        {"model": "wan2.6-i2v-flash", "resolution": "720P", "shots": [{"prompt": "She looks
        up", "duration": 3}, {"prompt": "She waves", "duration": 4}]}) and its first picture.
        Paths inside the JSON are not read: give other pictures and sounds as public links.
        Streams (status, film, shot videos)."""
        shown: list[Any] = ["", None, []]  # every update whole: a caller reads the last one
        error = None
        async for view in flows.api_story(storyboard, image, api_key, _lang(request),
                                          visitor(request)):
            for n, value in enumerate((view.status, view.film, view.shot_files)):
                if not _skipped(value):
                    shown[n] = value
            error = view.error
            yield tuple(shown)
        if error:
            raise gr.Error(error, print_exception=False)

    api_button.click(story, [api_storyboard, api_image, api_key_box],
                     [api_status, api_film, api_shots], api_name="story",
                     api_visibility=settings.api_visibility,
                     concurrency_limit=settings.generate_concurrency)

    def story_labels(data: dict[Any, Any], request: gr.Request) -> list[Any]:
        lang = _lang(request)
        return [controls.model_choices_update(region_of(data), data[model], lang),
                *plan_view(board_from(data), lang, settings.simulated)]

    async def story_restore(value: Any, request: gr.Request):
        async for view in flows.restore(value, _lang(request), visitor(request),
                                        _page_of(request)):
            yield view.outputs()

    # The tab's controls mount when it is first opened: the browser's story loads then, and
    # its change (also every value the server writes; those are told apart) picks it up.
    state.change(story_restore, [state], view_outputs, concurrency_limit=None,
                 api_visibility="private", show_progress="hidden")
    blocks = Context.root_block
    if blocks is not None:
        blocks.load(story_labels, board_inputs, [model, summary, plan_text], **fast)
