"""SMPL parameters as smplx and AMASS name them (``smpl`` backend fits only).

smplx: ``global_orient`` (F, 3), ``body_pose`` (F, 69), ``betas`` (10,), ``transl`` (F, 3); AMASS:
``poses`` (F, 72), ``trans`` (F, 3), ``betas``, ``gender``, ``mocap_framerate``. The world is the
result's (Z up, metres), as AMASS's. smplx turns the body about its pelvis joint where our
backends turn it about the model's origin, so ``transl = t + R J0 - J0``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import roma
import torch

from core.body import BodyModel
from core.errors import InputError
from core.io.export_axes import sample_rate
from core.io.export_skeleton import sequence_shape
from core.io.results import FitResult


def check_smpl_result(result: FitResult, where: Path | None = None) -> None:
    """InputError unless ``result`` was fitted with the smpl body model."""
    if result.body_model != "smpl":
        raise InputError(f"smpl-npz needs a fit with the smpl body model (this one used {result.body_model}): "
                         "set body_model.name: smpl in the fit config", where)


def smpl_arrays(result: FitResult, body: BodyModel, where: Path | None = None) -> dict[str, np.ndarray]:
    """The ``.npz`` arrays (see the module doc); InputError for a fit with another body model."""
    check_smpl_result(result, where)
    betas = sequence_shape(result)
    _, joints = body.rest_skeleton(torch.as_tensor(betas, device=body.device))
    pelvis = joints[0].cpu().numpy().astype(np.float64)
    rotation = roma.rotvec_to_rotmat(torch.as_tensor(result.global_orient, dtype=torch.float64)).numpy()
    transl = result.transl.astype(np.float64) + rotation @ pelvis - pelvis
    frames = result.num_frames
    body_pose = result.body_pose.reshape(frames, -1).astype(np.float32)
    global_orient = result.global_orient.astype(np.float32)
    return {
        "global_orient": global_orient, "body_pose": body_pose, "betas": betas, "transl": transl.astype(np.float32),
        "poses": np.concatenate([global_orient, body_pose], axis=1), "trans": transl.astype(np.float32),
        "gender": np.array("neutral"), "mocap_framerate": np.array(sample_rate(result.fps, result.frame_indices)),
        "frame_indices": np.asarray(result.frame_indices, dtype=np.int64),
    }
