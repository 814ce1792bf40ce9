"""Anny's keypoints without skinning a single vertex: the exact, fast path used while fitting.

A COCO keypoint of Anny is a weighted sum of skinned vertices, ``x_k = sum_s w_ks v_s``, and a
skinned vertex is a linear blend of bone transforms, ``v_s = sum_j omega_sj T_j [v°_s; 1]``, with
rest vertices ``v°_s`` linear in the blendshape coefficients. This module rewrites that sum in
closed form for Anny's rig convention (``bone_orientation="cached"``, ``local-ref`` pose
parameters, reference bone orientations; see ``anny.utils.kinematics.forward_kinematic``):

Notation per bone ``j`` of parent ``p``: rest pose ``[R_j | h_j]`` (``R_j`` = special Procrustes of
the cached orientation matrix ``M_j``, ``h_j`` the head; both follow the shape), reference
orientation ``U_j`` (constant), pose delta ``D_j`` (identity for every bone but the root and the
posed ones). Then

- the posed world rotation relative to the reference is ``Z_j = U_0^T D_0 D_a1 ... D_j`` (the
  product of the deltas along the chain), so it only changes at the ~20 posed bones;
- the posed head is ``w_j = w_p + Z_p E~_p (h_j - h_p)`` with ``E_p = U_p R_p^T`` (``E~_0 = I``)
  and ``w_0 = U_0^T d_0`` (``d_0``: the translation);
- the skinning transform is ``T_j x = Z_j E_j (x - h_j) + w_j``.

Summing over the keypoint's (vertex, bone) pairs, every keypoint becomes
``x_k = (sum_j p4_kj) w_0 + sum_P Z_P y_kP`` over the posed bones ``P``, where the vectors
``y_kP`` depend on the shape only (linear combinations of ``E_j (p_kj - p4_kj h_j)`` and of the
bone offsets ``E~_p (h_c - h_p)``, with ``p_kj = sum_s w_ks omega_sj v°_s`` and
``p4_kj = sum_s w_ks omega_sj``). Only the bones whose skinning weights reach the keypoints'
vertices (49 of Anny's 104 for the truncated COCO regressor) and their ancestors take part, and
nothing is evaluated per vertex. The rest orientations ``R_j`` come from a float32 solver with
roma's results and derivatives (nearest_rotation).

All the data (template, blendshapes, skinning weights, bone heads, cached orientation matrices,
reference orientations, phenotype blendshape masks and projection) is read from the ``anny.Anny``
instance at construction; nothing of Anny is copied into this repository. The equivalence with
Anny's own forward (its rest model, forward kinematics and skinning) is what ``tests/test_body.py``
checks, values and gradients.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import anny
import anny.utils.interpolation
import roma
import torch
from anny.models.model_data import PHENOTYPE_VARIATIONS

# Rest-orientation solver. A cached orientation matrix M_j whose |determinant| is below this
# fraction of that of a rotation of the same Frobenius norm (numerically singular) is solved by
# roma's SVD instead of the Newton polar iteration.
_MIN_RELATIVE_DET = 1e-6
_NEWTON_MIN_STEPS = 6
_NEWTON_MAX_STEPS = 30
_NEWTON_TOL = 2e-6


class UnsupportedAnnyModel(ValueError):
    """The Anny model uses a rig convention this fast path does not implement."""


# --- nearest rotation (special Procrustes) -------------------------------------------------------
#
# Matrices are handled in a component layout, (9, N): row 3 i + j holds entry (i, j) of the N
# matrices, so that every step below is a handful of element-wise operations on long vectors
# (batched 3x3 products are slow on the CPU).

# Entry (i, j) of the cofactor matrix (det(X) X^-T) is X[a] X[b] - X[c] X[d], (a, b, c, d) the
# rows of _COF at position 3 i + j.
_COF = ((4, 5, 3, 7, 8, 6, 1, 2, 0), (8, 6, 7, 2, 0, 1, 5, 3, 4), (5, 3, 4, 8, 6, 7, 2, 0, 1), (7, 8, 6, 1, 2, 0, 4, 5, 3))


@functools.cache
def cofactor_index(device: torch.device) -> tuple[torch.Tensor, ...]:
    """The rows of _COF as index tensors on ``device`` (made once per device)."""
    return tuple(torch.tensor(i, device=device) for i in _COF)


def _cofactor9(X: torch.Tensor) -> torch.Tensor:
    """(9, N) -> (9, N) cofactor matrices, det(X) X^-T."""
    a, b, c, d = (X.index_select(0, i) for i in cofactor_index(X.device))
    return a * b - c * d


def _det9(X: torch.Tensor, cofactor: torch.Tensor) -> torch.Tensor:
    return (X[:3] * cofactor[:3]).sum(0)


def _rows(X: torch.Tensor) -> torch.Tensor:
    """(9, N) -> (3, 3, N) view: X[i] is row i of the N matrices, (3, N)."""
    return X.view(3, 3, X.shape[-1])


def _transpose_times(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """(3, 3, N) rows of A and B -> (3, 3, N) rows of A^T B = sum_k A_k^T B_k (outer products)."""
    return A[0][:, None] * B[0][None] + A[1][:, None] * B[1][None] + A[2][:, None] * B[2][None]


def _flip_smallest(Q: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """The nearest rotation of (9, n) matrices M of negative determinant, from their orthogonal
    polar factors Q (det -1): R = Q (I - 2 v v^T), v the eigenvector of the smallest eigenvalue of
    H = Q^T M (the right singular vector of M's smallest singular value)."""
    n = M.shape[1]
    H = _transpose_times(_rows(Q), _rows(M))
    H = 0.5 * (H + H.transpose(0, 1))
    # Smallest eigenvalue of the symmetric H, closed form, on B = (H - q I) / p (O(1) entries).
    q = (H[0, 0] + H[1, 1] + H[2, 2]) / 3.0
    eye = torch.eye(3, dtype=M.dtype, device=M.device)[:, :, None]
    centered = H - q * eye
    p = (centered.square().sum((0, 1)) / 6.0).sqrt().clamp_min(torch.finfo(M.dtype).tiny)
    B = centered / p
    r = (_det9(B.reshape(9, n), _cofactor9(B.reshape(9, n))) / 2.0).clamp(-1.0, 1.0)
    smallest = 2.0 * torch.cos(torch.acos(r) / 3.0 + 2.0 * torch.pi / 3.0)
    # Its eigenvector: the largest row of adj(B - smallest I) (cross products of rows), then one
    # step of inverse iteration.
    adj = _rows(_cofactor9((B - smallest * eye).reshape(9, n)))
    best = adj.square().sum(1).argmax(0)
    v = adj.gather(0, best.view(1, 1, n).expand(1, 3, n))[0]
    v = (adj * (v / v.norm(dim=0).clamp_min(torch.finfo(M.dtype).tiny))[None]).sum(1)
    norm = v.norm(dim=0)
    # All singular values equal (M = -c Q'): any axis is optimal, take x.
    v = torch.where(norm > 0, v / norm, torch.eye(3, 1, dtype=v.dtype, device=v.device))
    Qv = (_rows(Q) * v[None]).sum(1)
    return (_rows(Q) - 2.0 * Qv[:, None] * v[None]).reshape(9, n)


class _PolarRotation(torch.autograd.Function):
    """R = argmax_{R in SO(3)} tr(R^T M) for (9, N) non-singular matrices M.

    Forward: Newton's polar iteration X <- (g X + (g X)^-T) / 2 with g = |det X|^(-1/3), in the
    input's dtype, until it settles on the orthogonal polar factor; for det M < 0, its reflection
    across the smallest singular direction (see _flip_smallest). Backward, closed form: M = R S with
    S = R^T M symmetric, so dR = R [w]x with (tr(S) I - S) w = vee(R^T dM); hence
    grad_M = R [z]x with z = (tr(S) I - S)^-1 vee(R^T grad_R), where vee(R^T G) = sum_k G_k x R_k
    and the rows of R [z]x are R_i x z (R_k, G_k: rows).
    """

    @staticmethod
    def forward(ctx, M: torch.Tensor, flip: torch.Tensor | None) -> torch.Tensor:
        X = M
        for step in range(_NEWTON_MAX_STEPS):
            C = _cofactor9(X)
            det = _det9(X, C)
            g = det.abs().pow(-1.0 / 3.0)
            X_next = (0.5 * g) * X + C * (0.5 / (g * det))
            done = step + 1 >= _NEWTON_MIN_STEPS and bool(((X_next - X).abs().amax() <= _NEWTON_TOL).item())
            X = X_next
            if done:
                break
        if flip is not None:
            X = X.index_copy(1, flip, _flip_smallest(X[:, flip], M[:, flip]))
        ctx.save_for_backward(M, X)
        return X

    @staticmethod
    def backward(ctx, grad_R: torch.Tensor) -> tuple[torch.Tensor, None]:
        M, R = ctx.saved_tensors
        n = M.shape[1]
        Rv, Gv = _rows(R), grad_R.reshape(3, 3, n)
        S = _transpose_times(Rv, _rows(M))  # R^T M
        trace = S[0, 0] + S[1, 1] + S[2, 2]
        K = trace * torch.eye(3, dtype=M.dtype, device=M.device)[:, :, None] - 0.5 * (S + S.transpose(0, 1))
        K = K.reshape(9, n)
        adj = _cofactor9(K)  # K is symmetric: its adjugate is its cofactor matrix
        v = torch.linalg.cross(Gv, Rv, dim=1).sum(0)  # vee(R^T G)
        z = (_rows(adj) * v[None]).sum(1) / _det9(K, adj)
        return torch.linalg.cross(Rv, z[None].expand(3, 3, n), dim=1).reshape(9, n), None


def _nearest_rotation9(M: torch.Tensor) -> torch.Tensor:
    """``roma.special_procrustes`` of (9, N) matrices (component layout), see nearest_rotation."""
    with torch.no_grad():
        det = _det9(M, _cofactor9(M))
        scale = M.square().sum(0).div(3.0).pow(1.5)
        singular = ~(det.abs() > _MIN_RELATIVE_DET * scale)  # also catches NaN
        negative = (det < 0) & ~singular
        num_singular, num_negative = torch.stack([singular.sum(), negative.sum()]).tolist()
    flip = negative.nonzero()[:, 0] if num_negative else None
    if not num_singular:
        return _PolarRotation.apply(M, flip)
    eye = torch.eye(3, dtype=M.dtype, device=M.device).reshape(9, 1)
    R = _PolarRotation.apply(torch.where(singular, eye, M), flip)
    idx = singular.nonzero()[:, 0]
    fallback = roma.special_procrustes(M[:, idx].T.reshape(-1, 3, 3), method="svd")
    return R.index_copy(1, idx, fallback.reshape(-1, 9).T)


def nearest_rotation(M: torch.Tensor) -> torch.Tensor:
    """``roma.special_procrustes(M)`` for (..., 3, 3) matrices, without float64.

    Same result (up to float rounding) and same derivatives as roma's solver wherever the nearest
    rotation is well defined (roma damps the derivative where it is not). Numerically singular
    matrices go through ``roma.special_procrustes(method="svd")``.
    """
    R = _nearest_rotation9(M.reshape(-1, 9).T)
    return R.T.reshape(M.shape)


# --- the keypoint rig ----------------------------------------------------------------------------


def _check_supported(model: anny.Anny) -> None:
    problems = []
    if model.bone_orientation != "cached":
        problems.append(f"bone_orientation={model.bone_orientation!r} (needs 'cached')")
    if model.pose_parameterization != "local-ref":
        problems.append(f"pose_parameterization={model.pose_parameterization!r} (needs 'local-ref')")
    if model.reference_bone_orientations is None:
        problems.append("no reference bone orientations")
    if model.rest_orientation_refiner is not None:
        problems.append("a rest-orientation refiner")
    if model.local_change_labels or model.facial_action_labels:
        problems.append("local changes or facial actions")
    if set(model.phenotype_labels) & set(PHENOTYPE_VARIATIONS["race"]):
        problems.append("race phenotypes as parameters")
    if int(model.bone_parents[0]) >= 0:
        problems.append("a root bone that is not bone 0")
    if problems:
        raise UnsupportedAnnyModel("the keypoint rig does not support " + ", ".join(problems))


class ShapeTermsCache:
    """The shape terms of the last phenotypes a rig saw (one entry, compared by value, so it can
    never serve other phenotypes; the same values as a fresh computation up to float rounding of
    the batch they were computed in)."""

    def __init__(self) -> None:
        self._entry: tuple[torch.Tensor, torch.Tensor] | None = None

    def get(self, phenotypes: torch.Tensor) -> torch.Tensor | None:
        entry = self._entry
        if (entry is not None and entry[0].shape == phenotypes.shape and entry[0].device == phenotypes.device
                and entry[0].dtype == phenotypes.dtype and torch.equal(entry[0], phenotypes)):
            return entry[1]
        return None

    def put(self, phenotypes: torch.Tensor, terms: torch.Tensor) -> None:
        self._entry = (phenotypes.detach().clone(), terms)


@dataclass(frozen=True)
class RigTables:
    """What :class:`AnnyKeypointRig` computes with, made once from an Anny model by
    :func:`rig_tables`: its buffers (on the CPU, by name) and their sizes."""

    buffers: dict[str, torch.Tensor]
    posed_levels: list[tuple[int, int]]
    num_rot: int
    num_items: int
    num_keypoints: int
    num_posed: int
    chain_bones: list[int]
    rot_bones: list[int]
    posed_bones: list[int]
    extrapolate: bool
    rows_per_product: int


def rig_tables(model: anny.Anny, vertex_idx: torch.Tensor, vertex_weights: torch.Tensor, pose_bones: list[int]) -> RigTables:
    """The keypoint rig's tables of an Anny model (the arguments: see :class:`AnnyKeypointRig`):
    a pure function of the model's data, computed in float64 and stored in float32 (a few
    hundred kB, ~0.1 s)."""
    _check_supported(model)
    f64 = torch.float64
    cpu = torch.device("cpu")

    def data(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.detach().to(cpu, f64)

    buffers: dict[str, torch.Tensor] = {}

    def buffer(name: str, tensor: torch.Tensor) -> None:
        buffers[name] = tensor.float() if tensor.is_floating_point() else tensor

    parents = [int(p) for p in model.bone_parents]
    bone_count = len(parents)
    vertex_idx = vertex_idx.to(cpu)
    vertex_weights = data(vertex_weights)
    num_kp, support = vertex_idx.shape
    if 0 in pose_bones or len(set(pose_bones)) != len(pose_bones):
        raise ValueError("pose_bones must be distinct non-root bones")

    # Skinning of each keypoint: a[k, s, j] = w_ks omega_sj, and its (keypoint, bone) pairs.
    on_model = vertex_idx.to(model.device)
    omega = torch.zeros(num_kp, support, bone_count, dtype=f64)
    omega.scatter_add_(2, model.vertex_bone_indices[on_model].to(cpu), data(model.vertex_bone_weights[on_model]))
    a = vertex_weights[:, :, None] * omega
    pair_k, pair_j = (a != 0).any(dim=1).nonzero(as_tuple=True)
    pairs = list(zip(pair_k.tolist(), pair_j.tolist()))
    p4 = a.sum(dim=1)[pair_k, pair_j]

    # Bones that matter: the touched ones and their ancestors ("chain").
    chain: set[int] = set()
    for bone in pair_j.tolist():
        while bone not in chain:
            chain.add(bone)
            if bone == 0:
                break
            bone = parents[bone]
    children = [c for c in sorted(chain) if c != 0]

    # Posed bones (the root, then the pose bones), sorted by depth in their own tree, and each
    # bone's nearest posed ancestor-or-self.
    posed_input = [0, *pose_bones]  # the order of the rotations given to posed_rotations()

    def nearest_posed(bone: int) -> int:
        while bone not in posed_input:
            bone = parents[bone]
        return bone

    posed_parent = {b: nearest_posed(parents[b]) for b in posed_input if b != 0}

    def posed_depth(bone: int) -> int:
        return 0 if bone == 0 else 1 + posed_depth(posed_parent[bone])

    posed = sorted(posed_input, key=lambda b: (posed_depth(b), posed_input.index(b)))
    posed_pos = {b: i for i, b in enumerate(posed)}
    depths = [posed_depth(b) for b in posed]
    posed_levels: list[tuple[int, int]] = []
    level_parent: list[int] = []
    for depth in range(1, max(depths) + 1):
        first, last = depths.index(depth), len(depths) - depths[::-1].index(depth)
        parent_first = depths.index(depth - 1)
        posed_levels.append((first, last))
        level_parent += [posed_pos[posed_parent[b]] - parent_first for b in posed[first:last]]
    buffer("posed_order", torch.tensor([posed_input.index(b) for b in posed]))
    buffer("posed_level_parent", torch.tensor(level_parent, dtype=torch.long))

    # Shape-only vectors ("items"), each E_(item) @ vec_(item) with E_j = U_j R_j^T:
    #   a pair (k, j):   E_j (p_kj - p4_kj h_j)
    #   a chain bone c:  E~_p (h_c - h_p), p its parent, E~_0 = I.
    # Rest orientations R are needed for the touched bones and the non-root parents.
    item_bone = [j for _, j in pairs] + [parents[c] if parents[c] != 0 else None for c in children]
    rot_bones = sorted({b for b in item_bone if b is not None})
    num_rot = len(rot_bones)
    item_rot = [num_rot if b is None else rot_bones.index(b) for b in item_bone]  # num_rot: I
    num_items = len(item_bone)

    # Linear shape model, blendshape coefficients -> [M of the rot bones (9, rot), item vectors
    # (3, items)], in component-major order: everything below keeps the shape batch last.
    orient0 = data(model.bone_template_orientation_matrices)[rot_bones]
    orient_c = data(model.bone_orientation_blendshapes)[:, rot_bones]
    if 0 in rot_bones and model.root_identity_orientation:
        orient0[rot_bones.index(0)] = torch.eye(3, dtype=f64)
        orient_c[:, rot_bones.index(0)] = 0.0
    heads = torch.cat([data(model.template_bone_heads)[None], data(model.bone_heads_blendshapes)])  # (1+C, bones, 3)
    touched = sorted(set(pair_j.tolist()))
    verts = torch.cat([data(model.template_vertices[on_model])[None], data(model.blendshapes[:, on_model])])
    p = torch.einsum("ksj,cksd->ckjd", a[:, :, touched], verts)  # (1+C, K, touched, 3)
    p = p[:, pair_k, [touched.index(j) for _, j in pairs]]  # (1+C, pairs, 3)
    vec_pairs = p - p4[:, None] * heads[:, [j for _, j in pairs]]
    vec_children = heads[:, children] - heads[:, [parents[c] for c in children]]
    vectors = torch.cat([vec_pairs, vec_children], dim=1)  # (1+C, items, 3)
    orient = torch.cat([orient0[None], orient_c])  # (1+C, rot, 3, 3)
    lin = torch.cat([orient.flatten(2).transpose(1, 2).flatten(1), vectors.transpose(1, 2).flatten(1)], dim=1)
    buffer("shape_lin0", lin[0, :, None])
    buffer("shape_lin", lin[1:].T)  # (outputs, C)
    buffer("item_rot", torch.tensor(item_rot))

    # y[k, P] = sum over items of weight * U_item (R_item^T vec_item), U_item the reference
    # orientation of the item's bone (I for the root's children), as one sparse matrix
    # (rows * 3, 3 * items) over the (k, P) rows that are not always 0. A pair item goes to the
    # posed bone that moves its bone; a chain bone's offset, to the posed bone that moves its
    # parent, for every keypoint with pairs below it, weighted by their p4.
    num_posed = len(posed)
    reference = data(model.reference_bone_orientations)
    entries: dict[tuple[int, int], float] = {}
    for i, (k, j) in enumerate(pairs):
        key = (k * num_posed + posed_pos[nearest_posed(j)], i)
        entries[key] = entries.get(key, 0.0) + 1.0
        bone = j
        while bone != 0:
            parent = parents[bone]
            key = (k * num_posed + posed_pos[nearest_posed(parent)], len(pairs) + children.index(bone))
            entries[key] = entries.get(key, 0.0) + float(p4[i])
            bone = parent
    row, item = torch.tensor(list(entries)).T
    weight = torch.tensor(list(entries.values()), dtype=f64)
    # Only ~100 of the K x posed (keypoint, posed bone) rows are used: keep those.
    used_rows, row = torch.unique(row, return_inverse=True)
    item_reference = torch.cat([reference, torch.eye(3, dtype=f64)[None]])  # the last one: I
    U = item_reference[[bone_count if b is None else b for b in item_bone]][item]  # (entries, 3, 3)
    x, z = torch.meshgrid(torch.arange(3), torch.arange(3), indexing="ij")
    gather = torch.sparse_coo_tensor(
        torch.stack([(row[:, None, None] * 3 + x).flatten(), (z * num_items + item[:, None, None]).flatten()]),
        (weight[:, None, None] * U).flatten(),
        (len(used_rows) * 3, num_items * 3),
        check_invariants=True,
    ).coalesce()
    buffer("item_gather", gather)
    buffer("used_rows", used_rows)  # k * posed + P
    buffer("used_posed", used_rows % num_posed)
    buffer("used_sum", torch.nn.functional.one_hot(used_rows // num_posed, num_kp).T.to(f64))  # (K, rows)
    buffer("translation_weight", torch.zeros(num_kp, dtype=f64).index_add_(0, pair_k, p4)[:, None])
    buffer("root_reference", reference[0])

    # Phenotypes -> blendshape coefficients, as anny.models.phenotype.phenotype_blendshape_weights:
    # each row of the mask is a product of interpolation weights, one per selected variation.
    # Fixed phenotypes (not parameters: cupsize, firmness at 0.5; races at 1/3) fold into a
    # constant per row; rows whose constant is 0 are dropped.
    mask = data(model.stacked_phenotype_blend_shapes_mask) != 0
    labels = list(model.phenotype_labels)
    fixed = torch.ones(mask.shape[1], dtype=f64)
    free_columns: list[list[int]] = []
    shape_columns: list[int] = []
    anchors: list[torch.Tensor] = []
    column = 0
    for feature, variations in PHENOTYPE_VARIATIONS.items():
        span = list(range(column, column + len(variations)))
        column += len(variations)
        if feature == "race":
            fixed[span] = 1.0 / len(variations)  # 0.5 / (3 * 0.5)
        elif feature in labels:
            free_columns.append(span)
            shape_columns.append(labels.index(feature))
            anchors.append(data(model.anchors[feature]))
        else:
            fixed[span] = anny.utils.interpolation.linear_interpolation_coefficients(
                torch.full((1,), 0.5, dtype=f64), data(model.anchors[feature]), extrapolate=model.extrapolate_phenotypes
            )[0]
    if column != mask.shape[1] or not labels or sorted(shape_columns) != list(range(len(labels))):
        raise UnsupportedAnnyModel("unexpected phenotype layout")
    width = max(len(x) for x in anchors)
    padded = torch.full((len(anchors), width), float("inf"), dtype=f64)
    for i, x in enumerate(anchors):
        padded[i, : len(x)] = x
    # Free weights are laid out (feature, width) then one constant 1 (the product's padding).
    slot = {col: i * width + v for i, span in enumerate(free_columns) for v, col in enumerate(span)}
    constant = torch.where(mask, fixed, torch.ones_like(fixed)).prod(dim=1)
    keep = (constant != 0).nonzero()[:, 0]
    used = [[slot[c] for c in row.nonzero()[:, 0].tolist() if c in slot] for row in mask[keep]]
    per_row = max([1, *(len(u) for u in used)])
    row_slots = torch.tensor([u + [len(anchors) * width] * (per_row - len(u)) for u in used], dtype=torch.long)
    projection = model.phenotype_blendshape_projection
    projection = data(projection) if projection is not None else torch.eye(mask.shape[0], dtype=f64)
    buffer("row_slots", row_slots.T.flatten())  # factor-major
    buffer("coefficient_map_t", (constant[keep, None] * projection[keep]).T)  # (C, rows)
    buffer("feature_columns", torch.tensor(shape_columns))
    buffer("feature_anchors", padded)
    buffer("feature_first", torch.stack([x[0] for x in anchors]))
    buffer("feature_last", torch.stack([x[-1] for x in anchors]))
    buffer("feature_top", torch.tensor([len(x) - 1 for x in anchors]))
    return RigTables(buffers, posed_levels, num_rot, num_items, num_kp, num_posed, sorted(chain), rot_bones, posed,
                     bool(model.extrapolate_phenotypes), per_row)


class AnnyKeypointRig(torch.nn.Module):
    """COCO-style keypoints of an ``anny.Anny`` model, straight from its pose and phenotypes.

    Args:
        model: the Anny model (any device; the rig is built on the CPU, move it with ``.to()``).
        vertex_idx: (K, S) mesh vertices of each keypoint's regressor.
        vertex_weights: (K, S) their weights.
        pose_bones: the Anny bones driven by the pose rotations, in the order of the pose input.

    The precomputation (a few hundred kB, in float64 then stored in float32) takes ~0.1 s.
    """

    def __init__(
        self,
        model: anny.Anny,
        vertex_idx: torch.Tensor,
        vertex_weights: torch.Tensor,
        pose_bones: list[int],
    ) -> None:
        super().__init__()
        tables = rig_tables(model, vertex_idx, vertex_weights, pose_bones)
        for name, tensor in tables.buffers.items():
            self.register_buffer(name, tensor, persistent=False)
        self.posed_levels, self.num_rot, self.num_items = tables.posed_levels, tables.num_rot, tables.num_items
        self.num_keypoints, self.num_posed = tables.num_keypoints, tables.num_posed
        self.chain_bones, self.rot_bones, self.posed_bones = tables.chain_bones, tables.rot_bones, tables.posed_bones
        self.extrapolate, self.rows_per_product = tables.extrapolate, tables.rows_per_product
        self.shape_terms_cache = ShapeTermsCache()

    # -- shape side -------------------------------------------------------------------------------

    def _coefficients_t(self, phenotypes: torch.Tensor) -> torch.Tensor:
        """(Bs, P) phenotypes -> (C, Bs) Anny blendshape coefficients, transposed.

        Anny's phenotype_blendshape_weights (linear interpolation between anchors, products over
        the mask rows) and projection, for all the features at once.
        """
        value = phenotypes[:, self.feature_columns].T  # (F, Bs)
        if not self.extrapolate:
            # torch.where, as Anny: the gradient goes to the selected branch.
            first, last = self.feature_first[:, None], self.feature_last[:, None]
            value = torch.where(value < first, first, value)
            value = torch.where(value > last, last, value)
        with torch.no_grad():
            idx = torch.searchsorted(self.feature_anchors, value.detach().contiguous(), side="left")
            idx = torch.minimum(idx.clamp(min=1), self.feature_top[:, None])
            slots = torch.arange(self.feature_anchors.shape[1], device=idx.device)
            upper_hot = (idx[..., None] == slots).to(value.dtype)  # (F, Bs, width)
            lower_hot = (idx[..., None] - 1 == slots).to(value.dtype)
        lower = self.feature_anchors.gather(1, idx - 1)
        upper = self.feature_anchors.gather(1, idx)
        alpha = ((value - lower) / (upper - lower))[..., None]
        weights = (1.0 - alpha) * lower_hot + alpha * upper_hot  # (F, Bs, width)
        weights = torch.cat([weights.permute(0, 2, 1).flatten(0, 1), value.new_ones(1, value.shape[1])])
        factors = weights.index_select(0, self.row_slots).view(self.rows_per_product, -1, value.shape[1])
        rows = factors[0]
        for factor in factors[1:]:
            rows = rows * factor
        return self.coefficient_map_t @ rows

    def blendshape_coefficients(self, phenotypes: torch.Tensor) -> torch.Tensor:
        """(Bs, P) phenotypes -> (Bs, C) Anny blendshape coefficients."""
        return self._coefficients_t(phenotypes).T

    def shape_terms(self, phenotypes: torch.Tensor) -> torch.Tensor:
        """(Bs, P) phenotypes -> (rows, 3, Bs) the vectors y_kP (see the module docstring), for
        the (k, P) in ``used_rows``; the others are 0."""
        batch = phenotypes.shape[0]
        lin = torch.addmm(self.shape_lin0, self.shape_lin, self._coefficients_t(phenotypes))  # (outputs, Bs)
        orient, vectors = lin.split([9 * self.num_rot, 3 * self.num_items])
        R = _nearest_rotation9(orient.view(9, self.num_rot * batch)).view(9, self.num_rot, batch)
        eye = torch.eye(3, dtype=R.dtype, device=R.device).reshape(9, 1, 1).expand(9, 1, batch)
        R = torch.cat([R, eye], dim=1).index_select(1, self.item_rot).view(3, 3, self.num_items, batch)
        vectors = vectors.view(3, self.num_items, batch)
        local = R[0] * vectors[0] + R[1] * vectors[1] + R[2] * vectors[2]  # R^T vec: (3, items, Bs)
        y = torch.sparse.mm(self.item_gather, local.view(3 * self.num_items, batch))
        return y.view(-1, 3, batch)

    def constant_shape_terms(self, phenotypes: torch.Tensor) -> torch.Tensor:
        """:meth:`shape_terms`, reused from :attr:`shape_terms_cache` while the phenotypes do not
        change and need no gradient.

        Fits hold the shape fixed for hundreds of steps while the pose moves (a static rig's
        frame phase, IRV's orientation search); the shape side costs as much as the pose side.
        """
        if phenotypes.requires_grad and torch.is_grad_enabled():
            return self.shape_terms(phenotypes)
        terms = self.shape_terms_cache.get(phenotypes)
        if terms is None:
            with torch.no_grad():
                terms = self.shape_terms(phenotypes)
            self.shape_terms_cache.put(phenotypes, terms)
        return terms

    # -- pose side --------------------------------------------------------------------------------

    def posed_rotations(self, rotations: torch.Tensor) -> torch.Tensor:
        """(B, posed, 3, 3) deltas [root, pose bones...] -> (posed, 3, 3, B) Z_P, in depth order."""
        D = rotations.permute(1, 2, 3, 0).index_select(0, self.posed_order)  # (posed, 3, 3, B)
        root = (self.root_reference.T[:, :, None, None] * D[0][None]).sum(1)
        Z = [root[None]]
        for first, last in self.posed_levels:
            parent = Z[-1].index_select(0, self.posed_level_parent[first - 1 : last - 1])
            child = D[first:last]
            Z.append(
                parent[:, :, 0, None] * child[:, None, 0]
                + parent[:, :, 1, None] * child[:, None, 1]
                + parent[:, :, 2, None] * child[:, None, 2]
            )
        return torch.cat(Z)

    def forward(
        self,
        root: torch.Tensor,
        pose: torch.Tensor,
        phenotypes: torch.Tensor,
        translation: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Keypoints (B, K, 3).

        Args:
            root: (B, 3, 3) root rotation (Anny's root pose delta).
            pose: (B, J, 3, 3) rotations of ``pose_bones`` (local-ref deltas).
            phenotypes: (B, P) or (1, P) Anny phenotypes (the latter shared by the whole batch).
            translation: (B, 3) root translation, or None.
        """
        batch = root.shape[0]
        if phenotypes.shape[0] not in (1, batch):
            raise ValueError(f"shape batch {phenotypes.shape[0]} must be 1 or the pose batch {batch}")
        y = self.constant_shape_terms(phenotypes)  # (rows, 3, Bs)
        Z = self.posed_rotations(torch.cat([root[:, None], pose], dim=1))  # (posed, 3, 3, B)
        K, P = self.num_keypoints, self.num_posed
        if phenotypes.shape[0] == 1:
            # x_k = sum_{P, j} y[k, P, j] Z[P, :, j]: one matrix product for the whole batch.
            y = y.new_zeros(K * P, 3).index_copy(0, self.used_rows, y[..., 0])
            keypoints = y.view(K, P * 3) @ Z.transpose(1, 2).reshape(P * 3, 3 * batch)
        else:
            Z = Z.index_select(0, self.used_posed)  # (rows, 3, 3, B)
            moved = Z[:, :, 0] * y[:, None, 0] + Z[:, :, 1] * y[:, None, 1] + Z[:, :, 2] * y[:, None, 2]
            keypoints = self.used_sum @ moved.view(-1, 3 * batch)
        keypoints = keypoints.view(K, 3, batch)
        if translation is not None:
            keypoints = keypoints + self.translation_weight[:, :, None] * (self.root_reference.T @ translation.T)[None]
        return keypoints.permute(2, 0, 1).contiguous()
