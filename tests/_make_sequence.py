"""Test helper: write small real multi-view sequences (videos, image folders, yaml, keypoints).

Frame ``i`` of every camera is filled with a colour that encodes ``i`` (see :func:`frame_colour`),
so a test can tell which frame it got back even through lossy video compression.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml


def frame_colour(i: int) -> tuple[int, int, int]:
    """RGB colour of frame ``i`` (distinct for i < 12 even after mp4v compression)."""
    return ((20 + 20 * i) % 256, 200 - 15 * (i % 10), 60)


def frame_image(i: int, width: int, height: int) -> np.ndarray:
    """RGB uint8 (H, W, 3) image of frame ``i``."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = frame_colour(i)
    return image


def frame_number(image: np.ndarray) -> int:
    """Which frame :func:`frame_image` made ``image`` (RGB) from."""
    return int(round((float(image[..., 0].mean()) - 20) / 20))


def write_video(path: Path, num_frames: int, size: tuple[int, int], fps: float = 25.0, fourcc: str = "mp4v") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"cannot write {path}"
    for i in range(num_frames):
        writer.write(cv2.cvtColor(frame_image(i, *size), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_images(folder: Path, num_frames: int, size: tuple[int, int], ext: str = ".png", pattern: str = "frame{i}") -> Path:
    """Images named ``frame0.png, frame1.png, ... frame10.png`` (natural order on purpose)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(num_frames):
        cv2.imwrite(str(folder / (pattern.format(i=i) + ext)), cv2.cvtColor(frame_image(i, *size), cv2.COLOR_RGB2BGR))
    return folder


def video_sequence(
    root: Path, sizes=((64, 48), (80, 64)), num_frames=(8, 8), under: str | None = "videos", ext: str = ".mp4",
    names: list[str] | None = None, fps: float = 25.0,
) -> Path:
    names = names or [f"cam{v + 1:02d}" for v in range(len(sizes))]
    folder = root / under if under else root
    for name, size, n in zip(names, sizes, num_frames):
        write_video(folder / f"{name}{ext}", n, size, fps=fps)
    return root


def image_sequence(
    root: Path, sizes=((64, 48), (80, 64)), num_frames=(8, 8), under: str | None = "images", ext: str = ".png",
    names: list[str] | None = None,
) -> Path:
    names = names or [f"cam{v + 1:02d}" for v in range(len(sizes))]
    folder = root / under if under else root
    for name, size, n in zip(names, sizes, num_frames):
        write_images(folder / name, n, size, ext=ext)
    return root


def write_yaml(root: Path, data) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "sequence.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False) if not isinstance(data, str) else data)
    return path


def random_keypoints(num_frames: int, num_views: int, seed: int = 0) -> np.ndarray:
    """(F, V, 17, 3) float32 plausible keypoints: pixels in [0, 600), confidence in [0, 1]."""
    rng = np.random.default_rng(seed)
    keypoints = rng.uniform(0, 600, (num_frames, num_views, 17, 3)).astype(np.float32)
    keypoints[..., 2] = rng.uniform(0, 1, (num_frames, num_views, 17))
    return keypoints


def keypoints_only_sequence(root: Path, num_frames: int = 6, sizes=((640, 480), (1920, 1080), (480, 640))) -> Path:
    write_yaml(root, {"fps": 50, "cameras": [{"name": f"cam{v + 1:02d}", "image_size": list(s)} for v, s in enumerate(sizes)]})
    np.savez(root / "keypoints.npz", keypoints2d=random_keypoints(num_frames, len(sizes)))
    return root


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with (size, mtime_ns): compare before/after to prove nothing was written."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def sequence_from_images(root: Path, images: list[np.ndarray], num_frames: int, kind: str = "images", fps: float = 25.0) -> Path:
    """A sequence whose camera v shows the RGB image ``images[v]`` in each of ``num_frames`` frames,
    as image folders (``images/camNN/``) or videos (``videos/camNN.avi``, MJPG: near-lossless)."""
    for v, image in enumerate(images):
        name = f"cam{v + 1:02d}"
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        if kind == "images":
            folder = root / "images" / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(num_frames):
                cv2.imwrite(str(folder / f"{i:04d}.png"), bgr)
        else:
            path = root / "videos" / f"{name}.avi"
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (image.shape[1], image.shape[0]))
            for _ in range(num_frames):
                writer.write(bgr)
            writer.release()
    return root
