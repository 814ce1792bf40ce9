"""The demo: the real walking trial that ships in ``resources/demo/walk`` (four portrait cameras,
60 fps, 100 frames), fitted on first start and kept as a run in the user cache, so later starts are
instant. :func:`make_synthetic` makes the small synthetic sequences that tests and the app's
benchmark use.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cmanet_app import jobs
from cmanet_app.paths import default_result_dir
from core.bench.real import SHIPPED_DEMO
from core.fit.config import load_fit_config
from core.io.runs import list_runs
from core.progress import Progress

log = logging.getLogger(__name__)

DEMO_SEQUENCE: Path = SHIPPED_DEMO


def make_synthetic(out: Path, views: int, frames: int, seed: int, render: bool = False,
                   progress: Progress | None = None) -> Path:
    """``cmanet synth OUT --views --frames --seed [--render]`` with the app's already loaded body
    model (loading another takes seconds), reporting rendered images to ``progress`` and
    stopping (CancelledError, nothing left at ``out``) when it is cancelled."""
    from cmanet_app.bodies import body_provider
    from core.synth import make_synthetic_sequence

    on_frame = None if progress is None else progress.stage("synth", check=True)
    with body_provider().use("anny") as body:
        return make_synthetic_sequence(out, views=views, frames=frames, seed=seed, render=render, body_model=body,
                                       on_frame=on_frame)


def demo_area() -> Path:
    """The result area of the demo recording (its runs), in the user cache."""
    return default_result_dir(DEMO_SEQUENCE)


def demo_ready(area: Path | None = None) -> bool:
    """True when the demo recording has been fitted (it has a run)."""
    return bool(list_runs(area or demo_area()))


def build_demo(progress: Progress, config=None) -> tuple[Path, Path]:
    """(sequence folder, result area) of the demo: the walking trial shipped in resources/demo,
    fitted once with ``cmanet fit``'s default mode (the first start: about a minute) and kept as
    its first run. Nothing is written into resources/."""
    area = demo_area()
    if not demo_ready(area):
        jobs.fit_run(DEMO_SEQUENCE, area, config or load_fit_config(), progress, mode=None)
    return DEMO_SEQUENCE, area
