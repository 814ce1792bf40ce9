"""The Anny body model (Apache-2.0, data inside the ``anny`` wheel) behind the BodyModel interface.

Canonical pose space: a SMPL-like subset of Anny's 104-bone rig. Each canonical joint drives one
Anny bone (``ANNY_POSE_BONES``); every other bone (twist bones, the lower spine/neck links, fingers,
toes, eyes) stays at rest. Rotations are in Anny's ``local-ref`` parameterization: relative to the
parent, about axes aligned with the rest pose, as in SMPL. Shape = Anny's six default phenotypes
(gender, age, muscle, weight, height, proportions), each in [0, 1], 0.5 = average.

Anny's own frame: Z up, the body faces -Y, units metres, the origin near the pelvis. The global
rotation and translation act about that origin: ``X = R X_rest_posed + t``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import time

import warp

warp.config.quiet = True  # anny's skinning imports warp, which otherwise prints a banner

import anny  # noqa: E402
import anny.paths
import torch

from core.body.anny_keypoints import AnnyKeypointRig, UnsupportedAnnyModel
from core.body.base import BodyModel, BodyOutput, as_rotmat
from core.keypoints import COCO17_NAMES

log = logging.getLogger(__name__)

# Canonical joint -> Anny bone. Order: spine to head, then arms, then legs, left before right.
ANNY_POSE_BONES: tuple[tuple[str, str], ...] = (
    ("spine1", "spine05"),  # lumbar, at the pelvis
    ("spine2", "spine03"),  # lower thorax
    ("spine3", "spine01"),  # upper thorax
    ("neck", "neck01"),
    ("head", "head"),
    ("left_collar", "clavicle.L"),
    ("right_collar", "clavicle.R"),
    ("left_shoulder", "upperarm01.L"),
    ("right_shoulder", "upperarm01.R"),
    ("left_elbow", "lowerarm01.L"),
    ("right_elbow", "lowerarm01.R"),
    ("left_wrist", "wrist.L"),
    ("right_wrist", "wrist.R"),
    ("left_hip", "upperleg01.L"),
    ("right_hip", "upperleg01.R"),
    ("left_knee", "lowerleg01.L"),
    ("right_knee", "lowerleg01.R"),
    ("left_ankle", "foot.L"),
    ("right_ankle", "foot.R"),
)

# Vertices kept per keypoint in the regressor. Anny's COCO regressor spreads some keypoints (the
# ears) over thousands of vertices; the 64 heaviest reproduce it within 0.3 mm over random poses
# and shapes. Both paths use this truncated regressor: the mesh path on the full mesh, the
# keypoint path in closed form (core.body.anny_keypoints), without skinning any vertex.
KEYPOINT_SUPPORT = 64


def anny_cache_is_built() -> bool:
    """Whether Anny's one-time cache (~1 GB in ~/.cache/anny, or $ANNY_CACHE_DIR) exists."""
    cache = anny.paths.get_anny_cache_path()
    return cache.is_dir() and any(cache.rglob("*.*"))


@functools.cache
def shared_anny_model() -> anny.Anny:
    """The process-wide Anny model (float32, CPU), loaded once: it is big and slow to build.

    The first build on a machine takes one to two minutes and writes Anny's cache; later loads
    take under a second.
    """
    if not anny_cache_is_built():
        log.warning(
            "Building the Anny body-model cache in %s (one time, about 1-2 minutes)...",
            anny.paths.get_anny_cache_path(),
        )
    start = time.perf_counter()
    model = anny.Anny().to(torch.float32)
    model.requires_grad_(False)
    log.debug("Anny loaded in %.1f s", time.perf_counter() - start)
    return model


def _sparse_coco_regressor(model: anny.Anny) -> tuple[torch.Tensor, torch.Tensor]:
    """(17, S) vertex indices and (17, S) weights (rows sum to 1) of the truncated COCO regressor."""
    regressor = anny.KeypointsRegressor.coco(model, labels=list(COCO17_NAMES))
    weights = regressor.regression_weights
    top = weights.topk(KEYPOINT_SUPPORT, dim=1)
    return top.indices, top.values / top.values.sum(dim=1, keepdim=True)


@functools.cache
def shared_coco_regressor() -> tuple[torch.Tensor, torch.Tensor]:
    """The truncated COCO regressor of shared_anny_model(), computed once per process (Anny reads
    its regressor data from disk). Treat as read-only."""
    return _sparse_coco_regressor(shared_anny_model())


@functools.cache
def shared_keypoint_rig() -> AnnyKeypointRig | None:
    """The keypoint-only rig of shared_anny_model() (CPU), precomputed once per process (~0.1 s).

    Each AnnyBody takes a copy (so that it can move it). None when this Anny uses a rig convention
    the rig does not implement: AnnyBody then runs Anny on the regressor's vertices instead.
    """
    full = shared_anny_model()
    vertex_idx, weights = shared_coco_regressor()
    bone_idx = [full.bone_labels.index(bone) for _, bone in ANNY_POSE_BONES]
    try:
        return AnnyKeypointRig(full, vertex_idx, weights, bone_idx)
    except UnsupportedAnnyModel as exc:
        log.warning("Anny keypoints: slow path (%s)", exc)
        return None


def _vertex_subset_model(model: anny.Anny, vertex_indices: torch.Tensor) -> anny.Anny:
    """An Anny model that carries only the given vertices (no faces): same rig, same skinning."""
    data = model.to_model_data()
    reduced = dataclasses.replace(
        data,
        template_vertices=data.template_vertices[vertex_indices],
        faces=torch.zeros((0, 3), dtype=torch.int64),
        blendshapes=data.blendshapes[:, vertex_indices],
        vertex_bone_weights=data.vertex_bone_weights[vertex_indices],
        vertex_bone_indices=data.vertex_bone_indices[vertex_indices],
        base_mesh_vertex_indices=data.base_mesh_vertex_indices[vertex_indices],
        texture_coordinates=None,
        face_texture_coordinate_indices=None,
    )
    return anny.Anny.from_model_data(
        reduced,
        pose_parameterization=model.pose_parameterization,
        bone_orientation=model.bone_orientation,
        root_identity_orientation=model.root_identity_orientation,
        phenotypes=list(model.phenotype_labels),
        extrapolate_phenotypes=model.extrapolate_phenotypes,
    )


class AnnyBody(BodyModel):
    """Anny behind the canonical parameter space (see the module docstring)."""

    name = "anny"
    pose_joint_names = tuple(joint for joint, _ in ANNY_POSE_BONES)

    def __init__(self) -> None:
        super().__init__()
        full = shared_anny_model()
        self.full_model = copy.deepcopy(full)
        self.shape_labels: tuple[str, ...] = tuple(full.phenotype_labels)
        self.shape_dim = len(self.shape_labels)
        self.bone_count = len(full.bone_labels)

        vertex_idx, weights = (t.clone() for t in shared_coco_regressor())
        bone_idx = [full.bone_labels.index(bone) for _, bone in ANNY_POSE_BONES]
        self.register_buffer("keypoint_vertex_idx", vertex_idx, persistent=False)
        self.register_buffer("keypoint_weights", weights, persistent=False)
        self.register_buffer("pose_bone_idx", torch.tensor(bone_idx), persistent=False)
        # The keypoint path (vertices=False): Anny's keypoints in closed form, exact, without
        # skinning any vertex (core.body.anny_keypoints). Should a future Anny use a rig convention
        # it does not implement, run Anny on just the vertices the regressor needs instead.
        rig = shared_keypoint_rig()
        self.keypoint_rig: AnnyKeypointRig | None = None if rig is None else copy.deepcopy(rig)
        self.keypoint_model: anny.Anny | None = None
        if rig is None:
            support, inverse = torch.unique(vertex_idx, return_inverse=True)
            self.keypoint_model = _vertex_subset_model(full, support)
            self.register_buffer("keypoint_support_idx", inverse, persistent=False)
        self.register_buffer("_faces", full.get_triangular_faces().clone(), persistent=False)
        self.register_buffer("_up", torch.tensor([0.0, 0.0, 1.0]), persistent=False)
        self.register_buffer("_forward", torch.tensor([0.0, -1.0, 0.0]), persistent=False)

    @property
    def faces(self) -> torch.Tensor:
        return self._faces

    @property
    def up_axis(self) -> torch.Tensor:
        return self._up

    @property
    def forward_axis(self) -> torch.Tensor:
        return self._forward

    def mean_shape(self) -> torch.Tensor:
        return torch.full((self.shape_dim,), 0.5, device=self.device)

    def shape_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(self.shape_dim, device=self.device), torch.ones(self.shape_dim, device=self.device)

    def rest_skeleton(self, shape: torch.Tensor) -> tuple[tuple[int, ...], torch.Tensor]:
        model = self.full_model
        zero = torch.zeros(1, 3, device=self.device)
        rest = model(
            pose_parameters=self.bone_transforms(zero, torch.zeros(1, self.num_pose_joints, 3, device=self.device), None),
            phenotype_kwargs=shape.reshape(1, -1).to(zero),
        )["bone_poses"][0, :, :3, 3]
        bones = [0] + self.pose_bone_idx.tolist()
        parents = []
        for bone in bones:
            parent = model.bone_parents[bone]
            while parent != -1 and parent not in bones:
                parent = model.bone_parents[parent]
            parents.append(-1 if parent == -1 else bones.index(parent))
        # Bones between two canonical joints stay at rest, so the offset is a straight line.
        return tuple(parents), rest[bones]

    def linear_blend_skin(self, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Every bone outside the canonical pose space stays at rest relative to its nearest
        # canonical ancestor, so its skinning transform is that ancestor's: its weights move there.
        model = self.full_model
        zero = torch.zeros(1, 3, device=self.device)
        rest = self(zero, torch.zeros(1, self.num_pose_joints, 3, device=self.device), shape.reshape(1, -1).to(zero))
        bones = [0] + self.pose_bone_idx.tolist()
        owner = []
        for bone in range(len(model.bone_labels)):
            while bone not in bones:
                bone = model.bone_parents[bone]
            owner.append(bones.index(bone))
        data = model.to_model_data()
        owner_of = torch.tensor(owner, device=self.device)[data.vertex_bone_indices.long().to(self.device)]
        weights = torch.zeros(rest.vertices.shape[1], len(bones), device=self.device)
        weights.scatter_add_(1, owner_of, data.vertex_bone_weights.to(weights))
        return rest.vertices[0], weights / weights.sum(1, keepdim=True)

    def bone_transforms(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        transl: torch.Tensor | None,
    ) -> torch.Tensor:
        """(B, 104, 4, 4) Anny ``local-ref`` pose parameters from the canonical ones."""
        root = as_rotmat(global_orient, 1)
        pose = as_rotmat(body_pose, 2)
        batch = root.shape[0]
        dtype = self._up.dtype
        rot = torch.eye(3, dtype=dtype, device=root.device).expand(batch, self.bone_count, 3, 3)
        rot = rot.index_copy(1, self.pose_bone_idx, pose.to(dtype))
        rot = torch.cat([root.to(dtype)[:, None], rot[:, 1:]], dim=1)
        trans = torch.zeros(batch, self.bone_count, 3, 1, dtype=dtype, device=root.device)
        if transl is not None:
            trans = torch.cat([transl.to(dtype)[:, None, :, None], trans[:, 1:]], dim=1)
        bottom = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=dtype, device=root.device)
        bottom = bottom.expand(batch, self.bone_count, 1, 4)
        return torch.cat([torch.cat([rot, trans], dim=-1), bottom], dim=-2)

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
        if shape.shape[-1] != self.shape_dim:
            raise ValueError(f"shape must have {self.shape_dim} values, got {tuple(shape.shape)}")
        dtype = self._up.dtype
        if not vertices and self.keypoint_rig is not None:
            if shape.dim() == 2 and shape.shape[0] == global_orient.shape[0] > 1 and shape.stride(0) == 0:
                shape = shape[:1]  # one shape expanded over the batch: take the broadcast (cheap) case
            root = as_rotmat(global_orient, 1).to(dtype)
            keypoints = self.keypoint_rig(
                root,
                as_rotmat(body_pose, 2).to(dtype),
                shape.to(dtype),
                None if transl is None else transl.to(dtype),
            )
            return BodyOutput(keypoints=keypoints)
        pose = self.bone_transforms(global_orient, body_pose, transl)
        phenotypes = shape.to(pose.dtype)
        if vertices:
            verts = self.full_model(pose_parameters=pose, phenotype_kwargs=phenotypes)["vertices"]
            keypoints = torch.einsum("ks,bksd->bkd", self.keypoint_weights, verts[:, self.keypoint_vertex_idx])
            return BodyOutput(keypoints=keypoints, vertices=verts)
        support = self.keypoint_model(pose_parameters=pose, phenotype_kwargs=phenotypes)["vertices"]
        keypoints = torch.einsum("ks,bksd->bkd", self.keypoint_weights, support[:, self.keypoint_support_idx])
        return BodyOutput(keypoints=keypoints)
