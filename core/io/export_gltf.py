"""One animated, skinned body as glTF 2.0 binary (``.glb``): Blender, Unity, Unreal, three.js.

The sequence's one body shape (the median over frames) as a mesh skinned to the canonical
skeleton (``root`` and the pose joints, named as in the BVH), and per frame each joint's
rotation and the root's position. glTF is Y up, metres, the body's front +Z at rest; the world
(Z up) is turned as for the BVH, and lowered so that the feet stand on y = 0 (as the OBJ/PLY).

Rest (bind) pose: every joint unrotated at its rest position, so a joint's inverse bind matrix
is a translation and its animated rotation is exactly the fitted one (SMPL's convention). Skin
weights: up to 8 joints per vertex (``JOINTS_0/1``, ``WEIGHTS_0/1``).
"""

from __future__ import annotations

import json
import struct

import numpy as np
import roma
import torch

from core.body import BodyModel
from core.io.export_axes import frame_times, rotations_to_y_up, to_y_up
from core.io.export_mesh import mesh_floor
from core.io.export_skeleton import (
    rest_skeleton,
    root_positions,
    sequence_shape,
    world_rotations,
)
from core.io.results import FitResult

GLB_MAGIC, GLB_VERSION = 0x46546C67, 2
CHUNK_JSON, CHUNK_BIN = 0x4E4F534A, 0x004E4942
FLOAT, UNSIGNED_SHORT, UNSIGNED_INT = 5126, 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
INFLUENCES = 8  # two sets of four


class _Buffer:
    """The binary chunk and the bufferViews/accessors that point into it."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, kind: str, component: int, target: int | None = None, bounds: bool = False) -> int:
        """Append (count, n) ``array`` as one accessor of type ``kind``; returns its index."""
        dtype = {FLOAT: np.float32, UNSIGNED_SHORT: np.uint16, UNSIGNED_INT: np.uint32}[component]
        array = np.ascontiguousarray(array, dtype=dtype)
        self.data += b"\0" * (-len(self.data) % 4)
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": array.nbytes}
        if target is not None:
            view["target"] = target
        self.data += array.tobytes()
        self.views.append(view)
        accessor = {"bufferView": len(self.views) - 1, "componentType": component, "count": int(array.shape[0]), "type": kind}
        if bounds:
            flat = array.reshape(array.shape[0], -1)
            accessor["min"], accessor["max"] = flat.min(0).tolist(), flat.max(0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    import open3d as o3d

    mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(vertices.astype(np.float64)),
                                     o3d.utility.Vector3iVector(faces.astype(np.int32)))
    mesh.compute_vertex_normals()
    return np.asarray(mesh.vertex_normals)


def _influences(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, J) weights -> (N, 8) joint indices and (N, 8) weights (the heaviest, renormalised)."""
    top = np.argsort(-weights, axis=1)[:, :INFLUENCES]
    values = np.take_along_axis(weights, top, axis=1)
    values = np.where(values > 1e-6, values, 0.0)
    top = np.where(values > 0, top, 0)
    return top, values / values.sum(1, keepdims=True)


def glb_bytes(result: FitResult, body: BodyModel) -> bytes:
    """The ``.glb`` file (see the module doc)."""
    names, parents, rest_body = rest_skeleton(result, body)
    vertices_body, weights = (t.detach().cpu().numpy().astype(np.float64)
                              for t in body.linear_blend_skin(torch.as_tensor(sequence_shape(result), device=body.device)))
    faces = body.faces.cpu().numpy()
    rest = to_y_up(rest_body)
    vertices = to_y_up(vertices_body)
    joints, joint_weights = _influences(weights)
    buffer = _Buffer()
    attributes = {
        "POSITION": buffer.add(vertices, "VEC3", FLOAT, ARRAY_BUFFER, bounds=True),
        "NORMAL": buffer.add(_vertex_normals(vertices, faces), "VEC3", FLOAT, ARRAY_BUFFER),
        "JOINTS_0": buffer.add(joints[:, :4], "VEC4", UNSIGNED_SHORT, ARRAY_BUFFER),
        "WEIGHTS_0": buffer.add(joint_weights[:, :4], "VEC4", FLOAT, ARRAY_BUFFER),
        "JOINTS_1": buffer.add(joints[:, 4:], "VEC4", UNSIGNED_SHORT, ARRAY_BUFFER),
        "WEIGHTS_1": buffer.add(joint_weights[:, 4:], "VEC4", FLOAT, ARRAY_BUFFER),
    }
    indices = buffer.add(faces.reshape(-1, 1), "SCALAR", UNSIGNED_INT, ELEMENT_ARRAY_BUFFER)
    inverse_bind = np.tile(np.eye(4), (len(names), 1, 1))
    inverse_bind[:, :3, 3] = -rest
    bind = buffer.add(inverse_bind.transpose(0, 2, 1).reshape(len(names), 16), "MAT4", FLOAT)  # column-major

    # Animation: the root's world rotation and position, each joint's rotation to its parent.
    floor = mesh_floor(result, body)
    rotations = rotations_to_y_up(world_rotations(result))  # (F, J + 1, 3, 3)
    quaternions = roma.rotmat_to_unitquat(torch.as_tensor(rotations)).numpy()  # XYZW, glTF's order
    positions = to_y_up(root_positions(result, rest_body[0]) - np.array([0.0, 0.0, floor]))
    times = frame_times(result.fps, result.frame_indices)
    time_accessor = buffer.add((times - times[0]).reshape(-1, 1), "SCALAR", FLOAT, bounds=True)
    samplers = [{"input": time_accessor, "output": buffer.add(positions, "VEC3", FLOAT), "interpolation": "LINEAR"}]
    channels = [{"sampler": 0, "target": {"node": 0, "path": "translation"}}]
    for j in range(len(names)):
        samplers.append({"input": time_accessor, "output": buffer.add(quaternions[:, j], "VEC4", FLOAT),
                         "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": j, "path": "rotation"}})

    # Nodes 0..J are the joints (node index = joint index), then the skinned mesh, then the scene root.
    nodes = []
    for j, name in enumerate(names):
        node = {"name": name, "translation": (rest[j] - (rest[parents[j]] if parents[j] >= 0 else 0.0)).tolist()}
        if parents[j] < 0:
            node["translation"] = positions[0].tolist()
        node["rotation"] = quaternions[0, j].tolist()
        kids = [c for c, p in enumerate(parents) if p == j]
        if kids:
            node["children"] = kids
        nodes.append(node)
    mesh_node, scene_root = len(names), len(names) + 1
    nodes.append({"name": "body", "mesh": 0, "skin": 0})
    nodes.append({"name": "cmanet_body", "children": [0, mesh_node]})
    gltf = {
        "asset": {"version": "2.0", "generator": "CMANet Studio"},
        "extras": {"world": "Y up, metres, floor at y = 0", "fps": float(result.fps),
                   "frame_indices": [int(i) for i in result.frame_indices]},
        "scene": 0,
        "scenes": [{"nodes": [scene_root]}],
        "nodes": nodes,
        "meshes": [{"name": "body", "primitives": [{"attributes": attributes, "indices": indices, "mode": 4}]}],
        "skins": [{"name": "skeleton", "joints": list(range(len(names))), "skeleton": 0, "inverseBindMatrices": bind}],
        "animations": [{"name": "fit", "samplers": samplers, "channels": channels}],
        "accessors": buffer.accessors,
        "bufferViews": buffer.views,
        "buffers": [{"byteLength": len(buffer.data) + (-len(buffer.data) % 4)}],
    }
    text = json.dumps(gltf, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    binary = bytes(buffer.data) + b"\0" * (-len(buffer.data) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return (struct.pack("<III", GLB_MAGIC, GLB_VERSION, total) + struct.pack("<II", len(text), CHUNK_JSON) + text
            + struct.pack("<II", len(binary), CHUNK_BIN) + binary)
