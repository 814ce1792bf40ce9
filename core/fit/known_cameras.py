"""A known calibration (``cmanet fit --calibration``) applied to the fit's inputs.

Cameras are matched to the sequence's views by name (else, all of them, by order, with a
warning); a partial calibration leaves the other views estimated. For each calibrated view, its
intrinsics replace the guess (and are kept fixed), its lens distortion replaces sequence.yaml's
in the capture (:func:`core.fit.capture.fit_captured` removes it from the detections: the fit's
cameras are pinholes), and its extrinsics, when given, go into
``FitInputs.extrinsics``: the static-rig fit holds those cameras fixed and the result stays in the
calibration's world.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.fit.capture import CaptureInfo
from core.fit.inputs import FitInputs, KnownExtrinsics
from core.io.calibration import CameraCalibration, RigCalibration

log = logging.getLogger(__name__)


def match_calibration(rig: RigCalibration, view_names: list[str], where: Path | None = None) -> list[CameraCalibration | None]:
    """The calibrated camera of each view (None where the calibration has none): by name, else by
    order when no name matches and the counts agree."""
    cameras = rig.match(view_names)
    if all(c is None for c in cameras):
        if len(rig.cameras) != len(view_names):
            raise InputError(f"no camera name matches the sequence's ({', '.join(view_names)}; the calibration has "
                             f"{', '.join(rig.names)})", where)
        log.warning("%s: camera names (%s) do not match the sequence's (%s): matched by order", where,
                    ", ".join(rig.names), ", ".join(view_names))
        cameras = list(rig.cameras)
    missing = [n for n, c in zip(view_names, cameras) if c is None]
    if missing:
        log.warning("%s: no calibration for %s: estimated", where, ", ".join(missing))
    return cameras


def apply_calibration(inputs: FitInputs, rig: RigCalibration, capture: CaptureInfo | None = None,
                      where: Path | None = None) -> tuple[FitInputs, CaptureInfo]:
    """``inputs`` with the calibrated views' intrinsics (known) and their extrinsics
    (``extrinsics`` None when the calibration gives none), and ``capture`` (default: nothing
    known) with the calibrated views' lens distortion."""
    cameras = match_calibration(rig, list(inputs.view_names), where)
    views = len(cameras)
    capture = capture or CaptureInfo.default(views, inputs.fps)
    focal, principal = inputs.focal.copy(), inputs.principal.copy()
    known_focal = np.zeros(views, bool) if inputs.focal_known is None else inputs.focal_known.copy()
    distortions = np.array(capture.distortions, dtype=np.float64, copy=True)
    rotation, translation = np.tile(np.eye(3), (views, 1, 1)), np.zeros((views, 3))
    known_pose = np.zeros(views, bool)
    for v, cam in enumerate(cameras):
        if cam is None:
            continue
        size = tuple(int(s) for s in inputs.image_sizes[v])
        if cam.size is not None and tuple(cam.size) != size:
            # A calibration made at a few pixels' padding (1088 vs 1080) still holds.
            if any(abs(a - b) > 0.02 * b for a, b in zip(cam.size, size)):
                raise InputError(f"camera {cam.name} is calibrated for {cam.size[0]}x{cam.size[1]} images, but view "
                                 f"{inputs.view_names[v]} is {size[0]}x{size[1]}", where)
        focal[v], principal[v], known_focal[v] = cam.focal_px, cam.principal_point, True
        distortions[v] = 0.0
        distortions[v, : min(5, len(cam.distortions))] = np.asarray(cam.distortions, dtype=np.float64)[:5]
        if cam.has_extrinsics:
            rotation[v], translation[v], known_pose[v] = cam.rotation, cam.translation, True
    extrinsics = KnownExtrinsics(rotation, translation, known_pose) if known_pose.any() else None
    fitted = dataclasses.replace(inputs, focal=focal.astype(np.float32), principal=principal.astype(np.float32),
                                 focal_known=known_focal, extrinsics=extrinsics)
    return fitted, dataclasses.replace(capture, distortions=distortions)
