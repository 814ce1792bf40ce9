"""Fitting configuration (``resources/configs/fit.yaml``), loaded into typed dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from core.body import BodyModelConfig
from core.config import CONFIGS_DIR, load_config
from core.errors import InputError


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
    focal_prior_sigma, focal_prior_weight: a weak log-normal prior on each estimated focal length
        around its start (sigma in log units, weight per frame); with ``focal_fov_range_deg`` (the
        fields of view, across the longer image side, a focal length is kept within) it stops a
        telephoto camera drifting towards orthographic, where the loss is flat.
    rig_failure_error, rig_failure_fraction: a rig fit has failed when, in some view, more than
        ``rig_failure_fraction`` of the frames reproject worse than ``rig_failure_error`` times the
        person's size (synthetic rigs: right fits leave at most 3 % of a view's frames above 0.1,
        failed ones 27-47 %). It is then fitted again from ``retry_fov_deg`` focal lengths: from a
        wide guess the estimate lengthens reliably, while a wide-angle camera started from a narrow
        guess can fall into a wrong rig (a 95 deg camera guessed at 55 deg).
    keypoint_offset_sigma_m, keypoint_offset_weight, keypoint_offset_min_frames: static rig of at
        least ``keypoint_offset_min_frames`` frames: each keypoint may sit a constant offset (in the
        body's frame, a prior of ``keypoint_offset_sigma_m`` with ``keypoint_offset_weight`` per
        frame) from where the body model puts it, so that where a detector places a joint (its hip
        is not the model's hip) stops pulling the cameras. Measured: real walking trial body 26.5 ->
        22.7 mm, focal error 8.4 -> 7.1 %, cameras unchanged (1.65 deg); synthetic 4-view seeds 0-2:
        PA-MPJPE 9.4 -> 8.4 mm, cameras 3.04 -> 2.52 deg; the 11-frame static trial (one pose, too
        little to separate offsets from the rig) worse, hence the minimum. 0 turns it off.
    start_fit_scale: where the starting rig is the result (``--mode network``), each view's frame
        counts in it with weight exp(-loss / start_fit_scale), loss = the view's robust
        reprojection loss (median ~7e-4 for the network's bodies).
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
    focal_prior_sigma: float = 0.7
    focal_prior_weight: float = 1e-5
    focal_fov_range_deg: tuple[float, float] = (10.0, 130.0)
    rig_failure_error: float = 0.1
    rig_failure_fraction: float = 0.2
    retry_fov_deg: float = 90.0
    start_fit_scale: float = 1e-3
    keypoint_offset_sigma_m: float = 0.05
    keypoint_offset_weight: float = 1e-4
    keypoint_offset_min_frames: int = 20

    def validate(self) -> None:
        if self.rig_frames < 2:
            raise ValueError("iev.rig_frames must be >= 2")
        if self.iterations < 0 or self.rig_iterations < 0 or self.lr <= 0:
            raise ValueError("iev: iterations must be >= 0 and lr positive")
        low, high = self.focal_fov_range_deg
        if not 0 < low < high < 180 or not 0 < self.retry_fov_deg < 180:
            raise ValueError("iev: fields of view must be in (0, 180) degrees, focal_fov_range_deg ascending")
        if self.keypoint_offset_sigma_m < 0 or self.keypoint_offset_weight < 0:
            raise ValueError("iev: keypoint_offset_sigma_m and keypoint_offset_weight must be >= 0")
        if self.focal_prior_sigma <= 0 or self.start_fit_scale <= 0 or self.rig_failure_error <= 0:
            raise ValueError("iev: focal_prior_sigma, start_fit_scale and rig_failure_error must be positive")


@dataclass(frozen=True)
class RefineConfig:
    """``network+refine``: the optimizers started from the network's prediction, shorter.

    optimizer_start: also fit from the optimizer's own start (per-view SMPLify) and keep the fit
        that explains all views better, so that a network that does not transfer to the footage
        never makes the default worse than ``optimize``.
    """

    irv_iterations: int = 5
    rig_iterations: int = 150
    iterations: int = 100
    optimizer_start: bool = True

    def validate(self) -> None:
        if min(self.irv_iterations, self.rig_iterations, self.iterations) < 0:
            raise ValueError("refine iterations must be >= 0")


@dataclass(frozen=True)
class HeightConfig:
    """The prior on the body's standing height that fixes a calibration-free fit's scale.

    prior_m, prior_sigma_m: an adult of ordinary height when the user gives none;
    given_sigma_m: how tightly a height given with ``--height`` (``FitConfig.body_height_m``) holds;
    weight: per frame, on the squared deviation in sigmas. Measured: 1e-4 takes the real walking
        trial's fitted person from 2.31 m to 1.70-1.76 m with the body error unchanged; 1e-3 sent
        a synthetic rig (seed 9) into its mirrored start (63 deg).
    """

    prior_m: float = 1.70
    prior_sigma_m: float = 0.07
    given_sigma_m: float = 0.01
    weight: float = 1e-4

    def validate(self) -> None:
        if not 0.5 < self.prior_m < 2.5 or min(self.prior_sigma_m, self.given_sigma_m) <= 0 or self.weight < 0:
            raise ValueError("height: prior_m must be in (0.5, 2.5) m, the sigmas positive, the weight >= 0")


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
    body_height_m: the person's standing height when the user knows it (``--height``): it fixes
        the scale, which the detections cannot; None: an adult of ordinary height (``height``).
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
    body_height_m: float | None = None
    height: HeightConfig = field(default_factory=HeightConfig)
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
        if self.body_height_m is not None and not 0.5 <= self.body_height_m <= 2.5:
            raise ValueError(f"body height must be between 0.5 and 2.5 metres, got {self.body_height_m}")

    @property
    def height_target(self) -> tuple[float, float]:
        """(metres, sigma in metres) of the standing-height prior: the user's or the default."""
        if self.body_height_m is not None:
            return self.body_height_m, self.height.given_sigma_m
        return self.height.prior_m, self.height.prior_sigma_m


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
    """The fit config from ``path`` (default: the shipped fit.yaml) with the top-level fields in
    ``overrides`` replaced (the command line's and the app's choices), validated: a bad value is
    an InputError."""
    config = load_config(FitConfig, path or DEFAULT_FIT_CONFIG)
    if overrides:
        try:
            config = replace(config, **overrides)
            config.validate()
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return config
