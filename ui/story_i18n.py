"""The Story tab's strings, English and Chinese (ui.i18n merges them into its tables)."""

from __future__ import annotations

STORY_EN: dict[str, str] = {
    "tab_video": "One video",
    "tab_story": "Story",
}

STORY_ZH: dict[str, str] = {
    "tab_video": "单个视频",
    "tab_story": "故事",
}
