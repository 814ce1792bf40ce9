"""The units of work of a session: detecting one trial, fitting one trial. Each runs in whatever
process an executor (:mod:`core.session.executors`) gives it, takes a small picklable job and
returns a :class:`Outcome`; what it makes is written under the session's output folder (on
storage every worker sees), atomically, so that a finished unit is never redone.

A unit never raises for a problem of its trial (bad input, a fit that fails): the outcome says
``failed`` with the one-line reason, and the session goes on with the other trials.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import CancelledError, InputError
from core.fit.config import FitConfig
from core.fit.sequence import fit_sequence, inputs_from_sequence
from core.io.results import RESULT_FILE, SUMMARY_FILE
from core.io.sequence import MultiViewSequence
from core.nets.checkpoint import load_model

log = logging.getLogger(__name__)

# The key of summary.json that says which session fit made a result (what resuming compares).
STAMP_KEY = "session"


@dataclass(frozen=True)
class Outcome:
    """What one unit of work did: ``status`` done | skipped (already done) | failed; ``error``:
    the one-line reason of a failure; ``figures``: JSON-ready numbers for session.json."""

    trial: str
    stage: str
    status: str
    error: str | None = None
    figures: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class DetectJob:
    """Detect (or read the given or cached) keypoints of one trial; ``cache_dir``: the detection
    cache that keeps them (None: the user's, :mod:`core.detect.cache`)."""

    trial: str
    path: Path
    cache_dir: Path | None
    default_yaml: Path | None = None
    model_complexity: int = 1


@dataclass(frozen=True)
class FitJob:
    """Fit one trial into ``out``: with ``calibration`` (the session's rig, held fixed) or alone
    (``calibration`` None: the trial's own rig). ``stamp`` goes into summary.json; a result whose
    stamp matches is not fitted again. ``checkpoint``: the network of a network mode."""

    trial: str
    stage: str
    path: Path
    out: Path
    cache_dir: Path | None
    config: FitConfig
    mode: str
    stamp: dict
    checkpoint: Path | None = None
    calibration: Path | None = None
    default_yaml: Path | None = None
    model_complexity: int = 1


def _failure(trial: str, stage: str, exc: BaseException, start: float) -> Outcome:
    if isinstance(exc, InputError):
        message = str(exc)
    else:  # a bug or an unexpected failure: the message, and the traceback in the log
        message = f"{type(exc).__name__}: {exc}"
        log.debug("%s %s failed:\n%s", trial, stage, "".join(traceback.format_exception(exc)))
    return Outcome(trial, stage, "failed", message, seconds=time.perf_counter() - start)


def detect_trial(job: DetectJob, should_cancel: Callable[[], bool] | None = None) -> Outcome:
    """The detection unit: the trial's keypoints, cached in the detection cache (by content, so that
    the fit unit, a rerun, ``cmanet fit`` of the trial and the app all find them)."""
    start = time.perf_counter()
    try:
        with MultiViewSequence.open(job.path, default_yaml=job.default_yaml) as seq:
            inputs = inputs_from_sequence(seq, job.cache_dir, job.model_complexity, should_cancel=should_cancel,
                                          show_progress_bar=False)
        figures = {"frames": int(inputs.keypoints2d.shape[0]), "views": list(inputs.view_names),
                   "detect_s": round(float(inputs.timings.get("detect_s", 0.0)), 2)}
        return Outcome(job.trial, "detect", "done", figures=figures, seconds=time.perf_counter() - start)
    except CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - one trial's failure is reported, the session goes on
        return _failure(job.trial, "detect", exc, start)


def fitted_stamp(out: Path) -> dict | None:
    """The session stamp of the result in ``out`` (None: no complete result there)."""
    try:
        if not (out / RESULT_FILE).is_file():
            return None
        return json.loads((out / SUMMARY_FILE).read_text()).get(STAMP_KEY)
    except (OSError, ValueError):
        return None


def fit_figures(summary: dict) -> dict:
    """The figures of a fit that session.json reports."""
    return {k: summary.get(k) for k in ("frames", "mode", "irv_reproj_px_mean", "iev_reproj_px_mean", "focal_px",
                                        "chosen") if k in summary}


def fit_trial(job: FitJob, should_cancel: Callable[[], bool] | None = None) -> Outcome:
    """The fitting unit: ``out/result.npz`` and ``out/summary.json`` of one trial (skipped when a
    result with the same stamp is there)."""
    start = time.perf_counter()
    try:
        if fitted_stamp(job.out) == job.stamp:
            summary = json.loads((job.out / SUMMARY_FILE).read_text())
            return Outcome(job.trial, job.stage, "skipped", figures=fit_figures(summary))
        model = load_model(job.checkpoint, job.config.device) if job.checkpoint is not None else None
        _, summary = fit_sequence(job.path, job.out, job.config, job.mode, model, job.model_complexity,
                                  should_cancel=should_cancel, calibration=job.calibration, cache_dir=job.cache_dir,
                                  default_yaml=job.default_yaml, summary_extra={STAMP_KEY: job.stamp})
        return Outcome(job.trial, job.stage, "done", figures=fit_figures(summary), seconds=time.perf_counter() - start)
    except CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - one trial's failure is reported, the session goes on
        return _failure(job.trial, job.stage, exc, start)
