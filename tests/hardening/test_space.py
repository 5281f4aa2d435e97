"""Space-ready: the README card matches the pinned Gradio, requirements.txt matches pyproject,
and the app starts the way a Space starts it (`python <app_file>` from the repository root)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import yaml

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def card() -> dict[str, object]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "README.md has no YAML front matter"
    return yaml.safe_load(match.group(1))


def dependencies() -> dict[str, str]:
    """pyproject's runtime dependencies: name -> version spec (no tomllib: Python 3.10 too)."""
    text = (REPO / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert block, "pyproject.toml has no dependencies list"
    return dict(_split(d) for d in re.findall(r'"([^"]+)"', block.group(1)))


def _split(requirement: str) -> tuple[str, str]:
    name = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert name, requirement
    return name.group(0).lower(), requirement[name.end():].strip()


def test_space_card_matches_the_pinned_gradio() -> None:
    meta = card()
    assert meta["sdk"] == "gradio" and meta["title"]
    assert dependencies()["gradio"] == f"=={meta['sdk_version']}"
    assert re.fullmatch(r"3\.\d+", str(meta["python_version"]))
    app_file = REPO / str(meta["app_file"])
    assert app_file.is_file() and app_file.parent == REPO, "a Space runs app_file from the root"


def test_requirements_match_pyproject() -> None:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    listed = dict(_split(line) for line in lines if line.strip() and not line.startswith("#"))
    wanted = {k: v for k, v in dependencies().items() if k != "gradio"}  # the SDK installs it
    assert listed == wanted


def test_readme_explains_the_host_key_secret_and_private_endpoint() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Deploy to Hugging Face Spaces", 1)[1]
    assert "DASHSCOPE_API_KEY" in section and "secret" in section.lower()
    assert "WAN_STUDIO_API" in section and "gradio_client" in section


def test_python_app_file_serves_like_a_space(tmp_path: Path) -> None:
    """`python app.py` from the root with GRADIO_SERVER_PORT set, and without this project
    installed (-S skips the editable install; only the site-packages are on the path)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHSCOPE_", "WAN_STUDIO_"))}
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_ANALYTICS_ENABLED="False", WAN_STUDIO_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=sysconfig.get_paths()["purelib"])
    log = tmp_path / "space.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-S", str(card()["app_file"])], cwd=REPO,
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        status, started = None, time.monotonic()
        while time.monotonic() - started < 60 and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        print(f"\npython {card()['app_file']} as a Space: HTTP {status} after "
              f"{time.monotonic() - started:.1f} s")
        assert status == 200, log.read_text()[-3000:]
    finally:
        process.terminate()
        process.wait(timeout=20)
