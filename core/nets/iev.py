"""IEV as a network: refine the canonical space with attention across the views.

Tokens: one per view (its encoder feature, camera context, current camera and orientation, and
optionally the feedback of how the current canonical body reprojects onto its detections) and
one body token (the current shared pose and shape). One transformer layer mixes them (the
"Swin-transformer layer" of the paper: with one token per view, a window spanning all views is
plain attention across views); heads read the refinements of every camera from the view tokens
and of the body from the body token. Iterated ``iterations`` times with shared weights.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from core.nets.attention import Mlp, TransformerBlock
from core.nets.config import IEVNetConfig
from core.nets.param_space import CanonicalTheta

# Feedback per view: 17 keypoints x (residual x, y in box units, confidence) and the current
# body's 17 keypoints in that camera's frame (root-relative, metres): the residuals say where the
# projection is off, the 3D keypoints how a change of the camera's rotation would move it.
FEEDBACK_DIM = 17 * 3 + 17 * 3

FeedbackFn = Callable[[CanonicalTheta], torch.Tensor]


def _small_last_layer(mlp: Mlp) -> Mlp:
    nn.init.xavier_uniform_(mlp.fc2.weight, gain=0.01)
    nn.init.zeros_(mlp.fc2.bias)
    return mlp


class IEVNet(nn.Module):
    def __init__(self, config: IEVNetConfig, feature_dim: int, context_dim: int, num_joints: int, shape_dim: int) -> None:
        super().__init__()
        self.iterations = config.iterations
        self.use_feedback = config.feedback
        self.num_joints, self.shape_dim = num_joints, shape_dim
        view_in = feature_dim + context_dim + 6 + 3 + (FEEDBACK_DIM if config.feedback else 0)
        body_dim = 6 * num_joints + shape_dim
        self.view_in = nn.Linear(view_in, config.dim)
        self.body_in = nn.Linear(body_dim, config.dim)
        self.body_embed = nn.Parameter(torch.randn(config.dim) * 0.02)
        self.fusion = TransformerBlock(config.dim, config.heads, mlp_ratio=2.0, dropout=config.dropout)
        self.view_head = _small_last_layer(Mlp(config.dim, config.hidden, 9, config.dropout))
        self.body_head = _small_last_layer(Mlp(config.dim, config.hidden, body_dim, config.dropout))

    def forward(
        self,
        features: torch.Tensor,
        context: torch.Tensor,
        init: CanonicalTheta,
        feedback: FeedbackFn | None = None,
        missing: torch.Tensor | None = None,
    ) -> list[CanonicalTheta]:
        """Refine ``init``.

        Args:
            features: (F, V, Fd) view features; context: (F, V, C) camera context.
            init: the starting canonical state (F frames, V views).
            feedback: state -> (F, V, 51) reprojection feedback (needed when the config uses it).
            missing: (F, V) True for views without a usable detection (not attended to).
        Returns:
            ``iterations`` states, the last one the prediction.
        """
        if missing is not None:
            # A frame that no view sees keeps every view, rather than attending to nothing.
            missing = missing & ~missing.all(dim=-1, keepdim=True)
            padding = torch.cat([torch.zeros_like(missing[..., :1]), missing], dim=-1)
        else:
            padding = None
        state, outputs = init, []
        for _ in range(self.iterations):
            parts = [features, context, state.orient, state.cam]
            if self.use_feedback:
                if feedback is None:
                    raise ValueError("this IEV network uses reprojection feedback: pass feedback=")
                parts.append(feedback(state).detach())
            views = self.view_in(torch.cat(parts, dim=-1))
            body = self.body_in(torch.cat([state.pose.flatten(-2), state.shape_z], dim=-1)) + self.body_embed
            tokens = self.fusion(torch.cat([body[..., None, :], views], dim=-2), padding)
            d_view = self.view_head(tokens[..., 1:, :])
            d_body = self.body_head(tokens[..., 0, :])
            d_pose, d_shape = d_body.split([6 * self.num_joints, self.shape_dim], dim=-1)
            state = CanonicalTheta(
                orient=state.orient + d_view[..., :6],
                cam=state.cam + d_view[..., 6:],
                pose=state.pose + d_pose.reshape(state.pose.shape),
                shape_z=state.shape_z + d_shape,
            )
            outputs.append(state)
        return outputs
