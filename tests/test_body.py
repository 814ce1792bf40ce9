"""Body models: the real Anny model, and SMPL through smplx on a model file the test writes."""


import pytest
import roma
import torch

from core.body import BodyModelConfig, load_body_model
from core.body.anny_body import AnnyBody, shared_anny_model
from core.body.smpl_body import SMPL_JOINT_NAMES, SmplBody
from core.body.smpl_standin import write_smpl_standin
from core.errors import InputError
from core.keypoints import COCO17_NAMES


@pytest.fixture(scope="module")
def anny_body() -> AnnyBody:
    return load_body_model(BodyModelConfig(name="anny"))


def _random_params(body, batch, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        global_orient=torch.randn(batch, 3, generator=gen) * 0.5,
        body_pose=torch.randn(batch, body.num_pose_joints, 3, generator=gen) * 0.25,
        shape=torch.rand(batch, body.shape_dim, generator=gen) if body.name == "anny" else torch.randn(batch, 10, generator=gen),
        transl=torch.randn(batch, 3, generator=gen),
    )


def test_anny_outputs_and_rest_anatomy(anny_body):
    rest = anny_body(
        torch.zeros(1, 3), torch.zeros(1, anny_body.num_pose_joints, 3), anny_body.mean_shape()[None]
    )
    assert rest.vertices.shape == (1, 13718, 3)
    assert rest.keypoints.shape == (1, 17, 3)
    assert anny_body.faces.shape[1] == 3 and anny_body.faces.max() < rest.vertices.shape[1]
    kp = dict(zip(COCO17_NAMES, rest.keypoints[0]))
    up = anny_body.up_axis
    # the head is above the shoulders, above the hips, above the knees, above the ankles
    heights = [kp[n] @ up for n in ("nose", "left_shoulder", "left_hip", "left_knee", "left_ankle")]
    assert all(a > b for a, b in zip(heights, heights[1:]))
    height = (rest.vertices[0] @ up).max() - (rest.vertices[0] @ up).min()
    assert 1.4 < height < 2.0  # metres
    # the nose points where the body faces; the person's left is +X in Anny
    assert (kp["nose"] - (kp["left_ear"] + kp["right_ear"]) / 2) @ anny_body.forward_axis > 0.05
    assert kp["left_shoulder"][0] > kp["right_shoulder"][0]


def test_anny_keypoint_fast_path_matches_full_mesh(anny_body):
    params = _random_params(anny_body, 8)
    full = anny_body(**params)
    fast = anny_body(**params, vertices=False)
    assert fast.vertices is None
    assert torch.allclose(full.keypoints, fast.keypoints, atol=1e-5)


def _anny_cases(body, batch, seed, shared, scale):
    """Random poses (scale: std of the joint angles), shapes in [0, 1], on the bounds, or beyond."""
    params = _random_params(body, batch, seed)
    params["global_orient"] = params["global_orient"] * 3.0 * scale
    params["body_pose"] = params["body_pose"] * 4.0 * scale
    if shared:
        params["shape"] = params["shape"][:1]
    if seed % 3 == 1:
        params["shape"][:, :4] = torch.tensor([0.0, 1.0, 0.5, 1.0 / 3.0])  # on interpolation anchors
    elif seed % 3 == 2:
        params["shape"] = params["shape"] * 1.4 - 0.2  # outside [0, 1]: clamped, as Anny does
    return params


def _keypoints_and_grads(body, params, vertices):
    inputs = {k: v.detach().clone().requires_grad_() for k, v in params.items()}
    keypoints = body(**inputs, vertices=vertices).keypoints
    weights = torch.randn(keypoints.shape, generator=torch.Generator().manual_seed(7)).to(keypoints.device)
    (keypoints * weights).sum().backward()
    return keypoints.detach(), {k: v.grad for k, v in inputs.items()}


def _assert_same_keypoints_and_grads(body, params, atol=1e-5, rtol=1e-4):
    full, full_grads = _keypoints_and_grads(body, params, vertices=True)
    fast, fast_grads = _keypoints_and_grads(body, params, vertices=False)
    assert fast.shape == full.shape == (params["body_pose"].shape[0], 17, 3)
    assert (fast - full).abs().max() < atol  # metres
    for name, grad in full_grads.items():
        assert fast_grads[name].shape == grad.shape, name
        error = (fast_grads[name] - grad).abs().max() / grad.abs().max().clamp_min(1e-3)
        assert error < rtol, (name, float(error))


@pytest.mark.parametrize("shared", [False, True], ids=["per-item-shape", "broadcast-shape"])
def test_anny_fast_path_equals_full_path_values_and_gradients(anny_body, shared):
    # The keypoint path computes the keypoints in closed form (no skinning); the mesh path is Anny's
    # own forward. Same keypoints to float rounding, same gradients, over poses and shapes.
    for seed in range(4):
        params = _anny_cases(anny_body, 16, seed, shared, scale=0.25 if seed < 2 else 1.0)
        _assert_same_keypoints_and_grads(anny_body, params)


def test_anny_broadcast_shape_equals_repeated_shape(anny_body):
    params = _random_params(anny_body, 6, seed=3)
    params["shape"] = params["shape"][:1]
    broadcast = anny_body(**params, vertices=False).keypoints
    repeated = anny_body(**{**params, "shape": params["shape"].expand(6, -1)}, vertices=False).keypoints
    assert torch.allclose(broadcast, repeated, atol=1e-6)
    # an expanded (stride-0) shape is recognised as one shape: same values and gradients
    single = params["shape"].clone().requires_grad_()
    expanded = single.expand(6, -1)
    out = anny_body(**{**params, "shape": expanded}, vertices=False).keypoints
    assert torch.allclose(out, broadcast, atol=1e-6)
    out.square().sum().backward()
    reference = params["shape"].clone().requires_grad_()
    anny_body(**{**params, "shape": reference}, vertices=False).keypoints.square().sum().backward()
    assert torch.allclose(single.grad, reference.grad, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="shape batch"):
        anny_body(**{**params, "shape": params["shape"].expand(2, -1)}, vertices=False)
    assert anny_body(**{**params, "transl": None}, vertices=False).keypoints.shape == (6, 17, 3)


def test_anny_shape_coefficients_match_anny(anny_body):
    # The rig's phenotype -> blendshape-coefficient map against Anny's own, values and gradients.
    shapes = torch.rand(64, anny_body.shape_dim, generator=torch.Generator().manual_seed(0)) * 1.4 - 0.2
    shapes[:8] = torch.tensor([0.0, 0.25, 0.5, 1.0 / 3.0, 2.0 / 3.0, 1.0, -0.1, 1.1])[:, None]
    weights = torch.randn(64, anny_body.full_model.blendshapes.shape[0], generator=torch.Generator().manual_seed(1))
    ours_in, theirs_in = shapes.clone().requires_grad_(), shapes.clone().requires_grad_()
    ours = anny_body.keypoint_rig.blendshape_coefficients(ours_in)
    empty = torch.zeros(64, 0)
    theirs = anny_body.full_model._get_phenotype_blendshape_coefficients(theirs_in, empty, empty)
    assert torch.allclose(ours, theirs, atol=1e-6)
    (ours * weights).sum().backward()
    (theirs * weights).sum().backward()
    assert torch.allclose(ours_in.grad, theirs_in.grad, rtol=1e-4, atol=1e-4)


def test_nearest_rotation_matches_roma_on_anny_bones(anny_body):
    # Anny's rest bone orientations: roma.special_procrustes (float64 here as reference) of the
    # cached orientation matrices, some of which have a negative determinant (neck03).
    from core.body.anny_keypoints import nearest_rotation

    model = anny_body.full_model
    shapes = torch.rand(300, anny_body.shape_dim, generator=torch.Generator().manual_seed(2))
    empty = torch.zeros(300, 0)
    coeffs = model._get_phenotype_blendshape_coefficients(shapes, empty, empty)
    M = model.bone_template_orientation_matrices + torch.einsum("ba,akij->bkij", coeffs, model.bone_orientation_blendshapes)
    assert (torch.linalg.det(M) < 0).any()
    grad = torch.randn(M.shape, generator=torch.Generator().manual_seed(3))
    ours_in, ref_in = M.clone().requires_grad_(), M.double().requires_grad_()
    ours, ref = nearest_rotation(ours_in), roma.special_procrustes(ref_in)
    assert (ours.double() - ref).abs().max() < 2e-6
    (ours * grad).sum().backward()
    (ref * grad.double()).sum().backward()
    scale = ref_in.grad.abs().amax((-1, -2), keepdim=True).clamp_min(1.0)
    assert ((ours_in.grad.double() - ref_in.grad) / scale).abs().max() < 1e-4
    # well-conditioned matrices of any scale and determinant sign (incl. a tiny singular value)
    gen = torch.Generator().manual_seed(5)
    left, right = roma.random_rotmat(400, generator=gen), roma.random_rotmat(400, generator=gen)
    singular_values = torch.tensor([[1.0, 3.0, 2.0], [1.0, 3.0, -2.0], [1e-4, 1.0, -0.9], [0.5, 1.0, -1e-4]]).repeat(100, 1)
    scale = 10.0 ** torch.randint(-3, 6, (400, 1, 1), generator=gen)
    synthetic = scale * (left * singular_values[:, None, :]) @ right.transpose(-1, -2)
    assert (nearest_rotation(synthetic).double() - roma.special_procrustes(synthetic.double())).abs().max() < 1e-5
    # a singular matrix takes roma's SVD path; a rotation is its own nearest rotation
    singular = torch.diag(torch.tensor([1.0, 1.0, 0.0]))[None]
    rotations = torch.cat([roma.random_rotmat(4, generator=torch.Generator().manual_seed(4)), singular])
    solved = nearest_rotation(rotations)
    assert torch.allclose(solved[:4], rotations[:4], atol=1e-6)
    assert torch.allclose(solved[4], roma.special_procrustes(singular)[0], atol=1e-6)


def test_anny_fallback_keypoint_path(monkeypatch):
    # With an Anny rig convention the closed form does not implement, AnnyBody runs Anny on the
    # regressor's vertices instead: slower, same keypoints.
    import core.body.anny_body as anny_body_module

    monkeypatch.setattr(anny_body_module, "shared_keypoint_rig", lambda: None)
    body = AnnyBody()
    assert body.keypoint_rig is None and body.keypoint_model is not None
    params = _random_params(body, 4)
    assert torch.allclose(body(**params, vertices=False).keypoints, body(**params).keypoints, atol=1e-5)


def test_anny_construction_reuses_the_loaded_model(anny_body):
    """A second AnnyBody copies the process's loaded Anny, regressor and keypoint rig (about 0.1 s)
    instead of building them again, and owns its copies (so that it can move them)."""
    from core.body.anny_body import (
        shared_anny_model,
        shared_coco_regressor,
        shared_keypoint_rig,
    )

    caches = (shared_anny_model, shared_coco_regressor, shared_keypoint_rig)
    misses = [cache.cache_info().misses for cache in caches]
    body = AnnyBody()
    assert [cache.cache_info().misses for cache in caches] == misses
    assert body.full_model is not shared_anny_model() and body.keypoint_rig is not shared_keypoint_rig()


def test_anny_global_rotation_and_translation(anny_body):
    params = _random_params(anny_body, 2)
    base = anny_body(**{**params, "global_orient": torch.zeros(2, 3), "transl": torch.zeros(2, 3)}, vertices=False)
    moved = anny_body(**params, vertices=False)
    R = roma.rotvec_to_rotmat(params["global_orient"])
    expected = base.keypoints @ R.transpose(-1, -2) + params["transl"][:, None]
    assert torch.allclose(moved.keypoints, expected, atol=1e-5)
    # matrices and axis-angle are the same input
    as_mats = anny_body(**{**params, "global_orient": R, "body_pose": roma.rotvec_to_rotmat(params["body_pose"])}, vertices=False)
    assert torch.allclose(as_mats.keypoints, moved.keypoints, atol=1e-5)


def test_anny_elbow_moves_the_wrist_only(anny_body):
    pose = torch.zeros(1, anny_body.num_pose_joints, 3)
    rest = anny_body(torch.zeros(1, 3), pose, anny_body.mean_shape()[None], vertices=False).keypoints[0]
    pose[0, anny_body.pose_joint_names.index("left_elbow")] = torch.tensor([0.0, 0.0, 1.2])
    bent = anny_body(torch.zeros(1, 3), pose, anny_body.mean_shape()[None], vertices=False).keypoints[0]
    moved = (bent - rest).norm(dim=-1) > 0.01
    assert moved.tolist() == [n == "left_wrist" for n in COCO17_NAMES]


def test_anny_shape_changes_size(anny_body):
    zero = torch.zeros(2, 3)
    pose = torch.zeros(2, anny_body.num_pose_joints, 3)
    shape = anny_body.mean_shape().repeat(2, 1)
    shape[1, anny_body.shape_labels.index("height")] = 1.0
    kp = anny_body(zero, pose, shape, vertices=False).keypoints
    stature = kp[:, 0] @ anny_body.up_axis - kp[:, 15] @ anny_body.up_axis
    assert stature[1] > stature[0] + 0.05


def test_anny_is_differentiable(anny_body):
    params = {k: v.requires_grad_() for k, v in _random_params(anny_body, 3).items()}
    anny_body(**params, vertices=False).keypoints.square().sum().backward()
    for name, value in params.items():
        assert value.grad is not None and torch.isfinite(value.grad).all() and value.grad.abs().sum() > 0, name


def test_anny_is_loaded_once_per_process(anny_body):
    assert shared_anny_model() is shared_anny_model()
    assert anny_body.full_model is not shared_anny_model()  # each instance owns a movable copy


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_anny_on_cuda(anny_body):
    body = AnnyBody().cuda()
    assert all(t.is_cuda for t in body.buffers())
    params = {k: v.cuda() for k, v in _random_params(body, 4).items()}
    out = body(**params, vertices=False)
    assert out.keypoints.is_cuda
    assert torch.allclose(out.keypoints.cpu(), anny_body(**{k: v.cpu() for k, v in params.items()}, vertices=False).keypoints, atol=1e-4)
    for shared in (False, True):
        for seed in range(3):
            cases = _anny_cases(body, 16, seed, shared, scale=0.5)
            _assert_same_keypoints_and_grads(body, {k: v.cuda() for k, v in cases.items()})


def test_smpl_backend_from_user_files(tmp_path):
    folder = tmp_path / "models" / "smpl"
    folder.mkdir(parents=True)
    write_smpl_standin(folder / "SMPL_NEUTRAL.pkl")
    body = load_body_model(BodyModelConfig(name="smpl", path=str(tmp_path / "models")))
    assert body.num_pose_joints == 23 and body.pose_joint_names == SMPL_JOINT_NAMES
    params = {k: v.requires_grad_() for k, v in _random_params(body, 2).items()}
    out = body(**params)
    assert out.vertices.shape == (2, 6890, 3) and out.keypoints.shape == (2, 17, 3)
    assert torch.allclose(out.keypoints[:, 0], out.vertices[:, 332], atol=1e-6)  # nose vertex
    out.keypoints.sum().backward()
    assert params["body_pose"].grad.abs().sum() > 0
    kp_only = body(**params, vertices=False)
    assert kp_only.vertices is None and torch.allclose(kp_only.keypoints, out.keypoints)


@pytest.mark.parametrize("path, expected", [(None, "body_model.path is not set"), ("/nonexistent/smpl", "no such file")])
def test_smpl_missing_files_say_where_to_get_them(path, expected):
    with pytest.raises(InputError) as info:
        SmplBody(path)
    message = str(info.value)
    assert expected in message and "smpl.is.tue.mpg.de" in message and "\n" not in message


def test_smpl_garbage_file_is_bad_input(tmp_path):
    bad = tmp_path / "SMPL_NEUTRAL.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="SMPL_NEUTRAL.pkl"):
        SmplBody(bad)


def test_anny_cached_shape_terms_follow_the_shape(anny_body):
    rig = anny_body.keypoint_rig
    a = anny_body.mean_shape()[None].clone()
    b = a.clone()
    b[0, 0] = 0.9
    first = rig.constant_shape_terms(a)
    assert torch.equal(rig.constant_shape_terms(a.clone()), first)  # the cached entry
    assert torch.allclose(rig.constant_shape_terms(b), rig.shape_terms(b))
    a[0, 1] = 0.1  # changed in place: must not be served from the cache
    assert torch.allclose(rig.constant_shape_terms(a), rig.shape_terms(a))
    grad = a.clone().requires_grad_()
    rig.constant_shape_terms(grad).sum().backward()  # needs a gradient: computed, not cached
    assert grad.grad is not None and grad.grad.abs().sum() > 0
