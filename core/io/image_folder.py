"""One camera's frames from a folder of images, in natural sort order (frame2 before frame10)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from core.errors import InputError

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``img2.png`` < ``img10.png``."""
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(p), p) if p.isdigit() else (1, p.lower(), p) for p in parts if p)


def check_link(path: Path) -> None:
    """InputError when ``path`` is a symbolic link to nothing (a moved or deleted file): taken
    for a frame or a camera, it must not be skipped silently."""
    if path.is_symlink() and not path.exists():
        raise InputError(f"is a link to {path.readlink()}, which does not exist", path)


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` (hidden files skipped), naturally sorted; InputError for
    a link to a missing image (skipping it would shift every later frame)."""
    if not folder.is_dir():
        return []
    files = []
    for p in folder.iterdir():
        if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."):
            check_link(p)
            if p.is_file():
                files.append(p)
    return sorted(files, key=lambda p: natural_key(p.name))


def read_image_rgb(path: Path) -> np.ndarray:
    """Read one image file as RGB uint8 ``(H, W, 3)``; InputError naming the file if it can't."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError("cannot read image (corrupt or unsupported format)", path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class ImageFolder:
    """Frames of one camera stored as one image per frame.

    Attributes:
        path: the folder.
        num_frames: number of images.
        size: ``(width, height)`` of the first image; every image must have this size.
        fps: always None (images carry no frame rate).
    """

    kind = "images"
    fps: float | None = None

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._files = list_images(self.path)
        if not self._files:
            raise InputError("no images in folder", self.path)
        first = read_image_rgb(self._files[0])
        self.size: tuple[int, int] = (int(first.shape[1]), int(first.shape[0]))
        self.num_frames: int = len(self._files)

    def files(self) -> list[Path]:
        """The image files, in frame order."""
        return list(self._files)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as RGB uint8 ``(H, W, 3)``."""
        if not 0 <= index < self.num_frames:
            raise IndexError(f"{self.path.name}: frame {index} out of range [0, {self.num_frames})")
        path = self._files[index]
        image = read_image_rgb(path)
        if (image.shape[1], image.shape[0]) != self.size:
            raise InputError(
                f"image is {image.shape[1]}x{image.shape[0]} but {self._files[0].name} is "
                f"{self.size[0]}x{self.size[1]}; all frames of a camera must have one size",
                path,
            )
        return image

    def iter_frames(self, indices: Iterable[int]) -> Iterator[np.ndarray]:
        """RGB frames at source frame numbers ``indices``."""
        for index in indices:
            yield self.read(int(index))

    def close(self) -> None:
        pass
