"""Training configuration (``resources/configs/{tiny,cpu,paper}.yaml``), loaded into typed dataclasses.

Loss (both stages, paper Eq. 1-6): ``L = alpha * L2D + gamma * LSMPL``. L2D is the
confidence-filtered (lambda = ``model.confidence_threshold``), confidence-weighted robust
reprojection loss of core.canonical.losses (per view in stage 1, summed over the views in stage 2);
LSMPL the distance of the predicted parameters to the SMPLify pseudo-label of the sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.body import BodyModelConfig
from core.config import load_config, resolve_config_path
from core.nets.config import ModelConfig


@dataclass(frozen=True)
class StageConfig:
    """One training stage. batch_frames: multi-view frames per step (per process under DDP)."""

    epochs: int = 10
    lr: float = 1e-4
    batch_frames: int = 32
    warmup_steps: int = 0

    def validate(self) -> None:
        if self.epochs < 0 or self.batch_frames < 1 or self.lr <= 0 or self.warmup_steps < 0:
            raise ValueError("epochs >= 0, batch_frames >= 1, lr > 0, warmup_steps >= 0")


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms.

    alpha, gamma: the paper's weights of L2D and LSMPL. Inside LSMPL: orient (global
    orientation, squared Frobenius distance of rotation matrices), pose (the same, mean over
    joints), shape, camera (the scale-free camera ``(log s, ox, oy)``) and joints (squared
    distance of root-relative 3D keypoints, metres). prior: pose-prior weight on the prediction
    (0: none, as in the paper). intermediate: weight of IEV's earlier iterations' losses relative
    to its last (deep supervision of the iterative refinement; 0: the last only).
    """

    alpha: float = 1.0
    gamma: float = 1.0
    robust_sigma: float = 0.15
    orient: float = 1.0
    pose: float = 1.0
    shape: float = 0.1
    camera: float = 1.0
    joints: float = 10.0
    prior: float = 0.0
    intermediate: float = 0.0

    def validate(self) -> None:
        if min(self.alpha, self.gamma, self.orient, self.pose, self.shape, self.camera, self.joints, self.prior, self.intermediate) < 0:
            raise ValueError("loss weights must be >= 0")
        if self.robust_sigma <= 0:
            raise ValueError("loss.robust_sigma must be positive")


@dataclass(frozen=True)
class TeacherConfig:
    """The SMPLify teachers that make the pseudo-labels (core.fit).

    init: where every sample's first pseudo-label comes from. ``optimize``: before training, the
        optimizer's estimate of each training sequence (``cmanet fit --mode optimize``: multi-start
        IRV, then multi-view SMPLify on the static rig); IEV's labels are its fused parameters,
        IRV's per-view SMPLify fits (``init_irv_iterations``) started from the fused body seen by
        that view. ``network``: none; labels appear at the first refresh (the paper).
    every: refresh the pseudo-labels of a step's batch every this many steps (0: never), with
        SMPLify started from the network's prediction for ``irv_iterations`` (per view) /
        ``iev_iterations`` (multi-view, per frame); a sample's label is replaced only when the new
        fit reprojects better.
    fit_config: the fitting config the teachers use (default: resources/configs/fit.yaml).
    fit_scale: its iteration counts are scaled by this for the ``optimize`` start (tests: fewer).
    """

    init: Literal["optimize", "network"] = "optimize"
    every: int = 1
    irv_iterations: int = 20
    iev_iterations: int = 20
    init_irv_iterations: int = 40
    fit_config: str | None = None
    fit_scale: float = 1.0

    def validate(self) -> None:
        if self.fit_scale <= 0:
            raise ValueError("teacher.fit_scale must be positive")
        if self.every < 0 or min(self.irv_iterations, self.iev_iterations, self.init_irv_iterations) < 0:
            raise ValueError("teacher: every and iterations must be >= 0")


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``cmanet train`` needs besides the data.

    val_fraction: the last fraction of every sequence's frames is held out for validation.
    view_subsets: the probability that a stage-2 batch sees a random subset (2 or more) of its
        rig's views, in random order: more rig configurations for IEV from the same data.
    checkpoint_every: also write last.pt every this many steps (0: at the end of each epoch only).
    num_threads: torch CPU threads per process (0: torch's default).
    """

    body_model: BodyModelConfig = field(default_factory=BodyModelConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    seed: int = 0
    stage1: StageConfig = field(default_factory=StageConfig)
    stage2: StageConfig = field(default_factory=StageConfig)
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    loss: LossConfig = field(default_factory=LossConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    val_fraction: float = 0.1
    view_subsets: float = 0.0
    log_every: int = 10
    checkpoint_every: int = 0
    num_threads: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"

    def validate(self) -> None:
        if not 0.0 <= self.view_subsets <= 1.0:
            raise ValueError("view_subsets must be in [0, 1]")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError("val_fraction must be in [0, 1)")
        if self.log_every < 1 or self.checkpoint_every < 0 or self.num_threads < 0:
            raise ValueError("log_every >= 1, checkpoint_every >= 0, num_threads >= 0")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("weight_decay and grad_clip must be >= 0")


def load_train_config(name_or_path: str | Path) -> TrainConfig:
    """A shipped config by name (``tiny``, ``cpu``, ``paper``) or a YAML path; InputError naming
    the file and the key when it is wrong."""
    return load_config(TrainConfig, resolve_config_path(name_or_path))
