"""The 2D views' pixels, made off the GUI thread: read each view's frame (or a blank canvas), draw
the IRV/IEV mesh overlays into it, downscale large frames, and hand the images to the GUI.

Requests are "latest wins" (:class:`cmanet_app.latest.LatestRequestWorker`): while scrubbing or
playing, a request that was overtaken before its turn is dropped, so the views never lag behind the
timeline by more than one frame. When idle, the worker poses the bodies of the frames ahead
(:class:`MeshCache`), so playback soon runs from cache.

While playing, the views ask for previews (``FrameRequest.preview``: frames at most
``PREVIEW_SIDE`` pixels wide: about a fifth of the pixels to draw, blend and show) and the worker
composes the frames ahead of the shown one, overlays and all, into a cache of finished frames
(``FrameRenderer.composed``): once a loop has been played (or composed ahead), each timeline tick is a
cache look-up. A still frame is composed at full display resolution.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal

from cmanet_app import overlay
from cmanet_app.bodies import MeshCache
from cmanet_app.latest import LatestRequestWorker
from cmanet_app.state import Overlays, SequenceInfo
from core.io.results import FitResult
from core.io.sequence import MultiViewSequence

log = logging.getLogger(__name__)

PREFETCH_BATCH = 4
# Previews (while playing) are composed at most this many pixels wide or high.
PREVIEW_SIDE = 480
# Finished preview frames kept (all views, overlays drawn): ~1.5 MB per 4-view frame of 1080x1920.
COMPOSED_CACHE_BYTES = 256 * 1024 * 1024
# How far ahead of the shown frame the worker composes previews while playing (and at most 3/4 of
# what the cache holds, so that composing ahead never evicts the frames about to be shown).
COMPOSE_AHEAD = 600
# Decoded, display-sized frames kept for replay (a played loop decodes each image once).
FRAME_CACHE_BYTES = 384 * 1024 * 1024
# Views are composed in parallel: decoding (cv2.imread) and filling triangles (cv2.fillPoly)
# release the GIL, so two cores really work at once.
VIEW_WORKERS = 2


def _nbytes(value) -> int:
    """Bytes of an image, or of a tuple/list holding images."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    return sum(_nbytes(v) for v in value) if isinstance(value, (tuple, list)) else 0


class _FrameCache:
    """LRU of key -> image (or tuple of images), bounded in bytes: decoded display-sized frames
    keyed (root, view, frame, max side), and finished previews (``FrameRenderer.composed``)."""

    def __init__(self, max_bytes: int = FRAME_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __contains__(self, key: tuple) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, key: tuple):
        with self._lock:
            image = self._items.get(key)
            if image is not None:
                self._items.move_to_end(key)
            return image

    def put(self, key: tuple, image) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = image
            self._bytes += _nbytes(image)
            while self._bytes > self.max_bytes and self._items:
                _, old = self._items.popitem(last=False)
                self._bytes -= _nbytes(old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


@dataclass(frozen=True)
class FrameRequest:
    """time_offsets: (V,) each view's offset (its own frames) to show its images at; None: the
    sequence's own timeline."""

    sequence: SequenceInfo
    result: FitResult | None
    frame: int
    overlays: Overlays
    time_offsets: tuple[float, ...] | None = None
    preview: bool = False  # while playing or scrubbing: smaller frames, composed ahead and cached
    playing: bool = False  # the frame after the last one asked for (playback, not a jump)

    def ahead(self, frame: int) -> FrameRequest:
        """The same request for another frame (what playback asks for next)."""
        return dataclasses.replace(self, frame=frame)


@dataclass
class FrameImages:
    """What the views show for one frame: per view an RGB image at display resolution and the
    factor it was downscaled by (overlays drawn by the GUI use source pixels)."""

    request: FrameRequest
    images: list[np.ndarray]
    scales: list[float]
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    cached: bool = False  # served from the cache of finished previews


class FrameRenderer(LatestRequestWorker):
    """The views' worker thread (latest request wins); :meth:`request` never blocks."""

    rendered = Signal(object)  # FrameImages

    def __init__(self, meshes: MeshCache, parent: QObject | None = None):
        self.meshes = meshes
        self._seq: MultiViewSequence | None = None
        # One reader per view, used by one thread at a time: each view's video then decodes in
        # order as playback and composing ahead go forward (a reader per thread would seek back
        # and forth, and a seek in a video decodes from its last key frame).
        self._seq_lock = threading.Lock()
        self._view_locks: dict[int, threading.Lock] = {}
        self._seq_root = None
        self._frames = _FrameCache()
        self.composed = _FrameCache(COMPOSED_CACHE_BYTES)  # finished previews, see _composed_key
        self._composed_for: tuple = (None, None)
        self._pool = ThreadPoolExecutor(VIEW_WORKERS, thread_name_prefix="frame-view")
        self._prefetch_next: int | None = None
        self._last: FrameRequest | None = None
        self._last_preview: FrameRequest | None = None  # what playback asked for last (composing ahead goes on after a pause)
        super().__init__("frame-renderer", parent)

    def requested(self, req: FrameRequest) -> None:
        self._prefetch_next = req.frame
        if req.preview:  # noted on arrival: a request overtaken before its turn still says what plays
            self._last_preview = req

    def serve(self, req: FrameRequest) -> None:
        shown = req
        try:
            out = self._preview(req) if req.preview else self._render(req)
            shown = out.request
            self.rendered.emit(out)
        finally:
            self._last = shown

    def stopped(self) -> None:
        self._pool.shutdown(wait=True)
        if self._seq is not None:
            self._seq.close()
        self._frames.clear()
        self.composed.clear()

    # ---------------------------------------------------------------- previews while playing

    def _composed_key(self, req: FrameRequest) -> tuple:
        """What a finished preview depends on. The cache holds one sequence and result at a time."""
        owner = (req.sequence.root, req.result)
        if owner[0] != self._composed_for[0] or owner[1] is not self._composed_for[1]:
            self.composed.clear()
            self._composed_for = owner
        return req.frame, req.overlays, req.time_offsets, tuple(map(tuple, req.sequence.image_sizes))

    def _preview(self, req: FrameRequest) -> FrameImages:
        """A preview from the cache of finished frames, or composed now (and kept). Playback that
        runs ahead of the composing (the first pass) is shown frame after frame from the one shown
        last, not by jumping to the asked frame: videos then decode in order, without seeking."""
        start = time.perf_counter()
        key = self._composed_key(req)
        hit = self.composed.get(key)
        if hit is not None:
            images, scales, errors = hit
            return FrameImages(req, list(images), list(scales), time.perf_counter() - start, list(errors), cached=True)
        last = self._last
        if (req.playing and last is not None and last.preview and last.sequence.root == req.sequence.root
                and last.result is req.result and last.overlays == req.overlays and last.time_offsets == req.time_offsets):
            req = req.ahead((last.frame + 1) % req.sequence.num_frames)
            key = self._composed_key(req)
            hit = self.composed.get(key)
            if hit is not None:
                images, scales, errors = hit
                return FrameImages(req, list(images), list(scales), time.perf_counter() - start, list(errors), cached=True)
        out = self._render(req)
        self.composed.put(key, (tuple(out.images), tuple(out.scales), tuple(out.errors)))
        return out

    def _next_to_compose(self) -> FrameRequest | None:
        """The first frame ahead of the shown one (wrapping, like playback) whose preview is not
        composed yet, while the views show what playback last asked for (same sequence, result,
        overlays and offsets: also after a pause, so that playing again runs from the cache)."""
        last, played = self._last, self._last_preview
        if last is None or played is None or played.sequence.num_frames < 2:
            return None
        if (last.sequence.root, last.overlays, last.time_offsets) != (played.sequence.root, played.overlays,
                                                                       played.time_offsets) or last.result is not played.result:
            return None
        frames = played.sequence.num_frames
        hit = self.composed.get(self._composed_key(played))
        fits = self.composed.max_bytes // max(1, _nbytes(hit[0])) if hit is not None else COMPOSE_AHEAD
        for k in range(1, min(COMPOSE_AHEAD, frames - 1, fits * 3 // 4) + 1):
            ahead = played.ahead((last.frame + k) % frames)
            if self._composed_key(ahead) not in self.composed:
                return ahead
        return None

    def composed_ahead(self) -> bool:
        """Whether there is nothing left to compose ahead (GUI thread: benchmarks, tests)."""
        with self._cv:
            return self._next_to_compose() is None

    # ---------------------------------------------------------------- prefetching meshes

    def has_background_work(self) -> bool:
        last = self._last
        if self._next_to_compose() is not None:
            return True
        return (last is not None and last.result is not None and self._prefetch_next is not None
                and self.meshes.result is last.result)

    def background_step(self) -> None:
        """After playback's requests: compose the next frame ahead into the preview cache. Otherwise pose the
        bodies of the next few frames (walking forward from the shown one, wrapping: that is where
        playback goes next)."""
        ahead = self._next_to_compose()
        if ahead is not None:
            out = self._render(ahead)
            self.composed.put(self._composed_key(ahead), (tuple(out.images), tuple(out.scales), tuple(out.errors)))
            return
        last = self._last
        if last is None or last.result is None:
            self._prefetch_next = None
            return
        frames = last.result.num_frames
        start = self._prefetch_next if self._prefetch_next is not None else 0
        views = last.overlays.irv_mesh or last.overlays.ghosts_3d
        todo = [(start + k) % frames for k in range(frames)]
        todo = [f for f in todo if not self.meshes.cached(f) or (views and not self.meshes.cached(f, 0))]
        if not todo:
            self._prefetch_next = None
            return
        try:
            self.meshes.prefetch(todo[:PREFETCH_BATCH], views=views)
        except Exception:  # noqa: BLE001
            log.warning("prefetching meshes failed: %s", sys.exc_info()[1])
            self._prefetch_next = None
            return
        self._prefetch_next = todo[min(PREFETCH_BATCH, len(todo) - 1)] if len(todo) > PREFETCH_BATCH else None

    def _sequence(self, info: SequenceInfo) -> MultiViewSequence:
        """The reader of the sequence (opened on first use); read a view under its lock."""
        with self._seq_lock:
            if self._seq is None or self._seq.root != info.root:
                if self._seq is not None:
                    self._seq.close()
                self._seq = MultiViewSequence.open(info.root)
            return self._seq

    def _read(self, seq: MultiViewSequence, view: int, index: int) -> np.ndarray:
        with self._seq_lock:
            lock = self._view_locks.setdefault(view, threading.Lock())
        with lock:
            return seq.read_source_frame(view, index)

    def _base_image(self, info: SequenceInfo, v: int, frame: int, show_image: bool, errors: list[str],
                    time_offset: float | None = None, max_side: int = overlay.MAX_DISPLAY_SIDE) -> tuple[np.ndarray, float]:
        width, height = (int(x) for x in info.image_sizes[v])
        scale = overlay.display_scale(width, height, max_side)
        if show_image and info.has_images:
            try:
                seq = self._sequence(info)
                index = seq.source_frame(v, frame, time_offset)  # None: the view has not started or has ended
                if index is not None:
                    key = (info.root, v, index, max_side)
                    cached = self._frames.get(key)
                    if cached is None:
                        cached = overlay.resize_for_display(self._read(seq, v, index), scale)
                        self._frames.put(key, cached)
                    return cached.copy(), scale
            except Exception as exc:  # noqa: BLE001 - show the other views and say what broke
                errors.append(f"{info.view_names[v]}: {exc}")
        return overlay.blank_canvas(max(1, round(width / scale)), max(1, round(height / scale))), scale

    def _render(self, req: FrameRequest) -> FrameImages:
        start = time.perf_counter()
        info, result, frame, show = req.sequence, req.result, req.frame, req.overlays
        if self._seq_root != info.root:
            self._frames.clear()
            self._seq_root = info.root
        errors: list[str] = []
        faces = world = irv = None
        try:
            faces = self.meshes.faces() if result is not None and (show.irv_mesh or show.iev_mesh) else None
            if faces is not None:
                self.meshes.prefetch([frame], views=show.irv_mesh)  # every body of the frame in one batch
            world = self.meshes.iev(frame) if faces is not None and show.iev_mesh else None
            # A format-1 result keeps no IRV cameras: its IRV bodies are not drawn (the window says why).
            draw_irv = faces is not None and show.irv_mesh and result.irv_cam_f is not None
            irv = [self.meshes.irv(frame, v) for v in range(info.num_views)] if draw_irv else None
        except Exception as exc:  # noqa: BLE001 - e.g. the body model's files are missing: show the rest
            from cmanet_app.errors import describe

            errors.append(f"cannot draw the meshes: {describe(exc)}")
            faces = world = irv = None

        def compose(v: int) -> tuple[np.ndarray, float]:
            offset = None if req.time_offsets is None else req.time_offsets[v]
            max_side = PREVIEW_SIDE if req.preview else overlay.MAX_DISPLAY_SIDE
            image, scale = self._base_image(info, v, frame, show.image, errors, offset, max_side)
            size = (image.shape[1], image.shape[0])
            if faces is not None:
                f, c = float(result.cam_f[frame, v]), result.cam_c[frame, v]
                lens = result.view_distortions[v]
                if irv is not None:
                    irv_f, irv_c = overlay.irv_camera(result, frame, v)  # each module with its own camera
                    layer, mask = overlay.rasterize_mesh(irv[v], faces, irv_f, irv_c, size, overlay.view_colour(v), scale,
                                                         lens)
                    overlay.blend(image, layer, mask)
                if world is not None:
                    verts = overlay.to_camera(world, result.cam_R[frame, v], result.cam_t[frame, v])
                    layer, mask = overlay.rasterize_mesh(verts, faces, f, c, size, overlay.IEV_COLOUR, scale, lens)
                    overlay.blend(image, layer, mask)
            return image, scale

        composed = list(self._pool.map(compose, range(info.num_views)))
        images = [c[0] for c in composed]
        scales = [c[1] for c in composed]
        return FrameImages(req, images, scales, time.perf_counter() - start, errors)
