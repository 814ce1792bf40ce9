"""What a person should hear about a sequence when it opens: the warnings the command line prints
(:func:`logged_warnings`), and the signs that a folder is not the multi-view recording they meant
(:func:`doubts`), which the app asks about before going on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import cv2
import numpy as np

from core.io.image_folder import list_images
from core.io.sequence import MultiViewSequence

# Views whose frame counts differ by more than this fraction of the longest look like different
# recordings (a real rig's cameras differ by a few frames at most).
FRAME_COUNT_SPREAD = 0.10
# Images read per image-folder view to check that its frames share one size.
SIZE_SAMPLES = 8


class _Collector(logging.Handler):
    def __init__(self, thread: int):
        super().__init__(logging.WARNING)
        self.thread = thread
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:  # other threads' work is not this block's
            self.messages.append(record.getMessage())


@contextmanager
def logged_warnings(logger: str = "core") -> Iterator[list[str]]:
    """The warnings (and errors) ``logger`` and its children log in this thread while the block
    runs -- what ``cmanet`` prints on the terminal -- as a list that fills as they come."""
    collector = _Collector(threading.get_ident())
    target = logging.getLogger(logger)
    target.addHandler(collector)
    try:
        yield collector.messages
    finally:
        target.removeHandler(collector)


def _sample_sizes(folder) -> set[tuple[int, int]]:
    files = list_images(folder)
    picks = sorted({int(i) for i in np.linspace(0, len(files) - 1, min(SIZE_SAMPLES, len(files)))}) if files else []
    sizes = set()
    for i in picks:
        image = cv2.imread(str(files[i]), cv2.IMREAD_UNCHANGED)
        if image is not None:
            sizes.add((int(image.shape[1]), int(image.shape[0])))
    return sizes


def doubts(seq: MultiViewSequence) -> list[str]:
    """Reasons ``seq`` may not be a synchronized multi-view recording (empty when it looks like
    one): views whose frame counts differ by more than 10 %, image folders whose images differ in
    size, a single frame. Each is one sentence for a person."""
    found = []
    counts = seq.view_frame_counts
    if max(counts) > 0 and (max(counts) - min(counts)) / max(counts) > FRAME_COUNT_SPREAD:
        listing = ", ".join(f"{name} {n}" for name, n in zip(seq.view_names, counts))
        found.append(f"The views have very different numbers of frames ({listing}); the cameras of one recording "
                     f"differ by a few frames at most.")
    for name, kind, path in zip(seq.view_names, seq.view_kinds, seq.view_paths):
        if kind == "images" and path is not None:
            sizes = _sample_sizes(path)
            if len(sizes) > 1:
                listing = ", ".join(f"{w}x{h}" for w, h in sorted(sizes))
                found.append(f"The images of {name} have different sizes ({listing}); the frames of one camera all "
                             f"have one size.")
    if seq.num_frames == 1:
        found.append("There is a single frame: a recording has many (fitting needs motion to find the cameras).")
    return found
