"""The ``model`` section of a training config: which encoder, and the sizes of every module.

Loaded by :func:`core.config.from_dict` (unknown keys and bad values are reported with the file
and the dotted key) and stored inside every checkpoint, so that a checkpoint rebuilds its network
without the YAML file it was trained from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class KeypointEncoderConfig:
    """A small transformer over one view's 17 detections (one token per keypoint + a summary token)."""

    dim: int = 128
    depth: int = 3
    heads: int = 4
    mlp_ratio: float = 2.0
    dropout: float = 0.0

    def validate(self) -> None:
        if self.dim <= 0 or self.depth < 1 or self.heads < 1 or self.dim % self.heads:
            raise ValueError("keypoint_encoder: dim must be a positive multiple of heads, depth >= 1")


@dataclass(frozen=True)
class SwinConfig:
    """Swin Transformer on the square person crop. Swin-T: embed_dim 96, depths (2, 2, 6, 2),
    heads (3, 6, 12, 24), window 7 (8 at 256x256, so that windows tile the token grids exactly)."""

    image_size: int = 256
    patch_size: int = 4
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    heads: tuple[int, ...] = (3, 6, 12, 24)
    window_size: int = 8
    mlp_ratio: float = 4.0
    drop_path: float = 0.2

    def validate(self) -> None:
        if len(self.depths) != len(self.heads) or not self.depths:
            raise ValueError("swin: depths and heads must have the same (non-zero) length")
        if self.image_size % self.patch_size:
            raise ValueError("swin: image_size must be a multiple of patch_size")
        for i, h in enumerate(self.heads):
            if (self.embed_dim * 2**i) % h:
                raise ValueError(f"swin: stage {i} width {self.embed_dim * 2**i} is not a multiple of heads[{i}]={h}")
        if self.window_size < 1 or not 0.0 <= self.drop_path < 1.0:
            raise ValueError("swin: window_size >= 1 and drop_path in [0, 1)")


@dataclass(frozen=True)
class IRVNetConfig:
    """Per-view iterative regressors (HMR-style: two FC layers, then the parameter update).

    shared_regressor: one regressor for every view (rigs whose views have no fixed order);
        otherwise ``num_views`` regressors, weights not shared between views (the paper).
    """

    hidden: int = 1024
    iterations: int = 3
    dropout: float = 0.1
    shared_regressor: bool = True
    num_views: int = 4

    def validate(self) -> None:
        if self.hidden <= 0 or self.iterations < 1 or self.num_views < 1:
            raise ValueError("irv: hidden > 0, iterations >= 1, num_views >= 1")


@dataclass(frozen=True)
class IEVNetConfig:
    """Cross-view fusion (one transformer layer whose attention runs across the views) and the
    refinement heads of the body and of each camera.

    feedback: feed each view the residual between its detections and the current canonical
        body's projection (in person-box units) at every iteration.
    """

    dim: int = 256
    heads: int = 8
    hidden: int = 512
    iterations: int = 3
    feedback: bool = True
    dropout: float = 0.0

    def validate(self) -> None:
        if self.dim <= 0 or self.heads < 1 or self.dim % self.heads or self.iterations < 1:
            raise ValueError("iev: dim must be a positive multiple of heads, iterations >= 1")


@dataclass(frozen=True)
class ModelConfig:
    """The whole network. encoder: ``keypoints`` (detections only), ``swin`` (person crop) or
    ``fused`` (both, concatenated). feature_dim: width of each view's feature vector."""

    encoder: Literal["keypoints", "swin", "fused"] = "keypoints"
    feature_dim: int = 256
    keypoint_encoder: KeypointEncoderConfig = field(default_factory=KeypointEncoderConfig)
    swin: SwinConfig = field(default_factory=SwinConfig)
    irv: IRVNetConfig = field(default_factory=IRVNetConfig)
    iev: IEVNetConfig = field(default_factory=IEVNetConfig)
    confidence_threshold: float = 0.3

    @property
    def uses_images(self) -> bool:
        return self.encoder in ("swin", "fused")

    def validate(self) -> None:
        if self.feature_dim <= 0:
            raise ValueError("feature_dim must be positive")
        if not 0.0 <= self.confidence_threshold < 1.0:
            raise ValueError("confidence_threshold (lambda) must be in [0, 1)")
