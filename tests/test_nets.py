"""Networks: Swin pieces, the keypoint encoder, camera conversions, IRV/IEV structure, checkpoints."""

from __future__ import annotations

import pytest
import roma
import torch

from core.body import BodyModelConfig, load_body_model
from core.canonical.params import ViewBodies
from core.canonical.pose_prior import default_pose_prior
from core.errors import InputError
from core.nets import build_model, load_model, predict, save_model
from core.nets.camera import cam_to_translation, keypoint_boxes, translation_to_cam
from core.nets.config import (
    IEVNetConfig,
    IRVNetConfig,
    KeypointEncoderConfig,
    ModelConfig,
    SwinConfig,
)
from core.nets.inputs import make_view_inputs
from core.nets.keypoint_encoder import keypoint_tokens
from core.nets.param_space import CanonicalTheta
from core.nets.swin import (
    SwinBlock,
    SwinTransformer,
    shifted_window_mask,
    window_partition,
    window_reverse,
)

TINY_SWIN = SwinConfig(image_size=32, patch_size=4, embed_dim=8, depths=(2, 2), heads=(1, 2), window_size=4, drop_path=0.0)


def tiny_config(**kw) -> ModelConfig:
    base = dict(
        encoder="keypoints", feature_dim=32,
        keypoint_encoder=KeypointEncoderConfig(dim=32, depth=1, heads=2),
        swin=TINY_SWIN,
        irv=IRVNetConfig(hidden=64, iterations=2, shared_regressor=True, num_views=3),
        iev=IEVNetConfig(dim=32, heads=2, hidden=64, iterations=2),
    )
    base.update(kw)
    return ModelConfig(**base)


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def mean_pose(body):
    return default_pose_prior(body).mean


def random_detections(frames: int, views: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    size = torch.tensor([[640.0, 480.0]]).expand(views, 2)
    centre = torch.tensor([320.0, 240.0]) + torch.randn(frames, views, 1, 2, generator=gen) * 30
    xy = centre + torch.randn(frames, views, 17, 2, generator=gen) * 60
    conf = torch.rand(frames, views, 17, 1, generator=gen)
    return dict(keypoints2d=torch.cat([xy, conf], -1), focal=torch.full((views,), 600.0), principal=size / 2, image_sizes=size)


# ------------------------------------------------------------------------------------ Swin


def test_window_partition_round_trip():
    x = torch.randn(2, 8, 12, 5)
    windows = window_partition(x, 4)
    assert windows.shape == (2 * 2 * 3, 16, 5)
    assert torch.equal(window_reverse(windows, 4, 8, 12), x)


def test_shifted_window_mask_keeps_wrapped_regions_apart():
    # In a shifted block, the token at the map's first corner must not see the last corner,
    # which the cyclic shift moves into the same window.
    torch.manual_seed(0)
    block = SwinBlock(dim=8, heads=2, window=4, shift=2, mlp_ratio=2.0, drop_path=0.0).eval()
    x = torch.randn(1, 8, 8, 8)
    y = x.clone()
    y[0, 0, 0] += 1.0
    changed = (block(x) - block(y)).abs().sum(-1)[0] > 1e-6
    assert changed[0, 0]
    assert not changed[-1, -1] and not changed[-1, 0] and not changed[0, -1]
    mask = shifted_window_mask(8, 8, 4, 2)
    assert mask.shape == (4, 16, 16) and (mask[0] == 0).all()  # the first window holds one region


def test_swin_shapes_and_padding():
    model = SwinTransformer(TINY_SWIN)
    assert model(torch.rand(3, 3, 32, 32)).shape == (3, model.out_dim)
    # 40 px -> a 10x10 grid that 4x4 windows do not tile: padded.
    odd = SwinTransformer(SwinConfig(image_size=40, patch_size=4, embed_dim=8, depths=(2, 2), heads=(1, 2), window_size=4, drop_path=0.0))
    assert odd(torch.rand(2, 3, 40, 40)).shape == (2, odd.out_dim)


def test_swin_t_size():
    model = SwinTransformer(SwinConfig())  # Swin-T at 256x256
    params = sum(p.numel() for p in model.parameters())
    assert 27e6 < params < 29e6  # Swin-T has 28 M parameters (27.5 M without the classifier)


# ------------------------------------------------------------------------------------ inputs


def test_keypoint_tokens_ignore_unconfident_detections():
    kp = torch.tensor([[[100.0, 100.0, 0.9]] * 17])
    kp[0, 3] = torch.tensor([500.0, -200.0, 0.1])
    centre, size = keypoint_boxes(kp, torch.tensor([[640.0, 480.0]]), 0.3)
    tokens = keypoint_tokens(kp, centre, size, 0.3)
    assert torch.equal(tokens[0, 3], torch.zeros(3))
    moved = kp.clone()
    moved[0, 3, :2] = torch.tensor([1.0, 2.0])
    assert torch.equal(keypoint_tokens(moved, centre, size, 0.3), tokens)


def test_box_of_a_missed_person_is_the_image():
    kp = torch.zeros(1, 17, 3)
    centre, size = keypoint_boxes(kp, torch.tensor([[640.0, 480.0]]), 0.3)
    assert torch.allclose(centre, torch.tensor([[320.0, 240.0]])) and size.item() == 640.0


def test_camera_conversion_round_trip_and_weak_perspective():
    gen = torch.Generator().manual_seed(1)
    cam = torch.randn(5, 3, generator=gen) * 0.2 + torch.tensor([-0.8, 0.0, 0.0])
    centre = torch.rand(5, 2, generator=gen) * 500
    size, focal, principal = torch.rand(5, generator=gen) * 300 + 50, torch.full((5,), 800.0), torch.tensor([[320.0, 240.0]]).expand(5, 2)
    transl = cam_to_translation(cam, centre, size, focal, principal)
    assert torch.allclose(translation_to_cam(transl, centre, size, focal, principal), cam, atol=1e-5)
    # The body origin projects to the box offset o.
    origin_px = transl[:, :2] / transl[:, 2:] * focal[:, None] + principal
    assert torch.allclose((origin_px - centre) / size[:, None], cam[:, 1:], atol=1e-4)


def test_param_space_round_trip(body, mean_pose):
    model = build_model(tiny_config(), body, BodyModelConfig(), mean_pose)
    det = random_detections(2, 3)
    inputs = make_view_inputs(det["keypoints2d"], det["focal"], det["principal"], det["image_sizes"], 0.3)
    gen = torch.Generator().manual_seed(2)
    bodies = ViewBodies(
        roma.random_rotmat((2, 3)), roma.rotvec_to_rotmat(torch.randn(2, 3, 19, 3, generator=gen) * 0.3),
        torch.rand(2, 3, 6, generator=gen) * 0.8 + 0.1, torch.randn(2, 3, 3, generator=gen) * 0.3 + torch.tensor([0, 0, 4.0]),
    )
    back = model.space.view_bodies(model.space.theta_from_bodies(bodies, inputs), inputs)
    for name in ("global_orient", "body_pose", "shape", "transl"):
        assert torch.allclose(getattr(back, name), getattr(bodies, name), atol=1e-4), name


# ------------------------------------------------------------------------------------ IRV / IEV


def test_shared_irv_is_equivariant_to_view_order_and_per_view_is_not(body, mean_pose):
    torch.manual_seed(0)
    det = random_detections(2, 3)
    inputs = make_view_inputs(det["keypoints2d"], det["focal"], det["principal"], det["image_sizes"], 0.3)
    perm = torch.tensor([2, 0, 1])
    permuted = inputs.map(lambda t: t[:, perm])
    shared = build_model(tiny_config(), body, BodyModelConfig(), mean_pose).eval()
    assert torch.allclose(shared.run_irv(inputs).theta[:, perm], shared.run_irv(permuted).theta, atol=1e-5)
    per_view = build_model(tiny_config(irv=IRVNetConfig(hidden=64, iterations=2, shared_regressor=False, num_views=3)),
                           body, BodyModelConfig(), mean_pose).eval()
    assert not torch.allclose(per_view.run_irv(inputs).theta[:, perm], per_view.run_irv(permuted).theta, atol=1e-5)
    with pytest.raises(InputError, match="per-view regressors for 3 views"):
        predict(per_view, det["keypoints2d"][:, :2], det["focal"][:2], det["principal"][:2], det["image_sizes"][:2], body=body)


def test_iev_is_equivariant_to_view_order(body, mean_pose):
    torch.manual_seed(0)
    model = build_model(tiny_config(), body, BodyModelConfig(), mean_pose).eval()
    for p in model.iev.parameters():  # make the refinements large enough to matter
        p.data += torch.randn_like(p) * 0.05
    det = random_detections(2, 3)
    inputs = make_view_inputs(det["keypoints2d"], det["focal"], det["principal"], det["image_sizes"], 0.3)
    perm = torch.tensor([1, 2, 0])
    with torch.no_grad():
        irv, _, states = model(inputs, body)
        init = model.initial_state(irv.theta, torch.zeros(2, 3))
        a = model.run_iev(irv, inputs, init, body)[-1]
        irv_p = type(irv)(irv.features[:, perm], irv.context[:, perm], [t[:, perm] for t in irv.thetas])
        init_p = CanonicalTheta(init.orient[:, perm], init.cam[:, perm], init.pose, init.shape_z)
        b = model.run_iev(irv_p, inputs.map(lambda t: t[:, perm]), init_p, body)[-1]
    assert torch.allclose(a.orient[:, perm], b.orient, atol=1e-4)
    assert torch.allclose(a.pose, b.pose, atol=1e-4) and torch.allclose(a.shape_z, b.shape_z, atol=1e-4)
    assert not torch.allclose(a.pose, init.pose, atol=1e-4)  # it did refine


def test_initial_state_takes_body_of_best_view(body, mean_pose):
    model = build_model(tiny_config(), body, BodyModelConfig(), mean_pose)
    theta = torch.randn(2, 3, model.space.dim)
    state = model.initial_state(theta, torch.tensor([[3.0, 1.0, 2.0], [0.5, float("inf"), 0.7]]))
    _, pose, shape_z, cam = model.space.split(theta)
    assert torch.equal(state.pose[0], pose[0, 1]) and torch.equal(state.pose[1], pose[1, 0])
    assert torch.equal(state.shape_z[0], shape_z[0, 1]) and torch.equal(state.cam, cam)


# ------------------------------------------------------------------------------------ predict, files


def test_predict_shapes_and_checkpoint_round_trip(body, mean_pose, tmp_path):
    model = build_model(tiny_config(), body, BodyModelConfig(), mean_pose)
    det = random_detections(5, 3)
    irv, iev = predict(model, **det, body=body, batch_frames=2)
    assert irv.global_orient.shape == (5, 3, 3, 3) and irv.body_pose.shape == (5, 3, 19, 3, 3)
    assert irv.shape.shape == (5, 3, 6) and irv.transl.shape == (5, 3, 3)
    assert iev.global_orient.shape == (5, 3, 3, 3) and iev.transl.shape == (5, 3, 3)
    assert iev.body_pose.shape == (5, 19, 3, 3) and iev.shape.shape == (5, 6)
    assert (irv.transl[..., 2] > 0).all() and ((iev.shape >= 0) & (iev.shape <= 1)).all()

    path = save_model(model, tmp_path / "m.pt")
    again = load_model(path, "cpu")
    _, iev2 = predict(again, **det, body=body)
    assert torch.allclose(iev.transl, iev2.transl) and torch.allclose(iev.body_pose, iev2.body_pose)


def test_bad_checkpoints_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no such checkpoint"):
        load_model(tmp_path / "missing.pt", "cpu")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(InputError, match=str(corrupt.name)):
        load_model(corrupt, "cpu")
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(InputError, match="not a CMANet checkpoint"):
        load_model(other, "cpu")


def test_image_encoders_take_crops(body, mean_pose):
    det = random_detections(2, 3)
    crops = torch.randint(0, 255, (2, 3, 3, 32, 32), dtype=torch.uint8)
    for kind in ("swin", "fused"):
        model = build_model(tiny_config(encoder=kind), body, BodyModelConfig(), mean_pose)
        _, iev = predict(model, **det, images=crops, body=body)
        _, other = predict(model, **det, images=255 - crops, body=body)
        assert iev.body_pose.shape == (2, 19, 3, 3) and torch.isfinite(iev.transl).all()
        # The crops reach the estimate: other images, another body for the same keypoints.
        assert not torch.allclose(iev.body_pose, other.body_pose)
        with pytest.raises(InputError, match="needs images"):
            predict(model, **det, body=body)
