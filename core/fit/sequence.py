"""Fitting a whole multi-view sequence: detections -> IRV -> IEV -> world frame -> FitResult.

The command line (``cmanet fit``) and the app call :func:`fit_sequence`; tests, benchmarks and the
training's teacher that already hold keypoints call :func:`fit_keypoints` (the fits themselves)
and, for the result a user gets, :func:`to_result`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import roma
import torch

from core.body import BodyModel, load_body_model
from core.canonical.losses import reprojection_loss
from core.canonical.params import CanonicalParams, Intrinsics, ViewBodies
from core.canonical.pose_prior import PosePrior, default_pose_prior
from core.device import resolve_device
from core.errors import InputError
from core.fit.capture import CaptureInfo, as_fitted, fit_captured
from core.fit.config import FitConfig, network_only_config, refine_config
from core.fit.iev import (
    IEVFit,
    fit_iev_per_frame,
    initial_canonical,
    unexplained_fraction,
)
from core.fit.inputs import FitInputs, KnownExtrinsics, camera_intrinsics  # noqa: F401 - also imported from here
from core.fit.irv import IRVFit, evaluate_view_bodies, fit_irv
from core.fit.known_cameras import apply_calibration
from core.fit.modes import FitMode
from core.fit.static_rig import (
    KnownCameras,
    best_start,
    estimates_focal,
    fit_iev_static_rig,
    focal_of_fov,
)
from core.fit.visibility import check_person_seen
from core.fit.world import apply_world_frame, rest_ankle_height, world_frame
from core.geometry.camera import (
    project,
    transform_points,
)
from core.io import MultiViewSequence, atomic_write_json
from core.io.calibration import read_calibration
from core.io.folders import check_outside_inputs, prepare_output_folder
from core.io.keypoint_import import read_keypoints
from core.io.results import SUMMARY_FILE, FitResult, result_size_bound
from core.keypoints import COCO17_NAMES
from core.nets.predict import predict
from core.people import sequence_scene
from core.progress import Progress, as_progress
from core.progress_bar import progress_bar

log = logging.getLogger(__name__)

# progress(stage, done, total): stage is "detect", "irv" or "iev".
StageProgress = Callable[[str, int, int], None]


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
    keypoints = scene.keypoints_of(0) if seq.given_keypoints is not None else seq.to_timeline(scene.keypoints_of(0))
    return FitInputs(keypoints, focal, principal, np.asarray(seq.image_sizes), list(seq.view_names),
                     np.asarray(seq.frame_indices), float(seq.fps), {"detect_s": elapsed},
                     np.array([c.focal_px is not None for c in seq.cameras]), scene=scene)


def _bar(stage: str, enabled: bool):
    if not enabled:
        return None
    return progress_bar(desc=f"fit {stage.upper()}", unit="it", leave=False)


@contextlib.contextmanager
def torch_threads(count: int):
    """Run a block with ``count`` torch CPU threads, restoring the previous number after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass
class StagedFit:
    """One complete fit of a sequence's detections: IRV and IEV, the (V,) focal lengths IRV was
    fitted with, and ``loss``: how well IEV explains all views (mean robust reprojection loss)."""

    label: str
    irv: IRVFit
    iev: IEVFit
    irv_focal: torch.Tensor
    loss: float


@dataclass
class SequenceFit:
    """What :func:`fit_keypoints` returns: the chosen fit of a sequence (IEV in the fitter's
    world: view 0's camera, or the known cameras' world when ``known_world``), the fit mode, and
    the body model it was fitted with."""

    best: StagedFit
    mode: FitMode
    body: BodyModel
    known_world: bool

    @property
    def irv(self) -> IRVFit:
        return self.best.irv

    @property
    def iev(self) -> IEVFit:
        return self.best.iev


def fit_keypoints(
    inputs: FitInputs,
    config: FitConfig,
    body: BodyModel | None = None,
    prior: PosePrior | None = None,
    progress: Progress | StageProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = False,
    mode: FitMode = "optimize",
    model=None,
) -> tuple[SequenceFit, dict[str, float]]:
    """IRV then IEV on given detections; returns the chosen fit (:func:`to_result` makes the
    result a user gets of it) and the timings (seconds).

    mode: ``optimize`` (SMPLify teachers from scratch), ``network`` (the trained CMANet ``model``
    alone), ``network+refine`` (the optimizers, shortened, started from the network; with
    ``refine.optimizer_start`` also the optimizers' own start, the fit that explains all views
    better kept). ``progress``: a :class:`core.progress.Progress` (or the older callbacks).
    """
    progress = as_progress(progress, should_cancel)
    with torch_threads(config.cpu_threads):
        return _fit_keypoints(inputs, config, body, prior, progress, progress.cancelled, show_progress_bar, mode,
                              model)


def fit_result(inputs: FitInputs, config: FitConfig, **kwargs) -> tuple[FitResult, dict[str, float]]:
    """:func:`fit_keypoints` and the result a user gets of the fit (:func:`to_result`); what
    :func:`core.fit.capture.fit_captured` fits with."""
    fit, timings = fit_keypoints(inputs, config, **kwargs)
    return to_result(fit, inputs), timings


def mode_config(config: FitConfig, mode: FitMode) -> FitConfig:
    """The optimizer settings a fit mode runs with: ``config`` itself (optimize), shortened
    (network+refine), or no iterations (network)."""
    return {"optimize": config, "network+refine": refine_config(config), "network": network_only_config(config)}[mode]


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


@dataclass
class IRVStage:
    """What IEV starts from: IRV's per-view fits, the canonical start laid out (F, V, ...), and
    (optimizer only) IRV's camera-frame keypoints (F, V, 17, 3) for the skeleton-registered rig."""

    mode: str
    irv: IRVFit
    init: CanonicalParams
    init_keypoints3d: torch.Tensor | None


def _irv_stage(body, prior, kp, intrinsics, image_sizes, config, mode, model, stage_progress, should_cancel,
               timings) -> IRVStage:
    """IRV of (F, V, 17, 3) detections with (V,) intrinsics: the SMPLify teacher (optimize), the
    network (network), or the network refined by a few SMPLify iterations (network+refine)."""
    frames, views = kp.shape[:2]
    kp_flat = kp.reshape(-1, 17, 3)
    focal_flat, principal_flat = intrinsics.focal.repeat(frames), intrinsics.principal.repeat(frames, 1)
    report, bar = stage_progress("irv")
    start = time.perf_counter()
    if mode == "optimize":
        irv = fit_irv(body, prior, kp_flat, focal_flat, principal_flat, config, progress=report, should_cancel=should_cancel)
        stage = IRVStage(mode, irv, initial_canonical(irv, frames, views), irv.keypoints3d.reshape(frames, views, 17, 3))
    else:
        if model is None:
            raise InputError(f"--mode {mode} needs a trained network (--checkpoint)")
        net_irv, init = predict(model, kp, intrinsics.focal, intrinsics.principal, image_sizes, body=body)
        flat = ViewBodies(*(t.reshape(frames * views, *t.shape[2:]) for t in
                            (net_irv.global_orient, net_irv.body_pose, net_irv.shape, net_irv.transl)))
        if mode == "network+refine":
            irv = fit_irv(body, prior, kp_flat, focal_flat, principal_flat, mode_config(config, mode), init=flat,
                          progress=report, should_cancel=should_cancel)
        else:
            irv = evaluate_view_bodies(body, flat, kp_flat, focal_flat, principal_flat, config)
        stage = IRVStage(mode, irv, init, None)
    timings["irv_s"] = timings.get("irv_s", 0.0) + time.perf_counter() - start
    if bar is not None:
        bar.close()
    return stage


def _iev_stage(body, prior, kp, intrinsics, known_focal, known_cams, start: IRVStage, config, stage_progress,
               should_cancel, timings) -> StagedFit:
    """IEV from an IRV stage, with the optimizer settings of the stage's mode."""
    frames, views = kp.shape[:2]
    iev_config = mode_config(config, start.mode)
    report, bar = stage_progress("iev")
    begin = time.perf_counter()
    if config.static_rig:
        # network: the starting rig is the result, so the views' frames that the network's fused
        # body explains better count more in it.
        iev: IEVFit = fit_iev_static_rig(body, prior, kp, intrinsics, start.init, iev_config, report, should_cancel,
                                         init_keypoints3d=start.init_keypoints3d, focal_known=known_focal,
                                         weight_start_by_fit=start.mode == "network", known=known_cams)
    else:
        intr = Intrinsics(intrinsics.focal.expand(frames, views), intrinsics.principal.expand(frames, views, 2))
        iev = fit_iev_per_frame(body, prior, kp, intr, start.init, iev_config, report, should_cancel)
    timings["iev_s"] = timings.get("iev_s", 0.0) + time.perf_counter() - begin
    if bar is not None:
        bar.close()
    return StagedFit(start.mode, start.irv, iev, intrinsics.focal.clone(), explained_loss(iev, config))


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

    def irv_stage(start_focal, fit_mode) -> IRVStage:
        return _irv_stage(body, prior, kp, Intrinsics(start_focal, principal), inputs.image_sizes, config, fit_mode,
                          model, stage_progress, should_cancel, timings)

    def iev_stage(start: IRVStage, start_focal, label: str | None = None) -> StagedFit:
        fitted = _iev_stage(body, prior, kp, Intrinsics(start_focal, principal), known_focal, known_cams, start, config,
                            stage_progress, should_cancel, timings)
        fitted.label = label or fitted.label
        return fitted

    def fit(start_focal, fit_mode) -> StagedFit:
        starts = [irv_stage(start_focal, fit_mode)]
        if fit_mode == "network+refine" and config.refine.optimizer_start and config.static_rig:
            # The optimizer's own start beside the network's: the starting rig that explains the
            # views better is fitted (its own schedule: shorter from the network's start).
            starts.append(irv_stage(start_focal, "optimize"))
            losses = [best_start(body, s.init, kp, Intrinsics(start_focal, principal), config, s.init_keypoints3d,
                                 False, known_cams)[2] for s in starts]
            start_losses.update({s.mode: loss for s, loss in zip(starts, losses)})
            # The better start gets the optimizer's whole schedule: the refine schedule alone was up to
            # 13 % worse than optimize on synthetic rigs even from a good network start.
            chosen = starts[min(range(len(starts)), key=losses.__getitem__)]
            return iev_stage(dataclasses.replace(chosen, mode="optimize"), start_focal, label=chosen.mode)
        return iev_stage(starts[0], start_focal)

    start_losses: dict[str, float] = {}
    best = fit(focal, mode)
    candidates = [best]
    unexplained = float(unexplained_fraction(best.iev, config).max())
    if estimates_focal(mode_config(config, mode), frames, known_focal) and unexplained > config.iev.rig_failure_fraction:
        log.info("the rig fit left %.0f %% of a view's frames unexplained: fitting again from wide-angle focal "
                 "lengths", 100 * unexplained)
        wide = focal_of_fov(principal, config.iev.retry_fov_deg)
        wide = wide if known_focal is None else torch.where(known_focal, focal, wide)
        retry = fit(wide, mode)
        retry.label += ", wide-angle start"
        candidates.append(retry)
        if float(unexplained_fraction(retry.iev, config).max()) < unexplained:
            best = retry
    log.debug("candidate fits (mean reprojection loss): %s", ", ".join(f"{c.label} {c.loss:.2e}" for c in candidates))
    timings["candidates"] = {c.label: round(c.loss, 8) for c in candidates}
    timings["start_losses"] = {k: round(v, 6) for k, v in start_losses.items()}
    timings["chosen"] = best.label
    return SequenceFit(best, mode, body, known_cams is not None), timings


def to_result(fit: SequenceFit, inputs: FitInputs) -> FitResult:
    """A fit of ``inputs`` as ``result.npz`` lays it out: in the Z-up world (unless the cameras'
    world is known), numpy arrays, rotations as axis-angle."""
    body, mode = fit.body, fit.mode
    irv, iev = fit.irv, fit.iev
    frames, views = iev.keypoints2d.shape[:2]
    joints, body_rot, body_t, cam_rot, cam_t = iev.joints3d, iev.body_rot, iev.body_transl, iev.cam_rot, iev.cam_t
    if not fit.known_world:
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
        mode=mode, irv_cam_f=np_(fit.best.irv_focal[None].expand(frames, views)),
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
        "time_offsets_frames": {str(v): round(float(o), 2) for v, o in zip(result.view_names, result.view_time_offsets)},
        "timings_s": {k: round(v, 3) for k, v in timings.items() if isinstance(v, float)},
        "candidates": timings.get("candidates", {}),
        "start_losses": timings.get("start_losses", {}),
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
    progress: Progress | StageProgress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = False,
    keypoints: str | Path | None = None,
    keypoint_format: str | None = None,
    calibration: str | Path | None = None,
    time_offsets: dict[str, float] | None = None,
    people: int | None = 1,
    network_for: Callable[[FitInputs], object] | None = None,
    cache_dir: str | Path | None = None,
    default_yaml: str | Path | None = None,
    summary_extra: dict | None = None,
) -> tuple[FitResult, dict]:
    """Detect (or reuse cached/given keypoints), fit, and write ``out/result.npz`` and
    ``out/summary.json``; what ``cmanet fit`` and the app's Fit button run.

    The main person is fitted (see :func:`inputs_from_sequence`); ``people`` > 1 (None: all) also
    fits the others seen by two views, in the main person's cameras (``people_*`` keys).
    ``out`` must lie outside the input folder (inputs are never modified; detections are cached
    in the user cache). ``keypoints``: an OpenPose/Pose2Sim folder or COCO keypoint file to fit instead of
    detecting (``keypoint_format``: its layout, else detected); ``calibration``: a known (full or
    partial) calibration (:mod:`core.fit.known_cameras`). Lens distortions (sequence.yaml's, or the
    calibration's) and time offsets are handled by :func:`core.fit.capture.fit_captured`
    (``time_offsets``: view name -> known offset, replacing sequence.yaml's). ``network_for(inputs)``:
    the network to fit with, made once the inputs are known (adaptation to the sequence,
    core.train.adapt), instead of ``model``. ``progress``: a :class:`core.progress.Progress` (or
    the older ``progress`` / ``should_cancel`` callbacks). ``cache_dir``: the detection cache
    (default: the user's); ``default_yaml``: the ``sequence.yaml`` used when the sequence has none
    (a session's); ``summary_extra``: more keys for ``summary.json``. Returns the result and the
    summary.
    """
    progress = as_progress(progress, should_cancel)
    should_cancel = progress.cancelled
    seq_root = Path(seq_root).resolve()
    out = check_outside_inputs(out, seq_root)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    rig = read_calibration(calibration) if calibration is not None else None
    imported = read_keypoints(keypoints, keypoint_format).for_views if keypoints is not None else None
    from core.fit.people import add_people, person_summary  # it fits with this module's functions

    with MultiViewSequence.open(seq_root, imported=imported, default_yaml=default_yaml) as seq:
        capture = CaptureInfo.of_sequence(seq, time_offsets)
        prepare_output_folder(out, result_size_bound(seq.num_frames, seq.num_views))  # before the long work
        inputs = inputs_from_sequence(seq, cache_dir, model_complexity, progress, should_cancel, show_progress_bar)
        on_timeline = seq.to_timeline if seq.given_keypoints is None else (lambda keypoints: keypoints)
    check_person_seen(inputs.keypoints2d, config.confidence_threshold, inputs.view_names, inputs.frame_indices, seq_root)
    if rig is not None:
        inputs, capture = apply_calibration(inputs, rig, capture, Path(calibration))
    if network_for is not None:
        model = network_for(inputs)
    result, timings = fit_captured(inputs, config, fit_result, capture, progress=progress, should_cancel=should_cancel,
                                   show_progress_bar=show_progress_bar, mode=mode, model=model)
    threshold = config.confidence_threshold
    result = add_people(result, inputs, config, people,
                        prepare=lambda keypoints, main=result: as_fitted(on_timeline(keypoints), main, capture, threshold),
                        mode=mode, model=model, progress=progress, should_cancel=should_cancel,
                        show_progress_bar=show_progress_bar, timings=timings)
    out.mkdir(parents=True, exist_ok=True)
    result.save(out)
    summary = {**summarize(result, timings, config), "person": person_summary(result), **(summary_extra or {})}
    atomic_write_json(out / SUMMARY_FILE, summary)
    return result, summary
