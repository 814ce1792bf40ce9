"""The views' mesh overlay rasteriser (cmanet_app.overlay): the colour layer paints only faces
turned to the camera, and its mask is the body's whole silhouette (as filling every face gives),
at any display scale. A real Anny body, real OpenCV filling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from cmanet_app import overlay


@pytest.fixture(scope="module")
def body_in_camera():
    from cmanet_app.bodies import body_provider

    with body_provider().use("anny") as model, torch.no_grad():
        pose = torch.zeros(1, len(model.pose_joint_names), 3)
        pose[0, 7, 2] = 1.2  # an arm raised across the body: faces overlap in depth
        out = model(torch.tensor([[np.pi / 2, 0.0, 0.0]]), pose, model.mean_shape()[None], torch.tensor([[0.0, -0.9, 3.0]]))
    return out.vertices[0].numpy().astype(np.float64), model.faces.numpy().astype(np.int32)


@pytest.mark.parametrize("scale", [1.0, 2.25])
def test_mask_is_the_silhouette_of_every_face(body_in_camera, scale):
    vertices, faces = body_in_camera
    width, height = 1080, 1920
    size = (round(width / scale), round(height / scale))
    focal, principal = 1500.0, np.array([width / 2, height / 2])
    layer, mask = overlay.rasterize_mesh(vertices, faces, focal, principal, size, overlay.IEV_COLOUR, scale)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    uv = overlay.project_points(vertices, focal, principal) / scale
    # The silhouette, one face at a time (one fillPoly over overlapping faces would cancel them out).
    every_face = np.zeros((size[1], size[0]), np.uint8)
    for tri in np.round(uv[faces] * 4).astype(np.int32):
        cv2.fillConvexPoly(every_face, tri, 255, lineType=cv2.LINE_8, shift=2)
    inside, mine = every_face > 0, mask > 0
    assert mine.sum() > 1000
    assert not (mine & ~cv2.dilate(every_face, np.ones((3, 3), np.uint8)).astype(bool)).any()  # edge pixels aside
    assert (inside & ~mine).sum() < 0.01 * inside.sum()  # the same silhouette, to a few pixels
    assert ((layer.max(axis=2) > 0) == (mask > 0)).all()
    # Shaded in several levels of the body's colour, never black.
    painted = layer[mask > 0].astype(int)
    assert len(np.unique(painted[:, 0])) >= 4 and painted.max(axis=1).min() > 0
