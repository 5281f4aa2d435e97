"""`python -m ui`: the studio on the host's key, or on its own simulator when there is none."""

from __future__ import annotations

from dataclasses import replace

from .app import build_app, launch_options
from .settings import load_settings

SIMULATED_TASK_SECONDS = 8.0  # long enough to watch PENDING → RUNNING, short enough for a demo


def main() -> None:
    simulator = None
    settings = load_settings()
    if not settings.has_host_key:
        from client.simulator.server import SimConfig, start_simulator

        # A public demo: the simulator keeps nothing it no longer needs (the studio has the
        # video once downloaded) and takes no test faults from visitors.
        simulator = start_simulator(SimConfig(task_seconds=SIMULATED_TASK_SECONDS,
                                              forget_downloaded_results=True, test_faults=False))
        settings = load_settings(simulator_url=simulator.base_url)
        settings = replace(settings, task_seconds_hint=SIMULATED_TASK_SECONDS)
    demo = build_app(settings)
    try:
        # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are read by launch() itself.
        demo.launch(**launch_options(settings))
    finally:
        if simulator is not None:
            simulator.stop()


if __name__ == "__main__":
    main()
