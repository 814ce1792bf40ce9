"""The 3D panel's pictures, drawn in the render server process: the fused body by ray casting
(:class:`core.render.MeshRenderer`, Open3D's Embree scene: smooth-shaded, no GPU), the lines
(floor grid, camera frusta, skeleton) and the ghosted IRV bodies (points) with OpenCV, all through
one pinhole camera made from the orbit camera.

Why not Open3D's rasterising ``OffscreenRenderer`` (Filament) any more: on this CPU-only stack
(Vulkan on Mesa llvmpipe) its frame time after new meshes ranged from 40 ms to several seconds
for the same scene (its frame pacing spins while the software "GPU" lags, worse on a busy
machine). Ray casting costs what the pixels the body covers cost, every time: a new frame's
meshes are a BVH build of ~10 ms, not an upload plus shader work.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from cmanet_app.scene3d.geometry import BACKGROUND, LineSet, SceneData
from core.render import MeshRenderer

NEAR_M = 0.05  # lines are clipped at this depth in front of the camera
LINE_WIDTHS = {"grid": 1, "skeleton": 3}  # pixels at full size; other lines (frusta) 2
GHOST_STEP = 2  # every other vertex of a ghosted body is drawn


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World->camera ``(R, t)`` (OpenCV axes: x right, y down, z forward) of a camera at ``eye``
    looking at ``target`` with ``up`` upwards in the image."""
    eye, target, up = (np.asarray(a, np.float64) for a in (eye, target, up))
    forward = target - eye
    forward /= max(np.linalg.norm(forward), 1e-12)
    right = np.cross(forward, up)
    right /= max(np.linalg.norm(right), 1e-12)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    return R, -R @ eye


def focal_px(fov_deg: float, height: int) -> float:
    """Focal length in pixels of a vertical field of view ``fov_deg`` over ``height`` pixels."""
    return height / 2.0 / math.tan(math.radians(fov_deg) / 2.0)


def _clipped_segments(points_cam: np.ndarray, lines: np.ndarray, near: float = NEAR_M) -> tuple[np.ndarray, np.ndarray]:
    """(L', 3), (L', 3) segment ends of ``lines`` over camera-frame ``points_cam``, cut at depth
    ``near`` (segments wholly behind it dropped)."""
    a, b = points_cam[lines[:, 0]], points_cam[lines[:, 1]]
    keep = (a[:, 2] > near) | (b[:, 2] > near)
    a, b = a[keep].copy(), b[keep].copy()
    for p, q in ((a, b), (b, a)):
        behind = p[:, 2] <= near
        if behind.any():
            s = (near - p[behind, 2]) / (q[behind, 2] - p[behind, 2])
            p[behind] = p[behind] + s[:, None] * (q[behind] - p[behind])
    return a, b


def _srgb8(colour) -> tuple[int, int, int]:
    return tuple(round(255 * min(max(c, 0.0), 1.0)) for c in colour)


class PanelRenderer:
    """Draws :class:`SceneData` at one image size; :meth:`set_scene` keeps the scene, :meth:`render`
    draws it from a camera (any number of times: orbiting re-renders the same scene)."""

    def __init__(self, width: int, height: int):
        self.width, self.height = int(width), int(height)
        self.meshes = MeshRenderer(self.width, self.height)
        self.scene: SceneData | None = None
        self._background = np.empty((self.height, self.width, 3), np.uint8)
        self._background[:] = _srgb8(BACKGROUND[:3])
        self._line_scale = max(1, round(self.height / 600))

    def set_scene(self, scene: SceneData | None) -> None:
        self.scene = scene

    def render(self, eye, target, up, fov: float) -> np.ndarray:
        """(H, W, 3) uint8 RGB of the scene seen from ``eye`` looking at ``target``."""
        R, t = look_at(eye, target, up)
        f = focal_px(fov, self.height)
        c = np.array([self.width / 2.0, self.height / 2.0])
        image = self._background.copy()
        scene = self.scene
        if scene is None:
            return image
        # Everything else first, the body over it: the skeleton shows where it leaves the body, as
        # a depth test would show it, and the grid and the cameras pass behind the body.
        for name, ls in scene.lines.items():
            self._draw_lines(image, ls, R, t, f, c, LINE_WIDTHS.get(name, 2))
        if scene.faces is not None:
            for ghost in scene.ghosts:
                self._draw_points(image, ghost.vertices[::GHOST_STEP], ghost.colour, R, t, f, c)
        if scene.body is not None and scene.faces is not None:
            image = self.meshes.render(scene.body.vertices, scene.faces, f, c, R, t, color=scene.body.colour,
                                       background=image, shadows=False).image
        return image

    def _draw_lines(self, image: np.ndarray, ls: LineSet, R, t, f: float, c: np.ndarray, width: int) -> None:
        cam = np.asarray(ls.points, np.float64) @ R.T + t
        a, b = _clipped_segments(cam, np.asarray(ls.lines, np.int64))
        if not len(a):
            return
        # Sub-pixel ends (shift=4: sixteenths of a pixel), clipped to a sane range for OpenCV.
        ua = np.clip(np.round((a[:, :2] / a[:, 2:] * f + c) * 16), -(2**24), 2**24).astype(np.int64)
        ub = np.clip(np.round((b[:, :2] / b[:, 2:] * f + c) * 16), -(2**24), 2**24).astype(np.int64)
        colour = _srgb8(ls.colour)
        thickness = width * self._line_scale
        for p, q in zip(ua, ub):
            cv2.line(image, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), colour, thickness, cv2.LINE_AA, shift=4)

    def _draw_points(self, image: np.ndarray, points: np.ndarray, colour, R, t, f: float, c: np.ndarray) -> None:
        cam = np.asarray(points, np.float64) @ R.T + t
        cam = cam[cam[:, 2] > NEAR_M]
        uv = np.round(cam[:, :2] / cam[:, 2:] * f + c).astype(np.int64)
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < self.width) & (uv[:, 1] >= 0) & (uv[:, 1] < self.height)
        uv = uv[inside]
        # Half-transparent dots: the ghost reads as see-through.
        image[uv[:, 1], uv[:, 0]] = (image[uv[:, 1], uv[:, 0]] * 0.5 + np.asarray(_srgb8(colour)) * 0.5).astype(np.uint8)
