"""The one interface every body-model backend implements.

A body is posed by a *global orientation* (the rotation of the whole body, into whatever frame
the caller works in: a camera frame for IRV, the world frame for output), a *body pose* (one
rotation per joint of the backend's canonical pose space, relative to its parent, axes aligned
with the rest pose), a *shape* vector and a translation. Rotations are accepted either as
axis-angle vectors ``(..., 3)`` or as rotation matrices ``(..., 3, 3)``.

Outputs are in metres: vertices ``(B, V, 3)`` and the 17 COCO keypoints ``(B, 17, 3)``.
Everything is batched, differentiable and follows the module's device and dtype.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import roma
import torch

from core.keypoints import COCO17_NAMES


@dataclass
class BodyOutput:
    """What a body model returns.

    keypoints: (B, 17, 3) COCO-17 keypoints, metres.
    vertices: (B, V, 3) mesh vertices, metres; None when only keypoints were asked for.
    """

    keypoints: torch.Tensor
    vertices: torch.Tensor | None = None


def as_rotmat(rotation: torch.Tensor, batch_dims: int) -> torch.Tensor:
    """Axis-angle ``(*batch, 3)`` or matrices ``(*batch, 3, 3)`` -> matrices ``(*batch, 3, 3)``.

    ``batch_dims`` (the number of leading batch dimensions) settles the ambiguous case of a batch
    of three axis-angle vectors, which is also shaped (3, 3).
    """
    if rotation.dim() == batch_dims + 2 and rotation.shape[-2:] == (3, 3):
        return rotation
    if rotation.dim() == batch_dims + 1 and rotation.shape[-1] == 3:
        return roma.rotvec_to_rotmat(rotation)
    raise ValueError(f"expected rotations of shape (*batch, 3) or (*batch, 3, 3) with {batch_dims} batch dims, got {tuple(rotation.shape)}")


class BodyModel(torch.nn.Module, abc.ABC):
    """A parametric body model behind the project's canonical parameter space.

    Attributes set by each backend:
        name: backend name as used in configs (``"anny"``, ``"smpl"``).
        pose_joint_names: names of the joints of the canonical body pose, ``J`` of them.
        shape_dim: length ``S`` of the shape vector.
        keypoint_names: always COCO17_NAMES.
        up_axis: (3,) unit vector pointing up in the rest pose (the body's own frame).
        forward_axis: (3,) unit vector the rest-pose body faces.
    """

    name: str
    pose_joint_names: tuple[str, ...]
    shape_dim: int
    keypoint_names: tuple[str, ...] = COCO17_NAMES

    @property
    def num_pose_joints(self) -> int:
        return len(self.pose_joint_names)

    @property
    def device(self) -> torch.device:
        return self.faces.device

    @property
    @abc.abstractmethod
    def faces(self) -> torch.Tensor:
        """(F, 3) triangle vertex indices (int64)."""

    @property
    @abc.abstractmethod
    def up_axis(self) -> torch.Tensor:
        """(3,) the up direction of the rest-pose body, in its own frame."""

    @property
    @abc.abstractmethod
    def forward_axis(self) -> torch.Tensor:
        """(3,) the direction the rest-pose body faces, in its own frame."""

    @abc.abstractmethod
    def mean_shape(self) -> torch.Tensor:
        """(S,) the shape vector of an average adult, the prior's centre and the regressors' start."""

    @abc.abstractmethod
    def shape_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(S,), (S,) the valid range of each shape parameter (may be +-inf)."""

    @abc.abstractmethod
    def rest_skeleton(self, shape: torch.Tensor) -> tuple[tuple[int, ...], torch.Tensor]:
        """The canonical joints as a skeleton, for exports (BVH) and drawing.

        Joint 0 is the root (the point the global rotation turns about, at the origin of the body
        frame); joint ``j + 1`` is ``pose_joint_names[j]``.

        Args:
            shape: (S,) shape parameters.
        Returns:
            parents: (J + 1,) index of each joint's parent (-1 for the root);
            positions: (J + 1, 3) rest-pose joint positions in the body frame, metres.
        Composing each joint's ``body_pose`` rotation down this tree about these positions
        reproduces the model's posed joints exactly.
        """

    def linear_blend_skin(self, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The body as a mesh skinned to :meth:`rest_skeleton` (for animated exports: glTF).

        Args:
            shape: (S,) shape parameters.
        Returns:
            vertices: (N, 3) rest-pose vertices in the body frame, metres;
            weights: (N, J + 1) linear-blend-skinning weight of each rest-skeleton joint (rows sum
            to 1). Rotating each joint about its rest position down the tree and blending by these
            weights reproduces the model's mesh (up to pose correctives it may have).
        """
        raise NotImplementedError(f"the {self.name} body model has no skinning weights for export")

    @abc.abstractmethod
    def forward(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        shape: torch.Tensor,
        transl: torch.Tensor | None = None,
        vertices: bool = True,
    ) -> BodyOutput:
        """Pose the body.

        Args:
            global_orient: (B, 3) axis-angle or (B, 3, 3) rotation of the whole body.
            body_pose: (B, J, 3) axis-angle or (B, J, 3, 3) per-joint rotations.
            shape: (B, S) shape parameters, or (1, S): one shape for the whole batch (the cheap
                case while fitting).
            transl: (B, 3) translation in metres, added after the global rotation (None: zero).
            vertices: False to compute only the keypoints, through the backend's fast path (used
                while fitting; for Anny, a closed form that skins no vertex).
        Returns:
            BodyOutput with keypoints (B, 17, 3) and, when asked, vertices (B, V, 3).
        """
