"""The torch device a command runs on, from its ``--device`` / config name."""

from __future__ import annotations

import torch

from core.errors import InputError


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is bad input."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available (use auto or cpu)")
    return torch.device(name)
