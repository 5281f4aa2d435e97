"""Inputs that hand the raw value to the handlers, so the catalog's validation (with its
translated, field-naming message) answers instead of Gradio's generic checks.

Done on the instance, not by subclassing: Gradio writes a .pyi stub beside every module that
defines a component class, which would litter the package.
"""

from __future__ import annotations

from typing import Any, TypeVar

import gradio as gr

C = TypeVar("C", bound=gr.components.Component)


def _file_path(payload: Any) -> str | None:
    if payload is None:
        return None
    return payload.path or payload.url


def raw_image_file(image: gr.Image) -> gr.Image:
    """Pass the uploaded file untouched (no decoding, no re-encoding): a damaged or unsupported
    picture then gets the studio's message instead of a Pillow error."""
    image.preprocess = _file_path  # type: ignore[method-assign]
    return image


def any_value(component: C) -> C:
    """Let API callers send any value (the choices depend on the model); validate() answers."""
    component.preprocess = lambda payload: payload  # type: ignore[method-assign]
    component.api_info = lambda: {"type": "string"}  # type: ignore[method-assign]
    return component
