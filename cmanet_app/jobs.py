"""The work behind the app's actions, as plain functions for :class:`cmanet_app.tasks.TaskRunner`.

Each one calls the same :mod:`core` functions, in the same order, as the matching ``cmanet``
command, and reports through ``progress(stage, done, total)`` / ``should_cancel()``. Nothing here
touches Qt widgets: these run in worker threads.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cmanet_app.state import SequenceInfo
from core.errors import InputError
from core.fit.config import FitConfig, load_fit_config
from core.io import MultiViewSequence
from core.io.results import RESULT_FILE, FitResult

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
    out = Path(result_dir).expanduser().resolve()
    root = Path(seq_root).resolve()
    if out == root or root in out.parents:
        raise InputError("the result folder must be outside the input sequence (inputs are never modified)", out)
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
        keypoints = np.asarray(result.keypoints2d) if result is not None else cached_keypoints(seq)
    return OpenedSequence(info, out, result, keypoints, stale)


def fit_config(path: str | Path | None = None, **overrides) -> FitConfig:
    """The fit config file (default: the shipped one) with the GUI's choices applied; a bad value
    is an InputError, as on the command line."""
    config = load_fit_config(path or None)
    try:
        config = dataclasses.replace(config, **overrides)
        config.validate()
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return config


def detect(seq_root: Path, out: Path, progress, should_cancel) -> np.ndarray:
    """``cmanet detect``: every person given, cached or detected (cached per sequence in the user
    cache, never in ``out``); returns the main person's (F, V, 17, 3) keypoints."""
    from core.people import sequence_scene

    check_result_dir(out, seq_root)
    with MultiViewSequence.open(seq_root) as seq:
        return sequence_scene(
            seq, progress=lambda d, t: progress("detect", d, t), should_cancel=should_cancel,
            show_progress_bar=False,
        ).keypoints_of(0)


def default_model() -> Path | None:
    """The shipped network (resources/models/cmanet_default.pt) when it is installed."""
    try:
        from core.nets.checkpoint import DEFAULT_MODEL
    except ImportError:
        return None
    return DEFAULT_MODEL if DEFAULT_MODEL.is_file() else None


def resolve_mode(mode: str | None, checkpoint: str | Path | None) -> tuple[str, Path | None]:
    """``cmanet fit``'s rule: the given checkpoint, else the shipped model; the mode defaults to
    network+refine when there is a model, else optimize. InputError when a network mode has none."""
    model = Path(checkpoint).expanduser() if checkpoint else default_model()
    mode = mode or ("network+refine" if model is not None else "optimize")
    if mode != "optimize":
        if model is None:
            raise InputError(f"mode {mode} needs a network: choose a model checkpoint (no default model is installed)")
        if not model.is_file():
            raise InputError("no such checkpoint file", model)
    return mode, (model if mode != "optimize" else None)


def fit(seq_root: Path, out: Path, config: FitConfig, progress, should_cancel, mode: str | None = "optimize",
        checkpoint: str | Path | None = None) -> FitResult:
    """``cmanet fit SEQ --out OUT [--mode M --checkpoint C]``: keypoints, IRV, IEV, then
    ``result.npz`` and ``summary.json`` (core.fit.sequence.fit_sequence, as the command line)."""
    from core.fit.sequence import fit_sequence

    mode, model_path = resolve_mode(mode, checkpoint)  # a bad checkpoint is reported before any work
    out = check_result_dir(out, seq_root)
    model = None
    if model_path is not None:
        from core.nets.checkpoint import load_model

        model = load_model(model_path, config.device)
    result, _summary = fit_sequence(seq_root, out, config, mode=mode, model=model, progress=progress,
                                    should_cancel=should_cancel)
    return result


def evaluate(result: FitResult, gt_path: Path) -> tuple[dict, str]:
    """``cmanet eval``: the paper's metrics, IRV and IEV side by side, and their text table."""
    from core.eval import evaluate as core_evaluate
    from core.eval import format_table, load_ground_truth

    report = core_evaluate(result, load_ground_truth(gt_path), gt_path)
    return report, format_table(report)
