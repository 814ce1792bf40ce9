"""One camera view: its frame (image or blank canvas, meshes already drawn in by the frame
worker), detected keypoints coloured by confidence (filtered ones hollow grey), and the
reprojected IEV skeleton. Mouse wheel zooms, drag pans, double-click fits the view again.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from cmanet_app.overlay import view_colour
from core.keypoints import COCO17_EDGES

FILTERED_COLOUR = (150, 150, 150)


def confidence_colour(conf: float) -> tuple[int, int, int]:
    """Red (unsure) -> yellow -> green (sure)."""
    c = float(np.clip(conf, 0.0, 1.0))
    if c < 0.5:
        return 230, int(60 + 2 * c * 170), 40
    return int(230 - (c - 0.5) * 2 * 190), 220, 40


_CONFIDENCE_STEPS = 20
_CONFIDENCE_BRUSHES = [pg.mkBrush(*confidence_colour(i / _CONFIDENCE_STEPS)) for i in range(_CONFIDENCE_STEPS + 1)]
_HOLLOW_BRUSH = pg.mkBrush(0, 0, 0, 0)
_FILTERED_PEN = pg.mkPen(FILTERED_COLOUR, width=1.5)
_DARK_PEN = pg.mkPen(20, 20, 20, width=1)


def _confidence_brush(conf: float):
    return _CONFIDENCE_BRUSHES[int(round(float(np.clip(conf, 0.0, 1.0)) * _CONFIDENCE_STEPS))]


class _ImageView(pg.GraphicsView):
    """A ViewBox that keeps the image's aspect; double-click resets zoom and pan."""

    def __init__(self, panel: "ViewPanel"):
        super().__init__()
        self._panel = panel
        self.setBackground(QColor(25, 26, 30))

    def mouseDoubleClickEvent(self, event):  # noqa: N802 (Qt naming)
        self._panel.reset_zoom()
        event.accept()


class ViewPanel(QWidget):
    """Display of one view; :class:`ViewGrid` feeds it."""

    def __init__(self, index: int, name: str, size: tuple[int, int], kind: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.index = index
        self.name = name
        self.image_size = (int(size[0]), int(size[1]))
        colour = QColor(*view_colour(index))
        self.title = QLabel(f"<b style='color:{colour.name()}'>■</b> <b>{name}</b> &nbsp; {size[0]}×{size[1]}"
                            f" &nbsp; <span style='color:gray'>{kind}</span>")
        self.title.setObjectName(f"view-title-{name}")
        self.info = QLabel("")
        self.info.setStyleSheet("color: gray")
        header = QWidget()
        row = QHBoxLayout(header)
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(self.title)
        row.addStretch(1)
        row.addWidget(self.info)

        self.view = _ImageView(self)
        self.box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setCentralItem(self.box)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image_item)
        self.skeleton_item = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(QColor(*view_colour(index)).lighter(140), width=2))
        self.joints_item = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w", width=1), brush=pg.mkBrush(*view_colour(index)),
                                              symbol="d")
        self.keypoints_item = pg.ScatterPlotItem(size=9, pxMode=True)
        for item in (self.skeleton_item, self.joints_item, self.keypoints_item):
            self.box.addItem(item)
        self.skeleton_item.setZValue(10)
        self.joints_item.setZValue(11)
        self.keypoints_item.setZValue(12)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(1)
        layout.addWidget(header)
        layout.addWidget(self.view, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.set_image(None, 1.0)
        self.reset_zoom()

    # ---------------------------------------------------------------- content

    def reset_zoom(self) -> None:
        width, height = self.image_size
        self.box.setRange(QRectF(0, 0, width, height), padding=0.01)

    def set_image(self, image: np.ndarray | None, scale: float) -> None:
        """``image`` at display resolution; ``scale`` maps it back onto source pixels so keypoints
        (in source pixels) stay aligned."""
        width, height = self.image_size
        if image is None:
            image = np.full((max(1, height // 8), max(1, width // 8), 3), 38, np.uint8)
        # levels=None: uint8 RGB goes to a QImage as it is (no per-pixel level scaling).
        self.image_item.setImage(image, autoLevels=False, levels=None)
        self.image_item.setRect(QRectF(0, 0, width, height))

    def set_keypoints(self, keypoints: np.ndarray | None, threshold: float) -> None:
        """(17, 3) detections: filled and coloured by confidence above ``threshold`` (lambda),
        hollow grey at or below it (ignored by the fit)."""
        if keypoints is None:
            self.keypoints_item.setData([])
            return
        seen = ~((keypoints[:, 2] <= 0.0) & (keypoints[:, 0] == 0.0) & (keypoints[:, 1] == 0.0))  # missed: nowhere
        kp = keypoints[seen]
        kept = kp[:, 2] > threshold
        # Arrays and shared brush/pen objects: building per-spot dicts costs ~1 ms a point.
        brushes = [_confidence_brush(c) if k else _HOLLOW_BRUSH for c, k in zip(kp[:, 2], kept)]
        pens = [_DARK_PEN if k else _FILTERED_PEN for k in kept]
        sizes = np.where(kept, 8.0, 9.0)
        self.keypoints_item.setData(x=kp[:, 0], y=kp[:, 1], brush=brushes, pen=pens, size=sizes, symbol="o")

    def set_skeleton(self, uv: np.ndarray | None) -> None:
        """(17, 2) reprojected IEV keypoints, source pixels; None hides them."""
        if uv is None:
            self.skeleton_item.setData([], [])
            self.joints_item.setData([])
            return
        edges = np.asarray(COCO17_EDGES).reshape(-1)
        self.skeleton_item.setData(uv[edges, 0], uv[edges, 1])
        self.joints_item.setData(uv[:, 0], uv[:, 1])

    def set_info(self, text: str) -> None:
        self.info.setText(text)
