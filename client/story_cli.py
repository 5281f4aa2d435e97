"""`python -m client story STORY.json`: the plan with its length and price first, then each
shot's status, then the film's path. Exit codes as for `generate`: 0 the film is saved; 1 a shot
or the film failed; 2 the storyboard is refused (raised as InvalidInput: nothing was sent)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

from . import events, story_run
from .__main__ import EXIT_FAILED, EXIT_OK, describe
from .eta import EtaEstimator
from .http import WanClient
from .story import CONTINUE_CLIP_SECONDS, load, plan


def add_story_command(sub: argparse._SubParsersAction) -> None:
    """Register `story` on the CLI's subcommands."""
    command = sub.add_parser(
        "story", help="make one film of several shots from a storyboard (JSON)",
        description="The API key is read from DASHSCOPE_API_KEY; the storyboard format is in "
                    "the README (example: assets/story_example.json).")
    command.add_argument("story", type=Path,
                         help="the storyboard; its relative paths are relative to its folder")
    command.add_argument("--out", type=Path, help="where to save the film (default: "
                                                  "./STORY_ID-film.mp4); shots are saved beside it")
    command.add_argument("--base-url", help="wins over DASHSCOPE_HTTP_BASE_URL and the story's "
                                            "region")
    command.add_argument("--dry-run", action="store_true",
                         help="show the plan, its length and price, and send nothing")


def status_line(event: story_run.StoryEvent) -> str | None:
    """One line of text for a story event (None: nothing worth a line)."""
    if isinstance(event, story_run.ShotEvent):
        text = None if isinstance(event.event, events.Done) else describe(event.event)
        return None if text is None else f"shot {event.index + 1}: {text}"
    if isinstance(event, story_run.ShotWaiting):
        return f"shot {event.index + 1}: waits for shot {event.after + 1}"
    if isinstance(event, story_run.Continuing):
        end = ("last frame" if event.continues == "frame"
               else f"last {CONTINUE_CLIP_SECONDS:g} s")
        return f"shot {event.index + 1}: taking shot {event.after + 1}'s {end} to continue from"
    if isinstance(event, story_run.ShotDone):
        return f"shot {event.index + 1}: saved {event.path}"
    if isinstance(event, story_run.ShotFailed):
        return f"shot {event.index + 1}: failed: {type(event.error).__name__}: {event.error}"
    if isinstance(event, story_run.ShotSkipped):
        return f"shot {event.index + 1}: not made, since shot {event.because_of + 1} failed"
    if isinstance(event, story_run.Assembling):
        return "film: assembling the shots"
    if isinstance(event, story_run.FilmDone):
        return f"film: {event.info.seconds:.1f} s, {event.info.width}×{event.info.height}, saved"
    return f"film: failed: {type(event.error).__name__}: {event.error}"


async def story_command(args: argparse.Namespace,
                        transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Plan the storyboard (refused before a key is needed), run it, print the film's path."""
    story_plan = plan(load(args.story))
    print(story_plan.text(), file=sys.stdout if args.dry_run else sys.stderr)
    if args.dry_run:
        return EXIT_OK
    out: Path | None = args.out
    dest = Path.cwd() if out is None else out.parent
    async with WanClient(region=story_plan.story.region, base_url=args.base_url,
                         transport=transport) as client:
        run = story_run.StoryRun(client, story_plan, dest, film_path=out, eta=EtaEstimator())
        async for event in run.run():
            text = status_line(event)
            if text is not None:
                print(text, file=sys.stderr)
    if run.film is None:
        made = len(run.videos)
        print(f"error: the film was not made; {made} of {len(story_plan.shots)} shots are "
              f"saved in {dest}", file=sys.stderr)
        return EXIT_FAILED
    print(run.film.path.absolute())
    return EXIT_OK
