"""The user's actions: open, detect, fit, evaluate, export. Each runs :mod:`cmanet_app.jobs` (the
``core`` calls of the matching ``cmanet`` command) on a worker thread and, when it ends, updates
:class:`AppState` or reports the error. Widgets call these methods and never do the work themselves.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from cmanet_app import jobs
from cmanet_app.errors import ErrorReporter
from cmanet_app.paths import default_result_dir, sequence_key
from cmanet_app.settings import AppSettings
from cmanet_app.state import AppState, SequenceInfo
from cmanet_app.tasks import Task, TaskRunner
from core.errors import InputError
from core.fit.config import load_fit_config
from core.fit.modes import resolve_mode
from core.io.runs import Run, list_runs, much_worse_than, read_run
from core.nets.checkpoint import installed_model

log = logging.getLogger(__name__)


class Controller(QObject):
    """Runs one exclusive job at a time (open, detect, fit, demo) plus light side jobs (evaluate,
    export), and keeps the state and the settings in step."""

    job_started = Signal(str)  # job name
    job_progress = Signal(str, str, int, int)  # job name, stage, done, total
    job_finished = Signal(str, str)  # job name, outcome: succeeded / failed / cancelled
    recent_changed = Signal()

    def __init__(self, state: AppState, settings: AppSettings, reporter: ErrorReporter, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.settings = settings
        self.reporter = reporter
        self.runner = TaskRunner(max_threads=2, parent=self)
        self.current: Task | None = None  # the exclusive job
        self.side_tasks: list[Task] = []
        # Extra FitConfig fields (tests use fewer iterations; the UI sets threshold and device).
        self.fit_overrides: dict[str, Any] = {}
        # Asked before opening a folder that does not look like a multi-view recording:
        # ``ask(opened, answer)`` calls ``answer(True)`` to go on. None: open without asking.
        self.ask_before_opening: Callable[[jobs.OpenedSequence, Callable[[bool], None]], None] | None = None
        self.state.result_changed.connect(self._evaluate_if_possible)

    # ---------------------------------------------------------------- plumbing

    @property
    def busy(self) -> bool:
        """True from a job's start until its end was handled on the GUI thread (its result is in
        the state by then)."""
        return self.current is not None

    def _start(self, name: str, fn, on_success, exclusive: bool = True, title: str | None = None) -> Task | None:
        if exclusive and self.busy:
            self.reporter.warning("Busy", f"Wait for '{self.current.name}' to finish (or cancel it) first.")
            return None
        task = self.runner.start(name, fn)
        title = title or f"{name.capitalize()} failed"
        task.progress.connect(lambda stage, done, total: self.job_progress.emit(name, stage, done, total))
        task.succeeded.connect(on_success)
        task.failed.connect(lambda exc: self.reporter.exception(title, exc, task.traceback))
        task.cancelled.connect(lambda msg: self.state.set_busy("") if exclusive else None)
        task.finished.connect(lambda: self._finished(task, exclusive))
        if exclusive:
            self.current = task
            self.state.set_busy(name)
        else:
            self.side_tasks.append(task)
        self.job_started.emit(name)
        return task

    def _finished(self, task: Task, exclusive: bool) -> None:
        if task.warnings and task.state == "succeeded":
            self.reporter.warning(f"{task.name.capitalize()}: please note", "\n".join(task.warnings))
        if exclusive and self.current is task:
            self.current = None
            self.state.set_busy("")
        if task in self.side_tasks:
            self.side_tasks.remove(task)
        self.job_finished.emit(task.name, task.state)

    def cancel(self) -> None:
        """Cancel the running exclusive job (it stops at its next progress check)."""
        if self.current is not None:
            self.current.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        self.runner.cancel_all()
        self.runner.wait(timeout_ms)

    # ---------------------------------------------------------------- opening

    def result_dir_for(self, seq_root: Path) -> Path:
        """The sequence's result area: the one chosen for it (``--result``), else the default."""
        chosen = self.settings.result_folder_for(sequence_key(seq_root))
        return Path(chosen) if chosen else default_result_dir(seq_root)

    def open_sequence(self, path: str | Path, result_dir: str | Path | None = None) -> Task | None:
        """Open a sequence folder; its runs (earlier fits) appear with it. ``result_dir``: its result
        area (remembered), where runs are kept -- a ``cmanet fit --out`` folder is one too."""
        path = Path(path).expanduser()
        chosen = Path(result_dir) if result_dir else None
        # Settings are read here, on the GUI thread (QSettings is not for sharing across threads).
        key = sequence_key(path) if path.is_dir() else ""
        folder = chosen or (self.result_dir_for(path.resolve()) if path.is_dir() else None)
        added = [Path(p) for p in self.settings.run_folders_for(key)] if key else []
        shown = self.settings.shown_run_for(key) if key else ""

        def work(job):
            return jobs.open_sequence(path, folder, added, shown)

        def done(opened: jobs.OpenedSequence):
            def go_on(accepted: bool) -> None:
                if not accepted:
                    self.reporter.info("Not opened", f"{opened.info.root} was not opened.")
                    return
                self._set_opened(opened)
                if chosen is not None:
                    self.settings.set_result_folder_for(sequence_key(opened.info.root), chosen)

            if opened.doubts and self.ask_before_opening is not None:
                self.ask_before_opening(opened, go_on)
            else:
                go_on(True)

        return self._start("open", work, done, title="Cannot open the sequence")

    def _set_opened(self, opened: jobs.OpenedSequence) -> None:
        self.state.set_sequence(opened.info, opened.area)
        self.state.set_runs(opened.runs)
        if opened.keypoints is not None:
            self.state.set_keypoints(opened.keypoints)
        if opened.result is not None:
            self.state.set_result(opened.result, opened.result_dir, opened.run)
        notices = [(w, "") for w in opened.doubts] + [(w, "") for w in opened.warnings]
        if opened.notes:
            notices.append((f"{len(opened.notes)} earlier result(s) not used", "\n".join(opened.notes)))
        self.state.set_notices(notices)
        root = str(opened.info.root)
        self.settings.last_folder = str(opened.info.root.parent)
        self.settings.add_recent(root)
        self.recent_changed.emit()

    def open_demo(self) -> Task | None:
        """Open the demo recording (the walking trial in resources/demo; fitted on first start)."""
        from cmanet_app import demo

        config = self.fit_config() if self.fit_overrides else None

        def work(job):
            seq, area = demo.build_demo(job, config)
            return jobs.open_sequence(seq, area)

        return self._start("demo", work, self._set_opened, title="Cannot prepare the demo")

    # ---------------------------------------------------------------- runs

    def refresh_runs(self) -> None:
        """List the sequence's runs again (its area and the added folders)."""
        info, area = self.state.sequence, self.state.area
        if info is None or area is None:
            return
        added = [Path(p) for p in self.settings.run_folders_for(sequence_key(info.root))]
        runs = [r for r in list_runs(area, [p for p in added if p.is_dir()]) if not jobs.summary_matches(r, info)]
        self.state.set_runs(runs)

    def show_run(self, run: Run) -> Task | None:
        """Show ``run`` (its result loads in the background); remembered for the sequence."""
        info = self.state.sequence
        if info is None:
            return None

        def done(result):
            if self.state.sequence is info:
                self.state.set_result(result, run.folder, run)
                self.settings.set_shown_run_for(sequence_key(info.root), run.folder)

        return self._start("show run", lambda job: jobs.load_run(run, info), done, exclusive=False,
                           title="Cannot show this run")

    def compare_with(self, run: Run | None) -> Task | None:
        """Put ``run`` beside the shown run in the comparison (None: no second run)."""
        info = self.state.sequence
        if run is None or info is None:
            self.state.set_compare(None, None)
            return None

        def done(result):
            if self.state.sequence is info:
                self.state.set_compare(run, result)

        return self._start("compare run", lambda job: jobs.load_run(run, info), done, exclusive=False,
                           title="Cannot compare with this run")

    def add_run_folder(self, folder: str | Path) -> Task | None:
        """Add a result folder (``cmanet fit SEQ --out RES``) to the sequence's runs and show it."""
        info = self.state.sequence
        if info is None:
            return None
        folder = Path(folder).expanduser()
        run = read_run(folder)
        if run is None:
            self.reporter.warning("No result there", f"{folder} holds no result.npz (a folder 'cmanet fit --out' wrote).")
            return None
        stale = jobs.summary_matches(run, info)
        if stale:
            self.reporter.warning("Not a fit of this sequence", f"{folder}: {stale}.")
            return None
        self.settings.add_run_folder_for(sequence_key(info.root), folder)
        self.refresh_runs()
        return self.show_run(run)

    # ---------------------------------------------------------------- detection and fitting

    def fit_config(self):
        overrides = {"confidence_threshold": self.state.threshold, "device": self.state.device,
                     "body_height_m": self.state.body_height or None}
        overrides.update(self.fit_overrides)
        config = load_fit_config(self.state.fit_config_path or None, **overrides)
        return dataclasses.replace(config, sync=dataclasses.replace(config.sync, enabled=self.state.sync))

    def run_options(self) -> dict:
        """The choices of a fit, as its run records them (run.json ``options``)."""
        s = self.state
        options = {"confidence_threshold": round(s.threshold, 3), "device": s.device,
                   "body_height_m": s.body_height or None, "fit_config": s.fit_config_path or "",
                   "keypoints": s.keypoints_path, "keypoint_format": s.keypoint_format, "calibration": s.calibration_path,
                   "time_offsets_frames": dict(s.time_offsets), "estimate_time_offsets": s.sync,
                   "people": "all" if s.people is None else (s.people if s.people != 1 else None)}
        if s.adapt and s.mode != "optimize":
            options["adapt_budget_s"] = s.adapt_budget
        return {k: v for k, v in options.items() if v not in ("", None, {})}

    def _require_sequence(self) -> SequenceInfo | None:
        if self.state.sequence is None:
            self.reporter.warning("No sequence", "Open a multi-view sequence folder first (File > Open).")
        return self.state.sequence

    def detect(self) -> Task | None:
        info = self._require_sequence()
        if info is None:
            return None
        out = self.state.area or self.result_dir_for(info.root)
        task = self._start("detect", lambda job: jobs.detect(info.root, out, job), self.state.set_keypoints,
                           title="Detection failed")
        if task is not None:  # each image's people shown as soon as they are found
            task.found.connect(self.state.add_detected_image)
        return task

    def fit(self) -> Task | None:
        """A new run: fit the open sequence with the run panel's choices, keep it beside the earlier
        runs and show it; warn when it explains the views much worse than the best run."""
        info = self._require_sequence()
        if info is None:
            return None
        try:
            config = self.fit_config()
            mode, checkpoint = resolve_mode(self.state.mode, self.state.checkpoint or None, installed_model())
        except InputError as exc:
            self.reporter.exception("Bad fit settings", exc)
            return None
        area = self.state.area or self.result_dir_for(info.root)
        chosen_model = self.state.checkpoint
        options = self.run_options()
        adapt_budget = self.state.adapt_budget if self.state.adapt and checkpoint is not None else None

        def done(value):
            run, result = value
            if self.state.sequence is None or self.state.sequence.root != info.root:
                return
            self.refresh_runs()
            self.state.set_result(result, run.folder, run)
            self.settings.set_shown_run_for(sequence_key(info.root), run.folder)
            adapted = jobs.adaptation_text(run.summary)
            if adapted:
                self.reporter.info("Network adapted to this footage", adapted)
            if chosen_model:
                # A model chosen for one fit does not stay for the next without the person seeing it.
                self.state.set_run_options(checkpoint="")
                self.reporter.info("Model used once", f"Run {run.name} used the model {chosen_model}. The next fit "
                                   "uses the default model again (choose it again to reuse it).")
            best = much_worse_than(run, self.state.runs)
            if best is not None:
                self.reporter.warning(
                    "This fit is much worse than an earlier one",
                    f"Run {run.name} ({run.mode}) reprojects {run.fused_px:.1f} px on average, over 1.5 times the "
                    f"{best.fused_px:.1f} px of run {best.name} ({best.mode}). Both are kept: choose the run to show "
                    "in the Runs tab.")

        imports = {"keypoints": self.state.keypoints_path or None, "keypoint_format": self.state.keypoint_format or None,
                   "calibration": self.state.calibration_path or None, "people": self.state.people}
        offsets = dict(self.state.time_offsets)
        return self._start(
            "fit", lambda job: jobs.fit_run(info.root, area, config, job, mode, checkpoint, options, offsets,
                                            adapt_budget, **imports),
            done, title="Fitting failed")

    def import_keypoints(self, path: str | Path, keypoint_format: str = "") -> Task | None:
        """File > Import keypoints: another detector's (OpenPose folder or COCO file), shown now and
        fitted instead of MediaPipe's."""
        info = self._require_sequence()
        if info is None:
            return None

        def done(keypoints):
            if self.state.sequence is not None and self.state.sequence.root == info.root:
                self.state.set_run_options(keypoints_path=str(path), keypoint_format=keypoint_format)
                self.state.set_keypoints(keypoints)

        fmt = keypoint_format or None
        return self._start("import keypoints", lambda job: jobs.imported_keypoints(info.root, Path(path), fmt), done,
                           exclusive=False, title="Importing keypoints failed")

    def import_calibration(self, path: str | Path) -> None:
        """File > Import calibration: known cameras for the next fit (read now, to report a bad file)."""
        from core.io.calibration import read_calibration

        if self._require_sequence() is None:
            return
        try:
            rig = read_calibration(Path(path))
        except InputError as exc:
            self.reporter.exception("Importing the calibration failed", exc)
            return
        self.state.set_run_options(calibration_path=str(path))
        posed = sum(c.has_extrinsics for c in rig.cameras)
        self.reporter.info("Calibration imported", f"{len(rig.cameras)} cameras ({posed} with extrinsics) from {path}: "
                           "used by the next fit.")

    # ---------------------------------------------------------------- evaluation

    def _evaluate_if_possible(self) -> None:
        info, result = self.state.sequence, self.state.fitted
        if info is None or result is None or info.gt_path is None:
            return
        if self.state.eval_report is not None:
            return  # another person of the same result shown: the (main person's) evaluation stands
        gt_path = info.gt_path

        def done(value):
            if self.state.fitted is result:
                self.state.set_eval(*value)

        self._start("evaluate", lambda job: jobs.evaluate(result, gt_path), done, exclusive=False,
                    title="Evaluation against ground truth failed")

    # ---------------------------------------------------------------- export

    def _exported_from(self) -> str:
        run = self.state.run
        source = f"run {run.name} ({run.mode})" if run is not None else str(self.state.result_dir)
        return f"{source}, person {self.state.person}" if self.state.num_people > 1 else source

    def export_result(self, dest: str | Path) -> Task | None:
        from cmanet_app import export

        if self.state.result_dir is None or self.state.result is None:
            self.reporter.warning("Nothing to export", "Fit the sequence first.")
            return None
        src, source = self.state.result_dir, self._exported_from()
        return self._start("export", lambda job: export.copy_result(src, Path(dest)),
                           lambda path: self.reporter.info("Exported", f"Wrote {path}\nfrom {source}"), exclusive=False,
                           title="Export failed")

    def export_meshes(self, folder: str | Path) -> Task | None:
        from cmanet_app import export

        result = self.state.result
        if result is None:
            self.reporter.warning("Nothing to export", "Fit the sequence first.")
            return None
        body_config, source = self.body_config(), self._exported_from()
        return self._start(
            "export meshes", lambda job: export.export_meshes(result, Path(folder), body_config, job),
            lambda paths: self.reporter.info("Exported", f"Wrote {len(paths)} OBJ files to {folder}\nfrom {source}"),
            exclusive=False, title="Mesh export failed")

    def export_formats(self, folder: str | Path, formats: tuple[str, ...] = ("bvh", "trc", "json")) -> Task | None:
        """The other ``cmanet export`` formats into ``folder``."""
        from cmanet_app import export

        result, src = self.state.result, self.state.result_dir
        if result is None or src is None:
            self.reporter.warning("Nothing to export", "Fit the sequence first.")
            return None
        body_config, source, alone = self.body_config(), self._exported_from(), self.state.num_people > 1
        return self._start(
            "export formats",
            lambda job: export.export_formats(src, result, Path(folder), formats, body_config, job, alone),
            lambda paths: self.reporter.info("Exported", f"Wrote {len(paths)} files to {folder}\nfrom {source}"),
            exclusive=False, title="Export failed")

    def body_config(self):
        """The body model settings of the fit config (where SMPL's files are)."""
        from core.body import BodyModelConfig

        try:
            return self.fit_config().body_model
        except InputError:
            return BodyModelConfig()
