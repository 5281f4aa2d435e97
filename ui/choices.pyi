"""Radios and dropdowns whose choices follow the model or region. They hand any value to the
handlers, so validate() answers with its field-naming message rather than Gradio's generic
choice check, which also trips on a value sent a moment before the choices changed.

Subclasses, not patched instances: whenever an event updates a component's props (new choices),
Gradio rebuilds it for that session from its class. Gradio keeps a typing stub (choices.pyi)
beside any module that defines components; it is committed, so it is only rewritten if these
classes change.
"""

from __future__ import annotations

from typing import Any

import gradio as gr


def _as_sent(self: gr.components.Component, payload: Any) -> Any:
    return payload


def _any_string(self: gr.components.Component) -> dict[str, Any]:
    return {"type": "string"}

from gradio.events import Dependency

class ChoiceRadio(gr.Radio):
    is_template = True  # drawn by the frontend's Radio
    preprocess = _as_sent
    api_info = _any_string
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


class ChoiceDropdown(gr.Dropdown):
    is_template = True  # drawn by the frontend's Dropdown
    preprocess = _as_sent
    api_info = _any_string
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component