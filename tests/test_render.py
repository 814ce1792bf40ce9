"""The ray-casting renderer: its silhouettes lie on the pinhole projection of the same vertices."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from core.body.anny_body import AnnyBody
from core.geometry.camera import project, transform_points
from core.render import MeshRenderer, camera_rays
from core.synth.rig import look_at


@pytest.fixture(scope="module")
def posed_mesh():
    body = AnnyBody()
    pose = torch.zeros(1, 19, 3)
    pose[0, 7] = torch.tensor([-0.8, 0.3, 0.0])  # left arm forward: self-occlusion in some views
    with torch.no_grad():
        out = body(torch.tensor([[0.0, 0.0, 0.4]]), pose, torch.full((1, 6), 0.5), torch.tensor([[0.1, 0.2, 0.9]]))
    return out.vertices[0].numpy(), body.faces.numpy()


def _projected_silhouette(vertices, faces, R, t, focal, principal, width, height):
    """Filled projected triangles (pixel-centre convention) and the projected vertices."""
    cam = transform_points(torch.tensor(vertices, dtype=torch.float64), torch.tensor(R), torch.tensor(t))
    uv = project(cam, torch.tensor(float(focal), dtype=torch.float64), torch.tensor(principal, dtype=torch.float64)).numpy()
    silhouette = np.zeros((height, width), np.uint8)
    # Pixel (i, j) has its centre at (j + 0.5, i + 0.5); cv2 puts centres at integers.
    cv2.fillPoly(silhouette, list(np.round((uv[faces] - 0.5) * 16).astype(np.int32)), 1, shift=4)
    return silhouette > 0, uv


@pytest.mark.parametrize(
    "width,height,focal,principal,eye,roll",
    [
        (320, 240, 300.0, (165.0, 118.0), (0.6, -3.5, 1.6), 0.1),
        (180, 320, 260.0, (90.0, 160.0), (-3.0, 1.0, 0.6), -0.2),
    ],
)
def test_rendered_mask_aligns_with_projection(posed_mesh, width, height, focal, principal, eye, roll):
    vertices, faces = posed_mesh
    eye = np.array(eye)
    R = look_at(eye, vertices.mean(axis=0), roll)
    t = -R @ eye
    with MeshRenderer(width, height) as renderer:
        result = renderer.render(vertices, faces, focal, principal, R, t, depth=True, mask=True)
    silhouette, uv = _projected_silhouette(vertices, faces, R, t, focal, principal, width, height)
    mask = result.mask
    assert result.image.shape == (height, width, 3) and result.image.dtype == np.uint8
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    # Every projected vertex falls on the rendered silhouette (within a pixel) ...
    pix = np.floor(uv).astype(int)
    inside = (pix >= 0).all(1) & (pix[:, 0] < width) & (pix[:, 1] < height)
    assert grown[pix[inside, 1], pix[inside, 0]].all()
    # ... and every rendered pixel lies on the projected triangles (within a pixel).
    assert (cv2.dilate(silhouette.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)[mask].all()
    assert (mask & silhouette).sum() / (mask | silhouette).sum() > 0.85
    # Depth is the camera-frame z of the surface.
    z = vertices @ R[2] + t[2]
    assert z.min() - 1e-3 <= result.depth[mask].min() and result.depth[mask].max() <= z.max() + 1e-3
    assert np.isinf(result.depth[~mask]).all()


def test_static_scene_background_and_camera_frame(posed_mesh):
    vertices, faces = posed_mesh
    eye = np.array([0.0, -4.0, 1.2])
    R = look_at(eye, vertices.mean(axis=0))
    t = -R @ eye
    floor = np.array([[-5.0, -5.0, 0.0], [5.0, -5.0, 0.0], [5.0, 5.0, 0.0], [-5.0, 5.0, 0.0]])
    renderer = MeshRenderer(200, 150)
    plain = renderer.render(vertices, faces, 180.0, None, R, t, background=(0.0, 0.0, 1.0), mask=True)
    assert (plain.image[~plain.mask] == [0, 0, 255]).all()
    backdrop = np.full((150, 200, 3), 77, np.uint8)
    composite = renderer.render(vertices, faces, 180.0, None, R, t, background=backdrop, mask=True)
    np.testing.assert_array_equal(composite.mask, plain.mask)
    assert (composite.image[~composite.mask] == 77).all()
    # Vertices already in the camera frame render the same as world vertices plus extrinsics.
    in_camera = renderer.render(vertices @ R.T + t, faces, 180.0, None, background=(0.0, 0.0, 1.0), mask=True)
    np.testing.assert_array_equal(in_camera.mask, plain.mask)
    # Static floor: fills the lower image, the person stays on top, and twice gives the same image.
    renderer.add_static("floor", floor, np.array([[0, 1, 2], [0, 2, 3]]), (0.5, 0.5, 0.5))
    first = renderer.render(vertices, faces, 180.0, None, R, t, mask=True)
    second = renderer.render(vertices, faces, 180.0, None, R, t, mask=True)
    np.testing.assert_array_equal(first.image, second.image)
    np.testing.assert_array_equal(first.mask, plain.mask)
    assert (first.image[-1] != 255).all()
    renderer.close()


def test_camera_rays_go_through_pixel_centres():
    R = look_at(np.array([1.0, -3.0, 1.0]), np.zeros(3), 0.3)
    t = -R @ np.array([1.0, -3.0, 1.0])
    rays = camera_rays(40, 30, 50.0, (21.0, 14.0), R, t)
    points = rays[..., :3] + rays[..., 3:] * 2.5  # depth 2.5 along each ray
    uv = project(
        transform_points(torch.tensor(points.reshape(-1, 3), dtype=torch.float64), torch.tensor(R), torch.tensor(t)),
        torch.tensor(50.0, dtype=torch.float64),
        torch.tensor([21.0, 14.0], dtype=torch.float64),
    ).numpy()
    grid = np.stack(np.meshgrid(np.arange(40) + 0.5, np.arange(30) + 0.5), axis=-1).reshape(-1, 2)
    np.testing.assert_allclose(uv, grid, atol=1e-4)
    sub = camera_rays(40, 30, 50.0, (21.0, 14.0), R, t, rect=(5, 7, 15, 12))
    np.testing.assert_allclose(sub, rays[7:12, 5:15], atol=1e-6)
