"""The SMPLify teachers that make pseudo-labels: IRV's per-view optimizer for stage 1 and IEV's
multi-view optimizer (per frame) for stage 2, run from a start the caller chooses (usually the
network's own prediction, as in the paper)."""

from __future__ import annotations

import dataclasses

import torch

from core.body import BodyModel
from core.canonical.params import CanonicalParams, Intrinsics, ViewBodies
from core.canonical.pose_prior import PosePrior
from core.fit.config import FitConfig, load_fit_config
from core.fit.iev import fit_iev_per_frame
from core.fit.irv import fit_irv
from core.fit.sequence import FitInputs, fit_keypoints
from core.nets.inputs import ViewInputs


def teacher_fit_config(path: str | None, threshold: float, robust_sigma: float, device: str = "cpu",
                       scale: float = 1.0) -> FitConfig:
    """The fit config of the teachers (default fit.yaml) with the training's lambda, sigma and
    device, its iteration counts scaled by ``scale``."""
    config = load_fit_config(path)
    n = lambda k: max(1, int(round(k * scale)))  # noqa: E731
    irv = dataclasses.replace(config.irv, iterations=n(config.irv.iterations), orientation_iterations=n(config.irv.orientation_iterations))
    iev = dataclasses.replace(config.iev, iterations=n(config.iev.iterations), rig_iterations=n(config.iev.rig_iterations))
    return dataclasses.replace(config, confidence_threshold=threshold, robust_sigma=robust_sigma, device=device, irv=irv, iev=iev)


def _finite_error(error: torch.Tensor) -> torch.Tensor:
    return torch.nan_to_num(error, nan=float("inf"))


def irv_teacher(
    body: BodyModel, prior: PosePrior, inputs: ViewInputs, config: FitConfig, iterations: int, init: ViewBodies | None = None
) -> tuple[ViewBodies, torch.Tensor]:
    """SMPLify on every (frame, view) of a batch (B, V).

    init: start from these bodies (B, V) (the network's prediction); None: the full multi-start
    fit. Returns the fitted ViewBodies (B, V) and their reprojection errors (B, V), pixels (inf
    where nothing is detected).
    """
    b, v = inputs.keypoints2d.shape[:2]
    flat = lambda t: t.reshape(b * v, *t.shape[2:])  # noqa: E731
    config = dataclasses.replace(config, irv=dataclasses.replace(config.irv, iterations=iterations))
    start = None if init is None else ViewBodies(*(flat(getattr(init, f.name)).detach() for f in dataclasses.fields(init)))
    fit = fit_irv(body, prior, flat(inputs.keypoints2d), flat(inputs.focal), flat(inputs.principal), config, init=start)
    unflat = lambda t: t.reshape(b, v, *t.shape[1:])  # noqa: E731
    bodies = ViewBodies(*(unflat(getattr(fit.bodies, f.name)) for f in dataclasses.fields(fit.bodies)))
    return bodies, _finite_error(unflat(fit.reproj_px))


def iev_teacher(
    body: BodyModel, prior: PosePrior, inputs: ViewInputs, config: FitConfig, iterations: int, init: CanonicalParams
) -> tuple[CanonicalParams, torch.Tensor]:
    """Multi-view SMPLify on each frame of a batch (B, V) from ``init``.

    Returns the fitted canonical parameters and each frame's error (B,): the mean reprojection
    error over its views with detections, pixels (inf when none has).
    """
    config = dataclasses.replace(config, iev=dataclasses.replace(config.iev, iterations=iterations))
    start = CanonicalParams(*(getattr(init, f.name).detach() for f in dataclasses.fields(init)))
    fit = fit_iev_per_frame(body, prior, inputs.keypoints2d, Intrinsics(inputs.focal, inputs.principal), start, config)
    # Back from IEV's output (world = view 0's camera) to the canonical space: the body seen by
    # each camera is that camera's pose composed with the body's.
    orient = fit.cam_rot @ fit.body_rot[:, None]
    transl = (fit.cam_rot @ fit.body_transl[:, None, :, None])[..., 0] + fit.cam_t
    params = CanonicalParams(orient, transl, fit.body_pose, fit.shape)
    return params, _mean_finite(_finite_error(fit.reproj_px))


def _mean_finite(error: torch.Tensor) -> torch.Tensor:
    """(B, V) -> (B,) mean over the finite entries (inf when there is none)."""
    finite = torch.isfinite(error)
    total = torch.where(finite, error, torch.zeros_like(error)).sum(-1)
    count = finite.sum(-1)
    return torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, float("inf")))


def sequence_teacher(body: BodyModel, prior: PosePrior, keypoints2d, focal, principal, image_sizes,
                     config: FitConfig) -> tuple[CanonicalParams, torch.Tensor]:
    """The optimizer's estimate of a whole sequence (``cmanet fit --mode optimize``: multi-start
    IRV, then multi-view SMPLify, on the static rig unless the config says otherwise) in the
    canonical space: per-frame CanonicalParams (F,) and each frame's error (F,), the mean
    reprojection error over its views (pixels; inf when no view has detections).

    keypoints2d: (F, V, 17, 3) numpy; focal (V,), principal (V, 2), image_sizes (V, 2).
    """
    import numpy as np
    import roma

    frames, views = keypoints2d.shape[:2]
    inputs = FitInputs(np.asarray(keypoints2d), np.asarray(focal), np.asarray(principal), np.asarray(image_sizes),
                       [f"view{v}" for v in range(views)], np.arange(frames))
    result, _ = fit_keypoints(inputs, config, body=body, prior=prior)
    device = body.device
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)  # noqa: E731
    body_rot = roma.rotvec_to_rotmat(t(result.global_orient))  # (F, 3, 3) body -> world
    cam_rot, cam_t = t(result.cam_R), t(result.cam_t)  # (F, V, ...) world -> camera
    orient = cam_rot @ body_rot[:, None]
    transl = (cam_rot @ t(result.transl)[:, None, :, None])[..., 0] + cam_t
    params = CanonicalParams(orient, transl, roma.rotvec_to_rotmat(t(result.body_pose)), t(result.shape))
    return params, _mean_finite(_finite_error(t(result.iev_reproj_px)))


def canonical_view_bodies(params: CanonicalParams) -> ViewBodies:
    """The canonical body as each view sees it: ViewBodies (..., V) (IRV's form)."""
    views = params.global_orient.shape[-3]
    expand = lambda x, n: x.unsqueeze(-n - 1).expand(*x.shape[:-n], views, *x.shape[-n:])  # noqa: E731
    return ViewBodies(params.global_orient, expand(params.body_pose, 3), expand(params.shape, 1), params.transl)
