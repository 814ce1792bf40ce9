"""An orbit camera for the 3D panel: turns around a target point, world Z up."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class OrbitCamera:
    target: tuple[float, float, float] = (0.0, 0.0, 0.9)
    azimuth: float = -90.0  # degrees; -90 looks from -Y (where the person faces at the start)
    elevation: float = 25.0  # degrees above the horizon
    distance: float = 6.0  # metres
    fov: float = 45.0  # vertical field of view, degrees

    def eye(self) -> np.ndarray:
        az, el = math.radians(self.azimuth), math.radians(self.elevation)
        offset = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        return np.asarray(self.target) + self.distance * offset

    def basis(self) -> tuple[np.ndarray, np.ndarray]:
        """(right, up) unit vectors of the view, for panning."""
        forward = np.asarray(self.target) - self.eye()
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= max(np.linalg.norm(right), 1e-9)
        return right, np.cross(right, forward)

    def orbited(self, dx_px: float, dy_px: float, degrees_per_px: float = 0.4) -> OrbitCamera:
        elevation = float(np.clip(self.elevation + dy_px * degrees_per_px, -89.0, 89.0))
        return replace(self, azimuth=(self.azimuth - dx_px * degrees_per_px) % 360.0, elevation=elevation)

    def panned(self, dx_px: float, dy_px: float, view_height_px: float) -> OrbitCamera:
        # One pixel moves the target by the size of a pixel at the target's depth.
        metres_per_px = 2 * self.distance * math.tan(math.radians(self.fov) / 2) / max(view_height_px, 1.0)
        right, up = self.basis()
        target = np.asarray(self.target) - right * dx_px * metres_per_px + up * dy_px * metres_per_px
        return replace(self, target=tuple(float(x) for x in target))

    def zoomed(self, factor: float) -> OrbitCamera:
        return replace(self, distance=float(np.clip(self.distance * factor, 0.3, 200.0)))

    @classmethod
    def framing(cls, low: np.ndarray, high: np.ndarray, fov: float = 45.0) -> OrbitCamera:
        """A view that shows the box [low, high] from the front, slightly above."""
        centre = (np.asarray(low) + np.asarray(high)) / 2
        radius = float(np.linalg.norm(np.asarray(high) - np.asarray(low))) / 2
        distance = max(1.5, radius / math.tan(math.radians(fov) / 2) * 0.85)
        return cls(target=tuple(float(x) for x in centre), distance=distance, fov=fov)
