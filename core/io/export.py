"""``cmanet export``: a fitted result in the formats other tools read (the list:
:mod:`core.io.export_formats`). Each format lives in its own module; this one writes them.

Layout of the output folder: ``Calib.toml``; ``easymocap/intri.yml``, ``extri.yml``;
``markers.trc``; ``skeleton.bvh``; ``meshes/mesh_<frame>.obj|ply``; ``body.glb``;
``smpl.npz``; ``keypoints3d.csv``; ``openpose/<camera>_json/<camera>_<frame>_keypoints.json``;
``result.json``; ``result.npz``. Every file is written atomically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.body import BodyModel, BodyModelConfig, load_body_model
from core.errors import InputError
from core.io.atomic import atomic_write_bytes, atomic_write_npz, atomic_write_text
from core.io.export_formats import FORMATS
from core.io.folders import prepare_output_folder
from core.io.results import RESULT_FILE, FitResult

BODY_FORMATS = ("obj", "ply", "bvh", "glb", "smpl-npz")


def json_text(result: FitResult) -> str:
    """Keypoints, cameras and body parameters as plain JSON."""
    centres = -np.einsum("fvji,fvj->fvi", result.cam_R, result.cam_t)
    data = {
        "world": "Z up, metres, floor at z=0; cameras: OpenCV axes, X_cam = R X_world + t",
        "fps": result.fps,
        "frame_indices": result.frame_indices.tolist(),
        "keypoint_names": [str(n) for n in result.keypoint_names],
        "view_names": [str(n) for n in result.view_names],
        "joints3d": np.round(result.joints3d, 5).tolist(),
        "cameras": [
            {
                "name": str(name),
                "image_size": result.image_sizes[v].tolist(),
                "focal_px": np.round(result.cam_f[:, v], 3).tolist(),
                "principal_point": np.round(result.cam_c[:, v], 3).tolist(),
                "R": np.round(result.cam_R[:, v], 6).tolist(),
                "t": np.round(result.cam_t[:, v], 5).tolist(),
                "centre": np.round(centres[:, v], 5).tolist(),
            }
            for v, name in enumerate(result.view_names)
        ],
        "body": {
            "model": result.body_model,
            "pose_joint_names": [str(n) for n in result.pose_joint_names],
            "global_orient": np.round(result.global_orient, 6).tolist(),
            "transl": np.round(result.transl, 5).tolist(),
            "body_pose": np.round(result.body_pose, 6).tolist(),
            "shape": np.round(result.shape, 5).tolist(),
        },
    }
    return json.dumps(data)


def export_openpose(result: FitResult, folder: Path) -> list[Path]:
    """``folder/<camera>_json/<camera>_<frame:012d>_keypoints.json``: the detections the fit used
    (COCO-17 layout, one person), one file per frame as OpenPose writes them."""
    from core.io.keypoint_import import openpose_frame_json

    paths = []
    for v, name in enumerate(result.view_names):
        for f, frame in enumerate(result.frame_indices):
            path = folder / f"{name}_json" / f"{name}_{int(frame):012d}_keypoints.json"
            paths.append(atomic_write_text(path, openpose_frame_json(result.keypoints2d[f, v])))
    return paths


def export_format(fmt: str, result: FitResult, result_path: Path, out: Path, body: BodyModel | None,
                  progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write one format of ``result`` into ``out``; the written files."""
    if fmt == "calib-toml":
        from core.io.export_calibration import CALIBRATION_TOML, calibration_toml

        return [atomic_write_text(out / CALIBRATION_TOML, calibration_toml(result, result_path))]
    if fmt == "easymocap":
        from core.io.calibration import EASYMOCAP_EXTRI, EASYMOCAP_INTRI
        from core.io.export_calibration import EASYMOCAP_DIR, calibration_easymocap

        intri, extri = calibration_easymocap(result, result_path)
        return [atomic_write_text(out / EASYMOCAP_DIR / EASYMOCAP_INTRI, intri),
                atomic_write_text(out / EASYMOCAP_DIR / EASYMOCAP_EXTRI, extri)]
    if fmt == "trc":
        from core.io.export_markers import trc_text

        return [atomic_write_text(out / "markers.trc", trc_text(result, "markers.trc"))]
    if fmt == "csv":
        from core.io.export_markers import csv_text

        return [atomic_write_text(out / "keypoints3d.csv", csv_text(result))]
    if fmt == "bvh":
        from core.io.export_skeleton import bvh_text

        return [atomic_write_text(out / "skeleton.bvh", bvh_text(result, body))]
    if fmt in ("obj", "ply"):
        from core.io.export_mesh import export_meshes

        return export_meshes(result, body, out / "meshes", fmt, progress)
    if fmt == "glb":
        from core.io.export_gltf import glb_bytes

        return [atomic_write_bytes(out / "body.glb", glb_bytes(result, body))]
    if fmt == "smpl-npz":
        from core.io.export_smpl import smpl_arrays

        return [atomic_write_npz(out / "smpl.npz", **smpl_arrays(result, body, result_path))]
    if fmt == "openpose-json":
        return export_openpose(result, out / "openpose")
    if fmt == "json":
        return [atomic_write_text(out / "result.json", json_text(result))]
    if fmt == "npz":
        src = result_path / RESULT_FILE if result_path.is_dir() else result_path
        return [atomic_write_bytes(out / RESULT_FILE, src.read_bytes())]
    raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")


def check_exportable(result: FitResult, formats: tuple[str, ...], where: Path | None = None) -> None:
    """Refuse, before anything is written, formats this result cannot give (InputError)."""
    if {"calib-toml", "easymocap"} & set(formats):
        from core.io.export_calibration import result_rig

        result_rig(result, where)
    if "smpl-npz" in formats:
        from core.io.export_smpl import check_smpl_result

        check_smpl_result(result, where)


def export_result(
    result_path: Path,
    out: Path,
    formats: tuple[str, ...],
    body: BodyModel | None = None,
    progress: Callable[[int, int], None] | None = None,
    skip_unavailable: bool = False,
) -> list[Path]:
    """Write the chosen formats of ``result_path`` (a folder or result.npz) into ``out``.

    ``skip_unavailable``: leave out (with a log line) the formats this result cannot give (``all``:
    no calibration from a per-frame fit, no smpl-npz from an Anny fit) instead of refusing.
    """

    result_path = Path(result_path)
    result = FitResult.load(result_path)
    if skip_unavailable:
        kept = []
        for fmt in formats:
            try:
                check_exportable(result, (fmt,), result_path)
                kept.append(fmt)
            except InputError as exc:
                logging.getLogger(__name__).warning("%s: skipped (%s)", fmt, exc)
        formats = tuple(kept)
    check_exportable(result, formats, result_path)
    prepare_output_folder(out)
    if body is None and set(BODY_FORMATS) & set(formats):
        body = load_body_model(BodyModelConfig(name=result.body_model))  # type: ignore[arg-type]
    written: list[Path] = []
    for fmt in formats:
        written += export_format(fmt, result, result_path, out, body, progress)
    return written
