"""SMPL through ``smplx``, exactly the paper's body (theta in R^{24x3}, beta in R^10).

SMPL's model files are licensed and never shipped: the user points ``body_model.path`` at their
own copy (a ``SMPL_{NEUTRAL,MALE,FEMALE}.pkl`` or ``.npz`` file, or a folder holding them, possibly
under ``smpl/``; read by :mod:`core.body.smpl_file`, which never runs code from a pickle). SMPL's
own frame: Y up, the body faces +Z. As for every backend, the global rotation turns the body about
the origin of its frame (smplx turns it about the pelvis joint; translate by ``R J0 - J0`` to
convert).

COCO-17 keypoints: the face points are mesh vertices (smplx's SMPL-H vertex ids), the limb points
are SMPL joints.
"""

from __future__ import annotations

from pathlib import Path

import torch

from core.body.base import BodyModel, BodyOutput, as_rotmat
from core.body.smpl_file import read_smpl_file
from core.errors import InputError

SMPL_JOINT_NAMES: tuple[str, ...] = (
    "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar",
    "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hand", "right_hand",
)

# COCO-17 from SMPL: ("v", vertex) or ("j", joint incl. the pelvis at 0).
SMPL_COCO17_SOURCES: tuple[tuple[str, int], ...] = (
    ("v", 332), ("v", 2800), ("v", 6260), ("v", 583), ("v", 4071),
    ("j", 16), ("j", 17), ("j", 18), ("j", 19), ("j", 20), ("j", 21),
    ("j", 1), ("j", 2), ("j", 4), ("j", 5), ("j", 7), ("j", 8),
)

SMPL_DOWNLOAD_HINT = (
    "SMPL model files are licensed and not shipped with CMANet Studio: register at "
    "https://smpl.is.tue.mpg.de, download 'SMPL for Python', and set body_model.path to the "
    "folder holding SMPL_NEUTRAL.pkl (or to the .pkl file itself); or use body_model.name: anny"
)


def find_smpl_file(path: str | Path | None, gender: str) -> Path:
    """The SMPL model file for ``gender`` under ``path`` (a file or a folder), or an InputError."""
    if path is None or str(path) == "":
        raise InputError(f"body_model.path is not set. {SMPL_DOWNLOAD_HINT}")
    path = Path(path).expanduser()
    if path.is_file():
        return path
    name = f"SMPL_{gender.upper()}"
    for folder in (path, path / "smpl", path / "models"):
        for ext in (".npz", ".pkl"):  # the .npz first: plain arrays (core.body.smpl_file)
            if (folder / f"{name}{ext}").is_file():
                return folder / f"{name}{ext}"
    if not path.exists():
        raise InputError(f"no such file or folder. {SMPL_DOWNLOAD_HINT}", path)
    raise InputError(f"no {name}.pkl in this folder. {SMPL_DOWNLOAD_HINT}", path)


class SmplBody(BodyModel):
    """SMPL (via smplx) behind the canonical parameter space."""

    name = "smpl"
    pose_joint_names = SMPL_JOINT_NAMES
    shape_dim = 10

    def __init__(self, path: str | Path | None, gender: str = "neutral") -> None:
        super().__init__()
        import smplx
        from smplx.utils import Struct

        model_file = find_smpl_file(path, gender)
        data = read_smpl_file(model_file)
        missing = {"v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f"} - set(data)
        if missing:
            raise InputError(f"not an SMPL model file: missing {', '.join(sorted(missing))}", model_file)
        self.model_file = model_file
        self.smpl = smplx.SMPL(
            str(model_file),
            data_struct=Struct(**data),
            gender=gender,
            num_betas=self.shape_dim,
            create_global_orient=False,
            create_body_pose=False,
            create_betas=False,
            create_transl=False,
        )
        self.smpl.requires_grad_(False)
        kinds = torch.tensor([kind == "j" for kind, _ in SMPL_COCO17_SOURCES])
        index = torch.tensor([i for _, i in SMPL_COCO17_SOURCES])
        self.register_buffer("_kp_is_joint", kinds, persistent=False)
        self.register_buffer("_kp_index", index, persistent=False)
        self.register_buffer("_up", torch.tensor([0.0, 1.0, 0.0]), persistent=False)
        self.register_buffer("_forward", torch.tensor([0.0, 0.0, 1.0]), persistent=False)

    @property
    def faces(self) -> torch.Tensor:
        return self.smpl.faces_tensor

    @property
    def up_axis(self) -> torch.Tensor:
        return self._up

    @property
    def forward_axis(self) -> torch.Tensor:
        return self._forward

    def mean_shape(self) -> torch.Tensor:
        return torch.zeros(self.shape_dim, device=self.device)

    def shape_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        bound = torch.full((self.shape_dim,), float("inf"), device=self.device)
        return -bound, bound

    def rest_skeleton(self, shape: torch.Tensor) -> tuple[tuple[int, ...], torch.Tensor]:
        smpl = self.smpl
        v_shaped = smpl.v_template + torch.einsum("l,vcl->vc", shape.to(smpl.shapedirs), smpl.shapedirs)
        joints = smpl.J_regressor @ v_shaped  # (24, 3)
        parents = smpl.parents.tolist()
        parents[0] = -1
        return tuple(parents), joints

    def linear_blend_skin(self, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        smpl = self.smpl
        v_shaped = smpl.v_template + torch.einsum("l,vcl->vc", shape.to(smpl.shapedirs), smpl.shapedirs)
        return v_shaped, smpl.lbs_weights

    def forward(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        shape: torch.Tensor,
        transl: torch.Tensor | None = None,
        vertices: bool = True,
    ) -> BodyOutput:
        if body_pose.shape[1] != self.num_pose_joints:
            raise ValueError(f"body_pose must have {self.num_pose_joints} joints, got {tuple(body_pose.shape)}")
        root = as_rotmat(global_orient, 1)
        pose = as_rotmat(body_pose, 2)
        batch = root.shape[0]
        dtype = self.smpl.shapedirs.dtype
        identity = torch.eye(3, dtype=dtype, device=root.device).expand(batch, 1, 3, 3)
        # Posed in the body frame, then rotated about the origin and translated by us, so that
        # global_orient and transl mean the same for every backend: X = R X_body + t.
        out = self.smpl(
            betas=shape.to(dtype).expand(batch, -1),
            global_orient=identity,
            body_pose=pose.reshape(batch, -1, 3, 3).to(dtype),
            pose2rot=False,
            return_verts=True,
        )
        joint_kp = out.joints[:, self._kp_index.clamp(max=out.joints.shape[1] - 1)]
        vert_kp = out.vertices[:, self._kp_index]
        keypoints = torch.where(self._kp_is_joint[None, :, None], joint_kp, vert_kp)
        rot = root.to(dtype)
        shift = torch.zeros(batch, 1, 3, dtype=dtype, device=root.device) if transl is None else transl.to(dtype)[:, None]
        keypoints = keypoints @ rot.transpose(-1, -2) + shift
        verts = out.vertices @ rot.transpose(-1, -2) + shift if vertices else None
        return BodyOutput(keypoints=keypoints, vertices=verts)
