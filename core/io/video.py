"""One camera's frames from a video file, decoded with OpenCV (``cv2.VideoCapture``).

Frames come out as RGB ``uint8`` arrays ``(H, W, 3)``. Random access keeps one open capture and
decodes forward for short jumps, because seeking restarts decoding at a key frame and is far
slower than decoding a few frames; iteration opens its own capture and never seeks backwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from core.errors import InputError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS: tuple[str, ...] = (
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts", ".m2ts",
)

# Forward jumps up to this many frames are decoded through instead of seeking.
_MAX_DECODE_SKIP = 64


def is_video_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS and not path.name.startswith(".")


def _open_capture(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise InputError("cannot open video (corrupt, empty or unsupported format)", path)
    return capture


def _to_rgb(frame_bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)


class VideoFile:
    """Frames of one video file.

    Attributes:
        path: the video file.
        num_frames: number of frames the container reports.
        size: ``(width, height)`` of the decoded frames (after any rotation metadata is applied).
        fps: the container's frame rate, or None when it does not say.
    """

    kind = "video"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError("no such video file", self.path)
        self._capture = _open_capture(self.path)
        # Decoding the first frame is the only reliable test that the file is a usable video
        # (a truncated or mislabelled file often opens fine) and gives the true frame size.
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise InputError("cannot decode the first frame (corrupt or empty video)", self.path)
        self._next = 1  # index of the frame the capture returns on its next read()
        self.size: tuple[int, int] = (int(first.shape[1]), int(first.shape[0]))
        count = int(round(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        if count <= 0:
            count = self._count_by_decoding()
        elif count > 1 and not self._last_frame_decodes(count):
            # The count is the container's estimate (from its header or duration x fps); a
            # truncated file or a variable frame rate makes it too high.
            reported, count = count, self._count_by_decoding()
            log.warning("%s: the file says %d frames but only %d can be decoded (truncated?); using %d",
                        self.path, reported, count, count)
        self.num_frames: int = count
        fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        self.fps: float | None = fps if 0 < fps < 1000 else None

    def _last_frame_decodes(self, count: int) -> bool:
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, count - 1)
        ok = self._capture.grab()
        self._next = count if ok else -1  # -1: unknown position, the next read() seeks
        return ok

    def _count_by_decoding(self) -> int:
        # Some streams (raw MPEG, some webm) report no frame count: count them once.
        capture = _open_capture(self.path)
        count = 0
        try:
            while capture.grab():
                count += 1
        finally:
            capture.release()
        if count == 0:
            raise InputError("video has no frames", self.path)
        return count

    def files(self) -> list[Path]:
        """The files this view reads (for fingerprints)."""
        return [self.path]

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.num_frames:
            raise IndexError(f"{self.path.name}: frame {index} out of range [0, {self.num_frames})")

    def _decode_error(self, index: int) -> InputError:
        return InputError(f"cannot decode frame {index} of {self.num_frames} (truncated or corrupt video)", self.path)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` (source frame number) as RGB uint8 ``(H, W, 3)``."""
        self._check_index(index)
        if self._capture is None:
            self._capture = _open_capture(self.path)
            self._next = 0
        if self._next < 0 or not self._next <= index <= self._next + _MAX_DECODE_SKIP:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            self._next = index
        while self._next < index:
            if not self._capture.grab():
                raise self._decode_error(self._next)
            self._next += 1
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise self._decode_error(index)
        self._next = index + 1
        return _to_rgb(frame)

    def iter_frames(self, indices: Iterable[int]) -> Iterator[np.ndarray]:
        """RGB frames at increasing source frame numbers ``indices``, decoded sequentially.

        Uses its own capture, so it does not disturb :meth:`read`.
        """
        capture = _open_capture(self.path)
        position = 0
        try:
            for index in indices:
                index = int(index)
                self._check_index(index)
                if index < position or index > position + _MAX_DECODE_SKIP:
                    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
                    position = index
                while position < index:
                    if not capture.grab():
                        raise self._decode_error(position)
                    position += 1
                ok, frame = capture.read()
                if not ok or frame is None:
                    raise self._decode_error(index)
                position += 1
                yield _to_rgb(frame)
        finally:
            capture.release()

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
