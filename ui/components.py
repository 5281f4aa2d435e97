"""The picture input hands the uploaded file to the handlers untouched, so the catalog's
validation (with its translated, field-naming message) answers instead of a Pillow error.

Done on the instance: no event updates the picture's props, so Gradio never rebuilds it for a
session (the choice controls, which are rebuilt, are classes in choices.py).
"""

from __future__ import annotations

from typing import Any

import gradio as gr


def _file_path(payload: Any) -> str | None:
    if payload is None:
        return None
    return payload.path or payload.url


def raw_image_file(image: gr.Image) -> gr.Image:
    """Pass the uploaded file untouched (no decoding, no re-encoding): a damaged or unsupported
    picture then gets the studio's message instead of a Pillow error."""
    image.preprocess = _file_path  # type: ignore[method-assign]
    return image
