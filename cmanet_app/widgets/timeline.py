"""Scrubbing time: a slider over the frames, play/pause at the sequence's fps, single steps, and the
frame's time in seconds on the first camera's clock and its number. Keyboard shortcuts (space,
left/right, home/end) are the main window's actions, which call :meth:`toggle_play`, :meth:`step`
and :meth:`go_to`."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from cmanet_app.state import AppState


class Timeline(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        style = self.style()
        self.play_button = QToolButton()
        self.play_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.first_button = self._button(QStyle.StandardPixmap.SP_MediaSkipBackward, "First frame (Home)", lambda: self.go_to(0))
        self.prev_button = self._button(QStyle.StandardPixmap.SP_MediaSeekBackward, "Previous frame (Left)", lambda: self.step(-1))
        self.next_button = self._button(QStyle.StandardPixmap.SP_MediaSeekForward, "Next frame (Right)", lambda: self.step(1))
        self.last_button = self._button(QStyle.StandardPixmap.SP_MediaSkipForward, "Last frame (End)", lambda: self.go_to(-1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("timeline-slider")
        self.slider.valueChanged.connect(self.state.set_frame)
        self.label = QLabel("no sequence")
        self.label.setMinimumWidth(190)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for w in (self.first_button, self.prev_button, self.play_button, self.next_button, self.last_button):
            layout.addWidget(w)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        state.sequence_changed.connect(self._sequence_changed)
        state.frame_changed.connect(self._frame_changed)
        self._sequence_changed()

    def _button(self, icon, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setIcon(self.style().standardIcon(icon))
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # ---------------------------------------------------------------- actions

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def toggle_play(self) -> None:
        self.set_playing(not self.playing)

    def set_playing(self, on: bool) -> None:
        info = self.state.sequence
        if on and (info is None or info.num_frames < 2):
            on = False
        if on:
            self.timer.start(max(1, round(1000.0 / max(info.fps, 1e-3))))
        else:
            self.timer.stop()
        icon = QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def step(self, delta: int) -> None:
        self.set_playing(False)
        self.state.set_frame(self.state.frame + delta)

    def go_to(self, frame: int) -> None:
        """Frame index; negative counts from the end."""
        self.set_playing(False)
        if self.state.num_frames:
            self.state.set_frame(frame % self.state.num_frames)

    def _tick(self) -> None:
        frames = self.state.num_frames
        if frames:
            self.state.set_frame((self.state.frame + 1) % frames)  # loop, like a video player

    # ---------------------------------------------------------------- state -> display

    def _sequence_changed(self) -> None:
        self.set_playing(False)
        frames = self.state.num_frames
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, frames - 1))
        self.slider.setValue(self.state.frame)
        self.slider.blockSignals(False)
        self.setEnabled(frames > 0)
        self._frame_changed(self.state.frame)

    def _frame_changed(self, frame: int) -> None:
        info = self.state.sequence
        if info is None:
            self.label.setText("no sequence")
            return
        if self.slider.value() != frame:
            self.slider.blockSignals(True)
            self.slider.setValue(frame)
            self.slider.blockSignals(False)
        source = int(info.frame_indices[frame]) if frame < len(info.frame_indices) else frame
        # Time on the first camera's clock: the other cameras are placed on it by their offsets and rates.
        seconds = float(info.times[frame]) if frame < len(info.frame_indices) else frame / info.fps
        self.label.setText(f"{seconds:.3f} s  frame {frame + 1}/{info.num_frames}  (#{source} @ {info.fps:g} fps)")
