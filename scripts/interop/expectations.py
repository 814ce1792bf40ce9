"""What the real programs should find in an export (run with the project's .venv): the rate and
frame count, the rest skeleton's bone lengths, the fitted body's height, and the canonical joints'
world positions (Z up, as Blender shows the BVH) at a few frames.

Usage: expectations.py RESULT_DIR OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from core.bench.real import standing_height
from core.body import BodyModelConfig, load_body_model
from core.io.export_axes import sample_rate
from core.io.export_skeleton import rest_skeleton, root_positions, sequence_shape, world_rotations
from core.io.results import FitResult


def joint_positions(result: FitResult, body) -> tuple[list[str], np.ndarray]:
    """(F, J + 1, 3) world positions of the canonical joints (forward kinematics of the fit)."""
    names, parents, rest = rest_skeleton(result, body)
    rotations = world_rotations(result)
    glob = np.zeros_like(rotations)
    pos = np.zeros((result.num_frames, len(names), 3))
    for j, p in enumerate(parents):
        if p < 0:
            glob[:, j], pos[:, j] = rotations[:, j], root_positions(result, rest[0])
        else:
            glob[:, j] = glob[:, p] @ rotations[:, j]
            pos[:, j] = pos[:, p] + np.einsum("fij,j->fi", glob[:, p], rest[j] - rest[p])
    return names, pos


def main() -> None:
    result = FitResult.load(Path(sys.argv[1]))
    body = load_body_model(BodyModelConfig(name=result.body_model))
    names, parents, rest = rest_skeleton(result, body)
    _, positions = joint_positions(result, body)
    frames = sorted({0, result.num_frames // 2, result.num_frames - 1})
    out = {
        "fps": sample_rate(result.fps, result.frame_indices),
        "frames": result.num_frames,
        "joint_names": names,
        "parents": list(parents),
        "bone_lengths": {names[j]: float(np.linalg.norm(rest[j] - rest[p])) for j, p in enumerate(parents) if p >= 0},
        "height_m": standing_height(body, sequence_shape(result)),
        "check_frames": frames,
        "joint_positions": {str(f): positions[f].tolist() for f in frames},
        "vertices": int(body.faces.max()) + 1,
    }
    Path(sys.argv[2]).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    with torch.no_grad():
        main()
