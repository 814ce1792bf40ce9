"""3D keypoints for biomechanics and spreadsheets: OpenSim's TRC (with Pose2Sim's marker names)
and CSV.

TRC: the markers of Pose2Sim's COCO-17 OpenSim marker set (``Nose``, ``LShoulder``... and the
midpoints ``Neck`` of the shoulders and ``Hip`` of the hips), plus the eyes and ears; metres, Y up
as OpenSim expects, turned about the vertical so that the person walks along +X (or, standing,
faces +X), the floor at y = 0. Times are the source frames' (``frame / fps``); the rate is the
exported samples' (``fps / frame_step``).

CSV: the 17 keypoints in the result's own world (Z up, metres), one row per frame.
"""

from __future__ import annotations

import io

import numpy as np

from core.io.export_axes import frame_times, sample_rate, to_y_up
from core.io.results import FitResult
from core.keypoints import COCO17_NAMES

# A walk needs the hips to travel at least this far (m) to give the heading; else the person's facing does.
MIN_WALK_M = 0.5


def pose2sim_name(coco_name: str) -> str:
    """``left_shoulder`` -> ``LShoulder``, ``nose`` -> ``Nose`` (Pose2Sim's marker names)."""
    side = {"left": "L", "right": "R"}
    first, _, rest = coco_name.partition("_")
    if first in side:
        return side[first] + rest.capitalize()
    return coco_name.capitalize()


def trc_markers(joints3d: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Pose2Sim's marker names and (F, M, 3) positions: the 17 keypoints, ``Neck`` and ``Hip``."""
    idx = {n: i for i, n in enumerate(COCO17_NAMES)}
    neck = 0.5 * (joints3d[:, idx["left_shoulder"]] + joints3d[:, idx["right_shoulder"]])
    hip = 0.5 * (joints3d[:, idx["left_hip"]] + joints3d[:, idx["right_hip"]])
    names = [pose2sim_name(n) for n in COCO17_NAMES] + ["Neck", "Hip"]
    return names, np.concatenate([joints3d, neck[:, None], hip[:, None]], axis=1)


def heading_rotation(joints3d: np.ndarray) -> np.ndarray:
    """(3, 3) rotation about the vertical (Z) that turns the walk of (F, 17, 3) Z-up keypoints
    onto +X: the hips' travel from the first to the last frame, or, when they travel less than
    ``MIN_WALK_M``, the direction the person faces on average."""
    idx = {n: i for i, n in enumerate(COCO17_NAMES)}
    hips = 0.5 * (joints3d[:, idx["left_hip"]] + joints3d[:, idx["right_hip"]])
    travel = (hips[-1] - hips[0])[:2]
    if np.linalg.norm(travel) >= MIN_WALK_M:
        heading = travel
    else:
        left = (joints3d[:, idx["left_hip"]] + joints3d[:, idx["left_shoulder"]]
                - joints3d[:, idx["right_hip"]] - joints3d[:, idx["right_shoulder"]])
        heading = np.cross(left, [0.0, 0.0, 1.0]).mean(0)[:2]  # forward = left x up
    angle = -np.arctan2(heading[1], heading[0])
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def trc_text(result: FitResult, name: str = "markers.trc") -> str:
    """OpenSim's marker file (see the module doc)."""
    names, points = trc_markers(result.joints3d.astype(np.float64))
    points = to_y_up(points @ heading_rotation(result.joints3d).T)
    frames, markers = points.shape[:2]
    rate = sample_rate(result.fps, result.frame_indices)
    start = int(result.frame_indices[0])
    header = [
        f"PathFileType\t4\t(X/Y/Z)\t{name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:g}\t{rate:g}\t{frames}\t{markers}\tm\t{rate:g}\t{start}\t{frames}",
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t\t",
        "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(markers)) + "\t",
        "",
    ]
    times = frame_times(result.fps, result.frame_indices)
    out = io.StringIO()
    out.write("\n".join(header) + "\n")
    for f in range(frames):
        coords = "\t".join(f"{v:.6f}" for v in points[f].reshape(-1))
        out.write(f"{int(result.frame_indices[f])}\t{times[f]:.6f}\t{coords}\n")
    return out.getvalue()


def csv_text(result: FitResult) -> str:
    """``frame,time_s,nose_x,nose_y,nose_z,...``: the 17 keypoints per frame (Z up, metres)."""
    columns = ["frame", "time_s"] + [f"{n}_{axis}" for n in COCO17_NAMES for axis in "xyz"]
    times = frame_times(result.fps, result.frame_indices)
    out = io.StringIO()
    out.write(",".join(columns) + "\n")
    for f in range(result.num_frames):
        values = ",".join(f"{v:.6f}" for v in result.joints3d[f].reshape(-1))
        out.write(f"{int(result.frame_indices[f])},{times[f]:.6f},{values}\n")
    return out.getvalue()
