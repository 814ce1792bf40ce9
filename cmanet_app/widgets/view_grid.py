"""All views side by side (a grid of :class:`ViewPanel`), kept in step with the state: frame images
come from the frame worker; keypoints and the reprojected skeleton are drawn here (17 points).

While the frame changes rapidly (playing, scrubbing) the views ask for previews, which the worker
composes ahead and caches; once the frame stays put for ``SETTLE_MS`` they ask for it at full
display resolution."""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from cmanet_app.frames import FrameImages, FrameRenderer, FrameRequest
from cmanet_app.overlay import project_points, to_camera
from cmanet_app.state import AppState
from cmanet_app.widgets.view_panel import ViewPanel

RAPID_S = 0.2  # frame changes closer than this are playback or scrubbing: previews
SETTLE_MS = 250  # then, once still this long, the frame at full display resolution
# Previews asked for at most this often: a 60 fps recording plays with every other frame shown,
# which halves the GUI thread's painting (four views per frame) and keeps it responsive.
MAX_PREVIEW_FPS = 30


class ViewGrid(QWidget):
    def __init__(self, state: AppState, renderer: FrameRenderer, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.renderer = renderer
        self.panels: list[ViewPanel] = []
        self._columns = 0
        self.last_images: FrameImages | None = None
        self._grid = QGridLayout()
        self._grid.setSpacing(4)
        self._placeholder = QLabel("Open a multi-view sequence folder (File > Open, or drop it here),\n"
                                   "or try the demo (File > Open demo).")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setStyleSheet("color: gray; font-size: 14px")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._placeholder)
        outer.addLayout(self._grid, 1)

        self.shown_frame = 0  # the frame whose image the views show; vectors are drawn for it
        self._last_change = -1.0
        self._last_frame = -1
        self._last_request = -1.0
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.refresh)
        state.sequence_changed.connect(self._rebuild)
        state.frame_changed.connect(self._frame_changed)
        state.result_changed.connect(self.refresh)
        state.overlays_changed.connect(self.refresh)
        state.time_offsets_changed.connect(self.refresh)
        state.keypoints_changed.connect(self._draw_vectors)
        state.threshold_changed.connect(self._draw_vectors)
        # Emitted on the worker thread: queued explicitly to run on the GUI thread.
        renderer.rendered.connect(self._show_images, Qt.ConnectionType.QueuedConnection)

    # ---------------------------------------------------------------- layout

    def _rebuild(self) -> None:
        for panel in self.panels:
            self._grid.removeWidget(panel)
            panel.deleteLater()
        self.panels = []
        self.last_images = None
        self.shown_frame = self.state.frame
        info = self.state.sequence
        self._placeholder.setVisible(info is None)
        if info is None:
            return
        for v, name in enumerate(info.view_names):
            self.panels.append(ViewPanel(v, name, tuple(info.image_sizes[v]), info.view_kinds[v]))
        self._columns = 0
        self._relayout()
        self.refresh()

    def best_columns(self, width: int, height: int) -> int:
        """The number of grid columns that shows the views largest in a ``width`` x ``height`` area."""
        info = self.state.sequence
        views = len(self.panels)
        if info is None or views == 0:
            return 1
        aspect = float(np.max(info.image_sizes[:, 0] / info.image_sizes[:, 1]))
        best, best_scale = 1, -1.0
        for columns in range(1, views + 1):
            rows = math.ceil(views / columns)
            cell_w, cell_h = width / columns, height / rows - 20  # title row
            scale = min(cell_w / aspect, cell_h)
            if scale > best_scale * 1.02:  # prefer fewer columns unless clearly better
                best, best_scale = columns, scale
        return best

    def _relayout(self) -> None:
        columns = self.best_columns(max(self.width(), 1), max(self.height(), 1))
        if columns == self._columns:
            return
        self._columns = columns
        for panel in self.panels:
            self._grid.removeWidget(panel)
        for v, panel in enumerate(self.panels):
            self._grid.addWidget(panel, v // columns, v % columns)

    def resizeEvent(self, event):  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        if self.panels:
            self._relayout()

    # ---------------------------------------------------------------- updates

    def refresh(self) -> None:
        """Ask the worker for the current frame's images (full display resolution) and redraw the
        vector overlays."""
        info = self.state.sequence
        if info is None or not self.panels:
            return
        self._settle.stop()
        self.renderer.request(FrameRequest(info, self.state.result, self.state.frame, self.state.overlays,
                                           self.state.shown_time_offsets()))
        self._draw_vectors()

    def _frame_changed(self, frame: int) -> None:
        # Only ask for the frame: keypoints and skeleton are drawn when its image arrives, so that
        # they always match the picture and the views repaint once per shown frame, not per tick.
        info = self.state.sequence
        if info is None or not self.panels:
            return
        now = time.monotonic()
        preview = now - self._last_change < RAPID_S
        playing = preview and frame == (self._last_frame + 1) % max(info.num_frames, 1)
        self._last_change, self._last_frame = now, frame
        if preview:
            self._settle.start()  # the frame it stops on comes at full resolution
            if now - self._last_request < 1.0 / MAX_PREVIEW_FPS:
                return
        self._last_request = now
        self.renderer.request(FrameRequest(info, self.state.result, frame, self.state.overlays,
                                           self.state.shown_time_offsets(), preview=preview, playing=playing))

    def _show_images(self, images: FrameImages) -> None:
        req = images.request
        if self.state.sequence is None or req.sequence.root != self.state.sequence.root or len(images.images) != len(self.panels):
            return  # a frame of a sequence that is no longer open
        self.last_images = images
        self.shown_frame = req.frame
        for panel, image, scale in zip(self.panels, images.images, images.scales):
            panel.set_image(image, scale)
            panel.set_info(f"frame {req.frame}")
        self._draw_vectors()

    def _draw_vectors(self) -> None:
        state = self.state
        if state.sequence is None or not self.panels:
            return
        frame, show, result = self.shown_frame, state.overlays, state.result
        keypoints = state.shown_keypoints(frame) if show.keypoints else None
        for v, panel in enumerate(self.panels):
            panel.set_keypoints(None if keypoints is None else keypoints[v], state.threshold)
            uv = None
            if show.iev_skeleton and result is not None and frame < result.num_frames:
                cam = to_camera(result.joints3d[frame], result.cam_R[frame, v], result.cam_t[frame, v])
                uv = project_points(cam, float(result.cam_f[frame, v]), result.cam_c[frame, v], small=True,
                                    distortions=result.view_distortions[v])
            panel.set_skeleton(uv)

    def reprojected(self, view: int) -> np.ndarray | None:
        """(17, 2) IEV keypoints as drawn in ``view`` (tests and tools)."""
        data = self.panels[view].joints_item.getData()
        return None if len(data[0]) == 0 else np.stack(data, axis=1)
