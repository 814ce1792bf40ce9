"""CMANet's networks: view encoders (Swin Transformer, keypoint transformer), IRV's iterative
per-view regressors and IEV's cross-view refinement, over the canonical parameter space of
core.canonical.params.

The fitting code calls :func:`load_model` and :func:`predict`.
"""

from core.nets.checkpoint import DEFAULT_MODEL, load_model, save_model
from core.nets.cmanet import CMANet, build_model
from core.nets.config import ModelConfig
from core.nets.predict import predict

__all__ = ["DEFAULT_MODEL", "CMANet", "ModelConfig", "build_model", "load_model", "predict", "save_model"]
