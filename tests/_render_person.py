"""Test helper: a rendered image of a person with its true 2D COCO-17 keypoints.

Renders the Anny body mesh (default shape and pose: standing, arms down) with core.render's
MeshRenderer (the ray caster of ``cmanet synth --render``), seen from the front by a pinhole
camera; keep the interface: image + keypoints.
"""

from __future__ import annotations

import functools

import numpy as np

SKIN = (0.87, 0.68, 0.56)
# Clothes per body part (by each vertex's dominant bone): MediaPipe finds a dressed person more
# reliably than a uniformly skin-coloured one.
_PART_COLOURS = (
    (("foot", "toe"), (0.15, 0.12, 0.10)),  # shoes
    (("upperleg", "lowerleg", "pelvis", "root"), (0.20, 0.28, 0.55)),  # trousers
    (("spine", "clavicle", "shoulder", "upperarm"), (0.75, 0.20, 0.18)),  # shirt
)


@functools.lru_cache(maxsize=1)
def _body() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vertices (N,3), faces (M,3), vertex colours (N,3), COCO-17 keypoints (17,3)), metres, Z up."""
    import anny
    import torch

    model = anny.Anny()
    with torch.no_grad():
        out = model()
        keypoints = anny.KeypointsRegressor.coco(model)(out)[0, :17]
    vertices = out["vertices"][0].double().numpy()
    faces = model.get_triangular_faces().long().numpy()

    dominant = model.vertex_bone_indices.gather(1, model.vertex_bone_weights.argmax(1, keepdim=True))[:, 0]
    labels = [model.bone_labels[int(b)] for b in dominant]
    colours = np.tile(np.asarray(SKIN), (len(labels), 1))
    for i, label in enumerate(labels):
        for prefixes, colour in _PART_COLOURS:
            if label.startswith(prefixes):
                colours[i] = colour
                break
    return vertices, faces, colours, keypoints.double().numpy()


def front_camera(width: int, height: int, fill: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Intrinsics K (3,3) and world->camera extrinsics (4,4, OpenCV axes) looking at the body's front
    so that its height fills ``fill`` of the image height."""
    vertices = _body()[0]
    low, high = vertices.min(0), vertices.max(0)
    centre = (low + high) / 2
    focal = 1.2 * max(width, height)
    distance = focal * (high[2] - low[2]) / (fill * height)
    # Anny faces -Y with Z up: the camera sits on -Y looking along +Y; image x = world +X,
    # image y (down) = world -Z.
    rotation = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    camera_centre = centre - np.array([0.0, distance, 0.0])
    extrinsic = np.eye(4)
    extrinsic[:3, :3] = rotation
    extrinsic[:3, 3] = -rotation @ camera_centre
    intrinsic = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])
    return intrinsic, extrinsic


def project(points: np.ndarray, intrinsic: np.ndarray, extrinsic: np.ndarray) -> np.ndarray:
    """World points (N,3) -> pixels (N,2)."""
    cam = points @ extrinsic[:3, :3].T + extrinsic[:3, 3]
    uv = cam @ intrinsic.T
    return uv[:, :2] / uv[:, 2:3]


def render_person(
    width: int = 480, height: int = 640, clothes: bool = True, background=(0.93, 0.93, 0.90)
) -> tuple[np.ndarray, np.ndarray]:
    """Render the person. Returns (image RGB uint8 (H, W, 3), true keypoints (17, 2) in pixels).

    Renders are cached per process (the first one takes a few seconds); each call gets copies.
    """
    image, keypoints = _render(width, height, clothes, tuple(background))
    return image.copy(), keypoints.copy()


@functools.lru_cache(maxsize=8)
def _render(width: int, height: int, clothes: bool, background: tuple) -> tuple[np.ndarray, np.ndarray]:
    # core.render's ray caster (Open3D's Embree scene), as `cmanet synth --render` renders: Filament's
    # OffscreenRenderer on Mesa llvmpipe took from 40 ms to minutes for one frame (its frame pacing
    # spins while the software "GPU" lags; docs/bench/app_responsiveness.txt).
    from core.render import MeshRenderer

    vertices, faces, colours, keypoints = _body()
    intrinsic, extrinsic = front_camera(width, height)
    with MeshRenderer(width, height) as renderer:
        image = renderer.render(vertices, faces, float(intrinsic[0, 0]), intrinsic[:2, 2], extrinsic[:3, :3],
                                extrinsic[:3, 3], color=colours if clothes else SKIN, background=background,
                                shadows=False).image
    return image, project(keypoints, intrinsic, extrinsic)
