"""client.files.link_or_copy: a second name for a file, or a copy where links cannot be made."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from client.files import link_or_copy


def test_a_link_is_the_same_file_and_an_existing_target_is_kept(tmp_path: Path) -> None:
    source = tmp_path / "a.mp4"
    source.write_bytes(b"video")
    target = link_or_copy(source, tmp_path / "b.mp4")
    assert target.read_bytes() == b"video" and os.path.samefile(source, target)
    other = tmp_path / "c.mp4"
    other.write_bytes(b"other")
    assert link_or_copy(other, target).read_bytes() == b"video"


def test_without_hard_links_the_file_is_copied(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    source = tmp_path / "a.mp4"
    source.write_bytes(b"video")
    target = link_or_copy(source, tmp_path / "b.mp4")
    assert target.read_bytes() == b"video" and not os.path.samefile(source, target)
