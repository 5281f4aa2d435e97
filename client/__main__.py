"""Command line: `python -m client models`, `generate …`, `resume TASK_ID` and `story STORY.json`.

Exit codes: 0 success; 2 invalid input (nothing was sent); 1 the API or the task failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

import httpx

from . import catalog, events
from .cli_models import media_combinations, models_table, role_flag
from .errors import AmbiguousTask, AuthError, InvalidInput, WanError
from .fields import BY_NAME, FIELDS, MEDIA
from .handle import TaskHandle
from .http import WanClient
from .pipeline import Destination, follow, run_job
from .request import VideoRequest, deployed_model, validate

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m client",
                                     description="Wan image-to-video on Alibaba Model Studio.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("models", help="list the models, their options and estimated prices")
    gen = sub.add_parser(
        "generate", help="make a video from a first frame, first and last frames, or a clip",
        description="The API key is read from DASHSCOPE_API_KEY. Which media each model takes "
                    "together: python -m client models (column inputs).")
    add_request_options(gen)
    resume = sub.add_parser("resume", help="follow a task made earlier and save its video",
                            description="The API key is read from DASHSCOPE_API_KEY.")
    resume.add_argument("task_id")
    for command in (gen, resume):
        command.add_argument("--region", choices=tuple(catalog.REGIONS),
                             default=catalog.DEFAULT_REGION)
        command.add_argument("--base-url", help="wins over DASHSCOPE_HTTP_BASE_URL and --region")
        command.add_argument("--out", type=Path,
                             help="where to save the video (default: ./TASK_ID.mp4)")
    from .story_cli import add_story_command  # imported here: story_cli uses this module
    add_story_command(sub)
    return parser


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """One option per request field that has a flag (client.fields)."""
    for f in FIELDS:
        if f.flag is None:
            continue
        options: dict[str, Any] = {"dest": f.name, "help": f.help or None}
        if f.kind == "checkbox":  # a switch: "--x" turns it on, "--no-x" off
            on = not f.flag.startswith("--no-")
            options.update(action="store_const", const=on, default=f.default)
        else:
            # A medium is needed or not by the model's combinations: validate() says which.
            options.update(default=f.default, required=f.required is not None and f.role is None)
            if f.json_type is int:
                options["type"] = int
            if isinstance(f.choices, tuple):
                options["choices"] = f.choices
            elif f.kind == "media":
                options["metavar"] = "PATH_OR_URL"
            else:
                options["metavar"] = f.flag.removeprefix("--").replace("-", "_").upper()
        parser.add_argument(f.flag, **options)


def request_from_args(args: argparse.Namespace) -> VideoRequest:
    given = vars(args)
    return VideoRequest(**{f.name: given[f.name] for f in FIELDS if f.name in given})


def refusal_text(exc: InvalidInput, args: argparse.Namespace) -> str:
    """A refused `generate` as the command line names it: the flag, not the field (--first-clip,
    not first_clip), and for a refused set of media what the model takes, by flag."""
    if args.command != "generate":
        return f"error: {exc}"
    field = BY_NAME.get(exc.field)
    flag = field.flag if field is not None and field.flag else exc.field
    text = f"error: {flag}: " + str(exc).removeprefix(f"{exc.field}: ")
    if field is None or field.kind != "media":
        return text
    model = _model_of(args)
    given = [f for f in MEDIA if getattr(args, f.name) is not None]
    if model is None or frozenset(f.role for f in given) in model.media + (
            catalog.FRAME_ONLY if args.template else ()):
        return text  # the media go together: the refusal is about one of them
    flags = " ".join(role_flag(f.role) for f in given if f.role) or "no media"
    takes = media_combinations(model, role_flag, plus=" ", template="--template")
    return text + f"\n  given: {flags}; {model.id} takes: {takes}"


def _model_of(args: argparse.Namespace) -> catalog.Model | None:
    try:
        return deployed_model(args.model, args.region)
    except InvalidInput:
        return None


def describe(event: events.Event) -> str | None:
    """One line of text for an event (None for Failed: main() prints the error)."""
    if isinstance(event, events.Preparing):
        return "checking the request and uploading its files"
    if isinstance(event, events.Queued):
        return f"waiting for a free task slot: {event.position} in line"
    if isinstance(event, events.Submitting):
        if event.retry_in is None:
            return "sending the request"
        return f"not sent yet ({event.reason}); trying again in {event.retry_in:.0f} s"
    if isinstance(event, events.Recovering):
        return (f"no usable answer to the request ({event.cause.message}); looking in the "
                "account's task list for the task it may have made")
    if isinstance(event, (events.Pending, events.Running)):
        text = f"task {event.task_id}: {type(event).__name__.upper()}"
        if event.submitted_at is not None:
            text += f", {max(0.0, time.time() - event.submitted_at):.0f} s elapsed"
        if event.eta is not None:
            text += f", about {event.eta:.0f} s left"
        if isinstance(event, events.Pending) and event.recovered:
            text += " (found in the task list after the answer was lost)"
        if event.poll_error is not None:
            text += f" (status query failed, retrying: {event.poll_error})"
        return text
    if isinstance(event, events.Downloading):
        return f"task {event.task_id}: SUCCEEDED, downloading the video"
    if isinstance(event, events.Done):
        return f"task {event.task_id}: SUCCEEDED, saved"
    return None


class StatusLine:
    """One live line on a terminal; one line per event when stderr is a file or pipe."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def show(self, event: events.Event) -> None:
        text = describe(event)
        if text is None:
            return
        if self.live:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
        else:
            print(text, file=self.stream)

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


async def _saved(job: AsyncIterator[events.Event], line: StatusLine) -> Path:
    """Show a job's events; the saved video, or the job's error raised."""
    try:
        async for event in job:
            line.show(event)
            if isinstance(event, events.Done):
                return event.path
            if isinstance(event, events.Failed):
                raise event.error
    finally:
        line.close()
    raise WanError("the job ended without a video")


def _destination(args: argparse.Namespace) -> Destination:
    out: Path | None = args.out
    return Path.cwd() if out is None else (lambda _task_id: out)


async def run_command(args: argparse.Namespace,
                      transport: httpx.AsyncBaseTransport | None = None) -> int:
    """`generate` (one job through the pipeline) or `resume` (follow a task id); prints the
    saved video's path."""
    if args.command == "story":
        from .story_cli import story_command
        return await story_command(args, transport)
    request = None
    if args.command == "generate":
        request = request_from_args(args)
        checked = validate(request, check_media=True)  # refuse before a key is even needed
        for notice in checked.notices:
            print(f"note: {notice}", file=sys.stderr)
    line = StatusLine(sys.stderr)
    heartbeat = 1.0 if line.live else None
    async with WanClient(region=args.region, base_url=args.base_url, transport=transport) as client:
        if request is not None:
            job = run_job(client, request, dest=_destination(args), heartbeat=heartbeat)
        else:
            job = follow(TaskHandle(client, args.task_id), dest=_destination(args),
                         heartbeat=heartbeat)
        saved = await _saved(job, line)
    print(saved.absolute())
    return EXIT_OK


def main(argv: list[str] | None = None, *,
         transport: httpx.AsyncBaseTransport | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "models":
        print(models_table())
        return EXIT_OK
    try:
        return asyncio.run(run_command(args, transport))
    except (InvalidInput, AuthError) as exc:
        text = refusal_text(exc, args) if isinstance(exc, InvalidInput) else f"error: {exc}"
        print(text, file=sys.stderr)
        refused_by_service = exc.status is not None  # a 401, not a missing key
        return EXIT_FAILED if refused_by_service else EXIT_INVALID
    except WanError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if isinstance(exc, AmbiguousTask):
            for task_id in exc.candidates:
                print(f"  candidate: {task_id}  (python -m client resume {task_id})",
                      file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\ninterrupted; a submitted task goes on on the service", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
