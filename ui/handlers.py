"""The studio's handlers, by job, in one place for callers that want them all (tests, scripts):
form.py (form ↔ request), controls.py (what follows the model), inputs.py (what an input
holds), preview.py (size, price, code), shots.py (the shot list), status.py, flows.py
(generate / follow / cancel / restore / resume / the rewritten prompt), history_view.py and
services.py."""

from __future__ import annotations

from .controls import media_updates, model_choices_update, model_updates, template_updates
from .flows import (
    RESTORES_AT_ONCE,
    Step,
    cancel,
    follow,
    generate,
    restore,
    resume_by_id,
    rewritten_prompt,
)
from .form import INPUT_NAMES, Form, build_request, form_values
from .history_view import history_view, last_seed, reuse_settings, selected_record
from .inputs import describe
from .preview import preview_outputs
from .services import Services, credentials_for
from .shots import shots_outputs
from .status import duration_text, record_status_text, status_text, ticking

__all__ = ["INPUT_NAMES", "RESTORES_AT_ONCE", "Form", "Services", "Step", "build_request",
           "cancel", "credentials_for", "describe", "duration_text", "follow", "form_values",
           "generate", "history_view", "last_seed", "media_updates", "model_choices_update",
           "model_updates", "preview_outputs", "record_status_text", "restore", "resume_by_id",
           "reuse_settings", "rewritten_prompt", "selected_record", "shots_outputs",
           "status_text", "template_updates", "ticking"]
