"""``resources/configs/session.yaml``: how a session's shared rig is estimated."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.config import CONFIGS_DIR, load_config


@dataclass(frozen=True)
class SessionRigConfig:
    """The joint rig (see :mod:`core.session.rig`).

    confidence_threshold: detections triangulated to check and refine a rig.
    max_error: a view further than this from the point the other views agree on is left out of
        it, as a fraction of the image's longer side.
    robust: the soft-L1 scale of the bundle adjustment, fraction of the longer side.
    min_views: views a triangulated point needs.
    min_explained: a trial refines the joint rig when the starting rig explains at least this
        share of its confident detections, relative to the best trial's share.
    estimate_focal: refine the focal lengths in the joint rig too; focal_sigma: the log-normal
        prior's width around each trial's estimate.
    """

    confidence_threshold: float = 0.5
    max_error: float = 0.015
    robust: float = 0.002
    min_views: int = 2
    min_explained: float = 0.9
    estimate_focal: bool = False
    focal_sigma: float = 0.2

    def validate(self) -> None:
        if not 0.0 <= self.confidence_threshold < 1.0:
            raise ValueError("confidence_threshold must be in [0, 1)")
        if not (self.max_error > 0 and self.robust > 0 and self.focal_sigma > 0):
            raise ValueError("max_error, robust and focal_sigma must be positive")
        if self.min_views < 2:
            raise ValueError("min_views must be at least 2")
        if not 0.0 <= self.min_explained <= 1.0:
            raise ValueError("min_explained must be in [0, 1]")


@dataclass(frozen=True)
class SessionConfig:
    rig: SessionRigConfig = field(default_factory=SessionRigConfig)


DEFAULT_SESSION_CONFIG = CONFIGS_DIR / "session.yaml"


def load_session_config(path: str | Path | None = None) -> SessionConfig:
    """The session config from ``path`` (default: the shipped session.yaml), validated."""
    return load_config(SessionConfig, path or DEFAULT_SESSION_CONFIG)
