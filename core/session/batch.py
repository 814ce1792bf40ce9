"""``cmanet batch SESSION --out DIR``: every trial of a session fitted with one rig.

1. **detect** every trial (cached in the detection cache, :mod:`core.detect.cache`: the user's
   unless ``BatchOptions.cache_dir`` names another, e.g. on storage every Ray node sees);
2. without a calibration: fit every trial **alone** (``DIR/<trial>/alone/``: its own rig) and
   estimate the session's **rig** from them (:mod:`core.session.rig`); with one (the session's
   ``calibration/`` or ``--calibration``) that is the rig;
3. **fit** every trial with the rig held (``DIR/<trial>/result.npz``, ``summary.json``);
4. ``DIR/calibration.toml`` (the rig, Pose2Sim's layout) and ``DIR/session.json`` (every trial's
   status and figures, how the rig was found), rewritten as units finish.

Units of work run on an executor (:mod:`core.session.executors`): here, in processes, or on Ray.
A trial's next unit starts as soon as its previous one is done. Resuming: a result whose summary
carries the same stamp (fit mode, config, rig) is not fitted again; a trial that fails is
reported and the others go on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.config import to_dict
from core.errors import CancelledError, InputError
from core.fit.config import FitConfig
from core.fit.sequence import inputs_from_sequence
from core.io.atomic import atomic_write_json, atomic_write_text
from core.io.calibration import pinhole_calibration, read_calibration, toml_text
from core.io.folders import check_outside_inputs
from core.io.results import RESULT_FILE, FitResult
from core.io.sequence import MultiViewSequence
from core.session.config import SessionConfig, load_session_config
from core.session.layout import Session, Trial, open_session
from core.session.rig import estimate_session_rig, proposal_from_result
from core.session.work import DetectJob, FitJob, Outcome, detect_trial, fit_trial

log = logging.getLogger(__name__)

SESSION_JSON = "session.json"
SESSION_CALIBRATION = "calibration.toml"
ALONE_DIR = "alone"
FORMAT_VERSION = 1

# progress(stage, done, total): stage is "detect", "alone", "rig" or "fit".
BatchProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BatchOptions:
    """How a session is fitted: the fit config and mode (and its network), the session config,
    a calibration (``calibration``, else the session's own unless ``use_session_calibration`` is
    off), ``redo``: fit every trial again even where a matching result exists, and ``cache_dir``:
    the detection cache (None: the user's, as ``cmanet fit`` and the app use)."""

    config: FitConfig
    mode: str
    checkpoint: Path | None = None
    session_config: SessionConfig = field(default_factory=load_session_config)
    calibration: Path | None = None
    use_session_calibration: bool = True
    model_complexity: int = 1
    redo: bool = False
    cache_dir: Path | None = None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rig_held_config(config: FitConfig) -> FitConfig:
    """The fit config of a trial fitted with the session's rig held: no standing-height prior,
    since the cameras fix the scale and the trials' people differ in height (measured on a
    synthetic session, a person 0.75x the start trial's: PA-MPJPE 21.1 mm with the prior pulling
    it to ordinary height, 12.8 mm without)."""
    return dataclasses.replace(config, height=dataclasses.replace(config.height, weight=0.0))


def trial_folder(out: Path, trial: Trial) -> Path:
    """Where a trial's result goes: ``out/<trial name>``."""
    return out / trial.name


class _Run:
    """One run of a session: the jobs, their outcomes, and session.json."""

    def __init__(self, session: Session, out: Path, options: BatchOptions, executor, progress, should_cancel):
        self.session, self.out, self.options, self.executor = session, out, options, executor
        self.progress, self.should_cancel = progress, should_cancel
        self.outcomes: dict[str, dict[str, Outcome]] = {t.name: {} for t in session.trials}
        self.jobs: dict[int, DetectJob | FitJob] = {}
        self.rig: dict = {}
        self.timings: dict[str, float] = {}
        self.config_sha = _sha(json.dumps(to_dict(options.config), sort_keys=True, default=str))
        self.counts: dict[str, list[int]] = {}
        self.finished = False

    # ------------------------------------------------------------------ jobs

    def _submit(self, unit, job) -> None:
        self.jobs[self.executor.submit(unit, job)] = job
        stage = job.stage if isinstance(job, FitJob) else "detect"
        self.counts.setdefault(stage, [0, 0])[1] += 1

    def detect(self, trial: Trial) -> None:
        self._submit(detect_trial, DetectJob(trial.name, trial.path, self.options.cache_dir,
                                             self.session.sequence_yaml, self.options.model_complexity))

    def fit(self, trial: Trial, stage: str, calibration: Path | None, rig_sha: str | None) -> None:
        folder = trial_folder(self.out, trial)
        stamp = {"stage": stage, "mode": self.options.mode, "config": self.config_sha}
        if rig_sha is not None:
            stamp["rig"] = rig_sha
        if self.options.redo:
            stamp["run"] = _sha(f"{time.time_ns()}")  # no earlier result matches
        config = self.options.config if calibration is None else rig_held_config(self.options.config)
        self._submit(fit_trial, FitJob(
            trial.name, stage, trial.path, folder / ALONE_DIR if stage == "alone" else folder, self.options.cache_dir,
            config, self.options.mode, stamp, self.options.checkpoint, calibration,
            self.session.sequence_yaml, self.options.model_complexity))

    def drain(self, on_done: Callable[[Outcome], None]) -> None:
        """Wait for every submitted unit, recording its outcome; ``on_done`` may submit more."""
        while self.executor.pending:
            if self.should_cancel is not None and self.should_cancel():
                raise CancelledError("the session was cancelled; finished trials are kept")
            ticket, value = self.executor.next_done()
            job = self.jobs.pop(ticket)
            stage = job.stage if isinstance(job, FitJob) else "detect"
            if isinstance(value, CancelledError):
                raise value
            if isinstance(value, BaseException):  # the worker itself failed (killed, out of memory)
                value = Outcome(job.trial, stage, "failed", f"{type(value).__name__}: {value}")
            self.outcomes[job.trial][stage] = value
            self.counts[stage][0] += 1
            if value.ok:
                log.info("%s: %s %s (%.1f s)", job.trial, stage, value.status, value.seconds)
            else:
                log.warning("%s: %s failed: %s", job.trial, stage, value.error)
            if self.progress is not None:
                self.progress(stage, *self.counts[stage])
            self.write_summary()
            on_done(value)

    def detections(self, trial: Trial) -> np.ndarray:
        """(F, V, 17, 3) the trial's detections as detected (cached by its detection unit)."""
        with MultiViewSequence.open(trial.path, default_yaml=self.session.sequence_yaml) as seq:
            return inputs_from_sequence(seq, self.options.cache_dir, self.options.model_complexity,
                                        show_progress_bar=False).keypoints2d

    def ok(self, trial: str, stage: str) -> bool:
        outcome = self.outcomes[trial].get(stage)
        return outcome is not None and outcome.ok

    # ------------------------------------------------------------------ session.json

    def trial_summary(self, trial: Trial) -> dict:
        outcomes = self.outcomes[trial.name]
        failed = next((o for o in outcomes.values() if not o.ok), None)
        entry: dict = {"path": str(trial.path)}
        if "fit" in outcomes and outcomes["fit"].ok:
            entry.update(status="done", result=f"{trial.name}/{RESULT_FILE}")
        elif failed is not None and (failed.stage != "alone" or "fit" in outcomes or self.finished):
            # A failure alone is the trial's reason once the session ends without fitting it with a rig.
            entry.update(status="failed", stage=failed.stage, error=failed.error)
        elif self.finished:  # never fitted: no rig to fit it with
            entry.update(status="failed", stage="rig", error=self.rig.get("error", "no rig to fit it with"))
        else:
            entry["status"] = "pending"
        for stage, outcome in outcomes.items():
            entry[stage] = {"status": outcome.status, **({"error": outcome.error} if outcome.error else {}),
                            **outcome.figures, "seconds": round(outcome.seconds, 2)}
        return entry

    def write_summary(self) -> dict:
        summary = {
            "format_version": FORMAT_VERSION,
            "session": str(self.session.root),
            "out": str(self.out),
            "mode": self.options.mode,
            "executor": getattr(self.executor, "description", "serial"),
            "trials": {t.name: self.trial_summary(t) for t in self.session.trials},
            "rig": self.rig,
            "timings_s": {k: round(v, 2) for k, v in self.timings.items()},
        }
        atomic_write_json(self.out / SESSION_JSON, summary)
        return summary


def _known_rig(run: _Run, calibration: Path) -> str:
    """The session's calibration written as ``calibration.toml``; its stamp."""
    rig = read_calibration(calibration)
    text = toml_text(rig, comment=f"The calibration shared by the session's trials, from {calibration}.")
    _write_if_changed(run.out / SESSION_CALIBRATION, text)
    run.rig = {"source": "calibration", "calibration": str(calibration), "file": SESSION_CALIBRATION}
    return _sha(text)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        atomic_write_text(path, text)


def _estimated_rig(run: _Run) -> str | None:
    """The rig estimated from the trials fitted alone, written as ``calibration.toml``; its
    stamp (None when no trial could be fitted alone)."""
    proposals, view_names, sizes = [], None, None
    for trial in run.session.trials:
        if not run.ok(trial.name, "alone"):
            continue
        result = FitResult.load(trial_folder(run.out, trial) / ALONE_DIR / RESULT_FILE)
        if view_names is None:
            view_names = [str(v) for v in result.view_names]
            sizes = np.asarray(result.image_sizes)
        try:
            proposals.append(proposal_from_result(trial.name, result, view_names, run.detections(trial)))
        except InputError as exc:
            run.outcomes[trial.name]["alone"] = Outcome(trial.name, "alone", "failed", str(exc))
    if not proposals:
        run.rig = {"source": "estimated", "error": "no trial could be fitted alone: no rig to start from"}
        return None
    start = time.perf_counter()
    estimate = estimate_session_rig(proposals, sizes, run.options.session_config.rig)
    run.timings["rig"] = time.perf_counter() - start
    explained = estimate.report["trials"]
    comment = (f"CMANet Studio: the rig shared by the session's trials, recovered from the people's motion (no "
               f"calibration board): started from {estimate.start}'s own fit, refined on {', '.join(estimate.joined)}.\n"
               "World: Z up, metres, floor at z = 0 (the start trial's). Pinhole cameras; error = mean distance in "
               "pixels of the detections from the points the rig triangulates.")
    error = float(np.mean([explained[p.name]["session_rig_explains_px"] for p in proposals]))
    rig = estimate.rig
    calibration = pinhole_calibration(view_names, sizes, rig.rotation, rig.translation, rig.focal, rig.principal)
    text = toml_text(calibration, error, comment)
    _write_if_changed(run.out / SESSION_CALIBRATION, text)
    run.rig = {"source": "estimated", "file": SESSION_CALIBRATION, **estimate.report}
    return _sha(text)


def run_batch(session_root: str | Path, out: str | Path, options: BatchOptions, executor,
              progress: BatchProgress | None = None, should_cancel: Callable[[], bool] | None = None) -> dict:
    """Fit every trial of the session at ``session_root`` with one rig into ``out`` (see the
    module doc); returns session.json's content. InputError for a bad session or output folder;
    a trial's own failure is reported in the result, not raised."""
    session = open_session(session_root)
    out = check_outside_inputs(out, session.root, "the output folder", "the session")
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    calibration = options.calibration or (session.calibration if options.use_session_calibration else None)
    if calibration is not None:
        calibration = Path(calibration).resolve()
        read_calibration(calibration)  # a bad file is bad input, reported before any work
    out.mkdir(parents=True, exist_ok=True)
    run = _Run(session, out, options, executor, progress, should_cancel)
    started = time.perf_counter()
    rig_file = out / SESSION_CALIBRATION
    rig_sha = _known_rig(run, calibration) if calibration is not None else None
    by_name = {t.name: t for t in session.trials}

    def next_unit(outcome: Outcome) -> None:
        if not outcome.ok or outcome.stage == "fit":
            return
        trial = by_name[outcome.trial]
        if outcome.stage == "detect":
            if rig_sha is not None:
                run.fit(trial, "fit", rig_file, rig_sha)
            else:
                run.fit(trial, "alone", None, None)

    try:
        for trial in session.trials:
            run.detect(trial)
        run.drain(next_unit)
        if rig_sha is None:
            if progress is not None:
                progress("rig", 0, 1)
            rig_sha = _estimated_rig(run)
            if progress is not None:
                progress("rig", 1, 1)
            run.write_summary()
            if rig_sha is not None:
                for trial in session.trials:
                    if run.ok(trial.name, "detect"):
                        run.fit(trial, "fit", rig_file, rig_sha)
                run.drain(next_unit)
    finally:
        executor.close()
    run.finished = True
    run.timings["total"] = time.perf_counter() - started
    for stage in ("detect", "alone", "fit"):
        run.timings[f"{stage}_units"] = sum(o[stage].seconds for o in run.outcomes.values() if stage in o)
    return run.write_summary()


def failed_trials(summary: dict) -> dict[str, str]:
    """Trial name -> "stage: error" of every trial a session run did not fit."""
    return {name: f"{t.get('stage', '?')}: {t.get('error', 'not fitted')}" for name, t in summary["trials"].items()
            if t["status"] != "done"}



@dataclass(frozen=True)
class TrialStatus:
    """One trial of a session as a viewer lists it: ``status`` done | failed | pending | not fitted;
    ``figures``: frames, reprojection errors alone and with the session's rig, how well the rig
    explains it; ``result_dir``: where its result is (or goes)."""

    name: str
    path: Path
    result_dir: Path
    status: str
    error: str | None = None
    figures: dict = field(default_factory=dict)


def read_session_summary(out: str | Path) -> dict | None:
    """``out/session.json`` (None when there is none or it cannot be read)."""
    try:
        return json.loads((Path(out) / SESSION_JSON).read_text())
    except (OSError, ValueError):
        return None


def session_status(session_root: str | Path, out: str | Path) -> tuple[Session, list[TrialStatus], dict]:
    """The session's trials with what a run into ``out`` made of them (``not fitted`` where
    nothing), and the rig's part of session.json ({} before any run)."""
    session = open_session(session_root)
    summary = read_session_summary(out) or {"trials": {}, "rig": {}}
    rig_trials = summary.get("rig", {}).get("trials", {})
    rows = []
    for trial in session.trials:
        entry = summary["trials"].get(trial.name, {})
        figures = {"frames": entry.get("detect", {}).get("frames"),
                   "alone_px": entry.get("alone", {}).get("iev_reproj_px_mean"),
                   "session_px": entry.get("fit", {}).get("iev_reproj_px_mean"),
                   "rig_px": rig_trials.get(trial.name, {}).get("session_rig_explains_px"),
                   "joined": rig_trials.get(trial.name, {}).get("joined")}
        rows.append(TrialStatus(trial.name, trial.path, trial_folder(Path(out), trial), entry.get("status", "not fitted"),
                                entry.get("error"), figures))
    return session, rows, summary.get("rig", {})
