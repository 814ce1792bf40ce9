"""Body models behind one interface (:class:`BodyModel`), chosen by name in the config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.body.base import BodyModel, BodyOutput, as_rotmat


@dataclass(frozen=True)
class BodyModelConfig:
    """``body_model`` section of a config.

    name: ``anny`` (default, ships with the app) or ``smpl`` (your own licensed model files).
    path: SMPL only: the SMPL_*.pkl file or the folder that holds it.
    gender: SMPL only.
    """

    name: Literal["anny", "smpl"] = "anny"
    path: str | None = None
    gender: Literal["neutral", "male", "female"] = "neutral"


def load_body_model(config: BodyModelConfig | None = None) -> BodyModel:
    """Build the configured body model (on the CPU; move it with ``.to(device)``)."""
    config = config or BodyModelConfig()
    if config.name == "anny":
        from core.body.anny_body import AnnyBody

        return AnnyBody()
    from core.body.smpl_body import SmplBody

    return SmplBody(config.path, config.gender)


__all__ = ["BodyModel", "BodyModelConfig", "BodyOutput", "as_rotmat", "load_body_model"]
