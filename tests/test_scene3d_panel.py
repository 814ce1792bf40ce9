"""The 3D panel's renderer (cmanet_app.scene3d.panel_renderer): the orbit camera as a pinhole
camera, the body ray-cast where that camera projects it, lines behind it, new meshes drawn where
they now are. Real Open3D ray casting, a real body mesh (Anny)."""

from __future__ import annotations

import numpy as np
import pytest

from cmanet_app.scene3d.geometry import LineSet, Mesh, SceneData, floor_grid
from cmanet_app.scene3d.orbit import OrbitCamera
from cmanet_app.scene3d.panel_renderer import PanelRenderer, focal_px, look_at


def test_look_at_puts_the_target_at_the_centre_with_up_upwards():
    R, t = look_at([3.0, -4.0, 1.5], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0])
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12) and np.isclose(np.linalg.det(R), 1.0)
    target = R @ np.array([0.0, 0.0, 1.0]) + t
    assert np.allclose(target[:2], 0.0, atol=1e-9) and target[2] > 0
    above = R @ np.array([0.0, 0.0, 2.0]) + t
    assert above[1] / above[2] < 0  # higher in the world: higher in the image (smaller y)
    assert np.isclose(focal_px(90.0, 600), 300.0)


@pytest.fixture(scope="module")
def body():
    import torch

    from cmanet_app.bodies import body_provider

    with body_provider().use("anny") as model, torch.no_grad():
        out = model(torch.zeros(1, 3), torch.zeros(1, len(model.pose_joint_names), 3), model.mean_shape()[None],
                    torch.tensor([[0.0, 0.0, 1.0]]))
    return out.vertices[0].numpy().astype(np.float64), model.faces.numpy().astype(np.int32)


def _render(renderer: PanelRenderer, scene: SceneData, camera: OrbitCamera) -> np.ndarray:
    renderer.set_scene(scene)
    _, up = camera.basis()
    return renderer.render(camera.eye(), camera.target, up, camera.fov)


def test_the_body_is_drawn_where_the_camera_projects_it_and_follows_new_meshes(body):
    vertices, faces = body
    renderer = PanelRenderer(320, 240)
    camera = OrbitCamera.framing(vertices.min(0), vertices.max(0))
    empty = _render(renderer, SceneData(), camera)
    assert (empty == empty[0, 0]).all()
    image = _render(renderer, SceneData(faces=faces, body=Mesh(vertices, (1.0, 0.83, 0.33))), camera)
    drawn = np.abs(image.astype(int) - empty[0, 0]).sum(-1) > 30
    _, up = camera.basis()
    R, t = look_at(camera.eye(), camera.target, up)
    cam = vertices @ R.T + t
    uv = cam[:, :2] / cam[:, 2:] * focal_px(camera.fov, 240) + [160, 120]
    box = np.zeros_like(drawn)
    lo, hi = np.floor(uv.min(0)).astype(int) - 1, np.ceil(uv.max(0)).astype(int) + 2
    box[max(lo[1], 0):hi[1], max(lo[0], 0):hi[0]] = True
    assert drawn.sum() > 500 and not (drawn & ~box).any()  # inside the projection's bounding box
    assert drawn[box].mean() > 0.2
    centre = uv.mean(0).round().astype(int)
    assert image[centre[1], centre[0], 0] > image[centre[1], centre[0], 2]  # warm body colour, shaded
    # New meshes (the next frame): drawn where they now are.
    moved = _render(renderer, SceneData(faces=faces, body=Mesh(vertices + [0.3, 0.0, 0.0], (1.0, 0.83, 0.33))), camera)
    assert np.abs(moved.astype(int) - image.astype(int)).sum(-1).astype(bool).mean() > 0.01


def test_lines_pass_behind_the_body_and_are_clipped_behind_the_camera(body):
    vertices, faces = body
    renderer = PanelRenderer(320, 240)
    camera = OrbitCamera.framing(vertices.min(0), vertices.max(0))
    grid = floor_grid(np.zeros(2))
    # A line from behind the camera through the target: drawn up to the near plane, no crash.
    through = LineSet(np.array([camera.eye() * 2 - np.asarray(camera.target), camera.target]), np.array([[0, 1]]), (1.0, 0.0, 0.0))
    lines_only = _render(renderer, SceneData(lines={"grid": grid, "through": through}), camera)
    assert (lines_only[..., 0].astype(int) - lines_only[..., 2] > 100).any()
    with_body = _render(renderer, SceneData(faces=faces, body=Mesh(vertices, (1.0, 0.83, 0.33)),
                                            lines={"grid": grid, "through": through}), camera)
    body_only = _render(renderer, SceneData(faces=faces, body=Mesh(vertices, (1.0, 0.83, 0.33))), camera)
    empty = _render(renderer, SceneData(), camera)
    on_body = np.abs(body_only.astype(int) - empty[0, 0]).sum(-1) > 30
    assert np.array_equal(with_body[on_body], body_only[on_body])  # the body hides the lines behind it
