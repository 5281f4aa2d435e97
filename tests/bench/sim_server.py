"""The simulator in its own process, with the knobs the benchmarks need (its CPU is not the studio's).

python tests/bench/sim_server.py --port P [--task-seconds T] [--no-limits] [--result-mbps M]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from client.simulator.server import SimConfig, create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--task-seconds", type=float, default=4.0)
    parser.add_argument("--no-limits", action="store_true")
    parser.add_argument("--result-mbps", type=float, default=None,
                        help="throttle result downloads to this many megabits per second")
    parser.add_argument("--render-workers", type=int, default=2)
    args = parser.parse_args()
    throttle = None if args.result_mbps is None else args.result_mbps * 1e6 / 8
    app = create_app(SimConfig(task_seconds=args.task_seconds, limits=not args.no_limits,
                               result_bytes_per_second=throttle,
                               render_workers=args.render_workers, test_faults=False))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                timeout_keep_alive=30)


if __name__ == "__main__":
    main()
