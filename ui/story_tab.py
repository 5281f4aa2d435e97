"""The Story tab: several shots, one film (its layout and events)."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from .i18n import label
from .services import Services
from .settings import Settings


def build(services: Services, settings: Settings, visitor: Callable[[gr.Request | None], str]
          ) -> None:
    """Lay out the tab's controls in the current Blocks context and wire their events."""
    gr.Markdown(label("tab_story"))
