"""The app's model: what is open and how it is shown. Data and signals only, no engine logic --
actions live in :mod:`cmanet_app.controller`, which calls :mod:`core` and then sets this state.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.fit.capture import image_keypoints
from core.fit.sequence import camera_intrinsics
from core.io.results import FitResult
from core.io.runs import Run
from core.io.sequence import MultiViewSequence
from core.train.adapt import ADAPT_BY_DEFAULT, DEFAULT_BUDGET_S

GT_FILE = "gt.npz"
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class SequenceInfo:
    """What the GUI needs to know about an open sequence (a snapshot: the MultiViewSequence itself
    is not thread-safe, so every worker opens its own from ``root``)."""

    root: Path
    view_names: tuple[str, ...]
    image_sizes: np.ndarray  # (V, 2) width, height
    view_kinds: tuple[str, ...]  # video / images / keypoints
    num_frames: int
    fps: float
    frame_indices: np.ndarray
    has_images: bool
    focal: np.ndarray  # (V,) px: given in sequence.yaml, else the default guess (before fitting)
    principal: np.ndarray  # (V, 2) px
    gt_path: Path | None
    time_offsets: np.ndarray | None = None  # (V,) known offsets, each view's own frames (sequence.yaml)
    view_fps: np.ndarray | None = None  # (V,)

    @property
    def times(self) -> np.ndarray:
        """(F,) seconds of the frames on the first view's clock."""
        return np.asarray(self.frame_indices, dtype=np.float64) / self.fps

    @property
    def num_views(self) -> int:
        return len(self.view_names)

    @classmethod
    def from_sequence(cls, seq: MultiViewSequence) -> SequenceInfo:
        focal, principal = camera_intrinsics(
            seq.image_sizes, [c.focal_px for c in seq.cameras], [c.principal_point for c in seq.cameras])
        gt = seq.root / GT_FILE
        return cls(
            root=seq.root, view_names=tuple(seq.view_names), image_sizes=np.asarray(seq.image_sizes),
            view_kinds=tuple(seq.view_kinds), num_frames=seq.num_frames, fps=seq.fps,
            frame_indices=np.asarray(seq.frame_indices), has_images=seq.has_images,
            focal=focal, principal=principal, gt_path=gt if gt.is_file() else None,
            time_offsets=seq.time_offsets, view_fps=seq.view_fps,
        )


@dataclass(frozen=True)
class Overlays:
    """What is drawn over each view and in the 3D panel."""

    image: bool = True  # the frame itself (off: a blank canvas, to see overlays clearly)
    keypoints: bool = True  # detected 2D keypoints, coloured by confidence
    irv_mesh: bool = False  # this view's own IRV body
    iev_mesh: bool = True  # the fused IEV body projected into the view
    iev_skeleton: bool = True  # reprojected IEV keypoints and bones
    ghosts_3d: bool = False  # 3D panel: every view's IRV body, ghosted

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]


OVERLAY_LABELS = {
    "image": "Frame image",
    "keypoints": "Detected keypoints",
    "irv_mesh": "Per-view fit (IRV) mesh",
    "iev_mesh": "Fused fit (IEV) mesh",
    "iev_skeleton": "Fused fit (IEV) skeleton",
    "ghosts_3d": "Per-view fits (IRV) in 3D",
}
OVERLAY_TIPS = {
    "image": "Show the camera's picture (off: a plain background, to see the overlays clearly)",
    "keypoints": "The 2D body points the detector found, coloured by its confidence; hollow grey ones are below "
                 "the confidence threshold and not used",
    "irv_mesh": "Per-view fit (IRV): the body fitted to this camera alone, drawn with this camera as that fit "
                "estimated it",
    "iev_mesh": "Fused fit (IEV): the one body that explains every camera at once, drawn through this camera",
    "iev_skeleton": "The fused body's joints and bones drawn through this camera",
    "ghosts_3d": "In the 3D panel: each camera's own per-view (IRV) body, see-through, in that camera's colour",
}


class AppState(QObject):
    """The open sequence, its result and how they are shown. Setters emit the matching signal."""

    sequence_changed = Signal()
    result_changed = Signal()
    keypoints_changed = Signal()
    frame_changed = Signal(int)
    overlays_changed = Signal()
    threshold_changed = Signal(float)
    eval_changed = Signal()
    busy_changed = Signal(str)  # name of the running exclusive job, "" when idle
    run_options_changed = Signal()
    runs_changed = Signal()  # the list of runs, the shown run or the compared run
    notices_changed = Signal()
    time_offsets_changed = Signal()
    person_changed = Signal(int)  # the person shown of a several-people result

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.sequence: SequenceInfo | None = None
        # The result as loaded (every fitted person) and the person shown; ``result`` is that person's
        # alone (FitResult.person), what every view and the 3D panel draw.
        self.fitted: FitResult | None = None
        self.person = 0
        self.result: FitResult | None = None
        self.result_dir: Path | None = None  # the shown run's folder
        self.area: Path | None = None  # the sequence's result area: where its runs are kept and new ones go
        self.runs: list[Run] = []
        self.run: Run | None = None  # the shown run
        self.compare_run: Run | None = None  # a second run, beside the shown one in the comparison
        self.compare_result: FitResult | None = None
        # What a person should know about the open sequence and result (opening's warnings, a
        # format-1 result...): (title, details) pairs, shown in the window's notice bar.
        self.notices: list[tuple[str, str]] = []
        self.keypoints: np.ndarray | None = None  # (F, V, 17, 3) detections shown before a fit
        self.frame = 0
        self.overlays = Overlays()
        self.threshold = 0.3  # confidence threshold: detections at or below it are not used (drawn hollow)
        self.device = "auto"
        self.mode = "optimize"
        self.checkpoint = ""
        self.body_height = 0.0  # metres; 0 = the fit config's standing-height prior
        self.fit_config_path = ""  # "" = the shipped resources/configs/fit.yaml
        # Imports for the open sequence (File > Import): another detector's keypoints (an OpenPose
        # folder or COCO file, and its layout), and a known calibration; "" = none.
        self.keypoints_path = ""
        self.keypoint_format = ""
        self.calibration_path = ""
        self.eval_report: dict | None = None
        self.eval_table = ""
        self.busy = ""
        self.time_offsets: dict[str, float] = {}  # view name -> offset set by hand (kept by the next fit)
        self.sync = False  # estimate the other views' offsets when fitting (cmanet fit --sync)
        # Adapt the network to the footage before a network-mode fit (cmanet fit --adapt --adapt-budget).
        self.adapt = ADAPT_BY_DEFAULT
        self.adapt_budget = DEFAULT_BUDGET_S  # seconds
        self.people: int | None = 1  # people to fit: 1 the main person, None all (cmanet fit --people)

    # ---------------------------------------------------------------- sequence and result

    def set_sequence(self, info: SequenceInfo | None, area: Path | None = None) -> None:
        self.sequence = info
        self.keypoints_path = self.keypoint_format = self.calibration_path = ""
        self.area = area
        self.result_dir = area
        self.fitted, self.result, self.person = None, None, 0
        self.runs, self.run = [], None
        self.compare_run, self.compare_result = None, None
        self.notices = []
        self.keypoints = None
        self.eval_report = None
        self.eval_table = ""
        self.frame = 0
        self.time_offsets = {}
        self.sequence_changed.emit()
        self.result_changed.emit()
        self.keypoints_changed.emit()
        self.eval_changed.emit()
        self.frame_changed.emit(0)

    def set_runs(self, runs: list[Run]) -> None:
        self.runs = list(runs)
        if self.compare_run is not None and self.compare_run not in self.runs:
            self.compare_run, self.compare_result = None, None
        self.runs_changed.emit()

    def set_compare(self, run: Run | None, result: FitResult | None) -> None:
        self.compare_run, self.compare_result = run, result
        self.runs_changed.emit()

    def set_notices(self, notices: list[tuple[str, str]]) -> None:
        self.notices = list(notices)
        self.notices_changed.emit()

    def add_notice(self, title: str, details: str = "") -> None:
        if (title, details) not in self.notices:
            self.set_notices(self.notices + [(title, details)])

    def set_result(self, result: FitResult | None, result_dir: Path | None = None, run: Run | None = None) -> None:
        """Show ``result`` (every fitted person in it), its main person first."""
        self.fitted, self.person = result, 0
        self.result = result if result is None or result.num_people == 1 else result.person(0)
        if result_dir is not None:
            self.result_dir = result_dir
        if run is not None or result is None:
            self.run = run
        if self.compare_run is not None and self.compare_run == self.run:
            self.compare_run, self.compare_result = None, None
        self.eval_report = None
        self.eval_table = ""
        if result is not None:
            self.keypoints = image_keypoints(self.result)
            self.keypoints_changed.emit()
        self.result_changed.emit()
        self.eval_changed.emit()
        self.runs_changed.emit()
        self.person_changed.emit(0)

    @property
    def num_people(self) -> int:
        """People in the shown result (0 without one)."""
        return 0 if self.fitted is None else self.fitted.num_people

    def set_person(self, index: int) -> None:
        """Show fitted person ``index`` (0: the main person): the views' detections and overlays and
        the 3D panel follow; the evaluation, which is the main person's, stays."""
        if self.fitted is None or index == self.person:
            return
        if not 0 <= index < self.fitted.num_people:
            raise IndexError(f"person {index} out of range [0, {self.fitted.num_people})")
        self.person = int(index)
        self.result = self.fitted.person(self.person)
        self.keypoints = image_keypoints(self.result)
        self.keypoints_changed.emit()
        self.result_changed.emit()
        self.person_changed.emit(self.person)

    def set_keypoints(self, keypoints: np.ndarray | None) -> None:
        self.keypoints = keypoints
        self.keypoints_changed.emit()

    def add_detected_image(self, item: tuple[int, int, np.ndarray]) -> None:
        """One image's keypoints (frame, view, (17, 3)) while detection runs: kept with the others
        found so far, and shown at once when it is the frame on screen."""
        i, v, keypoints = item
        if self.sequence is None or not 0 <= i < self.num_frames:
            return
        shape = (self.num_frames, self.sequence.num_views, 17, 3)
        if self.keypoints is None or self.keypoints.shape != shape:
            self.keypoints = np.zeros(shape, np.float32)
        self.keypoints[i, v] = keypoints
        if i == self.frame:
            self.keypoints_changed.emit()

    def set_eval(self, report: dict | None, table: str = "") -> None:
        self.eval_report = report
        self.eval_table = table
        self.eval_changed.emit()

    # ---------------------------------------------------------------- time

    @property
    def num_frames(self) -> int:
        return self.sequence.num_frames if self.sequence is not None else 0

    def set_frame(self, frame: int) -> None:
        if self.num_frames == 0:
            return
        frame = int(np.clip(frame, 0, self.num_frames - 1))
        if frame != self.frame:
            self.frame = frame
            self.frame_changed.emit(frame)

    # ---------------------------------------------------------------- display and run options

    def set_overlay(self, name: str, on: bool) -> None:
        if getattr(self.overlays, name) != bool(on):
            self.overlays = dataclasses.replace(self.overlays, **{name: bool(on)})
            self.overlays_changed.emit()

    def set_overlays(self, overlays: Overlays) -> None:
        if overlays != self.overlays:
            self.overlays = overlays
            self.overlays_changed.emit()

    def set_threshold(self, value: float) -> None:
        value = float(np.clip(value, 0.0, 0.99))
        if value != self.threshold:
            self.threshold = value
            self.threshold_changed.emit(value)

    def set_run_options(self, **options) -> None:
        """device, mode, checkpoint, body_height, fit_config_path, keypoints_path, keypoint_format,
        calibration_path, adapt, adapt_budget, people."""
        changed = False
        for key, value in options.items():
            if key not in ("device", "mode", "checkpoint", "body_height", "fit_config_path", "keypoints_path",
                           "keypoint_format", "calibration_path", "adapt", "adapt_budget", "people"):
                raise KeyError(key)
            if getattr(self, key) != value:
                setattr(self, key, value)
                changed = True
        if changed:
            self.run_options_changed.emit()

    def set_time_offset(self, view: str, frames: float | None) -> None:
        """Set one view's offset by hand (None: forget it, back to the result's or the sequence's)."""
        if frames is None:
            changed = self.time_offsets.pop(view, None) is not None
        else:
            changed = self.time_offsets.get(view) != float(frames)
            self.time_offsets[view] = float(frames)
        if changed:
            self.time_offsets_changed.emit()

    def set_sync(self, on: bool) -> None:
        if bool(on) != self.sync:
            self.sync = bool(on)
            self.run_options_changed.emit()

    def view_time_offsets(self) -> np.ndarray | None:
        """(V,) each view's offset as shown: set by hand, else the result's (known or estimated),
        else the sequence's; None without a sequence."""
        info = self.sequence
        if info is None:
            return None
        offsets = np.zeros(info.num_views) if info.time_offsets is None else np.array(info.time_offsets, dtype=float)
        if self.result is not None and self.result.num_views == info.num_views:
            offsets = np.array(self.result.view_time_offsets, dtype=float)
        for v, name in enumerate(info.view_names):
            if name in self.time_offsets:
                offsets[v] = self.time_offsets[name]
        return offsets

    def shown_time_offsets(self) -> tuple[float, ...] | None:
        """The offsets the views' images are read at (None: the sequence's own timeline)."""
        offsets = self.view_time_offsets()
        if offsets is None or (self.result is None and not self.time_offsets):
            return None
        return tuple(float(o) for o in offsets)

    def set_busy(self, name: str) -> None:
        if name != self.busy:
            self.busy = name
            self.busy_changed.emit(name)

    # ---------------------------------------------------------------- derived

    def shown_keypoints(self, frame: int | None = None) -> np.ndarray | None:
        """(V, 17, 3) detections of a frame, or None."""
        if self.keypoints is None:
            return None
        frame = self.frame if frame is None else frame
        if not 0 <= frame < self.keypoints.shape[0]:
            return None
        return self.keypoints[frame]
