"""What the 3D panel shows, as plain numpy arrays (no Open3D, no Qt): the fused body, ghosted IRV
bodies, the skeleton, camera frusta and a floor grid. World frame: Z up, metres, floor at z = 0."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cmanet_app.bodies import camera_to_world, refocused
from cmanet_app.overlay import IEV_COLOUR, view_colour
from core.io.results import FitResult
from core.keypoints import COCO17_EDGES

BACKGROUND = (0.11, 0.115, 0.13, 1.0)  # RGBA, sRGB: the 3D panel's and the Open3D window's clear colour
SKELETON_COLOUR = (0.95, 0.95, 0.95)
GRID_COLOUR = (0.42, 0.42, 0.46)
FRUSTUM_DEPTH = 0.5  # metres from the camera centre to the drawn image plane


@dataclass
class LineSet:
    points: np.ndarray  # (P, 3)
    lines: np.ndarray  # (L, 2) int
    colour: tuple[float, float, float]


@dataclass
class Mesh:
    vertices: np.ndarray  # (N, 3)
    colour: tuple[float, float, float]
    alpha: float = 1.0


@dataclass
class SceneData:
    """One frame's 3D content. ``faces`` is shared by every mesh (one body model)."""

    faces: np.ndarray | None = None
    body: Mesh | None = None
    ghosts: list[Mesh] = field(default_factory=list)
    lines: dict[str, LineSet] = field(default_factory=dict)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        parts = [m.vertices for m in ([self.body] if self.body else [])] + [l.points for n, l in self.lines.items() if n != "grid"]
        if not parts:
            return np.array([-1.0, -1.0, 0.0]), np.array([1.0, 1.0, 2.0])
        allp = np.concatenate(parts)
        return allp.min(0), allp.max(0)


def rgb(colour: tuple[int, int, int]) -> tuple[float, float, float]:
    return tuple(c / 255.0 for c in colour)  # type: ignore[return-value]


def floor_grid(centre: np.ndarray, half_size: float = 3.0, step: float = 0.5) -> LineSet:
    """Lines on z = 0 around ``centre`` (x, y), every ``step`` metres."""
    cx, cy = np.round(np.asarray(centre[:2]) / step) * step
    ticks = np.arange(-half_size, half_size + 1e-9, step)
    points, lines = [], []
    for t in ticks:
        points += [(cx + t, cy - half_size, 0.0), (cx + t, cy + half_size, 0.0),
                   (cx - half_size, cy + t, 0.0), (cx + half_size, cy + t, 0.0)]
    points = np.asarray(points)
    lines = np.arange(len(points)).reshape(-1, 2)
    return LineSet(points, lines, GRID_COLOUR)


def frustum(R: np.ndarray, t: np.ndarray, focal: float, principal: np.ndarray, size: tuple[int, int],
            colour: tuple[float, float, float], depth: float = FRUSTUM_DEPTH) -> LineSet:
    """A camera as a pyramid: its centre, the image corners at ``depth`` metres, and a tick on the
    image's top edge (which way is up)."""
    width, height = size
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    rays = np.column_stack([(corners - principal) / focal, np.ones(4)]) * depth  # camera frame
    top = np.array([[0.0, -principal[1] / focal * depth * 1.35, depth]])  # above the top edge's middle
    cam_points = np.vstack([np.zeros((1, 3)), rays, top])
    world = camera_to_world(cam_points, np.asarray(R, np.float64), np.asarray(t, np.float64))
    lines = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 3], [3, 4], [4, 1], [1, 5], [2, 5]])
    return LineSet(world, lines, colour)


def skeleton(joints: np.ndarray) -> LineSet:
    return LineSet(np.asarray(joints, np.float64), np.asarray(COCO17_EDGES), SKELETON_COLOUR)


def build_scene(result: FitResult, frame: int, faces: np.ndarray | None, body_vertices: np.ndarray | None,
                irv_vertices: list[np.ndarray] | None = None) -> SceneData:
    """The 3D content of ``frame``: ``irv_vertices`` are each view's IRV body in its own camera's
    frame -- the ghosts -- moved to the depth the fused (IEV) camera's focal length puts it at
    (:func:`refocused`), then into the world with the inverse of that view's IEV camera. A
    format-1 result keeps no IRV cameras: give it no ``irv_vertices``."""
    scene = SceneData(faces=faces)
    if body_vertices is not None:
        scene.body = Mesh(np.asarray(body_vertices), rgb(IEV_COLOUR))
    for v, verts in enumerate(irv_vertices or []):
        cam = refocused(verts, float(result.irv_cam_f[frame, v]), float(result.cam_f[frame, v]))
        world = camera_to_world(cam, result.cam_R[frame, v], result.cam_t[frame, v])
        scene.ghosts.append(Mesh(world, rgb(view_colour(v)), alpha=0.3))
    scene.lines["skeleton"] = skeleton(result.joints3d[frame])
    for v in range(result.num_views):
        size = tuple(int(x) for x in result.image_sizes[v])
        scene.lines[f"camera{v}"] = frustum(result.cam_R[frame, v], result.cam_t[frame, v], float(result.cam_f[frame, v]),
                                            result.cam_c[frame, v], size, rgb(view_colour(v)))
    scene.lines["grid"] = floor_grid(result.joints3d[:, :, :2].reshape(-1, 2).mean(0))
    return scene


def scene_to_arrays(scene: SceneData) -> dict[str, np.ndarray]:
    """Flatten for an .npz file (the separate Open3D window reads it)."""
    out: dict[str, np.ndarray] = {}
    if scene.faces is not None:
        out["faces"] = scene.faces
    if scene.body is not None:
        out["body_vertices"] = scene.body.vertices
        out["body_colour"] = np.asarray(scene.body.colour)
    for i, ghost in enumerate(scene.ghosts):
        out[f"ghost{i}_vertices"] = ghost.vertices
        out[f"ghost{i}_colour"] = np.asarray(ghost.colour)
    for name, ls in scene.lines.items():
        out[f"lines_{name}_points"] = ls.points
        out[f"lines_{name}_lines"] = ls.lines
        out[f"lines_{name}_colour"] = np.asarray(ls.colour)
    return out


def scene_from_arrays(data) -> SceneData:
    scene = SceneData(faces=data["faces"] if "faces" in data else None)
    if "body_vertices" in data:
        scene.body = Mesh(data["body_vertices"], tuple(data["body_colour"]))
    i = 0
    while f"ghost{i}_vertices" in data:
        scene.ghosts.append(Mesh(data[f"ghost{i}_vertices"], tuple(data[f"ghost{i}_colour"]), alpha=0.3))
        i += 1
    for key in data:
        if key.startswith("lines_") and key.endswith("_points"):
            name = key[len("lines_"):-len("_points")]
            scene.lines[name] = LineSet(data[key], data[f"lines_{name}_lines"], tuple(data[f"lines_{name}_colour"]))
    return scene
