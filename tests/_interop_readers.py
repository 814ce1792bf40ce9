"""Independent readers for the interop tests: what another program would parse, written here
without the project's own code (TRC, BVH, GLB, Pose2Sim's DLT)."""

from __future__ import annotations

import json
import struct

import numpy as np
from scipy.spatial.transform import Rotation


def read_trc(text: str) -> dict:
    """OpenSim TRC: header values, marker names, frame numbers, times, (F, M, 3) positions."""
    lines = text.splitlines()
    keys, values = lines[1].split("\t"), lines[2].split("\t")
    header = dict(zip(keys, values))
    names = [n for n in lines[3].split("\t")[2:] if n]
    rows = [line.split("\t") for line in lines[5:] if line.strip()]
    frames = np.array([int(r[0]) for r in rows])
    times = np.array([float(r[1]) for r in rows])
    points = np.array([[float(v) for v in r[2:2 + 3 * len(names)]] for r in rows]).reshape(len(rows), len(names), 3)
    return {"header": header, "names": names, "frames": frames, "times": times, "points": points,
            "time_text": [r[1] for r in rows]}


def read_bvh(text: str) -> dict:
    """BVH: joint names, parents, offsets, End Site offsets per joint, frame time, motion."""
    names, parents, offsets, ends, stack = [], [], [], {}, []
    lines = iter(text.splitlines())
    pending = "joint"
    for line in lines:
        words = line.split()
        if not words:
            continue
        if words[0] in ("ROOT", "JOINT"):
            names.append(words[1])
            parents.append(stack[-1] if stack else -1)
            pending = "joint"
        elif words[0] == "End":
            pending = "end"
        elif words[0] == "{":
            stack.append(len(names) - 1 if pending == "joint" else "end")
        elif words[0] == "}":
            stack.pop()
        elif words[0] == "OFFSET":
            if stack[-1] == "end":
                ends[names[stack[-2]]] = [float(w) for w in words[1:]]
            else:
                offsets.append([float(w) for w in words[1:]])
        elif words[0] == "MOTION":
            break
    frames = int(next(lines).split()[1])
    frame_time = next(lines).split(":")[1].strip()
    motion = np.array([[float(w) for w in next(lines).split()] for _ in range(frames)])
    return {"names": names, "parents": parents, "offsets": np.array(offsets), "ends": ends, "frame_time": frame_time,
            "motion": motion}


def bvh_positions(bvh: dict) -> np.ndarray:
    """(F, J, 3) joint positions by forward kinematics of ZXY Euler channels."""
    motion, parents, offsets = bvh["motion"], bvh["parents"], bvh["offsets"]
    frames = motion.shape[0]
    rot = Rotation.from_euler("ZXY", motion[:, 3:].reshape(-1, 3), degrees=True).as_matrix().reshape(frames, -1, 3, 3)
    pos = np.zeros((frames, len(parents), 3))
    glob = np.zeros((frames, len(parents), 3, 3))
    for j, p in enumerate(parents):
        if p < 0:
            pos[:, j], glob[:, j] = motion[:, :3], rot[:, j]
        else:
            pos[:, j] = pos[:, p] + np.einsum("fij,j->fi", glob[:, p], offsets[j])
            glob[:, j] = glob[:, p] @ rot[:, j]
    return pos


def read_glb(data: bytes) -> tuple[dict, bytes]:
    """The JSON and binary chunks of a .glb file (checks the container)."""
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert magic == 0x46546C67 and version == 2 and length == len(data)
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A
    gltf = json.loads(data[20:20 + json_len])
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == 0x004E4942
    return gltf, data[28 + json_len:28 + json_len + bin_len]


def glb_accessor(gltf: dict, binary: bytes, index: int) -> np.ndarray:
    """One accessor as an array (tightly packed views only)."""
    acc = gltf["accessors"][index]
    view = gltf["bufferViews"][acc["bufferView"]]
    dtype = {5126: np.float32, 5123: np.uint16, 5125: np.uint32}[acc["componentType"]]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    return np.frombuffer(binary, dtype, acc["count"] * width, start).reshape(acc["count"], width)


def glb_skinned_vertices(gltf: dict, binary: bytes, frame: int) -> np.ndarray:
    """The skinned mesh at animation key ``frame`` (glTF's skinning: joint world matrices times
    inverse bind matrices, blended by JOINTS_n/WEIGHTS_n)."""
    nodes = gltf["nodes"]
    local = [np.eye(4) for _ in nodes]
    for i, node in enumerate(nodes):
        if "rotation" in node:
            local[i][:3, :3] = Rotation.from_quat(node["rotation"]).as_matrix()
        if "translation" in node:
            local[i][:3, 3] = node["translation"]
    anim = gltf["animations"][0]
    for channel in anim["channels"]:
        value = glb_accessor(gltf, binary, anim["samplers"][channel["sampler"]]["output"])[frame].astype(np.float64)
        node = channel["target"]["node"]
        if channel["target"]["path"] == "rotation":
            local[node][:3, :3] = Rotation.from_quat(value).as_matrix()
        else:
            local[node][:3, 3] = value
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}

    def world(i):
        return world(parent[i]) @ local[i] if i in parent else local[i]

    skin = gltf["skins"][0]
    ibm = glb_accessor(gltf, binary, skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    mats = np.stack([world(j) @ ibm[k] for k, j in enumerate(skin["joints"])])
    prim = gltf["meshes"][0]["primitives"][0]["attributes"]
    positions = glb_accessor(gltf, binary, prim["POSITION"]).astype(np.float64)
    homog = np.concatenate([positions, np.ones((len(positions), 1))], axis=1)
    out = np.zeros_like(positions)
    for s in range(2):
        joints = glb_accessor(gltf, binary, prim[f"JOINTS_{s}"]).astype(np.int64)
        weights = glb_accessor(gltf, binary, prim[f"WEIGHTS_{s}"]).astype(np.float64)
        for k in range(4):
            out += weights[:, k:k + 1] * np.einsum("nij,nj->ni", mats[joints[:, k]], homog)[:, :3]
    return out


def pose2sim_projections(calib: dict) -> list[np.ndarray]:
    """Pose2Sim's ``computeP`` on a calibration parsed with tomllib: K [R | T] per camera table."""
    import cv2

    out = []
    for key, cam in calib.items():
        if key == "metadata" or not isinstance(cam, dict):
            continue
        rotation = cv2.Rodrigues(np.array(cam["rotation"], dtype=np.float64))[0]
        out.append(np.array(cam["matrix"]) @ np.hstack([rotation, np.array(cam["translation"]).reshape(3, 1)]))
    return out


def dlt_triangulate(projections: list[np.ndarray], xy: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """Pose2Sim's ``weighted_triangulation``: likelihood-weighted DLT of one point, (V, 2) pixels."""
    rows = []
    for P, (x, y), w in zip(projections, xy, likelihood):
        rows.append((P[0] - x * P[2]) * w)
        rows.append((P[1] - y * P[2]) * w)
    _, _, vt = np.linalg.svd(np.array(rows))
    point = vt[-1]
    return point[:3] / point[3]
