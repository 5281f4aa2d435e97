"""Hugging Face Spaces entry point: a Space runs `python app.py` from the repository root."""

from __future__ import annotations

from ui.__main__ import main

if __name__ == "__main__":
    main()
