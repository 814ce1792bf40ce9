"""The built-in demo: a rendered synthetic sequence (``cmanet synth --render``), fitted once and
cached under ``<cache>/demo`` so later starts are instant.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from cmanet_app import jobs
from cmanet_app.paths import demo_dir
from core.errors import CancelledError
from core.fit.config import load_fit_config
from core.io.results import RESULT_FILE

log = logging.getLogger(__name__)

DEMO_VIEWS = 4
DEMO_FRAMES = 30
DEMO_SEED = 7
DEMO_RENDER = True  # images, so that the views show a person; tests turn it off for speed
STAMP_FILE = "demo.json"
DEMO_VERSION = 2


def make_synthetic(out: Path, views: int, frames: int, seed: int, render: bool = False,
                   progress: Callable[[int, int], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> Path:
    """``cmanet synth OUT --views --frames --seed [--render]`` with the app's already loaded body
    model (loading another takes seconds), reporting rendered images to ``progress`` and
    stopping (CancelledError, nothing left at ``out``) when ``should_cancel()``."""
    from cmanet_app.bodies import body_provider
    from core.synth import make_synthetic_sequence

    def on_frame(done: int, total: int) -> None:
        if should_cancel is not None and should_cancel():
            raise CancelledError("demo cancelled")
        if progress is not None:
            progress(done, total)

    with body_provider().use("anny") as body:
        return make_synthetic_sequence(out, views=views, frames=frames, seed=seed, render=render, body_model=body,
                                       on_frame=on_frame)


def demo_paths() -> tuple[Path, Path]:
    """(sequence folder, result folder) of the demo."""
    base = demo_dir()
    return base / "sequence", base / "result"


def demo_ready() -> bool:
    """True when the cached demo is complete and made by the current generator."""
    base = demo_dir()
    seq, res = demo_paths()
    try:
        stamp = json.loads((base / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return False
    return (stamp.get("version") == DEMO_VERSION and stamp.get("render") == DEMO_RENDER
            and (res / RESULT_FILE).is_file() and seq.is_dir())


def build_demo(progress, should_cancel, config=None) -> tuple[Path, Path]:
    """Make (if needed) and fit the demo; returns (sequence folder, result folder)."""
    from core.io.atomic import atomic_write_json

    base = demo_dir()
    seq, res = demo_paths()
    if demo_ready():
        return seq, res
    for folder in (seq, res):  # both live in our own cache folder; an incomplete demo is remade
        if folder.exists():
            shutil.rmtree(folder)
    (base / STAMP_FILE).unlink(missing_ok=True)
    base.mkdir(parents=True, exist_ok=True)
    progress("synth", 0, 1)
    make_synthetic(seq, DEMO_VIEWS, DEMO_FRAMES, DEMO_SEED, DEMO_RENDER, lambda d, t: progress("synth", d, t), should_cancel)
    progress("synth", 1, 1)
    if should_cancel():
        raise CancelledError("demo cancelled")
    jobs.fit(seq, res, config or load_fit_config(), progress, should_cancel, mode=None)  # cmanet fit's default mode
    atomic_write_json(base / STAMP_FILE, {"version": DEMO_VERSION, "render": DEMO_RENDER})
    return seq, res
