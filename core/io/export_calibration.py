"""The recovered cameras of a static-rig fit as a calibration other tools read: Pose2Sim /
anipose TOML and EasyMocap YAML (:mod:`core.io.calibration` writes them).

The cameras are pinholes (no distortion) in the result's world: Z up, metres, floor at z = 0.
Their reprojection error is the mean IEV error the app shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import InputError
from core.io.calibration import (
    RigCalibration,
    easymocap_texts,
    pinhole_calibration,
    toml_text,
)
from core.io.results import FitResult

CALIBRATION_TOML = "Calib.toml"
EASYMOCAP_DIR = "easymocap"


def is_static_rig(result: FitResult) -> bool:
    """Whether every frame has the same cameras (a static-rig fit; per-frame fits move them)."""
    def same(a: np.ndarray, tolerance: float) -> bool:
        return bool(np.all(np.abs(a - a[:1]) <= tolerance))

    return (same(result.cam_R, 1e-5) and same(result.cam_t, 1e-5) and same(result.cam_f, 1e-3 * result.cam_f.max())
            and same(result.cam_c, 1e-3))


def result_rig(result: FitResult, where: Path | None = None) -> RigCalibration:
    """The static rig of ``result``; InputError for a per-frame fit."""
    if not is_static_rig(result):
        raise InputError("a per-frame fit (cameras move between frames) has no single calibration to export: fit the "
                         "sequence as a static rig (cmanet fit without --per-frame)", where)
    return pinhole_calibration(result.view_names, result.image_sizes, result.cam_R[0], result.cam_t[0],
                               result.cam_f[0], result.cam_c[0])


def mean_reprojection_px(result: FitResult) -> float:
    """The fit's mean IEV reprojection error (pixels), as the app shows it."""
    return float(np.nanmean(result.iev_reproj_px))


def calibration_toml(result: FitResult, where: Path | None = None) -> str:
    """The Pose2Sim / anipose calibration file of a static-rig result."""
    comment = ("CMANet Studio: cameras recovered from a person's motion (no calibration board).\n"
               "World: Z up, metres, floor at z = 0. Pinhole cameras; error = mean reprojection error in pixels.")
    return toml_text(result_rig(result, where), mean_reprojection_px(result), comment)


def calibration_easymocap(result: FitResult, where: Path | None = None) -> tuple[str, str]:
    """EasyMocap's ``(intri.yml, extri.yml)`` of a static-rig result."""
    return easymocap_texts(result_rig(result, where))
