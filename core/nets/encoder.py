"""Per-view encoders, chosen in the config: ``keypoints``, ``swin`` or ``fused`` (both, concatenated).

One encoder is shared by all views (as in the paper); it maps each view to a ``feature_dim`` vector.
"""

from __future__ import annotations

import torch
from torch import nn

from core.nets.config import ModelConfig
from core.nets.inputs import CONTEXT_DIM, ViewInputs, camera_context
from core.nets.keypoint_encoder import KeypointEncoder, keypoint_tokens
from core.nets.swin import SwinTransformer


class ViewEncoder(nn.Module):
    """ViewInputs (..., V) -> (..., V, feature_dim)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.kind = config.encoder
        self.threshold = config.confidence_threshold
        self.keypoints = KeypointEncoder(config.keypoint_encoder, CONTEXT_DIM) if self.kind in ("keypoints", "fused") else None
        self.swin = SwinTransformer(config.swin) if self.kind in ("swin", "fused") else None
        width = (self.keypoints.out_dim if self.keypoints is not None else 0) + (self.swin.out_dim if self.swin is not None else 0)
        self.proj = nn.Sequential(nn.Linear(width, config.feature_dim), nn.GELU(), nn.Linear(config.feature_dim, config.feature_dim),
                                  nn.LayerNorm(config.feature_dim))
        self.image_size = config.swin.image_size

    def forward(self, inputs: ViewInputs) -> torch.Tensor:
        parts = []
        if self.keypoints is not None:
            tokens = keypoint_tokens(inputs.keypoints2d, inputs.box_centre, inputs.box_size, self.threshold)
            parts.append(self.keypoints(tokens, camera_context(inputs)))
        if self.swin is not None:
            if inputs.crops is None:
                raise ValueError(f"the {self.kind!r} encoder needs person crops (images), none were given")
            crops = inputs.crops
            batch = crops.shape[:-3]
            if crops.shape[-1] != self.image_size:
                raise ValueError(f"crops are {crops.shape[-1]} px, the encoder takes {self.image_size} px")
            images = crops.reshape(-1, *crops.shape[-3:])
            images = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
            parts.append(self.swin(images).reshape(*batch, -1))
        return self.proj(torch.cat(parts, dim=-1))
