"""The work behind the app's actions, as plain functions for :class:`cmanet_app.tasks.TaskRunner`.

Each one calls the same :mod:`core` functions, in the same order, as the matching ``cmanet``
command, and reports to and is cancelled through a :class:`core.progress.Progress`. Nothing here
touches Qt widgets: these run in worker threads.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cmanet_app.state import SequenceInfo
from core.errors import InputError
from core.fit.capture import image_keypoints
from core.fit.config import FitConfig
from core.fit.modes import resolve_mode
from core.io import MultiViewSequence
from core.io.folders import check_outside_inputs
from core.io.results import FitResult
from core.io.runs import Run, list_runs, new_run_folder, read_run, write_run_settings
from core.io.sequence_checks import doubts, logged_warnings
from core.nets.checkpoint import installed_model
from core.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class OpenedSequence:
    """What opening a sequence found: its description, its runs (every earlier fit of it) and the
    one shown, the 2D keypoints known without running the detector (given with the sequence, or
    cached), and what a person should hear about it."""

    info: SequenceInfo
    area: Path  # where its runs are kept and new ones go
    runs: list[Run]
    run: Run | None
    result: FitResult | None
    keypoints: np.ndarray | None
    notes: list[str] = field(default_factory=list)  # runs found but not usable, and why
    warnings: list[str] = field(default_factory=list)  # what opening it said (the command line prints these)
    doubts: list[str] = field(default_factory=list)  # why it may not be the recording the person meant

    @property
    def result_dir(self) -> Path:
        """The shown run's folder, else the area."""
        return self.run.folder if self.run is not None else self.area


def result_matches(result: FitResult, info: SequenceInfo) -> str:
    """"" when ``result`` was fitted on this sequence, else the reason it was not."""
    if [str(v) for v in result.view_names] != list(info.view_names):
        return f"its views ({', '.join(map(str, result.view_names))}) are not the sequence's"
    if not np.array_equal(np.asarray(result.frame_indices), info.frame_indices):
        return f"it has {result.num_frames} frames, the sequence {info.num_frames}"
    return ""


def summary_matches(run: Run, info: SequenceInfo) -> str:
    """"" when ``run``'s summary says it was fitted on this sequence's views and frame count
    (the quick check of every run; the shown one is checked in full by :func:`load_run`)."""
    views, frames = run.summary.get("view_names"), run.summary.get("frames")
    if views is not None and [str(v) for v in views] != list(info.view_names):
        return f"its views ({', '.join(map(str, views))}) are not the sequence's"
    if frames is not None and int(frames) != info.num_frames:
        return f"it has {frames} frames, the sequence {info.num_frames}"
    return ""


def load_run(run: Run, info: SequenceInfo) -> FitResult:
    """``run``'s result; InputError when it is unreadable or not a fit of this sequence."""
    result = FitResult.load(run.folder)
    stale = result_matches(result, info)
    if stale:
        raise InputError(f"not a fit of this sequence: {stale}", run.folder)
    return result


def check_result_dir(result_dir: Path, seq_root: Path) -> Path:
    """The result folder must lie outside the input (inputs are never written), like ``cmanet fit``."""
    out = check_outside_inputs(result_dir, seq_root)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    return out


def cached_keypoints(seq: MultiViewSequence, model_complexity: int = 1) -> np.ndarray | None:
    """The main person's given or cached detections (the per-sequence detection cache in the user
    cache), without running the detector (None when there are none yet)."""
    from core.people import cached_scene

    try:
        scene = cached_scene(seq, model_complexity)
        return None if scene is None else scene.keypoints_of(0)
    except Exception as exc:  # noqa: BLE001 - a cache that cannot be read is just a miss
        log.debug("no cached detections: %s", exc)
        return None


def open_sequence(path: Path, area: Path | None, extra: list[Path] | tuple = (), shown: str = "") -> OpenedSequence:
    """Open ``path`` (InputError when unusable) as ``cmanet`` does, and find its runs (in the
    result ``area`` and the ``extra`` folders), the run to show (the folder ``shown``, else the
    newest) and its keypoints; collect what opening said and any doubts about the folder."""
    from cmanet_app.paths import default_result_dir

    with logged_warnings() as warnings, MultiViewSequence.open(path) as seq:
        info = SequenceInfo.from_sequence(seq)
        found_doubts = doubts(seq)
        out = check_result_dir(area or default_result_dir(seq.root), seq.root)
        runs, notes = [], []
        for run in list_runs(out, [p for p in extra if Path(p).is_dir()]):
            stale = summary_matches(run, info)
            if stale:
                notes.append(f"{run.folder}: not a fit of this sequence ({stale})")
            else:
                runs.append(run)
        order = sorted(runs, key=lambda r: (str(r.folder) == shown, r.created), reverse=True)
        run, result = None, None
        for candidate in order:
            try:
                run, result = candidate, load_run(candidate, info)
                break
            except InputError as exc:
                notes.append(str(exc))
                runs.remove(candidate)
                run = None
        for note in notes:
            log.warning("%s", note)
        keypoints = image_keypoints(result) if result is not None else cached_keypoints(seq)
    return OpenedSequence(info, out, runs, run, result, keypoints, notes, list(warnings), found_doubts)


def detected_image(i: int, v: int, people) -> tuple[int, int, np.ndarray]:
    """What the views show of an image just detected: frame ``i``, view ``v`` and the (17, 3)
    keypoints of its strongest person (zeros: nobody), before the people are told apart."""
    keypoints = people.keypoints[0] if len(people) else np.zeros((17, 3), np.float32)
    return i, v, np.asarray(keypoints, np.float32)


def detect(seq_root: Path, out: Path, progress: Progress) -> np.ndarray:
    """``cmanet detect``: every person given, cached or detected (cached per sequence in the user
    cache, never in ``out``); returns the main person's (F, V, 17, 3) keypoints. Each image's
    strongest person is reported (``progress.found``) as soon as it is detected."""
    from core.people import sequence_scene

    check_result_dir(out, seq_root)
    with MultiViewSequence.open(seq_root) as seq:
        return sequence_scene(
            seq, progress=progress.stage("detect"), should_cancel=progress.cancelled,
            show_progress_bar=False, on_image=lambda i, v, people: progress.found(detected_image(i, v, people)),
        ).keypoints_of(0)


def fit(seq_root: Path, out: Path, config: FitConfig, progress: Progress, mode: str | None = "optimize",
        checkpoint: str | Path | None = None, time_offsets: dict[str, float] | None = None,
        adapt_budget_s: float | None = None, **imports) -> FitResult:
    """``cmanet fit SEQ --out OUT [--mode M --checkpoint C --keypoints K --keypoint-format L
    --calibration C --people N --adapt --adapt-budget S]``: keypoints, IRV, IEV, then
    ``result.npz`` and ``summary.json`` (core.fit.sequence.fit_sequence, as the command line;
    ``imports``: its keypoints, keypoint_format, calibration and people arguments). time_offsets:
    view name -> offset set in the app (kept, like sequence.yaml's). ``adapt_budget_s``: first
    adapt the network to the footage within that many seconds (core.train.adapt.fit_adapted, as
    ``--adapt``; a network mode only)."""
    from core.fit.sequence import fit_sequence

    mode, model_path = resolve_mode(mode, checkpoint, installed_model())  # a bad checkpoint is reported before any work
    out = check_result_dir(out, seq_root)
    if adapt_budget_s is not None:
        from core.train.adapt import fit_adapted

        result, _summary = fit_adapted(seq_root, out, config, mode, model_path, adapt_budget_s, progress=progress,
                                       should_cancel=progress.cancelled, time_offsets=time_offsets, **imports)
        return result
    model = None
    if model_path is not None:
        from core.nets.checkpoint import load_model

        model = load_model(model_path, config.device, config.body_model)
    result, _summary = fit_sequence(seq_root, out, config, mode=mode, model=model, progress=progress,
                                    time_offsets=time_offsets, **imports)
    return result


def fit_run(seq_root: Path, area: Path, config: FitConfig, progress: Progress, mode: str | None = None,
            checkpoint: str | Path | None = None, options: dict | None = None,
            time_offsets: dict[str, float] | None = None, adapt_budget_s: float | None = None,
            **imports) -> tuple[Run, FitResult]:
    """A new run of ``seq_root`` in the result ``area``: :func:`fit` into ``area/runs/<time>-<mode>/``,
    then ``run.json`` with the mode, the model, the ``options`` shown to the person and the time
    (an adapted fit's network is kept in its folder; its summary says how it was adapted)."""
    mode, model_path = resolve_mode(mode, checkpoint, installed_model())
    folder = new_run_folder(check_result_dir(area, seq_root), mode)
    started = time.time()
    result = fit(seq_root, folder, config, progress, mode, model_path, time_offsets, adapt_budget_s, **imports)
    write_run_settings(folder, {
        "mode": mode, "model": str(model_path or ""), "options": options or {},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
    })
    run = read_run(folder)
    assert run is not None  # the fit has just written its result
    return run, result


def adaptation_text(summary: dict) -> str:
    """How a run's network was adapted to the footage (its summary's ``adaptation``), in plain
    words; "" when it was not."""
    adapted = summary.get("adaptation")
    if not isinstance(adapted, dict):
        return ""
    kept = f" It is kept with the run ({adapted.get('kept', '')})." if adapted.get("kept") else ""
    if adapted.get("reused"):
        return (f"Reused the network adapted to this footage by an earlier fit ({adapted.get('steps', 0)} steps of "
                f"learning, budget {adapted.get('budget_s', 0):.0f} s): no learning this time.{kept}")
    return (f"The network learnt from this footage for {adapted.get('seconds', 0):.0f} s "
            f"({adapted.get('steps', 0)} steps, budget {adapted.get('budget_s', 0):.0f} s) before fitting.{kept} "
            "Later fits of this recording reuse it.")


def imported_keypoints(seq_root: Path, path: Path, keypoint_format: str | None = None):
    """The (F, V, 17, 3) keypoints ``cmanet fit --keypoints PATH`` would fit, on the sequence's
    frames (File > Import keypoints shows them before fitting)."""
    from core.io.keypoint_import import read_keypoints

    with MultiViewSequence.open(seq_root, imported=read_keypoints(path, keypoint_format).for_views) as seq:
        return np.array(seq.given_keypoints)


def evaluate(result: FitResult, gt_path: Path) -> tuple[dict, str]:
    """``cmanet eval``: the paper's metrics, IRV and IEV side by side, and their text table."""
    from core.eval import evaluate as core_evaluate
    from core.eval import format_table, load_ground_truth

    report = core_evaluate(result, load_ground_truth(gt_path), gt_path)
    return report, format_table(report)
