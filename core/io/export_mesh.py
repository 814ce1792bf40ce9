"""The fused body's mesh per frame as OBJ or PLY, written by Open3D (with its vertex normals).

Y up like the BVH and glTF (Blender's importers' default axes), metres, the feet on the floor:
the whole sequence is lifted or lowered so that the body's lowest point sits at y = 0 in the
median frame (a foot lifted in a stride or a jump keeps its height above the floor).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from core.body import BodyModel
from core.io.atomic import atomic_path
from core.io.export_axes import floor_height, to_y_up
from core.io.results import FitResult

MESH_FORMATS = ("obj", "ply")


def fused_vertices(body: BodyModel, result: FitResult, frames: np.ndarray | None = None,
                   batch: int = 16) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, (N, 3) world vertices, Z up) of the fused body, a few frames at a time."""
    frames = np.arange(result.num_frames) if frames is None else frames
    device = body.device
    with torch.no_grad():
        for start in range(0, len(frames), batch):
            idx = frames[start : start + batch]
            out = body(*(torch.as_tensor(a[idx], device=device)
                         for a in (result.global_orient, result.body_pose, result.shape, result.transl)))
            for i, verts in zip(idx, out.vertices.cpu().numpy()):
                yield int(i), verts


def mesh_floor(result: FitResult, body: BodyModel) -> float:
    """The floor's height in the result's world (z, metres) under the fused body's soles."""
    lowest = np.array([verts[:, 2].min() for _, verts in fused_vertices(body, result)])
    return floor_height(lowest)


def write_mesh(path: Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """One triangle mesh with Open3D's vertex normals, atomically (format from the suffix)."""
    import open3d as o3d

    mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(vertices.astype(np.float64)),
                                     o3d.utility.Vector3iVector(faces.astype(np.int32)))
    mesh.compute_vertex_normals()
    mesh.triangle_normals = o3d.utility.Vector3dVector()  # per-vertex normals only (OBJ cannot hold per-face ones)
    with atomic_path(path) as tmp:
        if not o3d.io.write_triangle_mesh(str(tmp), mesh, write_ascii=path.suffix == ".obj", write_vertex_colors=False,
                                          write_triangle_uvs=False):
            raise OSError(f"{path}: Open3D could not write the mesh")
    return path


def export_meshes(result: FitResult, body: BodyModel, folder: Path, fmt: str = "obj",
                  progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """``folder/mesh_<frame>.<fmt>`` per frame (named by source frame number)."""
    if fmt not in MESH_FORMATS:
        raise ValueError(f"mesh format must be one of {MESH_FORMATS}, got {fmt!r}")
    faces = body.faces.cpu().numpy()
    floor = mesh_floor(result, body)
    paths = []
    for i, verts in fused_vertices(body, result):
        verts = to_y_up(verts - np.array([0.0, 0.0, floor], dtype=verts.dtype))
        paths.append(write_mesh(Path(folder) / f"mesh_{int(result.frame_indices[i]):06d}.{fmt}", verts, faces))
        if progress is not None:
            progress(len(paths), result.num_frames)
    return paths
