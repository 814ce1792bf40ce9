"""Known camera calibrations: one :class:`RigCalibration` read from the files other tools write.

Conventions: OpenCV pinhole cameras, world->camera ``X_cam = R X_world + t``, translations in
metres, distortion coefficients in OpenCV order ``[k1, k2, p1, p2(, k3)]``.

Readers: Qualisys ``.qca.txt`` (what the Pose2Sim demo recordings ship with; converted as
Pose2Sim's ``calib_qca_fun`` does: sensor units / 64, camera->world transform inverted, the
cameras turned by pi about their x axis).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from core.errors import InputError


@dataclass(frozen=True)
class CameraCalibration:
    """One calibrated camera.

    size: (width, height) pixels; matrix: (3, 3) K; distortions: (4,) or (5,) OpenCV order;
    rotation: (3, 3) world->camera; translation: (3,) metres.
    """

    name: str
    size: tuple[int, int]
    matrix: np.ndarray
    distortions: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray

    @property
    def focal_px(self) -> float:
        """Mean of fx and fy."""
        return float(0.5 * (self.matrix[0, 0] + self.matrix[1, 1]))

    @property
    def principal_point(self) -> tuple[float, float]:
        return float(self.matrix[0, 2]), float(self.matrix[1, 2])

    @property
    def projection_matrix(self) -> np.ndarray:
        """(3, 4) ``K [R | t]``."""
        return self.matrix @ np.hstack([self.rotation, self.translation[:, None]])


@dataclass(frozen=True)
class RigCalibration:
    """Calibrated cameras in one world frame (metres)."""

    cameras: tuple[CameraCalibration, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def by_name(self, names: list[str]) -> RigCalibration:
        """The cameras in the order of ``names``: matched by name, else by name without case and
        punctuation (``cam_01`` is ``cam01``); InputError when one is missing."""
        exact = {c.name: c for c in self.cameras}
        loose = {_loose_name(c.name): c for c in self.cameras}
        picked = [exact.get(n) or loose.get(_loose_name(n)) for n in names]
        if None in picked:
            missing = names[picked.index(None)]
            raise InputError(f"calibration has no camera {missing!r} (it has {', '.join(exact)})")
        return RigCalibration(tuple(picked))

    @property
    def rotations(self) -> np.ndarray:
        """(V, 3, 3) world->camera."""
        return np.stack([c.rotation for c in self.cameras])

    @property
    def translations(self) -> np.ndarray:
        """(V, 3) metres."""
        return np.stack([c.translation for c in self.cameras])


def _loose_name(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _rotation_about_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def read_qca(path: str | Path) -> RigCalibration:
    """A Qualisys ``.qca.txt`` calibration (XML), as Pose2Sim converts it."""
    path = Path(path)
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as exc:
        raise InputError(f"not a readable Qualisys calibration ({exc})", path) from None
    cameras = []
    for tag in root.findall("cameras/camera"):
        try:
            fov = tag.find("fov_video").attrib
            intr = tag.find("intrinsic").attrib
            tr = tag.find("transform").attrib
            left, top = float(fov["left"]), float(fov["top"])
            size = (int(float(fov["right"]) - left + 1), int(float(fov["bottom"]) - top + 1))
            # Sensor coordinates are 64 sub-pixels per pixel.
            fu, fv = float(intr["focalLengthU"]) / 64, float(intr["focalLengthV"]) / 64
            cu, cv = float(intr["centerPointU"]) / 64 - left, float(intr["centerPointV"]) / 64 - top
            dist = np.array([float(intr[k]) / 64 for k in
                             ("radialDistortion1", "radialDistortion2", "tangentalDistortion1", "tangentalDistortion2")])
            matrix = np.array([[float(tr[f"r{i}{j}"]) for j in (1, 2, 3)] for i in (1, 2, 3)])
            position = np.array([float(tr[k]) for k in ("x", "y", "z")]) / 1000.0
        except (AttributeError, KeyError, ValueError) as exc:
            raise InputError(f"camera {tag.attrib.get('serial', '?')}: incomplete Qualisys calibration ({exc})", path) from None
        # The file holds each camera's orientation column by column (camera->world) and its
        # position, so read row by row it is world->camera; Qualisys cameras look down their -z
        # axis, hence the half turn about x.
        flip = _rotation_about_x(np.pi)
        rotation = flip @ matrix
        translation = flip @ (-matrix @ position)
        cameras.append(CameraCalibration(
            name=str(tag.attrib.get("serial", f"cam{len(cameras) + 1:02d}")), size=size,
            matrix=np.array([[fu, 0.0, cu], [0.0, fv, cv], [0.0, 0.0, 1.0]]), distortions=dist,
            rotation=rotation, translation=translation,
        ))
    if not cameras:
        raise InputError("no cameras in this Qualisys calibration", path)
    return RigCalibration(tuple(cameras))
