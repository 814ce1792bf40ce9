"""Fitting a whole multi-view sequence: detections -> IRV -> IEV -> world frame -> FitResult.

The command line (``cmanet fit``) and the app call :func:`fit_sequence`; tests and benchmarks that
already hold keypoints call :func:`fit_keypoints`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import roma
import torch

from core.body import BodyModel, load_body_model
from core.errors import InputError
from core.fit.config import FitConfig, network_only_config, refine_config
from core.fit.iev import (
    IEVFit,
    fit_iev_per_frame,
    initial_canonical,
    unexplained_fraction,
)
from core.fit.irv import IRVFit, evaluate_view_bodies, fit_irv
from core.fit.losses import reprojection_loss
from core.fit.modes import FitMode
from core.fit.params import Intrinsics, ViewBodies
from core.fit.pose_prior import PosePrior
from core.fit.priors import default_pose_prior
from core.fit.static_rig import (
    KnownCameras,
    estimates_focal,
    fit_iev_static_rig,
    focal_of_fov,
)
from core.fit.world import apply_world_frame, rest_ankle_height, world_frame
from core.geometry.camera import (
    default_focal_px,
    default_principal_point,
    project,
    transform_points,
)
from core.io.results import FitResult
from core.keypoints import COCO17_NAMES
from core.people import Scene, sequence_scene

log = logging.getLogger(__name__)

# progress(stage, done, total): stage is "detect", "irv" or "iev".
StageProgress = Callable[[str, int, int], None]


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is bad input."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available (use auto or cpu)")
    return torch.device(name)


@dataclass
class KnownExtrinsics:
    """Known world->camera poses: rotation (V, 3, 3), translation (V, 3) metres, known (V,) bool
    (the cameras whose pose is known; the others are estimated in the same world)."""

    rotation: np.ndarray
    translation: np.ndarray
    known: np.ndarray


@dataclass
class FitInputs:
    """What fitting needs from a sequence.

    keypoints2d: (F, V, 17, 3); focal: (V,) pixels; principal: (V, 2); image_sizes: (V, 2) w, h;
    focal_known: (V,) bool, the focal lengths given by the user (not estimated); None: none given.
    extrinsics: camera poses given by the user or an earlier fit, held fixed (their focal lengths
        are then known too); the result stays in their world.
    scene: every person detected and who is who (keypoints2d are its person 0's); None: not known.
    """

    keypoints2d: np.ndarray
    focal: np.ndarray
    principal: np.ndarray
    image_sizes: np.ndarray
    view_names: list[str]
    frame_indices: np.ndarray
    fps: float = 30.0
    timings: dict[str, float] = field(default_factory=dict)
    focal_known: np.ndarray | None = None
    extrinsics: KnownExtrinsics | None = None
    scene: Scene | None = None


def camera_intrinsics(image_sizes: np.ndarray, focal: list | None = None, principal: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(V,) focal and (V, 2) principal point: the given ones where known, else the defaults."""
    views = len(image_sizes)
    focal = focal or [None] * views
    principal = principal or [None] * views
    f = np.array([fv if fv is not None else default_focal_px(*size) for fv, size in zip(focal, image_sizes)], dtype=np.float32)
    c = np.array([cv if cv is not None else default_principal_point(*size) for cv, size in zip(principal, image_sizes)], dtype=np.float32)
    return f, c


def inputs_from_sequence(seq, cache_root: str | Path | None = None, model_complexity: int = 1,
                         progress: StageProgress | None = None, should_cancel: Callable[[], bool] | None = None,
                         show_progress_bar: bool = True) -> FitInputs:
    """The main person's detections (given, cached or computed: every person is detected, and the
    one seen longest and most centrally is followed through every view and frame) and the
    intrinsics of a :class:`MultiViewSequence`. ``cache_root``: the detection cache (default: the
    user cache, see :mod:`core.detect.cache`)."""
    start = time.perf_counter()
    scene = sequence_scene(
        seq, model_complexity,
        progress=None if progress is None else (lambda d, t: progress("detect", d, t)),
        should_cancel=should_cancel, show_progress_bar=show_progress_bar, cache_root=cache_root,
    )
    elapsed = time.perf_counter() - start
    focal, principal = camera_intrinsics(
        seq.image_sizes, [c.focal_px for c in seq.cameras], [c.principal_point for c in seq.cameras]
    )
    return FitInputs(scene.keypoints_of(0), focal, principal, np.asarray(seq.image_sizes), list(seq.view_names),
                     np.asarray(seq.frame_indices), float(seq.fps), {"detect_s": elapsed},
                     np.array([c.focal_px is not None for c in seq.cameras]), scene=scene)


def _bar(stage: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(desc=f"fit {stage.upper()}", unit="it", leave=False)


@contextlib.contextmanager
def torch_threads(count: int):
    """Run a block with ``count`` torch CPU threads, restoring the previous number after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fit_keypoints(
    inputs: FitInputs,
    config: FitConfig,
    body: BodyModel | None = None,
    prior: PosePrior | None = None,
    progress: StageProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = False,
    mode: FitMode = "optimize",
    model=None,
) -> tuple[FitResult, dict[str, float]]:
    """IRV then IEV on given detections; returns the result and the timings (seconds).

    mode: ``optimize`` (SMPLify teachers from scratch), ``network`` (the trained CMANet ``model``
    alone), ``network+refine`` (the optimizers, shortened, started from the network; with
    ``refine.optimizer_start`` also the optimizers' own start, the fit that explains all views
    better kept).
    """
    with torch_threads(config.cpu_threads):
        return _fit_keypoints(inputs, config, body, prior, progress, should_cancel, show_progress_bar, mode, model)


def mode_config(config: FitConfig, mode: FitMode) -> FitConfig:
    """The optimizer settings a fit mode runs with: ``config`` itself (optimize), shortened
    (network+refine), or no iterations (network)."""
    return {"optimize": config, "network+refine": refine_config(config), "network": network_only_config(config)}[mode]


@dataclass
class StagedFit:
    """One complete fit of a sequence's detections: IRV and IEV, the (V,) focal lengths IRV was
    fitted with, and ``loss``: how well IEV explains all views (mean robust reprojection loss)."""

    label: str
    irv: IRVFit
    iev: IEVFit
    irv_focal: torch.Tensor
    loss: float


def explained_loss(iev: IEVFit, config: FitConfig) -> float:
    """The mean robust reprojection loss of a fused fit over every frame and view that sees the
    person: how well one body and one rig explain all the views (lower is better); what candidate
    fits are compared by."""
    with torch.no_grad():
        kp = iev.keypoints2d
        cam_points = transform_points(iev.joints3d[:, None], iev.cam_rot, iev.cam_t)
        projected = project(cam_points, iev.focal, iev.principal)
        loss = reprojection_loss(projected, kp, config.confidence_threshold, config.robust_sigma)
        seen = (kp[..., 2] > config.confidence_threshold).sum(-1) >= 2
        return float(loss[seen].mean()) if bool(seen.any()) else float("inf")


def _fit_stages(body, prior, kp, intrinsics, known_focal, known_cams, image_sizes, config, mode, model, label,
                stage_progress, should_cancel, timings) -> StagedFit:
    """IRV then IEV of one fit of (F, V, 17, 3) detections with (V,) focal lengths; stage seconds
    are added to ``timings``."""
    frames, views = kp.shape[:2]
    focal, principal = intrinsics.focal, intrinsics.principal
    kp_flat = kp.reshape(-1, 17, 3)
    focal_flat, principal_flat = focal.repeat(frames), principal.repeat(frames, 1)
    init3d = None
    iev_config = mode_config(config, mode)
    report, bar = stage_progress("irv")
    start = time.perf_counter()
    if mode == "optimize":
        irv: IRVFit = fit_irv(body, prior, kp_flat, focal_flat, principal_flat, config, progress=report, should_cancel=should_cancel)
        init = initial_canonical(irv, frames, views)
        init3d = irv.keypoints3d.reshape(frames, views, 17, 3)
    else:
        from core.nets.predict import predict

        if model is None:
            raise InputError(f"--mode {mode} needs a trained network (--checkpoint)")
        net_irv, init = predict(model, kp, focal, principal, image_sizes, body=body)
        flat = ViewBodies(*(t.reshape(frames * views, *t.shape[2:]) for t in
                            (net_irv.global_orient, net_irv.body_pose, net_irv.shape, net_irv.transl)))
        if mode == "network+refine":
            irv = fit_irv(body, prior, kp_flat, focal_flat, principal_flat, iev_config, init=flat,
                          progress=report, should_cancel=should_cancel)
        else:
            irv = evaluate_view_bodies(body, flat, kp_flat, focal_flat, principal_flat, config)
    timings["irv_s"] = timings.get("irv_s", 0.0) + time.perf_counter() - start
    if bar is not None:
        bar.close()

    report, bar = stage_progress("iev")
    start = time.perf_counter()
    if config.static_rig:
        # network: the starting rig is the result, so the views' frames that the network's fused
        # body explains better count more in it.
        iev: IEVFit = fit_iev_static_rig(body, prior, kp, intrinsics, init, iev_config, report, should_cancel,
                                         init_keypoints3d=init3d, focal_known=known_focal,
                                         weight_start_by_fit=mode == "network", known=known_cams)
    else:
        intr = Intrinsics(focal.expand(frames, views), principal.expand(frames, views, 2))
        iev = fit_iev_per_frame(body, prior, kp, intr, init, iev_config, report, should_cancel)
    timings["iev_s"] = timings.get("iev_s", 0.0) + time.perf_counter() - start
    if bar is not None:
        bar.close()
    return StagedFit(label, irv, iev, focal.clone(), explained_loss(iev, config))


def _fit_keypoints(inputs, config, body, prior, progress, should_cancel, show_progress_bar, mode, model):
    device = resolve_device(config.device)
    body = (body or load_body_model(config.body_model)).to(device)
    prior = (prior or default_pose_prior(body)).to(device)
    as_tensor = lambda a, dtype=torch.float32: torch.as_tensor(np.asarray(a), dtype=dtype, device=device)  # noqa: E731
    kp = as_tensor(inputs.keypoints2d)
    frames, views = kp.shape[:2]
    focal, principal = as_tensor(inputs.focal), as_tensor(inputs.principal)
    known_focal = None if inputs.focal_known is None else as_tensor(inputs.focal_known, torch.bool)
    known_cams = None
    if inputs.extrinsics is not None and bool(np.any(inputs.extrinsics.known)):
        known_cams = KnownCameras(as_tensor(inputs.extrinsics.rotation), as_tensor(inputs.extrinsics.translation),
                                  as_tensor(inputs.extrinsics.known, torch.bool))
        known_focal = known_cams.known if known_focal is None else known_focal | known_cams.known
    timings = dict(inputs.timings)

    def stage_progress(stage):
        bar = _bar(stage, show_progress_bar)

        def report(done, total):
            if bar is not None:
                bar.total = total
                bar.n = done
                bar.refresh()
            if progress is not None:
                progress(stage, done, total)
        return report, bar

    def fit(start_focal, fit_mode, label) -> StagedFit:
        return _fit_stages(body, prior, kp, Intrinsics(start_focal, principal), known_focal, known_cams,
                           inputs.image_sizes, config, fit_mode, model, label, stage_progress, should_cancel, timings)

    candidates = [fit(focal, mode, mode)]
    if mode == "network+refine" and config.refine.optimizer_start and config.static_rig:
        candidates.append(fit(focal, "optimize", "optimize"))
    best = min(candidates, key=lambda c: c.loss)
    unexplained = float(unexplained_fraction(best.iev, config).max())
    if estimates_focal(mode_config(config, mode), frames, known_focal) and unexplained > config.iev.rig_failure_fraction:
        log.info("the rig fit left %.0f %% of a view's frames unexplained: fitting again from wide-angle focal "
                 "lengths", 100 * unexplained)
        wide = focal_of_fov(principal, config.iev.retry_fov_deg)
        wide = wide if known_focal is None else torch.where(known_focal, focal, wide)
        retry = fit(wide, "optimize" if best.label == "optimize" else mode, f"{best.label}, wide-angle start")
        if float(unexplained_fraction(retry.iev, config).max()) < unexplained:
            candidates.append(retry)
            best = retry
    log.debug("candidate fits (mean reprojection loss): %s", ", ".join(f"{c.label} {c.loss:.2e}" for c in candidates))
    timings["candidates"] = {c.label: round(c.loss, 8) for c in candidates}
    timings["chosen"] = best.label
    return _to_result(best, inputs, body, mode, known_cams is None), timings


def _to_result(fit: StagedFit, inputs: FitInputs, body: BodyModel, mode: str, reframe: bool) -> FitResult:
    """A fit as ``result.npz`` lays it out: in the Z-up world (``reframe``; else the world of the
    known cameras), numpy arrays, rotations as axis-angle."""
    irv, iev = fit.irv, fit.iev
    frames, views = iev.keypoints2d.shape[:2]
    joints, body_rot, body_t, cam_rot, cam_t = iev.joints3d, iev.body_rot, iev.body_transl, iev.cam_rot, iev.cam_t
    if reframe:
        frame = world_frame(joints, body_rot, cam_rot, body.up_axis, body.forward_axis, rest_ankle_height(body))
        joints, body_rot, body_t, cam_rot, cam_t = apply_world_frame(frame, joints, body_rot, body_t, cam_rot, cam_t)
    np_ = lambda t: t.detach().cpu().numpy().astype(np.float32)  # noqa: E731
    irv_shape = (frames, views)
    return FitResult(
        keypoint_names=np.array(COCO17_NAMES),
        view_names=np.array(inputs.view_names),
        frame_indices=np.asarray(inputs.frame_indices, dtype=np.int64),
        joints3d=np_(joints),
        cam_R=np_(cam_rot), cam_t=np_(cam_t), cam_f=np_(iev.focal), cam_c=np_(iev.principal),
        global_orient=np_(roma.rotmat_to_rotvec(body_rot)), transl=np_(body_t),
        body_pose=np_(roma.rotmat_to_rotvec(iev.body_pose)), shape=np_(iev.shape),
        irv_joints3d=np_(irv.keypoints3d.reshape(*irv_shape, 17, 3)),
        irv_global_orient=np_(roma.rotmat_to_rotvec(irv.bodies.global_orient).reshape(*irv_shape, 3)),
        irv_transl=np_(irv.bodies.transl.reshape(*irv_shape, 3)),
        irv_body_pose=np_(roma.rotmat_to_rotvec(irv.bodies.body_pose).reshape(*irv_shape, -1, 3)),
        irv_shape=np_(irv.bodies.shape.reshape(*irv_shape, -1)),
        irv_reproj_px=np_(irv.reproj_px.reshape(irv_shape)), iev_reproj_px=np_(iev.reproj_px),
        keypoints2d=np_(iev.keypoints2d), image_sizes=np.asarray(inputs.image_sizes, dtype=np.int64),
        fps=float(inputs.fps), body_model=body.name, pose_joint_names=np.array(body.pose_joint_names),
        mode=mode, irv_cam_f=np_(fit.irv_focal[None].expand(frames, views)),
    )


def summarize(result: FitResult, timings: dict[str, float], config: FitConfig) -> dict:
    """The human-readable ``summary.json`` content."""
    def mean(a):
        a = np.asarray(a, dtype=np.float64)
        return None if np.all(np.isnan(a)) else round(float(np.nanmean(a)), 2)

    return {
        "frames": result.num_frames,
        "views": result.num_views,
        "view_names": [str(v) for v in result.view_names],
        "mode": result.mode,
        "static_rig": config.static_rig,
        "body_model": result.body_model,
        "confidence_threshold": config.confidence_threshold,
        "irv_reproj_px": {str(v): mean(result.irv_reproj_px[:, i]) for i, v in enumerate(result.view_names)},
        "iev_reproj_px": {str(v): mean(result.iev_reproj_px[:, i]) for i, v in enumerate(result.view_names)},
        "irv_reproj_px_mean": mean(result.irv_reproj_px),
        "iev_reproj_px_mean": mean(result.iev_reproj_px),
        "focal_px": {str(v): round(float(result.cam_f[0, i]), 1) for i, v in enumerate(result.view_names)},
        "timings_s": {k: round(v, 3) for k, v in timings.items() if isinstance(v, float)},
        "candidates": timings.get("candidates", {}),
        "chosen": timings.get("chosen", result.mode),
        "world": "Z up, metres, floor at z=0, person starts at the origin facing -Y",
    }


def fit_sequence(
    seq_root: str | Path,
    out: str | Path,
    config: FitConfig,
    mode: FitMode = "optimize",
    model=None,
    model_complexity: int = 1,
    progress: StageProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = False,
    people: int | None = 1,
) -> tuple[FitResult, dict]:
    """Detect (or reuse cached/given keypoints), fit, and write ``out/result.npz`` and
    ``out/summary.json``; what ``cmanet fit`` and the app's Fit button run.

    The main person is fitted (see :func:`inputs_from_sequence`); ``people`` > 1 (None: all) also
    fits the others seen in at least two views, in the main person's rig (``people_*`` keys).
    ``out`` must lie outside the input folder (inputs are never modified; detections are cached in
    the user cache). Returns the result and the summary.
    """
    from core.fit.people import add_people, person_summary
    from core.io import MultiViewSequence, atomic_write_json
    from core.io.results import SUMMARY_FILE

    seq_root, out = Path(seq_root).resolve(), Path(out).resolve()
    if out == seq_root or seq_root in out.parents:
        raise InputError("the result folder must be outside the input sequence (inputs are never modified)", out)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    with MultiViewSequence.open(seq_root) as seq:
        inputs = inputs_from_sequence(seq, None, model_complexity, progress, should_cancel, show_progress_bar)
    result, timings = fit_keypoints(inputs, config, progress=progress, should_cancel=should_cancel,
                                    show_progress_bar=show_progress_bar, mode=mode, model=model)
    result = add_people(result, inputs, config, people, mode=mode, model=model, progress=progress,
                        should_cancel=should_cancel, show_progress_bar=show_progress_bar, timings=timings)
    out.mkdir(parents=True, exist_ok=True)
    result.save(out)
    summary = summarize(result, timings, config)
    summary["person"] = person_summary(result)
    atomic_write_json(out / SUMMARY_FILE, summary)
    return result, summary
