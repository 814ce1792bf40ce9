"""The keypoint encoder: a small transformer over one view's 17 detections.

Each keypoint is a token: its position in the person box (centre 0, box side 1), its confidence
(zero, and the position zeroed, at or below lambda, so that a missed joint looks the same whatever
the detector put there) and a learnt embedding of which keypoint it is. A summary token carries
where the box lies in the camera's field of view and the image's size relative to the focal
length; its output is the view's feature. Trained on synthetic detections, it needs no image,
which is why it transfers to real footage.
"""

from __future__ import annotations

import torch
from torch import nn

from core.nets.attention import TransformerBlock
from core.nets.config import KeypointEncoderConfig

NUM_KEYPOINTS = 17
# Normalised positions beyond this many box sides (gross outliers) are clipped.
MAX_OFFSET = 1.5


def keypoint_tokens(keypoints2d: torch.Tensor, box_centre: torch.Tensor, box_size: torch.Tensor, threshold: float) -> torch.Tensor:
    """(..., 17, 3) detections -> (..., 17, 3) token inputs: box-normalised x, y and confidence,
    all zero where the confidence is at or below ``threshold``."""
    conf = keypoints2d[..., 2]
    seen = conf > threshold
    uv = ((keypoints2d[..., :2] - box_centre[..., None, :]) / box_size[..., None, None]).clamp(-MAX_OFFSET, MAX_OFFSET)
    uv = torch.where(seen[..., None], uv, torch.zeros_like(uv))
    return torch.cat([uv, torch.where(seen, conf, torch.zeros_like(conf))[..., None]], dim=-1)


class KeypointEncoder(nn.Module):
    """(..., 17, 3) token inputs + (..., C) camera context -> (..., out_dim) view features: the
    summary token, concatenated with the raw inputs themselves (a direct path that makes the
    geometry easy to learn from the start; attention adds the keypoints' relations)."""

    def __init__(self, config: KeypointEncoderConfig, context_dim: int) -> None:
        super().__init__()
        self.out_dim = config.dim + NUM_KEYPOINTS * 3 + context_dim
        self.keypoint_in = nn.Linear(3, config.dim)
        self.keypoint_embed = nn.Parameter(torch.randn(NUM_KEYPOINTS, config.dim) * 0.02)
        self.context_in = nn.Linear(context_dim, config.dim)
        self.summary_embed = nn.Parameter(torch.randn(config.dim) * 0.02)
        self.blocks = nn.ModuleList(
            TransformerBlock(config.dim, config.heads, config.mlp_ratio, config.dropout) for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(config.dim)

    def forward(self, tokens: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        batch = tokens.shape[:-2]
        x = self.keypoint_in(tokens.reshape(-1, NUM_KEYPOINTS, 3)) + self.keypoint_embed
        summary = self.context_in(context.reshape(-1, context.shape[-1])) + self.summary_embed
        x = torch.cat([summary[:, None], x], dim=1)
        for block in self.blocks:
            x = block(x)
        raw = torch.cat([tokens.reshape(-1, NUM_KEYPOINTS * 3), context.reshape(-1, context.shape[-1])], dim=-1)
        return torch.cat([self.norm(x[:, 0]), raw], dim=-1).reshape(*batch, -1)
