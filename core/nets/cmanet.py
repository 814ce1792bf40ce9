"""CMANet: the shared view encoder, IRV (per-view regressors) and IEV (cross-view refinement).

The body model is not part of the network (it has no learnt weights and is large): every method
that needs keypoints takes it as an argument.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from core.body import BodyModel, BodyModelConfig, load_body_model
from core.canonical.losses import reprojection_loss
from core.canonical.params import (
    CanonicalParams,
    ViewBodies,
    canonical_keypoints,
    view_keypoints,
)
from core.errors import InputError
from core.geometry.camera import project
from core.nets.config import ModelConfig
from core.nets.encoder import ViewEncoder
from core.nets.iev import FeedbackFn, IEVNet
from core.nets.inputs import CONTEXT_DIM, ViewInputs, camera_context
from core.nets.irv import IRVNet
from core.nets.param_space import CanonicalTheta, ParamSpace

# Geman-McClure scale (person-size units) of the reprojection loss that picks IEV's starting
# body among the views: fit.yaml's robust_sigma, so that the network picks as the optimizer does.
SELECTION_SIGMA = 0.15
# Feedback residuals are scaled up (box units x 10) and clipped at 3 (0.3 of the box): the fine
# alignment that matters (a few degrees of a camera) lives in residuals of 1-2 % of the box.
FEEDBACK_GAIN = 10.0
HIPS = (11, 12)
FEEDBACK_CLIP = 3.0


@dataclass
class IRVOutput:
    """features: (..., V, Fd); context: (..., V, 5); thetas: per iteration (..., V, D), last = prediction."""

    features: torch.Tensor
    context: torch.Tensor
    thetas: list[torch.Tensor]

    @property
    def theta(self) -> torch.Tensor:
        return self.thetas[-1]


def visible_views(inputs: ViewInputs, threshold: float) -> torch.Tensor:
    """(..., V) True where a view has at least two confident detections."""
    return (inputs.keypoints2d[..., 2] > threshold).sum(-1) >= 2


def reprojection_feedback(space: ParamSpace, body: BodyModel, inputs: ViewInputs, threshold: float) -> FeedbackFn:
    """The IEV feedback for a canonical state, (F, V, 102): per keypoint, the residual between its
    projection and the detection in person-box units (scaled and clipped, see FEEDBACK_GAIN; zero
    for undetected keypoints), the confidence, and the keypoint in the camera's frame relative to
    the mid-hip (metres)."""
    kp = inputs.keypoints2d
    seen = kp[..., 2] > threshold
    conf = torch.where(seen, kp[..., 2], torch.zeros_like(kp[..., 2]))

    def feedback(state: CanonicalTheta) -> torch.Tensor:
        with torch.no_grad():
            points = canonical_keypoints(body, space.canonical(state, inputs))
            uv = project(points, inputs.focal, inputs.principal)
            residual = ((uv - kp[..., :2]) / inputs.box_size[..., None, None] * FEEDBACK_GAIN).clamp(-FEEDBACK_CLIP, FEEDBACK_CLIP)
            residual = torch.where(seen[..., None], residual, torch.zeros_like(residual))
            local = points - points[..., list(HIPS), :].mean(-2, keepdim=True)
            return torch.cat([residual, conf[..., None], local], dim=-1).flatten(-2)

    return feedback


class CMANet(nn.Module):
    """The cascaded multi-view aggregating network.

    Attributes: config (ModelConfig), body_config (the body model it was built for), space
    (ParamSpace: means and conversions), encoder, irv, iev.
    """

    def __init__(self, config: ModelConfig, space: ParamSpace, body_config: BodyModelConfig) -> None:
        super().__init__()
        self.config = config
        self.body_config = body_config
        self.space = space
        self.encoder = ViewEncoder(config)
        self.irv = IRVNet(config.irv, config.feature_dim, CONTEXT_DIM, space.dim)
        self.iev = IEVNet(config.iev, config.feature_dim, CONTEXT_DIM, space.num_joints, space.shape_dim)
        self._body_cache: list[BodyModel] = []  # a plain list: the body is not a submodule

    # ---------------------------------------------------------------- stages

    def run_irv(self, inputs: ViewInputs) -> IRVOutput:
        """Encode every view and regress its own body (batch dims ..., V views)."""
        features = self.encoder(inputs)
        context = camera_context(inputs)
        return IRVOutput(features, context, self.irv(features, context, self.space.mean))

    def view_losses(self, theta: torch.Tensor, inputs: ViewInputs, body: BodyModel) -> tuple[torch.Tensor, torch.Tensor]:
        """Keypoints (..., V, 17, 3) of per-view bodies and their reprojection losses (..., V)
        (inf for views without a usable detection)."""
        points = view_keypoints(body, self.space.view_bodies(theta, inputs))
        loss = reprojection_loss(project(points, inputs.focal, inputs.principal), inputs.keypoints2d,
                                 self.config.confidence_threshold, SELECTION_SIGMA)
        visible = visible_views(inputs, self.config.confidence_threshold)
        return points, torch.where(visible, loss, torch.full_like(loss, float("inf")))

    def initial_state(self, theta: torch.Tensor, view_loss: torch.Tensor) -> CanonicalTheta:
        """The paper's IEV start from IRV (F, V, D): every view's camera and orientation, and the
        pose and shape of the view that reprojects best (``view_loss`` (F, V))."""
        orient, pose, shape_z, cam = self.space.split(theta)
        best = view_loss.argmin(dim=-1)  # (F,)
        frames = torch.arange(theta.shape[0], device=theta.device)
        return CanonicalTheta(orient, cam, pose[frames, best], shape_z[frames, best])

    def mean_state(self, frames: int, views: int) -> CanonicalTheta:
        """The mean body seen by every view (IEV's start without IRV: the "IEV alone" ablation)."""
        orient, pose, shape_z, cam = self.space.split(self.space.mean)
        return CanonicalTheta(orient.expand(frames, views, -1), cam.expand(frames, views, -1),
                              pose.expand(frames, -1, -1), shape_z.expand(frames, -1))

    def run_iev(self, irv: IRVOutput, inputs: ViewInputs, init: CanonicalTheta, body: BodyModel) -> list[CanonicalTheta]:
        """Refine the canonical state of F frames (inputs with batch dims (F,))."""
        threshold = self.config.confidence_threshold
        feedback = reprojection_feedback(self.space, body, inputs, threshold) if self.config.iev.feedback else None
        return self.iev(irv.features, irv.context, init, feedback, ~visible_views(inputs, threshold))

    def forward(self, inputs: ViewInputs, body: BodyModel, stage: str = "full", irv: IRVOutput | None = None,
                init: CanonicalTheta | None = None):
        """One entry point for DistributedDataParallel.

        stage ``irv``: -> IRVOutput. ``iev``: IEV from the given (usually precomputed, frozen)
        ``irv`` output and ``init`` state -> list of CanonicalTheta. ``full``: both, IEV started
        from IRV -> (IRVOutput, view losses (F, V), list of CanonicalTheta). ``iev_mean``: IEV
        alone from the mean body, on the encoder's features -> list of CanonicalTheta.
        """
        if stage == "irv":
            return self.run_irv(inputs)
        if stage == "iev":
            return self.run_iev(irv, inputs, init, body)
        if stage == "iev_mean":
            features = self.encoder(inputs)
            irv = IRVOutput(features, camera_context(inputs), [])
            return self.run_iev(irv, inputs, self.mean_state(*features.shape[:2]), body)
        if stage != "full":
            raise ValueError(f"unknown stage {stage!r}")
        irv = self.run_irv(inputs)
        _, view_loss = self.view_losses(irv.theta.detach(), inputs, body)
        init = self.initial_state(irv.theta, view_loss)
        return irv, view_loss, self.run_iev(irv, inputs, init, body)

    # ---------------------------------------------------------------- outputs

    def view_bodies(self, theta: torch.Tensor, inputs: ViewInputs) -> ViewBodies:
        return self.space.view_bodies(theta, inputs)

    def canonical(self, state: CanonicalTheta, inputs: ViewInputs) -> CanonicalParams:
        return self.space.canonical(state, inputs)

    def body_model(self) -> BodyModel:
        """The body model this network was built for (loaded once, on the network's device)."""
        device = self.space.mean.device
        if not self._body_cache:
            self._body_cache.append(load_body_model(self.body_config))
        if self._body_cache[0].device != device:
            self._body_cache[0] = self._body_cache[0].to(device)
        return self._body_cache[0]


def with_iev_iterations(model: CMANet, iterations: int) -> CMANet:
    """``model`` with IEV run ``iterations`` times (in place). IEV's iterations share their
    weights, so this is the same network refining for longer (or shorter)."""
    if iterations < 1:
        raise InputError(f"--iev-iterations must be >= 1 (got {iterations})")
    model.config = dataclasses.replace(model.config, iev=dataclasses.replace(model.config.iev, iterations=iterations))
    model.iev.iterations = iterations
    return model


def build_model(config: ModelConfig, body: BodyModel, body_config: BodyModelConfig, mean_pose: torch.Tensor) -> CMANet:
    """A freshly initialised network for ``body``, regressing from the mean pose ``mean_pose``
    (J, 3) axis-angle (the pose prior's mean)."""
    return CMANet(config, ParamSpace.for_body(body, mean_pose), body_config)
