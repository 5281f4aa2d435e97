"""One-click examples: pictures (or a clip) from assets/ with the prompt and model that suit them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client import catalog

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# The inputs an example row fills, in the row's order.
EXAMPLE_INPUTS = ("image", "prompt", "model", "template", "shot_type", "audio_file",
                  "last_frame", "first_clip", "duration")
_FILES = ("image", "audio_file", "last_frame", "first_clip")  # the inputs that name an asset


@dataclass(frozen=True)
class Example:
    key: str  # its label's i18n key
    model: str
    prompt: str = ""
    image: str | None = None  # files in assets/
    template: str = ""
    shot_type: str = "single"
    audio_file: str | None = None
    last_frame: str | None = None
    first_clip: str | None = None
    duration: int | None = None  # None: the model's default

    def row(self) -> list[Any] | None:
        """The example's values for EXAMPLE_INPUTS, or None when one of its files is missing."""
        if any(name and not (ASSETS / name).is_file()
               for name in (getattr(self, i) for i in _FILES)):
            return None
        values = {name: getattr(self, name) for name in EXAMPLE_INPUTS}
        for name in _FILES:
            values[name] = str(ASSETS / values[name]) if values[name] else None
        # Every example sets the length, so none keeps the previous one's.
        values["duration"] = self.duration or catalog.MODELS[self.model].default_duration
        return [values[name] for name in EXAMPLE_INPUTS]


EXAMPLES = (
    Example("ex_astronaut", "wan2.2-i2v-flash",
            "The astronaut smiles, turns to the camera and waves slowly.", "astronaut.jpg"),
    Example("ex_rocket", "wan2.6-i2v-flash", "The rocket lifts off in a cloud of smoke and "
            "fire; the camera tilts up to follow it.", "rocket.jpg"),
    Example("ex_voice", "wan2.6-i2v-flash", "She looks into the camera and speaks calmly.",
            "astronaut.jpg", audio_file="voice.wav"),
    Example("ex_coffee", "wan2.6-i2v", "Steam rises from the coffee. Then a close-up of the "
            "foam. Then a hand lifts the cup from the table.", "coffee.jpg", shot_type="multi"),
    Example("ex_cat", "wanx2.1-i2v-turbo", "", "cat.jpg", template="inflate"),
    Example("ex_galaxies", "wan2.5-i2v-preview",
            "A slow zoom into the deep field, stars twinkling.", "galaxies.jpg",
            audio_file="tune.wav"),
    Example("ex_first_last", "wan2.7-i2v", "The camera flies slowly into the deep field and "
            "closes in on the bright golden galaxy.", "galaxies.jpg",
            last_frame="galaxies_close.jpg"),
    Example("ex_continue", "wan2.7-i2v", "The rocket keeps climbing into a clear sky; the "
            "camera follows it up.", first_clip="rocket_rise.mp4", duration=8),
)


def example_rows() -> tuple[list[list[Any]], list[str]]:
    """One-click examples whose files are present: rows for the inputs, and their labels."""
    rows, labels = [], []
    for example in EXAMPLES:
        row = example.row()
        if row is not None:
            rows.append(row)
            labels.append(example.key)
    return rows, labels
