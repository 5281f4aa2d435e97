"""The form builder: the page's inputs made from the field list by widget kind, each where the
hand-written layout asks for it, and every field the layout does not name at the end of its
place. A control's first state is the model's own update (ui.controls), so the two agree."""

from __future__ import annotations

from typing import Any

import gradio as gr

from client import catalog
from client.catalog import FIRST_FRAME
from client.fields import BY_NAME, FIELDS, Field, Place

from . import controls
from .choices import ChoiceDropdown, ChoiceRadio
from .components import raw_image_file
from .form import INPUTS, inputs_of
from .i18n import EN, label
from .shots import first_table
from .shots import headers as shot_headers


def _optional_label(key: str) -> Any:
    return label(key) if key in EN else None


class FormBuilder:
    """Makes the controls of the fields; `inputs` holds them by /generate input name, `parts`
    every component a handler updates, by elem_id."""

    def __init__(self, model_id: str, region: str) -> None:
        self.region = region
        self.first = controls.model_updates(model_id, region, {}, "en")
        self.inputs: dict[str, gr.components.Component] = {}
        self.parts: dict[str, Any] = {}
        self._made: set[str] = set()

    def hint(self, elem_id: str) -> gr.Markdown:
        """A line of hints under a control (e.g. the model's description), in its first state."""
        made = gr.Markdown(elem_id=elem_id, elem_classes="hint", **self._first(elem_id))
        self.parts[elem_id] = made
        return made

    def field(self, name: str, **props: Any) -> None:
        """The control(s) of one field, here; `props` are the layout's own (e.g. visible)."""
        field = BY_NAME[name]
        self._made.add(name)
        if field.kind == "media":
            self._media(field, props)
        elif field.kind == "number" and callable(field.choices):
            self._numbers(field)
        else:
            self._put(field, self._control(field, props))

    def rest(self, place: Place) -> None:
        """Every field of `place` the layout has not made, in the field list's order."""
        for field in FIELDS:
            if field.place == place and field.name not in self._made:
                self.field(field.name)

    def form_inputs(self) -> list[gr.components.Component]:
        """The inputs in /generate's order."""
        return [self.inputs[i.name] for i in INPUTS]

    def _first(self, key: str) -> dict[str, Any]:
        return {k: v for k, v in self.first.get(key, {}).items() if k != "__type__"}

    def _put(self, field: Field, component: gr.components.Component) -> None:
        self.inputs[field.name] = self.parts[component.elem_id] = component

    def _control(self, field: Field, props: dict[str, Any]) -> gr.components.Component:
        key = controls.elem_id(field)
        made: dict[str, Any] = {"label": label(field.label), "elem_id": key}
        info = _optional_label(field.label + "_info")
        if info is not None:
            made["info"] = info
        if field.kind == "text":
            made.update(placeholder=_optional_label(field.label + "_ph"), lines=field.lines)
        elif field.kind == "checkbox":
            made["value"] = field.default if field.shown is None else field.shown
        elif field.kind == "number":
            lo, hi = field.bounds or (None, None)
            made.update(value=field.shown, precision=0, maximum=hi,
                        minimum=lo if field.shown is None or lo is None else min(lo, field.shown))
        elif field.kind == "radio":
            static = field.choices if isinstance(field.choices, tuple) else ()
            made.update(choices=controls.choice_list(field, static, None), value=field.shown)
        made.update(self._first(key))  # the model's own state of the control
        if field.kind == "dropdown":
            made.update(self._dropdown(field))
        made.update(props)
        kinds = {"text": gr.Textbox, "checkbox": gr.Checkbox, "number": gr.Number,
                 "radio": ChoiceRadio, "dropdown": ChoiceDropdown}
        return kinds[field.kind](**made)

    def _dropdown(self, field: Field) -> dict[str, Any]:
        if field.name == "model":
            return {k: v for k, v in controls.model_choices_update(self.region, None, "en").items()
                    if k != "__type__"}
        if field.name == "region":
            return {"choices": controls.region_choices(), "value": self.region}
        # Every choice at first, and any value taken: an example may set a value (a template)
        # a moment before the model that offers it arrives.
        values = tuple(catalog.TEMPLATES) if field.name == "template" else (
            field.choices if isinstance(field.choices, tuple) else ())
        return {"choices": controls.choice_list(field, values, "en"), "value": field.shown,
                "allow_custom_value": True}

    def _media(self, field: Field, props: dict[str, Any]) -> None:
        """Upload, typed link, an optional note and a hint, in a column that follows the model
        (and a chosen clip, which replaces some media)."""
        key = controls.elem_id(field)
        upload, link = inputs_of(field)
        with gr.Column(elem_id=f"{key}-inputs",
                       **{**self._first(f"{key}-inputs"), **props}) as box:
            made = self._upload(field, key)
            typed = gr.Textbox(label=label(field.label + "_url"),
                               placeholder=label(field.label + "_url_ph"), elem_id=f"{key}-url")
            note = _optional_label(field.label + "_note")
            if note is not None:
                gr.Markdown(note, elem_id=f"{key}-note", elem_classes="hint")
            self.hint(f"{key}-info")
        self.parts[box.elem_id] = box
        self.inputs[upload.name], self.inputs[link.name] = made, typed
        self.parts[key], self.parts[typed.elem_id] = made, typed

    @staticmethod
    def _upload(field: Field, key: str) -> gr.components.Component:
        """The upload control of a medium; each hands the handlers the uploaded file as it is
        (no decoding, no conversion), so the studio's own probe judges it."""
        if field.media == "image":
            first = field.role == FIRST_FRAME
            return raw_image_file(gr.Image(
                label=label(field.label), type="filepath", image_mode=None,
                sources=["upload", "clipboard", "webcam"] if first else ["upload", "clipboard"],
                height=300 if first else 220, elem_id=key))
        if field.media == "video":  # no format and sound kept: Gradio converts nothing
            return gr.Video(label=label(field.label), sources=["upload"], format=None,
                            include_audio=True, height=220, elem_id=key)
        return gr.Audio(label=label(field.label), type="filepath",
                        sources=["upload", "microphone"], elem_id=key)

    def shot_list(self) -> tuple[gr.Accordion, gr.Dataframe, gr.Button, gr.Markdown]:
        """The shot list of models that read their shots from the prompt: its box, rows of
        (from s, to s, what happens), a button that writes them into the prompt, its hint."""
        with gr.Accordion(label("shots"), open=False, elem_id="shots",
                          **self._first("shots")) as box:
            gr.Markdown(label("shots_info"), elem_classes="hint")
            table = gr.Dataframe(
                value=first_table("en")["data"], type="array", interactive=True,
                headers=shot_headers("en"),  # the page's language is set on load
                # (n, "fixed"): the table's own way to keep its three columns (6.31).
                datatype=["number", "number", "str"], column_count=(3, "fixed"),
                row_count=(2, "dynamic"), column_widths=["20%", "20%", "60%"],
                elem_id="shots-table")
            write = gr.Button(label("shots_write"), size="sm", elem_id="shots-write")
            hint = self.hint("shots-info")
        self.parts[box.elem_id] = box
        return box, table, write, hint

    def _numbers(self, field: Field) -> None:
        """A slider and a radio over the model's values, both writing one hidden number."""
        key = controls.elem_id(field)
        first = self._first(f"{key}-choice")
        values = first["choices"]
        with gr.Column(elem_id=key):
            slider = gr.Slider(**{"minimum": values[0], "maximum": values[-1], "step": 1,
                                  **self._first(f"{key}-slider"), "value": first["value"]},
                               label=label(field.label), elem_id=f"{key}-slider")
            choice = gr.Radio(label=label(field.label), elem_id=f"{key}-choice", **first)
            value = gr.Number(value=first["value"], visible="hidden", precision=0,
                              elem_id=f"{key}-value")
        for shown in (slider, choice):
            shown.change(None, [shown], [value], js="(v) => v")
            self.parts[shown.elem_id] = shown
        # A value set from elsewhere (an example, "use these settings again") moves both.
        value.change(None, [value, slider, choice], [slider, choice],
                     js="(v, s, c) => (v === null || v === undefined ? [s, c] : [v, v])")
        self.inputs[field.name] = self.parts[value.elem_id] = value
