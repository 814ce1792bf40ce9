"""Adaptation at fit time (``cmanet fit --adapt``; the app's "Adapt to this footage" checkbox).

The two-stage self-supervised learning (core.train.trainer) run on the sequence being fitted:
its detections and the optimizer's pseudo-labels only, no ground truth, starting from the network
the fit would use, within a time budget. The fit then runs with the adapted network.

The adapted network is kept with the result (``RES/adapted_model.pt``) and in the user cache
under a key of what it was learnt from: the sequence's detections and intrinsics, the base
network file and the adaptation config. A later fit of the same sequence with the same base
network reuses it (when it was adapted with at least the budget asked for) instead of learning
again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.body import load_body_model
from core.canonical.pose_prior import default_pose_prior
from core.config import to_dict
from core.detect.cache import cache_base_dir
from core.device import resolve_device
from core.errors import CancelledError, InputError
from core.fit.config import FitConfig
from core.fit.inputs import FitInputs
from core.fit.modes import FitMode, resolve_mode
from core.fit.sequence import StageProgress, fit_sequence, torch_threads
from core.io import atomic_write_json
from core.io.atomic import atomic_open
from core.io.results import SUMMARY_FILE, FitResult
from core.nets.checkpoint import (
    installed_model,
    load_model,
    read_checkpoint,
    save_model,
)
from core.nets.cmanet import CMANet
from core.train.config import TrainConfig, load_train_config
from core.train.data import SequenceArrays
from core.train.distributed import DistEnv
from core.train.trainer import RunState, Trainer, stage_plan

log = logging.getLogger(__name__)

ADAPT_CONFIG = "adapt_cpu"
# Whether a fit in a network mode adapts when the user does not say (the CLI's --adapt default and
# the app's checkbox's initial state).
ADAPT_BY_DEFAULT = False
# The budget when none is given (seconds of learning, on top of the fit).
DEFAULT_BUDGET_S = 120.0
# Stage 1 (IRV) may use this share of the budget; stage 2 (IEV) the rest.
STAGE1_SHARE = 0.5
# Longer sequences adapt on this many frames, evenly spread: the rig and the person are the same
# throughout, and the budget buys epochs over fewer frames rather than one pass over many.
MAX_FRAMES = 240
ADAPTED_MODEL = "adapted_model.pt"


@dataclass
class Adaptation:
    """An adapted network: ``model`` (eval mode), the cached ``path``, whether it was ``reused``
    from an earlier fit, the ``seconds`` spent learning (this fit), the ``steps`` it trained
    and the ``budget_s`` it was given."""

    model: CMANet
    path: Path
    reused: bool
    seconds: float
    steps: int
    budget_s: float

    def summary(self) -> dict:
        return {"checkpoint": str(self.path), "reused": self.reused, "seconds": round(self.seconds, 1),
                "steps": self.steps, "budget_s": self.budget_s}


def adaptation_dir() -> Path:
    """Where adapted networks are cached: ``<user cache>/adapted``."""
    return cache_base_dir() / "adapted"


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def adaptation_key(inputs: FitInputs, base: Path, config: TrainConfig) -> str:
    """What an adapted network is learnt from: the detections and intrinsics the network sees, the
    base network file's content, and the adaptation config (hex digest)."""
    digest = hashlib.sha256(b"cmanet-adapt-v1\n")
    for array in (inputs.keypoints2d, inputs.focal, inputs.principal, inputs.image_sizes):
        a = np.ascontiguousarray(array, dtype=np.float32)
        digest.update(str(a.shape).encode() + a.tobytes())
    digest.update(_file_digest(base).encode())
    digest.update(repr(sorted(to_dict(config).items())).encode())
    return digest.hexdigest()[:24]


def adaptation_frames(frames: int, limit: int = MAX_FRAMES) -> np.ndarray:
    """Indices of the frames adaptation learns from: all, or ``limit`` spread evenly."""
    return np.arange(frames) if frames <= limit else np.unique(np.linspace(0, frames - 1, limit).round().astype(np.int64))


def _sequence_arrays(inputs: FitInputs) -> SequenceArrays:
    rows = adaptation_frames(len(inputs.keypoints2d))
    picked = dataclasses.replace(inputs, keypoints2d=np.asarray(inputs.keypoints2d, dtype=np.float32)[rows],
                                 frame_indices=np.asarray(inputs.frame_indices)[rows], scene=None)
    return SequenceArrays("sequence", Path("."), picked)


def _cached(path: Path, budget_s: float, device: torch.device) -> Adaptation | None:
    """A cached adaptation at ``path`` made with at least ``budget_s``, else None."""
    if not path.is_file():
        return None
    try:
        meta = read_checkpoint(path).get("meta", {})
    except InputError:
        return None  # damaged: learnt again, and replaced
    if float(meta.get("budget_s", 0.0)) < budget_s:
        return None
    return Adaptation(load_model(path, device), path, True, 0.0, int(meta.get("steps", 0)), float(meta["budget_s"]))


def adapt_network(
    inputs: FitInputs,
    base: str | Path,
    budget_s: float = DEFAULT_BUDGET_S,
    fit_config: FitConfig | None = None,
    config: TrainConfig | None = None,
    progress: StageProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = False,
    reuse: bool = True,
) -> Adaptation:
    """The network ``base`` adapted to the sequence of ``inputs`` (its detections, focal lengths
    and image sizes) within ``budget_s`` seconds of learning, or the cached one (see the module
    doc).

    progress("adapt", seconds done, budget seconds) is reported after every step;
    ``should_cancel()`` true stops it with CancelledError (nothing is cached). ``config``: the
    training config (default ``resources/configs/adapt_cpu.yaml``); ``fit_config``: the device
    and threads to learn with; ``reuse``: False learns again even when a cached adaptation exists
    (benchmarks), and replaces it.
    """
    if not budget_s > 0:
        raise InputError(f"--adapt-budget must be a positive number of seconds, got {budget_s}")
    base = Path(base)
    config = config or load_train_config(ADAPT_CONFIG)
    device = resolve_device(fit_config.device if fit_config is not None else config.device)
    key = adaptation_key(inputs, base, config)
    path = adaptation_dir() / f"{key}.pt"
    cached = _cached(path, budget_s, device) if reuse else None
    if cached is not None:
        log.info("reusing the network adapted to this sequence: %s", path)
        return cached

    began = time.perf_counter()
    threads = fit_config.cpu_threads if fit_config is not None else torch.get_num_threads()
    with torch_threads(threads), tempfile.TemporaryDirectory(prefix="cmanet-adapt-") as scratch:
        body = load_body_model(config.body_model).to(device)
        prior = default_pose_prior(body).to(device)
        model = load_model(base, device).train()
        config = dataclasses.replace(config, model=model.config)
        torch.manual_seed(config.seed)
        trainer = Trainer(config, model, body, prior, [_sequence_arrays(inputs)], Path(scratch), DistEnv(0, 1, device),
                          RunState(plan=stage_plan("both")), show_progress=show_progress_bar)
        trainer.write_checkpoints = False
        trainer.deadlines = {"1": began + STAGE1_SHARE * budget_s, "2": began + budget_s}

        def on_step(step: int) -> None:
            if should_cancel is not None and should_cancel():
                raise CancelledError("adaptation cancelled")
            if progress is not None:
                progress("adapt", min(int(time.perf_counter() - began), int(budget_s)), int(budget_s))

        trainer.on_step = on_step
        trainer.run(None)
        model = trainer.model.eval()
    seconds = time.perf_counter() - began
    if progress is not None:
        progress("adapt", int(budget_s), int(budget_s))
    save_model(model, path, {"base": str(base), "key": key, "budget_s": float(budget_s), "seconds": round(seconds, 1),
                             "steps": trainer.state.step, "note": "cmanet fit --adapt"})
    log.info("adapted the network to this sequence in %.1f s (%d steps): %s", seconds, trainer.state.step, path)
    return Adaptation(model, path, False, seconds, trainer.state.step, float(budget_s))


def fit_adapted(
    seq_root: str | Path,
    out: str | Path,
    config: FitConfig,
    mode: FitMode | None = None,
    checkpoint: str | Path | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    progress: StageProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = False,
    **fit_options,
) -> tuple[FitResult, dict]:
    """``cmanet fit SEQ --out RES --adapt``: detect (or reuse), adapt the network (``checkpoint``,
    else the installed default model) to the sequence (:func:`adapt_network`), fit with it in
    ``mode`` (a network mode; default network+refine), and write the result, the summary (with an
    ``adaptation`` entry) and ``RES/adapted_model.pt``. ``fit_options``: fit_sequence's other
    arguments (model_complexity, keypoints, keypoint_format, calibration). Returns the result and
    the summary."""
    mode, base = resolve_mode(mode, checkpoint, installed_model())
    if base is None:
        raise InputError("--adapt needs a network mode (network or network+refine), not optimize")
    adapted: list[Adaptation] = []

    def network_for(inputs: FitInputs) -> CMANet:
        adapted.append(adapt_network(inputs, base, budget_s, config, progress=progress, should_cancel=should_cancel,
                                     show_progress_bar=show_progress_bar))
        return adapted[0].model

    result, summary = fit_sequence(seq_root, out, config, mode, progress=progress, should_cancel=should_cancel,
                                   show_progress_bar=show_progress_bar, network_for=network_for, **fit_options)
    with open(adapted[0].path, "rb") as src, atomic_open(Path(out) / ADAPTED_MODEL) as dst:
        shutil.copyfileobj(src, dst)
    summary["adaptation"] = {**adapted[0].summary(), "kept": ADAPTED_MODEL}
    atomic_write_json(out / SUMMARY_FILE, summary)
    return result, summary
