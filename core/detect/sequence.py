"""Every person in every frame and view of a sequence: given, cached, or detected (and cached).

:func:`detect_people` is what ``cmanet detect``, ``cmanet fit`` and the app run; it reads and
fills the per-frame detection cache of :mod:`core.detect.cache`. Which of the people is *the*
person the fit follows is decided above this layer (:mod:`core.people`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.detect.box import person_box
from core.detect.cache import (
    _HASHES_DIR,
    content_hash,
    describe_view,
    detections_dir,
    read_entry,
    view_files,
    view_key,
    write_entry,
)
from core.detect.mediapipe_pose import ensure_model, mediapipe_version
from core.detect.people import ROI_SIZE, ImagePeople, PeopleDetector
from core.errors import CancelledError
from core.io.folders import check_outside_inputs
from core.io.sequence import MultiViewSequence
from core.keypoints import NUM_KEYPOINTS
from core.progress_bar import progress_bar

log = logging.getLogger(__name__)

# Changes whenever the way people are found changes, so that older entries are not reused.
DETECTOR_VERSION = "people-6"


@dataclass
class SequencePeople:
    """The people of every image of a sequence (F frames, V views, up to P people per image).

    keypoints: (F, V, P, 17, 3) float32 x, y (pixels), confidence; images with fewer people are
    padded with zeros (confidence 0). boxes: (F, V, P, 4) x0, y0, x1, y1 pixels (zeros when
    padding). scores: (F, V, P) mean joint confidence (0 when padding). count: (F, V) people found.
    Within an image, people are in no particular order (strongest first): which detection is
    whom across frames and views is :mod:`core.people`'s work.
    """

    keypoints: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    count: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def num_views(self) -> int:
        return int(self.keypoints.shape[1])

    @property
    def max_people(self) -> int:
        return int(self.keypoints.shape[2])

    @property
    def present(self) -> np.ndarray:
        """(F, V, P) bool: which slots hold a person."""
        return np.arange(self.max_people)[None, None, :] < self.count[..., None]

    @classmethod
    def from_images(cls, images: list[list[ImagePeople]]) -> SequencePeople:
        """From ``images[f][v]``."""
        frames, views = len(images), len(images[0]) if images else 0
        people = max([len(p) for row in images for p in row], default=0)
        keypoints = np.zeros((frames, views, people, NUM_KEYPOINTS, 3), np.float32)
        boxes = np.zeros((frames, views, people, 4), np.float32)
        scores = np.zeros((frames, views, people), np.float32)
        count = np.zeros((frames, views), np.int64)
        for f, row in enumerate(images):
            for v, found in enumerate(row):
                n = len(found)
                count[f, v] = n
                keypoints[f, v, :n], boxes[f, v, :n], scores[f, v, :n] = found.keypoints, found.boxes, found.scores
        return cls(keypoints, boxes, scores, count)

    @classmethod
    def from_keypoints(cls, keypoints2d: np.ndarray) -> SequencePeople:
        """From given keypoints: (F, V, 17, 3) (one person) or (F, V, P, 17, 3); a person whose
        joints all have confidence 0 is absent."""
        keypoints2d = np.asarray(keypoints2d, np.float32)
        if keypoints2d.ndim == 4:
            keypoints2d = keypoints2d[:, :, None]
        present = keypoints2d[..., 2].max(-1) > 0  # (F, V, P)
        order = np.argsort(~present, axis=-1, kind="stable")  # present people first, in their order
        keypoints = np.take_along_axis(keypoints2d, order[..., None, None], axis=2)
        count = present.sum(-1).astype(np.int64)
        slots = np.arange(keypoints.shape[2])[None, None, :] < count[..., None]
        keypoints = np.where(slots[..., None, None], keypoints, 0.0).astype(np.float32)
        boxes = np.where(slots[..., None], person_box(keypoints, padding=0.1, square=False), 0.0).astype(np.float32)
        scores = np.where(slots, keypoints[..., 2].mean(-1), 0.0).astype(np.float32)
        return cls(keypoints, boxes, scores, count)


def detector_name(model_complexity: int = 1) -> str:
    """Identifies the detector in cache keys: another version or model is detected again."""
    return f"mediapipe-pose {mediapipe_version()} model {int(model_complexity)} {DETECTOR_VERSION}"


def _view_dir(seq: MultiViewSequence, view: int, model_complexity: int, root: Path) -> Path:
    files = view_files(seq.view_paths[view], seq.view_kinds[view])
    tracking = seq.view_kinds[view] == "video"
    detector = f"{detector_name(model_complexity)} {'tracking' if tracking else 'images'}"
    return root / view_key(content_hash(files, root / _HASHES_DIR), detector)


def _cache_root(seq: MultiViewSequence, cache_root: str | Path | None) -> Path:
    return check_outside_inputs(detections_dir(cache_root), seq.root, what="the detection cache")


def view_cache_dirs(seq: MultiViewSequence, model_complexity: int = 1, cache_root: str | Path | None = None) -> list[Path]:
    """The folder of each view's cache entries (keyed by the view's content; they may not exist
    yet). Keypoints-only sequences have none."""
    if not seq.has_images:
        return []
    root = _cache_root(seq, cache_root)
    return [_view_dir(seq, v, model_complexity, root) for v in range(seq.num_views)]


def cached_people(seq: MultiViewSequence, model_complexity: int = 1, cache_root: str | Path | None = None,
                  partial: bool = False) -> SequencePeople | None:
    """The given or cached people of ``seq`` without running the detector. None when a frame has
    no entry yet, unless ``partial`` (then such images have nobody)."""
    if seq.given_keypoints is not None:
        return SequencePeople.from_keypoints(seq.given_keypoints)
    images = [[ImagePeople.empty() for _ in range(seq.num_views)] for _ in range(seq.num_frames)]
    for v, view_dir in enumerate(view_cache_dirs(seq, model_complexity, cache_root)):
        for i, frame in enumerate(seq.view_frame_indices[:, v]):
            entry = read_entry(view_dir, int(frame))
            if entry is None and not partial:
                return None
            images[i][v] = entry if entry is not None else images[i][v]
    return SequencePeople.from_images(images)


def detect_people(
    seq: MultiViewSequence,
    model_complexity: int = 1,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = True,
    force: bool = False,
    cache_root: str | Path | None = None,
    on_image: Callable[[int, int, ImagePeople], None] | None = None,
) -> SequencePeople:
    """Every person in every frame and view of ``seq``.

    The keypoints given with the sequence (``keypoints.npz``) when it has them; else each image's
    cache entry, and MediaPipe (:class:`~core.detect.people.PeopleDetector`) for the images that
    have none (all of them with ``force``), each written to the cache as soon as it is done.
    Videos are detected in order, following the people of the previous frame (also across an
    interruption: the previous frame's entry says where they were). ``progress(done, total)``
    counts images; CancelledError as soon as ``should_cancel()`` is true (what is done is kept).
    ``cache_root`` replaces ``$CMANET_CACHE_DIR/detections`` (it must lie outside the input).
    ``on_image(i, v, people)`` sees each image's people as soon as the detector has found them
    (frame ``i`` of view ``v``: e.g. to show them while the rest is detected).
    """
    if model_complexity not in (0, 1, 2):
        raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity!r}")
    total = seq.num_frames * seq.num_views
    if seq.given_keypoints is not None:
        log.info("using the keypoints given in %s", seq.root / "keypoints.npz")
        if progress is not None:
            progress(total, total)
        return SequencePeople.from_keypoints(seq.given_keypoints)

    # Entries are keyed by each view's own source frame: views with a time offset or another
    # frame rate read other frames than the first view's for the same moment.
    frames = seq.view_frame_indices
    images = [[ImagePeople.empty() for _ in range(seq.num_views)] for _ in range(seq.num_frames)]
    todo: dict[int, list[int]] = {}
    view_dirs = view_cache_dirs(seq, model_complexity, cache_root)
    for v, view_dir in enumerate(view_dirs):
        for i, frame in enumerate(frames[:, v]):
            entry = None if force else read_entry(view_dir, int(frame))
            if entry is None:
                todo.setdefault(v, []).append(i)
            else:
                images[i][v] = entry
    done = total - sum(len(t) for t in todo.values())
    if progress is not None:
        progress(done, total)
    if todo:
        ensure_model(model_complexity)
        log.info("detecting people in %d of %d images", total - done, total)
    with progress_bar(total=total, initial=done, desc="detect", unit="img", disable=not show_progress_bar or not todo,
                      leave=False) as bar:
        for v, indices in todo.items():
            bar.set_postfix_str(seq.view_names[v])
            view_dir = view_dirs[v]
            view_dir.mkdir(parents=True, exist_ok=True)
            describe_view(view_dir, seq.view_paths[v], detector_name(model_complexity), seq.num_frames)
            tracking = seq.view_kinds[v] == "video"
            with PeopleDetector(model_complexity, tracking=tracking) as detector:
                for i in indices:
                    if should_cancel is not None and should_cancel():
                        raise CancelledError(f"detection cancelled after {done} of {total} images")
                    # Follow the people of the previous frame (its entry, when it came from the cache).
                    previous = images[i - 1][v].rois if i > 0 else np.zeros((0, ROI_SIZE), np.float32)
                    detector.follow(previous)
                    found = detector(seq.read_view_frame(v, i))
                    write_entry(view_dir, int(frames[i, v]), found)
                    images[i][v] = found
                    if on_image is not None:
                        on_image(i, v, found)
                    done += 1
                    bar.update(1)
                    if progress is not None:
                        progress(done, total)
    return SequencePeople.from_images(images)
