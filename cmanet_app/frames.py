"""The 2D views' pixels, made off the GUI thread: read each view's frame (or a blank canvas), draw
the IRV/IEV mesh overlays into it, downscale large frames, and hand the images to the GUI.

Requests are "latest wins": while scrubbing or playing, a request that was overtaken before its
turn is dropped, so the views never lag behind the timeline by more than one frame. When idle, the
worker poses the bodies of the frames ahead (:class:`MeshCache`), so playback soon runs from cache.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal

from cmanet_app import overlay
from cmanet_app.bodies import MeshCache
from cmanet_app.state import Overlays, SequenceInfo
from core.io.results import FitResult
from core.io.sequence import MultiViewSequence

log = logging.getLogger(__name__)

PREFETCH_BATCH = 4


@dataclass(frozen=True)
class FrameRequest:
    sequence: SequenceInfo
    result: FitResult | None
    frame: int
    overlays: Overlays


@dataclass
class FrameImages:
    """What the views show for one frame: per view an RGB image at display resolution and the
    factor it was downscaled by (overlays drawn by the GUI use source pixels)."""

    request: FrameRequest
    images: list[np.ndarray]
    scales: list[float]
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


class FrameRenderer(QObject):
    """One worker thread; :meth:`request` never blocks."""

    rendered = Signal(object)  # FrameImages

    def __init__(self, meshes: MeshCache, parent: QObject | None = None):
        super().__init__(parent)
        self.meshes = meshes
        self._cv = threading.Condition()
        self._pending: FrameRequest | None = None
        self._stop = False
        self._busy = False
        self._seq: MultiViewSequence | None = None
        self._seq_root = None
        self._prefetch_next: int | None = None
        self._thread = threading.Thread(target=self._loop, name="frame-renderer", daemon=True)
        self._thread.start()

    def request(self, req: FrameRequest) -> None:
        with self._cv:
            self._pending = req
            self._prefetch_next = req.frame
            self._cv.notify()

    @property
    def idle(self) -> bool:
        with self._cv:
            return self._pending is None and not self._busy

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=5)
        if self._seq is not None:
            self._seq.close()

    # ---------------------------------------------------------------- worker thread

    def _loop(self) -> None:
        last: FrameRequest | None = None
        while True:
            with self._cv:
                while self._pending is None and not self._stop and not self._want_prefetch(last):
                    self._cv.wait(0.5)
                if self._stop:
                    return
                req, self._pending = self._pending, None
                self._busy = req is not None
            if req is None:
                self._prefetch(last)
                continue
            try:
                self.rendered.emit(self._render(req))
            except Exception:  # noqa: BLE001 - a bad frame must not kill the worker
                log.exception("rendering frame %d failed", req.frame)
            finally:
                with self._cv:
                    self._busy = False
            last = req

    def _want_prefetch(self, last: FrameRequest | None) -> bool:
        return (last is not None and last.result is not None and self._prefetch_next is not None
                and self.meshes.result is last.result)

    def _prefetch(self, last: FrameRequest | None) -> None:
        if last is None or last.result is None:
            self._prefetch_next = None
            return
        frames = last.result.num_frames
        start = self._prefetch_next if self._prefetch_next is not None else 0
        views = last.overlays.irv_mesh or last.overlays.ghosts_3d
        # Walk forward from the current frame (wrapping): that is where playback goes next.
        todo = [(start + k) % frames for k in range(frames)]
        todo = [f for f in todo if not self.meshes.cached(f) or (views and not self.meshes.cached(f, 0))]
        if not todo:
            self._prefetch_next = None
            return
        try:
            self.meshes.prefetch(todo[:PREFETCH_BATCH], views=views)
        except Exception:  # noqa: BLE001
            log.exception("prefetching meshes failed")
            self._prefetch_next = None
            return
        self._prefetch_next = todo[min(PREFETCH_BATCH, len(todo) - 1)] if len(todo) > PREFETCH_BATCH else None

    def _sequence(self, info: SequenceInfo) -> MultiViewSequence | None:
        if not info.has_images:
            return None
        if self._seq_root != info.root:
            if self._seq is not None:
                self._seq.close()
            self._seq = MultiViewSequence.open(info.root)
            self._seq_root = info.root
        return self._seq

    def _render(self, req: FrameRequest) -> FrameImages:
        start = time.perf_counter()
        info, result, frame, show = req.sequence, req.result, req.frame, req.overlays
        images, scales, errors = [], [], []
        seq = self._sequence(info) if show.image else None
        faces = self.meshes.faces() if result is not None and (show.irv_mesh or show.iev_mesh) else None
        world = self.meshes.iev(frame) if faces is not None and show.iev_mesh else None
        for v in range(info.num_views):
            width, height = (int(x) for x in info.image_sizes[v])
            scale = overlay.display_scale(width, height)
            image = None
            if seq is not None:
                try:
                    image = overlay.resize_for_display(seq.read_view_frame(v, frame), scale)
                except Exception as exc:  # noqa: BLE001 - show the other views and say what broke
                    errors.append(f"{info.view_names[v]}: {exc}")
            if image is None:
                image = overlay.blank_canvas(max(1, round(width / scale)), max(1, round(height / scale)))
            size = (image.shape[1], image.shape[0])
            if faces is not None:
                f, c = float(result.cam_f[frame, v]), result.cam_c[frame, v]
                if show.irv_mesh:
                    verts = self.meshes.irv(frame, v)
                    layer, mask = overlay.rasterize_mesh(verts, faces, f, c, size, overlay.view_colour(v), scale)
                    overlay.blend(image, layer, mask)
                if world is not None:
                    verts = overlay.to_camera(world, result.cam_R[frame, v], result.cam_t[frame, v])
                    layer, mask = overlay.rasterize_mesh(verts, faces, f, c, size, overlay.IEV_COLOUR, scale)
                    overlay.blend(image, layer, mask)
            images.append(image)
            scales.append(scale)
        return FrameImages(req, images, scales, time.perf_counter() - start, errors)
