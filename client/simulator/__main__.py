"""Run the simulator standalone: python -m client.simulator --host 127.0.0.1 --port P."""

from __future__ import annotations

import argparse

import uvicorn

from .. import catalog
from .context import SimConfig
from .server import API_PREFIX, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m client.simulator", description="A local DashScope-compatible Wan simulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--task-seconds",
        type=float,
        default=SimConfig.task_seconds,
        help="simulated PENDING + RUNNING time of each task",
    )
    parser.add_argument(
        "--region",
        choices=tuple(catalog.REGIONS),
        default=catalog.DEFAULT_REGION,
        help="the region whose deployment is simulated",
    )
    parser.add_argument("--no-limits", action="store_true", help="switch off the account limits")
    args = parser.parse_args(argv)
    if args.task_seconds < 0:
        parser.error("--task-seconds: must be 0 or more")
    app = create_app(
        SimConfig(region=args.region, task_seconds=args.task_seconds, limits=not args.no_limits)
    )
    print(
        f"Wan simulator ({args.region}) at http://{args.host}:{args.port}{API_PREFIX}", flush=True
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
