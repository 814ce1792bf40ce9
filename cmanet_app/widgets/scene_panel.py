"""The 3D panel: the fused body, skeleton, recovered cameras (frusta in each view's colour), a floor
grid, and optionally every view's IRV body as a ghost. Rendered in a separate process
(:mod:`cmanet_app.scene3d`); this widget only shows pictures and turns mouse gestures into orbit
camera moves: left-drag orbits, right/middle-drag pans, the wheel zooms, double-click resets.
While dragging or playing it asks for half-resolution drafts, then one full render once still;
while hidden behind another tab it renders nothing, and catches up when shown.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QProcess, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from cmanet_app.bodies import MeshCache
from cmanet_app.errors import ErrorReporter
from cmanet_app.scene3d.client import RenderedImage, RenderRequest, SceneClient
from cmanet_app.scene3d.geometry import SceneData, build_scene, scene_to_arrays
from cmanet_app.scene3d.orbit import OrbitCamera
from cmanet_app.state import AppState
from cmanet_app.tasks import TaskRunner
from core.geometry.camera import camera_centers

log = logging.getLogger(__name__)

SETTLE_MS = 250  # no gesture or frame change for this long: render at full resolution
# While playing, the panel follows the frames with drafts at most this often (orbiting is not
# limited): playback's previews and the GUI thread keep most of the two cores.
PLAYBACK_DRAFT_FPS = 12


class SceneCanvas(QLabel):
    """Shows the latest render, scaled to fit; reports mouse gestures."""

    dragged = Signal(float, float, object)  # dx, dy, Qt.MouseButton
    released = Signal()
    wheeled = Signal(float)  # zoom factor
    reset = Signal()

    def __init__(self):
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: rgb(28, 29, 33); color: gray")
        self.image: QImage | None = None
        self._last = None
        self._button = Qt.MouseButton.NoButton

    def set_image(self, image: np.ndarray) -> None:
        height, width = image.shape[:2]
        data = np.ascontiguousarray(image)
        self.image = QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        self._rescale()

    def set_message(self, text: str) -> None:
        self.image = None
        self.setPixmap(QPixmap())
        self.setText(text)

    def _rescale(self) -> None:
        if self.image is not None:
            self.setPixmap(QPixmap.fromImage(self.image).scaled(
                self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(480, 360)

    def resizeEvent(self, event):  # noqa: N802
        super().resizeEvent(event)
        self._rescale()

    def mousePressEvent(self, event):  # noqa: N802
        self._last = event.position()
        self._button = event.button()

    def mouseMoveEvent(self, event):  # noqa: N802
        if self._last is None:
            return
        pos = event.position()
        delta = pos - self._last
        self._last = pos
        self.dragged.emit(float(delta.x()), float(delta.y()), self._button)

    def mouseReleaseEvent(self, event):  # noqa: N802
        self._last = None
        self.released.emit()

    def wheelEvent(self, event):  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        self.wheeled.emit(0.9 ** steps)

    def mouseDoubleClickEvent(self, event):  # noqa: N802
        self.reset.emit()


class ScenePanel(QWidget):
    def __init__(self, state: AppState, meshes: MeshCache, reporter: ErrorReporter, enabled: bool = True,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.meshes = meshes
        self.reporter = reporter
        self.enabled_3d = enabled
        self.camera = OrbitCamera()
        self.client: SceneClient | None = None
        self.runner = TaskRunner(max_threads=1, parent=self)
        self.viewer: QProcess | None = None
        self.last_render: RenderedImage | None = None
        self._frame_times: list[float] = []
        self._last_change = 0.0
        self._last_frame_request = 0.0
        self._stale = False  # a render was skipped while the panel was hidden
        self.show_timings = False

        self.canvas = SceneCanvas()
        self.ghosts_check = QCheckBox("Per-view fits (IRV)")
        self.ghosts_check.setToolTip("Also show each camera's own per-view fit (IRV), see-through, in the camera's colour")
        self.ghosts_check.setChecked(state.overlays.ghosts_3d)
        self.ghosts_check.toggled.connect(lambda on: state.set_overlay("ghosts_3d", on))
        self.reset_button = QPushButton("Reset view")
        self.reset_button.clicked.connect(self.reset_view)
        self.window_button = QPushButton("Open in Open3D window")
        self.window_button.setToolTip("Show this frame in Open3D's own viewer (a separate window and process)")
        self.window_button.clicked.connect(self.open_window)
        self.fps_label = QLabel("")
        self.fps_label.setStyleSheet("color: gray")
        bar = QHBoxLayout()
        bar.addWidget(self.ghosts_check)
        bar.addWidget(self.reset_button)
        bar.addWidget(self.window_button)
        bar.addStretch(1)
        bar.addWidget(self.fps_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        hint = QLabel("drag: orbit · right/middle-drag: pan · wheel: zoom · double-click: reset")
        hint.setStyleSheet("color: gray; font-size: 10px")
        layout.addWidget(hint)

        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(lambda: self.request(draft=False))
        self.canvas.dragged.connect(self._dragged)
        self.canvas.released.connect(self._settle_later)
        self.canvas.wheeled.connect(self._wheeled)
        self.canvas.reset.connect(self.reset_view)
        state.result_changed.connect(self._result_changed)
        state.frame_changed.connect(self._frame_changed)
        state.overlays_changed.connect(self._overlays_changed)
        self._result_changed()

    # ---------------------------------------------------------------- state -> render requests

    def _ensure_client(self) -> SceneClient | None:
        if not self.enabled_3d:
            return None
        if self.client is None:
            self.client = SceneClient(parent=self)
            # Emitted on the client's worker thread: queued explicitly to run on the GUI thread.
            queued = Qt.ConnectionType.QueuedConnection
            self.client.rendered.connect(self._rendered, queued)
            self.client.failed.connect(self._failed, queued)
            self.client.status.connect(self.fps_label.setText, queued)
        return self.client

    def _result_changed(self) -> None:
        result = self.state.result
        self.window_button.setEnabled(result is not None)
        if not self.enabled_3d:
            self.canvas.set_message("3D view disabled (--no-3d)")
            return
        if result is None:
            self.canvas.set_message("Fit the sequence to see the body and cameras in 3D")
            return
        self.camera = self._framing()
        self.canvas.set_message("rendering…")
        self.request(draft=False)

    def _framing(self) -> OrbitCamera:
        """Frame the whole rig: every frame's skeleton, the cameras and the floor under the person."""
        import torch

        result = self.state.result
        centres = camera_centers(torch.as_tensor(result.cam_R[0]), torch.as_tensor(result.cam_t[0])).numpy()
        joints = result.joints3d.reshape(-1, 3)
        floor = np.c_[joints[:, :2].mean(0, keepdims=True), [[0.0]]]
        points = np.concatenate([joints, centres, floor])
        return OrbitCamera.framing(points.min(0), points.max(0))

    def _frame_changed(self, frame: int) -> None:
        now = time.monotonic()
        rapid = now - self._last_change < 0.2  # playing or scrubbing: drafts until it settles
        self._last_change = now
        if rapid:
            self._settle_later()
            if now - self._last_frame_request < 1.0 / PLAYBACK_DRAFT_FPS:
                return  # the views have the cores' first claim while playing
        self._last_frame_request = now
        self.request(draft=rapid)

    def _overlays_changed(self) -> None:
        if self.ghosts_check.isChecked() != self.state.overlays.ghosts_3d:
            self.ghosts_check.setChecked(self.state.overlays.ghosts_3d)
        self.request(draft=False)

    def request(self, draft: bool = False) -> None:
        result = self.state.result
        if result is None or self.state.frame >= result.num_frames:
            return
        if not self.isVisible() and self.last_render is not None:
            # Hidden (another tab): no rendering while playing elsewhere; the first image still
            # comes, so that the render server is warm when the panel is shown.
            self._stale = True
            return
        self._stale = False
        client = self._ensure_client()
        if client is None or client.error:
            return
        frame, ghosts, meshes = self.state.frame, self.state.overlays.ghosts_3d, self.meshes
        key = (id(result), frame, ghosts)

        def build() -> SceneData:
            return self._scene(result, frame, ghosts, meshes)

        client.request(RenderRequest(key, build, self.camera, draft))

    @staticmethod
    def _scene(result, frame: int, ghosts: bool, meshes: MeshCache) -> SceneData:
        """Runs in the client's worker thread (posing bodies takes tens of milliseconds)."""
        faces = meshes.faces() if meshes.result is result else None
        body = meshes.iev(frame) if faces is not None else None
        ghosts = ghosts and faces is not None and result.irv_cam_f is not None  # format 1: no IRV cameras
        irv = [meshes.irv(frame, v) for v in range(result.num_views)] if ghosts else None
        return build_scene(result, frame, faces, body, irv)

    # ---------------------------------------------------------------- gestures

    def showEvent(self, event):  # noqa: N802 (Qt naming)
        super().showEvent(event)
        if self._stale:
            self.request(draft=False)

    def _dragged(self, dx: float, dy: float, button) -> None:
        if self.state.result is None:
            return
        if button == Qt.MouseButton.LeftButton:
            self.camera = self.camera.orbited(dx, dy)
        else:
            self.camera = self.camera.panned(dx, dy, self.canvas.height())
        self.request(draft=True)
        self._settle.stop()

    def _wheeled(self, factor: float) -> None:
        self.camera = self.camera.zoomed(factor)
        self.request(draft=True)
        self._settle_later()

    def _settle_later(self) -> None:
        self._settle.start(SETTLE_MS)

    def reset_view(self) -> None:
        if self.state.result is not None:
            self.camera = self._framing()
            self.request(draft=False)

    # ---------------------------------------------------------------- results of rendering

    def _rendered(self, rendered: RenderedImage) -> None:
        self.last_render = rendered
        self.canvas.set_image(rendered.image)
        now = time.monotonic()
        self._frame_times = [t for t in self._frame_times if now - t < 1.0] + [now]
        if self.show_timings:  # View > Show rendering times (for debugging)
            kind = "draft" if rendered.request.draft else "full"
            self.fps_label.setText(f"{kind} {rendered.image.shape[1]}×{rendered.image.shape[0]}: "
                                   f"{rendered.seconds * 1000:.0f} ms, {len(self._frame_times)} fps")
        elif self.fps_label.text():
            self.fps_label.setText("")

    def _failed(self, message: str) -> None:
        self.canvas.set_message("3D view unavailable:\n" + message[:400])
        self.fps_label.setText("")

    @property
    def idle(self) -> bool:
        return self.client is None or (self.client.idle and not self._settle.isActive())

    # ---------------------------------------------------------------- the separate Open3D window

    def open_window(self) -> None:
        result = self.state.result
        if result is None:
            return
        frame, ghosts, meshes = self.state.frame, self.state.overlays.ghosts_3d, self.meshes
        title = f"CMANet Studio — {self.state.sequence.root.name if self.state.sequence else ''} frame {frame}"

        def work(job) -> Path:
            scene = self._scene(result, frame, ghosts, meshes)
            fd, name = tempfile.mkstemp(prefix="cmanet-frame-", suffix=".npz")
            with open(fd, "wb") as f:
                np.savez(f, title=np.array(title), **scene_to_arrays(scene))
            return Path(name)

        task = self.runner.start("open window", work)
        task.succeeded.connect(self._launch_viewer)
        task.failed.connect(lambda exc: self.reporter.exception("Could not open an Open3D window", exc, task.traceback))

    def _launch_viewer(self, scene_file: Path) -> None:
        proc = QProcess(self)
        proc.setProgram(sys.executable)
        proc.setArguments(["-m", "cmanet_app.scene3d.viewer", str(scene_file)])
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.finished.connect(lambda code, status: self._viewer_finished(proc, scene_file, code, status))
        proc.errorOccurred.connect(lambda err: self._viewer_error(proc, scene_file, err))
        self.viewer = proc
        proc.start()

    def _viewer_finished(self, proc: QProcess, scene_file: Path, code: int, status) -> None:
        scene_file.unlink(missing_ok=True)
        if code != 0 or status != QProcess.ExitStatus.NormalExit:
            output = bytes(proc.readAll()).decode(errors="replace").strip()
            lines = [l for l in output.splitlines() if l.strip()]
            detail = lines[-1] if lines else f"exit status {code}"
            self.reporter.warning("Could not open an Open3D window",
                                  f"{detail}\nThe 3D panel in this window keeps working.", output)
        if self.viewer is proc:
            self.viewer = None
        proc.deleteLater()

    def _viewer_error(self, proc: QProcess, scene_file: Path, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            scene_file.unlink(missing_ok=True)
            self.reporter.warning("Could not open an Open3D window", proc.errorString())

    def shutdown(self) -> None:
        self._settle.stop()
        if self.client is not None:
            self.client.stop()
        if self.viewer is not None and self.viewer.state() != QProcess.ProcessState.NotRunning:
            # The viewer is a child of the app: it closes with it (quietly).
            self.viewer.finished.disconnect()
            self.viewer.errorOccurred.disconnect()
            self.viewer.kill()
            self.viewer.waitForFinished(2000)
        self.runner.wait(3000)
