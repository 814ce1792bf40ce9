"""SceneData -> Open3D geometries and materials (used by the render server and the viewer window;
imports Open3D, so only those separate processes import this module)."""

from __future__ import annotations

import numpy as np
import open3d as o3d
from open3d.visualization import rendering

from cmanet_app.scene3d.geometry import BACKGROUND, LineSet, Mesh, SceneData
from core.render.shading import shade, sky


def linear_background() -> list[float]:
    """The clear colour (Open3D linearises it itself; the server gamma-encodes every image)."""
    return list(BACKGROUND)


# Linear -> sRGB-ish (gamma 2.2) for 8-bit images.
GAMMA_LUT = np.round(255.0 * (np.arange(256) / 255.0) ** (1 / 2.2)).astype(np.uint8)


# Shading is baked into vertex colours and drawn unlit: Filament's lit shaders need its
# post-processing (tone mapping) to look right, which costs ~15 s a frame on a software renderer.
# A key light from the front-left above plus a sky fill (brighter where normals face up): core.render.shading.
_KEY = np.array([0.4, -0.6, 0.7]) / np.linalg.norm([0.4, -0.6, 0.7])


def shaded_colours(normals: np.ndarray, colour) -> np.ndarray:
    return np.clip(np.outer(shade(normals, _KEY, ambient=0.28, key=0.5, fill=0.22, fill_factor=sky(normals)), colour), 0.0, 1.0)


def triangle_mesh(mesh: Mesh, faces: np.ndarray) -> o3d.geometry.TriangleMesh:
    out = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(np.asarray(mesh.vertices, np.float64)),
                                    o3d.utility.Vector3iVector(np.asarray(faces, np.int32)))
    out.compute_vertex_normals()
    out.vertex_colors = o3d.utility.Vector3dVector(shaded_colours(np.asarray(out.vertex_normals), mesh.colour))
    return out


def ghost_points(mesh: Mesh, faces: np.ndarray, step: int = 2) -> o3d.geometry.PointCloud:
    """A ghosted body as a sparse cloud of its shaded vertices: reads as "see-through" without
    Filament's transparency shaders (unreliable without post-processing)."""
    full = triangle_mesh(mesh, faces)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(full.vertices)[::step]))
    cloud.colors = o3d.utility.Vector3dVector(np.asarray(full.vertex_colors)[::step])
    return cloud


def line_set(ls: LineSet) -> o3d.geometry.LineSet:
    out = o3d.geometry.LineSet(o3d.utility.Vector3dVector(np.asarray(ls.points, np.float64)),
                               o3d.utility.Vector2iVector(np.asarray(ls.lines, np.int32)))
    # Line colours reach the image unconverted, so they are pre-linearised for the server's
    # gamma encoding (meshes' vertex colours are linearised by Filament).
    out.paint_uniform_color([c ** 2.2 for c in ls.colour])
    return out


def unlit_material(point_size: float = 1.0) -> rendering.MaterialRecord:
    mat = rendering.MaterialRecord()
    mat.shader = "defaultUnlit"
    mat.point_size = point_size
    return mat


def line_material(width: float) -> rendering.MaterialRecord:
    mat = rendering.MaterialRecord()
    mat.shader = "unlitLine"
    mat.line_width = width
    return mat


def geometries(scene: SceneData) -> list[tuple[str, object, rendering.MaterialRecord]]:
    """(name, geometry, material) for everything in ``scene``."""
    out = []
    if scene.body is not None and scene.faces is not None:
        out.append(("body", triangle_mesh(scene.body, scene.faces), unlit_material()))
    for i, ghost in enumerate(scene.ghosts):
        if scene.faces is not None:
            out.append((f"ghost{i}", ghost_points(ghost, scene.faces), unlit_material(2.0)))
    for name, ls in scene.lines.items():
        width = 1.0 if name == "grid" else (4.0 if name == "skeleton" else 2.0)
        out.append((f"lines_{name}", line_set(ls), line_material(width)))
    return out
