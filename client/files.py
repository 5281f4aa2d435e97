"""A second name for a file: a hard link where the file system has them, else a copy."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def link_or_copy(source: Path, target: Path) -> Path:
    """`target` with `source`'s bytes (the same file when it can be); one there already is left
    as it is."""
    try:
        os.link(source, target)
    except FileExistsError:
        pass
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, target)
    return target
