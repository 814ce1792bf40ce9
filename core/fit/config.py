"""Fitting configuration (``resources/configs/fit.yaml``), loaded into typed dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from core.body import BodyModelConfig
from core.config import CONFIGS_DIR, load_config


@dataclass(frozen=True)
class IRVConfig:
    """Per-view SMPLify.

    orientation_starts: global orientations tried per item (yaw about the body's up axis, evenly
        spaced) so that a person seen from behind or from the side is not fitted facing the camera.
    """

    orientation_starts: int = 8
    orientation_iterations: int = 20
    iterations: int = 50
    lr: float = 0.05
    pose_prior_weight: float = 2e-3
    shape_prior_weight: float = 1e-3

    def validate(self) -> None:
        if self.orientation_starts < 1 or self.iterations < 0 or self.orientation_iterations < 0:
            raise ValueError("irv: starts must be >= 1 and iterations >= 0")
        if self.lr <= 0:
            raise ValueError("irv.lr must be positive")


@dataclass(frozen=True)
class IEVConfig:
    """Multi-view SMPLify over the canonical space (per frame or static rig).

    rig_iterations, rig_frames: static rig only — iterations of the joint camera/shape/body fit
        on ``rig_frames`` key frames, before ``iterations`` over every frame with the rig fixed
        (skipped when every frame is a key frame: the rig phase has fitted them all).
    optimizer: adam (default) or lbfgs; measured on synthetic rigs, Adam converges to better
        cameras for the same time (the robust loss and the 6D rotations suit it).
    """

    rig_iterations: int = 400
    rig_frames: int = 128
    iterations: int = 120
    lr: float = 0.06
    pose_prior_weight: float = 1e-3
    shape_prior_weight: float = 1e-3
    smoothness_weight: float = 0.1
    swap_check: bool = True
    optimizer: Literal["adam", "lbfgs"] = "adam"

    def validate(self) -> None:
        if self.rig_frames < 2:
            raise ValueError("iev.rig_frames must be >= 2")
        if self.iterations < 0 or self.rig_iterations < 0 or self.lr <= 0:
            raise ValueError("iev: iterations must be >= 0 and lr positive")


@dataclass(frozen=True)
class RefineConfig:
    """``network+refine``: the optimizers started from the network's prediction, shorter."""

    irv_iterations: int = 5
    rig_iterations: int = 150
    iterations: int = 100

    def validate(self) -> None:
        if min(self.irv_iterations, self.rig_iterations, self.iterations) < 0:
            raise ValueError("refine iterations must be >= 0")


@dataclass(frozen=True)
class SyncConfig:
    """Camera synchronisation (static rig, :mod:`core.fit.sync`): each view's time offset
    estimated from the person's motion, with the rig of a first fit; then the fit itself.

    enabled: estimate the offsets (views with a known ``time_offset_frames`` keep theirs). Off by
        default: on synthetic rigs it finds offsets to about a tenth of a frame, but on the real
        walking trial (MediaPipe at 60 fps) it misplaces them by up to 3 frames and worsens the fit.
    max_offset_s: the largest offset searched, seconds either way.
    sub_frame: estimate fractions of a frame (else whole frames).
    min_frames: shorter sequences are not synchronised (too little motion to time).
    """

    enabled: bool = False
    max_offset_s: float = 0.5
    sub_frame: bool = True
    min_frames: int = 20

    def validate(self) -> None:
        if not self.max_offset_s > 0:
            raise ValueError("sync.max_offset_s must be positive")
        if self.min_frames < 2:
            raise ValueError("sync.min_frames must be >= 2")


@dataclass(frozen=True)
class FitConfig:
    """Everything ``cmanet fit`` needs besides the sequence.

    confidence_threshold: lambda; detections at or below it are ignored by every loss.
    robust_sigma: Geman-McClure scale of the reprojection loss, in person-size units.
    static_rig: fit the whole sequence with cameras shared by all frames (else each frame alone,
        for moving cameras).
    estimate_focal: refine the focal length of each camera that sequence.yaml does not give
        (static rig only: per-frame fits keep the given or default values). Measured on synthetic
        rigs (default guess off by 20-45 %): the error drops to 15-25 % and the cameras' relative
        rotations improve by about a quarter.
    estimate_focal_min_frames: sequences shorter than this keep the given or default focal
        lengths: a few frames hold too little motion in depth to pin a focal length down (measured:
        5-12 frames drift and worsen the cameras).
    cpu_threads: torch threads while fitting on the CPU. The problems are many small tensors: one
        thread is as fast on an idle machine and, unlike several, never collapses (100x slower
        measured) when other processes compete for the cores.
    """

    body_model: BodyModelConfig = field(default_factory=BodyModelConfig)
    confidence_threshold: float = 0.3
    robust_sigma: float = 0.15
    static_rig: bool = True
    estimate_focal: bool = True
    estimate_focal_min_frames: int = 20
    device: Literal["auto", "cpu", "cuda"] = "auto"
    cpu_threads: int = 1
    irv: IRVConfig = field(default_factory=IRVConfig)
    iev: IEVConfig = field(default_factory=IEVConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)

    def validate(self) -> None:
        if not 0.0 <= self.confidence_threshold < 1.0:
            raise ValueError("confidence_threshold (lambda) must be in [0, 1)")
        if self.cpu_threads < 1:
            raise ValueError("cpu_threads must be >= 1")
        if self.robust_sigma <= 0:
            raise ValueError("robust_sigma must be positive")


def refine_config(config: FitConfig) -> FitConfig:
    """The optimizer settings of ``network+refine``: no orientation search, fewer iterations."""
    return replace(
        config,
        irv=replace(config.irv, orientation_iterations=0, iterations=config.refine.irv_iterations),
        iev=replace(config.iev, rig_iterations=config.refine.rig_iterations, iterations=config.refine.iterations),
    )


def network_only_config(config: FitConfig) -> FitConfig:
    """``network``: the prediction as it is (the rig is still averaged over frames, no optimizing)."""
    return replace(config, irv=replace(config.irv, iterations=0),
                   iev=replace(config.iev, rig_iterations=0, iterations=0, swap_check=False))


DEFAULT_FIT_CONFIG = CONFIGS_DIR / "fit.yaml"


def load_fit_config(path: str | Path | None = None, **overrides) -> FitConfig:
    """The fit config from ``path`` (default: the shipped fit.yaml), with keyword overrides."""
    config = load_config(FitConfig, path or DEFAULT_FIT_CONFIG)
    if overrides:
        config = replace(config, **overrides)
        config.validate()
    return config
