"""Fixtures of the app's pytest-qt tests (imported by tests/test_app*.py).

Every window gets a temporary settings file, fits use a reduced FitConfig (seconds, not minutes).
Two recordings: the small synthetic sequence (2 views x 3 frames, keypoints only, with gt.npz),
and a real one -- the first frames of the walking trial that ships in resources/demo (four portrait
videos, symlinked, cut with a ``sequence.yaml`` frame range; nothing is written into resources/).
Each is fitted once per session and copied into the tests that need it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.bench.real import SHIPPED_DEMO

from core.fit.config import IEVConfig, IRVConfig, load_fit_config
from core.progress import Progress

FAST_FIT = {
    "irv": IRVConfig(orientation_starts=2, orientation_iterations=4, iterations=8),
    "iev": IEVConfig(iterations=8),
    "device": "cpu",
}


def make_small_sequence(out: Path, views: int = 2, frames: int = 3, seed: int = 1) -> Path:
    """A keypoints-only ``cmanet synth`` sequence, made with the app's body model."""
    from cmanet_app import demo

    demo.make_synthetic(out, views, frames, seed, render=False)
    return out


@pytest.fixture(scope="session")
def session_fitted(tmp_path_factory) -> tuple[Path, Path]:
    """(sequence, fitted result folder), made once."""
    from cmanet_app import jobs

    base = tmp_path_factory.mktemp("app-seq")
    seq = make_small_sequence(base / "seq")
    result = base / "result"
    config = load_fit_config(None, **FAST_FIT)
    jobs.fit(seq, result, config, Progress())
    return seq, result


WALK_FRAMES = 24  # 20 or more: the fit estimates the focal lengths (IRV and IEV cameras then differ)


def make_walk_slice(out: Path, start: int = 0, stop: int = WALK_FRAMES) -> Path:
    """A real recording: frames [start, stop) of the shipped walking trial, its videos symlinked."""
    (out / "videos").mkdir(parents=True)
    for video in sorted((SHIPPED_DEMO / "videos").glob("*.mp4")):
        (out / "videos" / video.name).symlink_to(video)
    (out / "sequence.yaml").write_text(f"frame_range: [{start}, {stop}]\n")
    return out


@pytest.fixture(scope="session")
def session_walk(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(real slice, its result area with one run, the detection cache folder), fitted once: MediaPipe
    on 4 views x 12 frames, then the reduced fit."""
    from cmanet_app import jobs

    base = tmp_path_factory.mktemp("walk")
    seq = make_walk_slice(base / "walk")
    cache = base / "cache"
    with pytest.MonkeyPatch.context() as mp:  # the session's fit must not touch the user's cache either
        mp.setenv("CMANET_CACHE_DIR", str(cache))
        jobs.fit_run(seq, base / "area", load_fit_config(None, **FAST_FIT), Progress(), "optimize")
    return seq, base / "area", cache


@pytest.fixture
def walk(session_walk, tmp_path, monkeypatch) -> tuple[Path, Path]:
    """(real slice, result area with one run): copies, sharing the session's detections."""
    seq = make_walk_slice(tmp_path / "walk")
    area = Path(shutil.copytree(session_walk[1], tmp_path / "area", symlinks=True))
    if session_walk[2].is_dir():
        monkeypatch.setenv("CMANET_CACHE_DIR", str(shutil.copytree(session_walk[2], tmp_path / "cache")))
    return seq, area


@pytest.fixture
def small_sequence(session_fitted, tmp_path) -> Path:
    """A fresh copy of the small sequence (no result yet in this test's cache)."""
    return Path(shutil.copytree(session_fitted[0], tmp_path / "seq"))


@pytest.fixture
def fitted_sequence(session_fitted, tmp_path) -> tuple[Path, Path]:
    """(sequence copy, result folder copy) of the small fitted sequence."""
    seq = Path(shutil.copytree(session_fitted[0], tmp_path / "fitted-seq"))
    result = Path(shutil.copytree(session_fitted[1], tmp_path / "fitted-result"))
    return seq, result


@pytest.fixture
def settings_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "settings.ini"
    monkeypatch.setenv("CMANET_APP_SETTINGS", str(path))
    return path


@pytest.fixture
def window(qtbot, settings_file):
    """The main window, 3D panel off (its own test turns it on), fast fitting."""
    import pyqtgraph as pg

    from cmanet_app.widgets.main_window import MainWindow

    pg.setConfigOptions(imageAxisOrder="row-major")
    w = MainWindow(enable_3d=False)
    w.controller.fit_overrides = dict(FAST_FIT)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.reporter.close_all()
    w.close()


@pytest.fixture
def window3d(qtbot, settings_file):
    """The main window with the 3D panel on and in front, fast fitting."""
    from cmanet_app.widgets.main_window import MainWindow

    w = MainWindow(enable_3d=True)
    w.controller.fit_overrides = dict(FAST_FIT)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    w.tabs.setCurrentWidget(w.scene_panel)
    yield w
    w.reporter.close_all()
    w.close()


def open_and_wait(qtbot, window, path, result_dir=None, timeout=30000):
    """Open a sequence through the controller and wait until the state has it."""
    task = window.controller.open_sequence(path, result_dir)
    assert task is not None
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=timeout)
    return task


def wait_images(qtbot, window, frame=None, timeout=30000, **overlays):
    """Wait until the views show ``frame`` (default: the current one) drawn with ``overlays``."""
    def ready():
        images = window.view_grid.last_images
        if images is None:
            return False
        req = images.request
        want = window.state.frame if frame is None else frame
        return req.frame == want and all(getattr(req.overlays, k) == v for k, v in overlays.items()) \
            and req.result is window.state.result
    qtbot.waitUntil(ready, timeout=timeout)
    return window.view_grid.last_images
