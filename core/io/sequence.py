"""A synchronized multi-view sequence: V cameras, F frames, optional given 2D keypoints.

Opened from a folder in any layout of DESIGN.md (see :mod:`core.io.layout`), with an optional
``sequence.yaml`` (:mod:`core.io.sequence_config`) and ``keypoints.npz``
(:mod:`core.io.keypoints_file`). Nothing in the folder is ever written.

Frame ``i`` of the sequence (``0 <= i < num_frames``) is the first camera's source frame
``frame_indices[i]``; every other camera shows that moment at its own frame position
``view_frame_positions[i, v]`` (its frame rate and known time offset, see :mod:`core.io.timeline`)
and its nearest frame ``view_frame_indices[i, v]`` is what is read. The frame range and step of
``sequence.yaml`` apply to the first camera's frames, then the sequence is cut to the moments every
camera has (with a warning).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from core.errors import InputError
from core.io.image_folder import ImageFolder
from core.io.keypoints_file import KEYPOINTS_NPZ, read_keypoints_npz
from core.io.layout import IMAGES_DIR, VIDEOS_DIR, ViewLocation, find_views
from core.io.sequence_config import SEQUENCE_YAML, SequenceConfig, load_sequence_config
from core.io.timeline import Timeline, build_timeline, resample_in_time, view_positions
from core.io.video import VideoFile

log = logging.getLogger(__name__)

DEFAULT_FPS = 30.0

ViewKind = Literal["video", "images", "keypoints"]


@dataclass(frozen=True)
class CameraInfo:
    """What is known about one camera before fitting.

    image_size: (width, height) in pixels.
    focal_px, principal_point: known intrinsics from ``sequence.yaml``, else None.
    distortions: known lens distortion ``(k1, k2, p1, p2(, k3))`` (OpenCV order), else None.
    """

    name: str
    image_size: tuple[int, int]
    focal_px: float | None = None
    principal_point: tuple[float, float] | None = None
    distortions: tuple[float, ...] | None = None


def _view_fps(config: SequenceConfig, sources: list[VideoFile | ImageFolder], views: int) -> list[float]:
    """Each view's frame rate: its own in sequence.yaml, else the file's top-level one, else its
    video's, else DEFAULT_FPS."""
    rates = []
    for v in range(views):
        cam = config.cameras[v] if config.cameras is not None else None
        own = sources[v].fps if sources else None
        rates.append(float(next(r for r in (cam.fps if cam else None, config.fps, own, DEFAULT_FPS) if r is not None)))
    return rates


def _known_offsets(config: SequenceConfig, views: int) -> tuple[list[float], list[bool]]:
    """Each view's known time offset (its own frames, sequence.yaml's ``time_offset_frames``),
    relative to the first view's, and whether it was given."""
    if config.cameras is None:
        return [0.0] * views, [False] * views
    offsets = [float(c.time_offset_frames or 0.0) for c in config.cameras]
    return [o - offsets[0] for o in offsets], [c.time_offset_frames is not None for c in config.cameras]


def _repeated(frames: Iterator[np.ndarray], indices: list[int]) -> Iterator[np.ndarray]:
    """The frames of non-decreasing source ``indices`` from an iterator over their distinct values."""
    current, frame = None, None
    for index in indices:
        if index != current:
            frame, current = next(frames), index
        yield frame


def _open_source(location: ViewLocation) -> VideoFile | ImageFolder:
    return VideoFile(location.path) if location.kind == "video" else ImageFolder(location.path)


def _stat_entry(path: Path, root: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return f"{path.relative_to(root)}:missing"
    return f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}"


class MultiViewSequence:
    """V synchronized cameras with F frames each. Use :meth:`open`; close it (or use ``with``).

    Reading frames is not thread-safe: use one sequence object per thread.
    """

    def __init__(
        self,
        root: Path,
        cameras: list[CameraInfo],
        sources: list[VideoFile | ImageFolder] | None,
        timeline: Timeline,
        given_keypoints: np.ndarray | None,
        offset_given: list[bool] | None = None,
    ):
        """Prefer :meth:`open`. ``sources`` is one frame source per camera, or None (keypoints only);
        ``given_keypoints`` is ``(F, V, 17, 3)`` already on ``timeline``."""
        self._root = root
        self._cameras = list(cameras)
        self._sources = sources
        self._timeline = timeline
        self._frame_indices = np.asarray(timeline.frame_indices, dtype=np.int64)
        self._frame_indices.flags.writeable = False
        self._nearest = timeline.nearest
        self._nearest.flags.writeable = False
        self._fps = float(timeline.fps[0])
        self._offset_given = np.zeros(len(cameras), dtype=bool) if offset_given is None else np.array(offset_given, dtype=bool)
        if given_keypoints is not None:
            given_keypoints = np.ascontiguousarray(given_keypoints, dtype=np.float32)
            given_keypoints.flags.writeable = False
        self._given_keypoints = given_keypoints
        self._yaml_path = root / SEQUENCE_YAML

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: str | Path, imported: Callable[[list[str]], np.ndarray] | None = None,
             default_yaml: str | Path | None = None) -> MultiViewSequence:
        """Open the sequence folder ``path``; InputError (naming the file) when it is unusable.

        ``imported``: detections that replace ``keypoints.npz``, a function from the
        sequence's camera names to their (F, V, 17, 3) keypoints (``cmanet fit --keypoints``).
        ``default_yaml``: the ``sequence.yaml`` used when the folder has none (a session's, shared
        by its trials)."""
        root = Path(path).expanduser()
        if not root.exists():
            raise InputError("no such folder", root)
        if not root.is_dir():
            raise InputError("not a folder (give the sequence folder, not one of its files)", root)
        root = root.resolve()

        yaml_path = root / SEQUENCE_YAML
        if not yaml_path.is_file() and default_yaml is not None:
            yaml_path = Path(default_yaml).resolve()
        config = load_sequence_config(yaml_path) if yaml_path.is_file() else SequenceConfig()
        locations = find_views(root, config.camera_names, yaml_path)

        keypoints_path = root / KEYPOINTS_NPZ
        keypoints, keypoint_view_names = (None, None)
        if imported is not None:
            keypoints = imported([loc.name for loc in locations] or list(config.camera_names or []))
        elif keypoints_path.is_file():
            keypoints, keypoint_view_names = read_keypoints_npz(keypoints_path)

        if not locations:
            if config.cameras is None:
                if keypoints is not None:
                    raise InputError(
                        f"has {KEYPOINTS_NPZ} but no images: a keypoints-only sequence needs a {SEQUENCE_YAML} "
                        "listing every camera with its image_size", root)
                raise InputError(
                    f"no views found: expected one video per camera (cam01.mp4, ... or {VIDEOS_DIR}/cam01.mp4, ...) "
                    f"or one image folder per camera (cam01/, ... or {IMAGES_DIR}/cam01/, ...)", root)
            if keypoints is None:
                raise InputError(
                    f"no views found: no videos or image folders for the cameras in {SEQUENCE_YAML}, "
                    f"and no {KEYPOINTS_NPZ}", root)
            for i, cam in enumerate(config.cameras):
                if cam.image_size is None:
                    raise InputError(
                        f"cameras[{i}].image_size is required: the sequence has no images to measure", yaml_path)

        view_names = [loc.name for loc in locations] or list(config.camera_names or [])
        if len(view_names) < 2:
            raise InputError(f"only one camera ({view_names[0]}) found; a multi-view sequence needs at least 2", root)

        if keypoints is not None:
            if keypoints.shape[1] != len(view_names):
                raise InputError(
                    f"keypoints2d has {keypoints.shape[1]} views but the sequence has {len(view_names)} "
                    f"({', '.join(view_names)})", keypoints_path)
            if keypoint_view_names is not None and keypoint_view_names != view_names:
                raise InputError(
                    f"view_names ({', '.join(keypoint_view_names)}) do not match the sequence's cameras "
                    f"({', '.join(view_names)})", keypoints_path)

        sources: list[VideoFile | ImageFolder] = []
        try:
            for location in locations:
                sources.append(_open_source(location))
            cameras = cls._camera_infos(view_names, config, sources, yaml_path)

            counts = {s.path.name: s.num_frames for s in sources}
            if keypoints is not None:
                counts[KEYPOINTS_NPZ] = keypoints.shape[0]
            # keypoints.npz rows are each view's own frames, like its video's or images'.
            view_counts = [min(s.num_frames, keypoints.shape[0]) if keypoints is not None else s.num_frames
                           for s in sources] or [keypoints.shape[0]] * len(view_names)
            fps = _view_fps(config, sources, len(view_names))
            offsets, offset_given = _known_offsets(config, len(view_names))
            timeline = build_timeline(view_counts, fps, offsets, config.frame_range, config.frame_step, yaml_path, counts)
        except BaseException:
            for source in sources:
                source.close()
            raise

        given = None
        if keypoints is not None:
            rows = np.arange(keypoints.shape[0])
            given = np.stack([resample_in_time(keypoints[:, v], rows, timeline.positions[:, v])
                              for v in range(len(view_names))], axis=1)
        sequence = cls(root, cameras, sources or None, timeline, given, offset_given)
        sequence._yaml_path = yaml_path
        return sequence

    @staticmethod
    def _camera_infos(
        view_names: list[str], config: SequenceConfig, sources: list[VideoFile | ImageFolder], yaml_path: Path
    ) -> list[CameraInfo]:
        cameras = []
        for i, name in enumerate(view_names):
            cam = config.cameras[i] if config.cameras is not None else None
            size = cam.image_size if cam is not None else None
            if sources:
                measured = sources[i].size
                if size is not None and tuple(size) != measured:
                    raise InputError(
                        f"cameras[{i}].image_size is {size[0]}x{size[1]} but {sources[i].path.name} is "
                        f"{measured[0]}x{measured[1]}", yaml_path)
                size = measured
            cameras.append(CameraInfo(
                name=name,
                image_size=(int(size[0]), int(size[1])),
                focal_px=cam.focal_px if cam is not None else None,
                principal_point=cam.principal_point if cam is not None else None,
                distortions=cam.distortions if cam is not None and any(cam.distortions or ()) else None,
            ))
        return cameras

    # ------------------------------------------------------------------ properties

    @property
    def root(self) -> Path:
        """The sequence folder (resolved)."""
        return self._root

    @property
    def view_names(self) -> list[str]:
        return [c.name for c in self._cameras]

    @property
    def num_views(self) -> int:
        return len(self._cameras)

    @property
    def num_frames(self) -> int:
        return int(self._frame_indices.shape[0])

    @property
    def frame_indices(self) -> np.ndarray:
        """(F,) int64 source frame numbers of the sequence's frames (read-only)."""
        return self._frame_indices

    @property
    def fps(self) -> float:
        """The first view's frame rate (``frame_indices / fps`` are the frames' times in seconds)."""
        return self._fps

    @property
    def times(self) -> np.ndarray:
        """(F,) seconds of the sequence's frames on the first view's clock."""
        return self._timeline.times

    @property
    def view_fps(self) -> np.ndarray:
        """(V,) each view's frame rate."""
        return self._timeline.fps.copy()

    @property
    def time_offsets(self) -> np.ndarray:
        """(V,) each view's known time offset in its own frames (0 for the first view): its frame
        ``f * fps_v / fps_0 + o`` shows the first view's frame ``f``."""
        return self._timeline.offsets.copy()

    @property
    def time_offset_given(self) -> np.ndarray:
        """(V,) bool: the views whose time offset ``sequence.yaml`` gives (``time_offset_frames``)
        rather than leaving it to be estimated."""
        return self._offset_given.copy()

    @property
    def view_frame_positions(self) -> np.ndarray:
        """(F, V) float64: each view's source frame position showing each frame's moment."""
        return self._timeline.positions.copy()

    @property
    def view_frame_indices(self) -> np.ndarray:
        """(F, V) int64: each view's source frame nearest to each frame's moment (what is read)."""
        return self._nearest

    @property
    def distortions(self) -> np.ndarray:
        """(V, 5) each view's lens distortion ``k1, k2, p1, p2, k3`` (zeros: none given)."""
        out = np.zeros((self.num_views, 5))
        for v, cam in enumerate(self._cameras):
            if cam.distortions is not None:
                out[v, : len(cam.distortions)] = cam.distortions
        return out

    @property
    def image_sizes(self) -> np.ndarray:
        """(V, 2) int64 (width, height) per view."""
        return np.array([c.image_size for c in self._cameras], dtype=np.int64).reshape(-1, 2)

    @property
    def cameras(self) -> list[CameraInfo]:
        return list(self._cameras)

    @property
    def has_images(self) -> bool:
        """False for a keypoints-only sequence (no frames to read)."""
        return self._sources is not None

    @property
    def view_kinds(self) -> list[ViewKind]:
        """Per view: ``"video"``, ``"images"`` or ``"keypoints"`` (no frames)."""
        if self._sources is None:
            return ["keypoints"] * self.num_views
        return [s.kind for s in self._sources]

    @property
    def view_paths(self) -> list[Path | None]:
        """Per view: its video file or image folder (None for keypoints-only)."""
        if self._sources is None:
            return [None] * self.num_views
        return [s.path for s in self._sources]

    @property
    def view_frame_counts(self) -> list[int]:
        """Per view: the frames its video or image folder holds (before they are cut to the
        shortest view and the frame range; every view has ``num_frames`` for keypoints-only)."""
        if self._sources is None:
            return [self.num_frames] * self.num_views
        return [s.num_frames for s in self._sources]

    @property
    def given_keypoints(self) -> np.ndarray | None:
        """(F, V, 17, 3) (or (F, V, P, 17, 3): several people) float32 keypoints from ``keypoints.npz``
        (x, y px, confidence), read-only;
        None when the sequence has none."""
        return self._given_keypoints

    # ------------------------------------------------------------------ frames

    def view_index(self, view: int | str) -> int:
        """Index of ``view`` given as an index or a camera name."""
        if isinstance(view, str):
            try:
                return self.view_names.index(view)
            except ValueError:
                raise KeyError(f"no view named {view!r} (views: {', '.join(self.view_names)})") from None
        index = int(view)
        if not 0 <= index < self.num_views:
            raise IndexError(f"view {index} out of range [0, {self.num_views})")
        return index

    def _source(self, view: int | str) -> VideoFile | ImageFolder:
        if self._sources is None:
            raise InputError("has no images (keypoints-only sequence): there are no frames to read", self._root)
        return self._sources[self.view_index(view)]

    def source_frame(self, view: int | str, i: int, time_offset: float | None = None) -> int | None:
        """The source frame of ``view`` that shows frame ``i``'s moment (0..F-1); with
        ``time_offset`` (that view's frames) in place of its known one, the nearest frame of that
        shifted timeline, None where the view has no such frame."""
        if not -self.num_frames <= i < self.num_frames:
            raise IndexError(f"frame {i} out of range [0, {self.num_frames})")
        v, i = self.view_index(view), i % self.num_frames
        if time_offset is None:
            return int(self._nearest[i, v])
        offsets = self._timeline.offsets.copy()
        offsets[v] = time_offset
        position = view_positions(self._frame_indices[i:i + 1], self._timeline.fps, offsets)[0, v]
        nearest = int(np.floor(position + 0.5))
        return nearest if 0 <= nearest < int(self._timeline.counts[v]) else None

    def read_view_frame(self, view: int | str, i: int) -> np.ndarray:
        """Frame ``i`` (0..F-1) of one view as RGB uint8 ``(H, W, 3)``: its source frame nearest
        to that moment."""
        return self._source(view).read(self.source_frame(view, i))

    def read_source_frame(self, view: int | str, index: int) -> np.ndarray:
        """Source frame ``index`` of one view (its own numbering) as RGB uint8 ``(H, W, 3)``."""
        return self._source(view).read(int(index))

    def read_frame(self, i: int) -> list[np.ndarray]:
        """Frame ``i`` (0..F-1) of every view: V RGB uint8 arrays ``(H_v, W_v, 3)``."""
        return [self.read_view_frame(v, i) for v in range(self.num_views)]

    def iter_view_frames(self, view: int | str) -> Iterator[np.ndarray]:
        """All F frames of one view in order, RGB uint8 ``(H, W, 3)``; decodes videos sequentially
        (a source frame that shows two moments, in a view slower than the first, is read once)."""
        source = self._source(view)
        indices = self._nearest[:, self.view_index(view)].tolist()
        return _repeated(source.iter_frames(sorted(set(indices))), indices)

    def to_timeline(self, keypoints2d: np.ndarray) -> np.ndarray:
        """(F, V, K, 3) detections of the frames read (:attr:`view_frame_indices`) moved to the exact
        moments (:attr:`view_frame_positions`) by interpolation between them; the same array
        where every view's frames fall on whole frames."""
        if np.allclose(self._timeline.positions, self._nearest, atol=1e-6, rtol=0.0):
            return keypoints2d
        return np.stack([resample_in_time(keypoints2d[:, v], self._nearest[:, v], self._timeline.positions[:, v])
                         for v in range(self.num_views)], axis=1)

    # ------------------------------------------------------------------ identity

    def fingerprint(self) -> str:
        """Hex digest of the inputs: every frame file's name, size and mtime, ``keypoints.npz``'s
        too, and the content of ``sequence.yaml``. Changes whenever an input file does."""
        digest = hashlib.sha256(b"cmanet-sequence-v1\n")
        yaml_path = self._yaml_path
        try:
            digest.update(b"yaml:" + yaml_path.read_bytes() + b"\n")
        except FileNotFoundError:
            digest.update(b"yaml:none\n")
        for view, source in enumerate(self._sources or [None] * self.num_views):
            digest.update(f"view:{self.view_names[view]}\n".encode())
            for path in source.files() if source is not None else []:
                digest.update((_stat_entry(path, self._root) + "\n").encode())
        digest.update(("keypoints:" + _stat_entry(self._root / KEYPOINTS_NPZ, self._root) + "\n").encode())
        return digest.hexdigest()

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Release open video files; the sequence can still be read afterwards (files reopen)."""
        for source in self._sources or []:
            source.close()

    def __enter__(self) -> MultiViewSequence:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        views = ", ".join(f"{c.name} {c.image_size[0]}x{c.image_size[1]}" for c in self._cameras)
        source = "keypoints only" if not self.has_images else "/".join(sorted(set(self.view_kinds)))
        return f"MultiViewSequence({str(self._root)!r}: {self.num_views} views [{views}], {self.num_frames} frames, " \
               f"{self._fps:g} fps, {source})"
