"""The work behind the app's actions, as plain functions for :class:`cmanet_app.tasks.TaskRunner`.

Each one calls the same :mod:`core` functions, in the same order, as the matching ``cmanet``
command, and reports through ``progress(stage, done, total)`` / ``should_cancel()``. Nothing here
touches Qt widgets: these run in worker threads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cmanet_app.state import SequenceInfo
from core.errors import InputError
from core.fit.capture import image_keypoints
from core.fit.config import FitConfig
from core.fit.modes import resolve_mode
from core.io import MultiViewSequence
from core.io.folders import check_outside_inputs, prepare_output_folder
from core.io.results import RESULT_FILE, FitResult
from core.nets.checkpoint import installed_model

log = logging.getLogger(__name__)


@dataclass
class OpenedSequence:
    """What opening a sequence found: its description, a matching earlier result (if any) and the
    2D keypoints known without running the detector (given with the sequence, or cached)."""

    info: SequenceInfo
    result_dir: Path
    result: FitResult | None
    keypoints: np.ndarray | None
    stale_result: str = ""  # why an existing result.npz was not used


def result_matches(result: FitResult, info: SequenceInfo) -> str:
    """"" when ``result`` was fitted on this sequence, else the reason it was not."""
    if [str(v) for v in result.view_names] != list(info.view_names):
        return f"its views ({', '.join(map(str, result.view_names))}) are not the sequence's"
    if not np.array_equal(np.asarray(result.frame_indices), info.frame_indices):
        return f"it has {result.num_frames} frames, the sequence {info.num_frames}"
    return ""


def check_result_dir(result_dir: Path, seq_root: Path) -> Path:
    """The result folder must lie outside the input (inputs are never written), like ``cmanet fit``."""
    out = check_outside_inputs(result_dir, seq_root)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    return out


def cached_keypoints(seq: MultiViewSequence, cache_dir: Path, model_complexity: int = 1) -> np.ndarray | None:
    """Given or cached detections, without running the detector (None when there are none yet)."""
    from core.detect import cached_detections

    try:
        return cached_detections(seq, cache_dir, model_complexity)
    except Exception as exc:  # noqa: BLE001 - a cache that cannot be read is just a miss
        log.debug("no cached detections: %s", exc)
        return None


def open_sequence(path: Path, result_dir: Path | None, progress=None, should_cancel=None) -> OpenedSequence:
    """Open ``path`` (InputError when unusable), and find its earlier result and keypoints."""
    from cmanet_app.paths import default_result_dir

    with MultiViewSequence.open(path) as seq:
        info = SequenceInfo.from_sequence(seq)
        out = check_result_dir(result_dir or default_result_dir(seq.root), seq.root)
        result, stale = None, ""
        if (out / RESULT_FILE).is_file():
            try:
                result = FitResult.load(out)
                stale = result_matches(result, info)
            except InputError as exc:
                stale = str(exc)
            if stale:
                log.warning("%s: not using the result in %s: %s", seq.root, out, stale)
                result = None
        keypoints = image_keypoints(result) if result is not None else cached_keypoints(seq, out)
    return OpenedSequence(info, out, result, keypoints, stale)


def detect(seq_root: Path, out: Path, progress, should_cancel) -> np.ndarray:
    """``cmanet detect``: given, cached or detected keypoints, cached in ``out``."""
    from core.detect.sequence import detect_sequence

    out = prepare_output_folder(check_result_dir(out, seq_root))
    with MultiViewSequence.open(seq_root) as seq:
        return detect_sequence(
            seq, out, progress=lambda d, t: progress("detect", d, t), should_cancel=should_cancel,
            show_progress_bar=False,
        )


def fit(seq_root: Path, out: Path, config: FitConfig, progress, should_cancel, mode: str | None = "optimize",
        checkpoint: str | Path | None = None, time_offsets: dict[str, float] | None = None, **imports) -> FitResult:
    """``cmanet fit SEQ --out OUT [--mode M --checkpoint C --keypoints K --keypoint-format L
    --calibration C]``: keypoints, IRV, IEV, then ``result.npz`` and ``summary.json``
    (core.fit.sequence.fit_sequence, as the command line; ``imports``: its keypoints,
    keypoint_format and calibration arguments). time_offsets: view name -> offset set in the app
    (kept, like sequence.yaml's)."""
    from core.fit.sequence import fit_sequence

    mode, model_path = resolve_mode(mode, checkpoint, installed_model())  # a bad checkpoint is reported before any work
    out = check_result_dir(out, seq_root)
    model = None
    if model_path is not None:
        from core.nets.checkpoint import load_model

        model = load_model(model_path, config.device, config.body_model)
    result, _summary = fit_sequence(seq_root, out, config, mode=mode, model=model, progress=progress,
                                    should_cancel=should_cancel, time_offsets=time_offsets, **imports)
    return result


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
