"""One-click examples: a picture from assets/ with the prompt and model that suit it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# The inputs an example row fills, in the row's order.
EXAMPLE_INPUTS = ("image", "prompt", "model", "template", "shot_type", "audio_file")
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
