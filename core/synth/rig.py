"""Random rigs of 2-8 static cameras around a person.

World frame: Z up, metres, the floor at z = 0 (Anny's frame). Cameras are pinholes with OpenCV
axes (x right, y down, z forward): ``X_cam = R X_world + t``, focal length in pixels, principal
point at the image centre. Rigs vary the way real captures do: how far around the person the
cameras spread, their heights and distances, a little roll, and image sizes and focal lengths
that differ between cameras (landscape and portrait).

Two worlds (:class:`RigRanges`): ``default`` frames the person tightly from 2.5-6 m at about eye
height; ``wide`` is the training world of ``scripts/train_default``'s step 6: lenses 0.6-1.6x the image's longer
side, cameras 2-8 m from the person and 0-60 deg above them (ceiling mounts included), rolled by up
to ~25 deg (sigma 12), the person anywhere in the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Image sizes (width, height) a rig draws from: common video formats, landscape and portrait.
IMAGE_SIZES: tuple[tuple[int, int], ...] = (
    (640, 480), (960, 540), (1280, 720), (1920, 1080), (1024, 768), (720, 1280), (1080, 1920), (480, 640),
)  # fmt: skip
HEIGHT_RANGE_M = (0.5, 2.5)
DISTANCE_RANGE_M = (2.5, 6.0)
# Field of view across the longer image side (degrees) that the lenses stay within.
FOV_RANGE_DEG = (25.0, 95.0)
# How much the framing leaves around the person: focal length as a fraction of the tightest
# framing's.
ZOOM_OUT_RANGE = (0.6, 1.0)
# Fraction of the image half-size the framed points may use at the tightest framing.
FRAME_FILL = 0.9


@dataclass(frozen=True)
class RigRanges:
    """The ranges a rig is drawn from.

    focal_ratio: focal length / the image's longer side, drawn per camera (None: the tightest
    framing of the person times a zoom-out in ``ZOOM_OUT_RANGE``, the ``default`` world);
    distance_m: camera to the person's centre; elevation_deg: the camera's angle above the
    person's centre (None: ``HEIGHT_RANGE_M`` camera heights instead); aim_jitter_m: how far from
    the person's centre the camera aims (the person off-centre in the frame); roll_deg: standard
    deviation of the roll about the view axis. A camera that would cut the person off moves back
    (up to the largest distance), then zooms out.
    """

    focal_ratio: tuple[float, float] | None = None
    distance_m: tuple[float, float] = DISTANCE_RANGE_M
    elevation_deg: tuple[float, float] | None = None
    aim_jitter_m: float = 0.08
    roll_deg: float = 2.5


RIG_RANGES: dict[str, RigRanges] = {
    "default": RigRanges(),
    # Roll as tripods are set by hand: the pose2sim demo rig's four cameras are rolled -13, 3, 3 and
    # 26 deg from level (its Qualisys calibration), far outside the default world's 2.5 deg.
    "wide": RigRanges(focal_ratio=(0.6, 1.6), distance_m=(2.0, 8.0), elevation_deg=(0.0, 60.0), aim_jitter_m=0.25,
                      roll_deg=12.0),
}


@dataclass
class CameraRig:
    """V cameras. rotation: (V, 3, 3) world->camera. translation: (V, 3) metres. focal: (V,)
    pixels. principal: (V, 2) pixels. image_size: (V, 2) int, (width, height). names: V names."""

    names: tuple[str, ...]
    rotation: np.ndarray
    translation: np.ndarray
    focal: np.ndarray
    principal: np.ndarray
    image_size: np.ndarray

    @property
    def num_views(self) -> int:
        return len(self.names)

    @property
    def centers(self) -> np.ndarray:
        """(V, 3) camera centres in the world, ``-R^T t``."""
        return -np.einsum("vji,vj->vi", self.rotation, self.translation)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., N, 3) -> pixels (..., V, N, 2) and camera-frame depths (..., V, N)."""
        cam = np.einsum("vij,...nj->...vni", self.rotation, points) + self.translation[:, None, :]
        depth = cam[..., 2]
        pixels = cam[..., :2] / np.maximum(depth, 1e-6)[..., None] * self.focal[:, None, None] + self.principal[:, None, :]
        return pixels, depth


def camera_names(views: int) -> tuple[str, ...]:
    """``cam01``, ``cam02``, ..."""
    return tuple(f"cam{i + 1:02d}" for i in range(views))


def look_at(eye: np.ndarray, target: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """(3, 3) world->camera rotation (OpenCV axes) of a camera at ``eye`` looking at ``target``,
    level with the world's Z-up horizon, then rolled by ``roll`` radians about its view axis."""
    forward = np.asarray(target, dtype=np.float64) - np.asarray(eye, dtype=np.float64)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-6:  # looking straight up or down
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    c, s = np.cos(roll), np.sin(roll)
    rolled = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return rolled @ np.stack([right, down, forward])


def _azimuths(views: int, rng: np.random.Generator) -> np.ndarray:
    """(V,) camera azimuths (radians): all around, half around, or a narrower arc, jittered."""
    spread = np.radians(rng.choice([360.0, 270.0, 180.0, 120.0], p=[0.35, 0.2, 0.3, 0.15]))
    if views == 2:
        spread = min(spread, np.radians(rng.uniform(60.0, 150.0)))
    slots = spread * (np.arange(views) / views if spread >= 2 * np.pi - 1e-6 else np.arange(views) / max(views - 1, 1))
    jitter = rng.uniform(-0.5, 0.5, size=views) * np.radians(12.0)
    return rng.uniform(0.0, 2 * np.pi) + slots + jitter


def random_rig(
    views: int,
    rng: np.random.Generator,
    points: np.ndarray,
    image_size: tuple[int, int] | None = None,
    ranges: RigRanges | None = None,
) -> CameraRig:
    """A random rig of ``views`` cameras framing ``points``.

    Args:
        views: number of cameras (2-8).
        rng: the random generator.
        points: (N, 3) world points that should stay in view (e.g. the person's keypoints over the
            whole sequence); the cameras aim near their centre and their focal lengths are capped
            so that every point falls inside the image, with a margin.
        image_size: (width, height) for every camera; default: drawn per camera.
        ranges: the world the cameras are drawn from (default: ``RIG_RANGES["default"]``).
    Returns:
        CameraRig with cameras named cam01, cam02, ...
    """
    if not 1 <= views <= 8:
        raise ValueError(f"views must be in 1..8, got {views}")
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    centre = 0.5 * (points.min(axis=0) + points.max(axis=0))
    if image_size is not None:
        sizes = np.tile(np.asarray(image_size, dtype=int), (views, 1))
    elif rng.random() < 0.4:  # a matched rig: one model of camera
        sizes = np.tile(np.asarray(IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]), (views, 1))
    else:
        sizes = np.array([IMAGE_SIZES[i] for i in rng.integers(len(IMAGE_SIZES), size=views)])

    ranges = ranges or RIG_RANGES["default"]
    rotations, translations, focals = [], [], []
    for v, azimuth in enumerate(_azimuths(views, rng)):
        if ranges.focal_ratio is not None:
            rotation, translation, focal = _wide_camera(azimuth, sizes[v], centre, points, ranges, rng)
            rotations.append(rotation)
            translations.append(translation)
            focals.append(focal)
            continue
        distance = rng.uniform(*DISTANCE_RANGE_M)
        height = rng.uniform(*HEIGHT_RANGE_M)
        eye = np.array([centre[0] + distance * np.cos(azimuth), centre[1] + distance * np.sin(azimuth), height])
        # Aim near the person's centre, not exactly at it: framings are imperfect.
        target = centre + rng.normal(0.0, 0.08, size=3)
        rotation = look_at(eye, target, roll=np.radians(rng.normal(0.0, 2.5)))
        translation = -rotation @ eye
        width, img_h = sizes[v]
        cam = points @ rotation.T + translation
        depth = np.maximum(cam[:, 2], 0.1)
        # The largest focal length that keeps every point within FRAME_FILL of the image
        # half-size; the camera zooms out from it by a random amount, as framings differ.
        reach_x = np.abs(cam[:, 0] / depth).max()
        reach_y = np.abs(cam[:, 1] / depth).max()
        cap = FRAME_FILL * min(0.5 * width / max(reach_x, 1e-6), 0.5 * img_h / max(reach_y, 1e-6))
        focal = cap * rng.uniform(*ZOOM_OUT_RANGE)
        # Keep to lenses that exist: no narrower than a short telephoto, no wider than an action cam.
        focal = float(np.clip(focal, *(0.5 * max(width, img_h) / np.tan(0.5 * np.radians(FOV_RANGE_DEG[::-1])))))
        rotations.append(rotation)
        translations.append(translation)
        focals.append(min(focal, cap))
    return CameraRig(
        names=camera_names(views),
        rotation=np.stack(rotations),
        translation=np.stack(translations),
        focal=np.array(focals),
        principal=sizes.astype(np.float64) / 2.0,
        image_size=sizes,
    )


def _fit_scale(rotation: np.ndarray, eye: np.ndarray, points: np.ndarray, focal: float, size: np.ndarray) -> float:
    """How many times the person's farthest point overshoots FRAME_FILL of the image half-size
    (<= 1: everything in frame), for a camera at ``eye``."""
    cam = (points - eye) @ rotation.T
    depth = np.maximum(cam[:, 2], 0.1)
    reach = np.abs(cam[:, :2] / depth[:, None]) * focal / (0.5 * size[None, :])
    return float(reach.max() / FRAME_FILL)


def _wide_camera(azimuth: float, size: np.ndarray, centre: np.ndarray, points: np.ndarray, ranges: RigRanges,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """One camera of a ``wide`` rig: lens, distance and elevation drawn; moved back (then zoomed
    out) until the person is in frame. Returns rotation, translation, focal."""
    focal = rng.uniform(*ranges.focal_ratio) * float(max(size))
    distance = rng.uniform(*ranges.distance_m)
    elevation = np.radians(rng.uniform(*ranges.elevation_deg))
    direction = np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    target = centre + rng.normal(0.0, ranges.aim_jitter_m, size=3) * np.array([1.0, 1.0, 0.5])
    roll = np.radians(rng.normal(0.0, ranges.roll_deg))
    for _ in range(8):
        eye = centre + distance * direction
        rotation = look_at(eye, target, roll=roll)
        overshoot = _fit_scale(rotation, eye, points, focal, size)
        if overshoot <= 1.0:
            break
        if distance < ranges.distance_m[1]:
            distance = min(ranges.distance_m[1], distance * overshoot * 1.02)
        else:
            focal /= overshoot * 1.02
    return rotation, -rotation @ eye, float(focal)
