"""``sequence.yaml``: the optional description of a multi-view sequence.

```yaml
fps: 30                         # frame rate of every camera (default: each video's own, else 30)
frame_range: [0, 300]           # [start, stop): the first camera's frame numbers to use; stop may be null (= end)
frame_step: 1                   # use every n-th frame of the range
cameras:                        # list order = view order
  - name: cam01
    image_size: [1920, 1080]    # width, height in pixels (required when there are no images)
    focal_px: 1500              # optional: known focal length in pixels
    principal_point: [960, 540] # optional, pixels
    distortions: [-0.2, 0.05, 0, 0]  # optional: lens distortion [k1, k2, p1, p2(, k3)], OpenCV order
    time_offset_frames: 2.5     # optional: this camera's frame f + 2.5 shows the first camera's frame f
    fps: 60                     # optional: this camera's frame rate (default: the top-level fps, else
                                # its video's, else 30)
```

Every key is optional. Errors name the file and the dotted key (``cameras[1].focal_px``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from core.config import from_dict, read_yaml
from core.errors import InputError

SEQUENCE_YAML = "sequence.yaml"


def _check_camera_name(name: str) -> None:
    # The name is also a file or folder name (cam01.mp4, images/cam01/), so it must be one.
    if not name or name != name.strip() or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"camera name {name!r} must be a plain file name (no slashes, not empty)")


@dataclass(frozen=True)
class CameraConfig:
    """One camera as described in ``sequence.yaml``; every field but the name may be left out."""

    name: str
    image_size: tuple[int, int] | None = None
    focal_px: float | None = None
    principal_point: tuple[float, float] | None = None
    distortions: tuple[float, ...] | None = None
    time_offset_frames: float | None = None
    fps: float | None = None

    def validate(self) -> None:
        _check_camera_name(self.name)
        if self.distortions is not None and (len(self.distortions) not in (4, 5)
                                             or not all(math.isfinite(d) for d in self.distortions)):
            raise ValueError(f"distortions must be 4 or 5 finite numbers [k1, k2, p1, p2(, k3)], got {list(self.distortions)}")
        if self.time_offset_frames is not None and not math.isfinite(self.time_offset_frames):
            raise ValueError(f"time_offset_frames must be a finite number of frames, got {self.time_offset_frames}")
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps}")
        if self.image_size is not None and min(self.image_size) <= 0:
            raise ValueError(f"image_size must be two positive integers [width, height], got {list(self.image_size)}")
        if self.focal_px is not None and not (math.isfinite(self.focal_px) and self.focal_px > 0):
            raise ValueError(f"focal_px must be a positive number of pixels, got {self.focal_px}")
        if self.principal_point is not None and not all(math.isfinite(c) for c in self.principal_point):
            raise ValueError(f"principal_point must be two finite numbers, got {list(self.principal_point)}")


@dataclass(frozen=True)
class SequenceConfig:
    """The whole ``sequence.yaml``. ``cameras`` is None when the file does not list them."""

    fps: float | None = None
    frame_range: tuple[int, int | None] | None = None
    frame_step: int = 1
    cameras: tuple[CameraConfig, ...] | None = None

    def validate(self) -> None:
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps}")
        if self.frame_range is not None:
            start, stop = self.frame_range
            if start < 0:
                raise ValueError(f"frame_range start must be >= 0, got {start}")
            if stop is not None and stop <= start:
                raise ValueError(f"frame_range must be [start, stop) with stop > start, got [{start}, {stop}]")
        if self.frame_step < 1:
            raise ValueError(f"frame_step must be >= 1, got {self.frame_step}")
        if self.cameras is not None:
            if not self.cameras:
                raise ValueError("cameras is an empty list (leave it out to find the cameras from the files)")
            names = [c.name for c in self.cameras]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"camera {duplicates[0]!r} is listed twice in cameras")

    @property
    def camera_names(self) -> list[str] | None:
        return None if self.cameras is None else [c.name for c in self.cameras]


def load_sequence_config(path: str | Path) -> SequenceConfig:
    """Parse and validate a ``sequence.yaml``; an empty file is an empty config."""
    path = Path(path)
    data = read_yaml(path)
    try:
        return from_dict(SequenceConfig, data)
    except InputError as exc:
        raise InputError(str(exc), path) from None
