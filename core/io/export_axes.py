"""What every export shares: the axes other tools expect, the exported frames' times, and the
floor.

Our world is Z up (metres, floor at z = 0). BVH, OpenSim, glTF, OBJ/PLY viewers and Blender's
importers are Y up: ``x -> x, z -> y, y -> -z`` (a rotation, so handedness is kept).
"""

from __future__ import annotations

import numpy as np

Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def to_y_up(points: np.ndarray) -> np.ndarray:
    """(..., 3) world points (Z up) -> Y up."""
    return points @ Z_UP_TO_Y_UP.T


def rotations_to_y_up(rotations: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations acting in the Z-up world -> the same rotations in Y-up axes."""
    return Z_UP_TO_Y_UP @ rotations @ Z_UP_TO_Y_UP.T


def frame_step(frame_indices: np.ndarray) -> int:
    """The step between the result's source frames (1 unless a ``frame_step`` was used)."""
    steps = np.diff(np.asarray(frame_indices))
    return int(np.median(steps)) if len(steps) else 1


def sample_rate(fps: float, frame_indices: np.ndarray) -> float:
    """Samples per second of the exported frames: the source rate over the frame step."""
    return float(fps) / frame_step(frame_indices)


def frame_times(fps: float, frame_indices: np.ndarray) -> np.ndarray:
    """(F,) seconds of each exported frame on the source videos' clock."""
    return np.asarray(frame_indices, dtype=np.float64) / float(fps)


def floor_height(lowest: np.ndarray) -> float:
    """The floor under a body whose lowest point per frame is ``lowest`` (F,): the median, so
    that a stride or a jump (one foot up) does not lift it, and one bad frame does not sink it."""
    return float(np.median(lowest))
