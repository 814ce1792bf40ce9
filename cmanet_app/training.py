"""A training run driven from the GUI: ``python -m core.cli train`` in a background QProcess (so a
crash or a long run never touches the app), its output, and its metrics file
(:mod:`core.train.metrics_log`) read incrementally while it grows (one JSON object per line; a
half-written last line waits for the next poll), with readable names and units for the curves.

The command-line contract (``cmanet train --help``)::

    cmanet train --stage 1|2|both --config tiny|cpu|paper|FILE.yaml --data SEQ [SEQ ...] --out RUN
                 [--device auto|cpu|cuda] [--resume]

and the run folder holds ``metrics.jsonl`` (records with ``kind`` train/val, ``step``, ``stage``
and loss terms or validation metrics), ``last.pt`` and ``best.pt``.
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from core.train.metrics_log import METRICS_FILE, MetricsReader

log = logging.getLogger(__name__)

CHECKPOINT_NAMES = ("best.pt", "last.pt")
POLL_MS = 500
NOT_PLOTTED = {"kind", "step", "epoch", "stage", "best", "seconds", "lr"}
# Training curves: the total loss and the paper's two terms (L = alpha L2D + gamma LSMPL), plus any
# other "*loss*" a trainer logs; the rest (gradient norms, label coverage...) stays in the file.
TRAIN_CURVES = ("loss", "l2d", "lsmpl")


def cli_prefix() -> list[str]:
    """How to call the command line: the same interpreter as the app (its venv)."""
    return [sys.executable, "-m", "core.cli"]


@dataclass
class TrainOptions:
    sequences: list[Path]
    config: str  # tiny / cpu / paper, or a YAML path
    stage: str = "both"  # 1, 2, both
    device: str = "auto"
    out: Path = Path("run")
    epochs: int | None = None  # None: the config's

    def arguments(self, resume: bool = False) -> list[str]:
        """Arguments after ``cmanet``. A resumed run keeps its own config (the CLI's rule)."""
        args = ["train", "--stage", self.stage, "--data", *map(str, self.sequences), "--out", str(self.out),
                "--device", self.device, "--no-progress"]
        if self.epochs is not None and not resume:
            args += ["--epochs", str(self.epochs)]
        return args + (["--resume"] if resume else ["--config", self.config])


# Readable names of the logged terms (L = alpha L2D + gamma LSMPL, per stage and module).
TERM_WORDS = {"loss": "total loss", "l2d": "2D point loss (L2D)", "lsmpl": "pseudo-label loss (LSMPL)",
              "reproj_px": "distance to the detected points", "intermediate": "intermediate steps' loss"}
MODULE_WORDS = {"irv": "per-view (IRV)", "iev": "fused (IEV)"}


def curve_unit(name: str) -> str:
    """Which plot a curve belongs on: "px" (pixels), "gt" (against ground truth: mm and degrees)
    or "loss" (no unit) -- never pixels and loss values on one axis."""
    if name.startswith("val_gt_"):
        return "gt"
    return "px" if name.endswith("_px") else "loss"


def curve_label(name: str) -> str:
    """``val_iev_reproj_px`` -> ``fused (IEV) distance to the detected points, px``."""
    rest = name[len("val_"):] if name.startswith("val_") else name
    if rest.startswith("gt_"):
        return "vs ground truth: " + rest[len("gt_"):].replace("_", " ")
    module, _, term = rest.partition("_")
    if module in MODULE_WORDS and term:
        label = f"{MODULE_WORDS[module]} {TERM_WORDS.get(term, term.replace('_', ' '))}"
    else:
        label = TERM_WORDS.get(rest, rest.replace("_", " "))
    return label + (", px" if name.endswith("_px") else "")


@dataclass
class MetricSeries:
    """Curves by name: name -> (steps, values)."""

    train: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    val: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    records: int = 0

    def add(self, record: dict, index: int) -> None:
        self.records += 1
        step = record.get("step", index)
        target = self.val if record.get("kind") == "val" else self.train
        for key, value in record.items():
            if key in NOT_PLOTTED or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if not math.isfinite(float(value)):
                continue
            if target is self.train and key not in TRAIN_CURVES and "loss" not in key:
                continue
            xs, ys = target.setdefault(key, ([], []))
            xs.append(float(step))
            ys.append(float(value))


class TrainingRun(QObject):
    """One ``cmanet train`` process and its metrics. Signals arrive on the GUI thread."""

    # ``train --help`` answers per command prefix, for the process's life: the probe imports the
    # whole CLI (a second or two of CPU), so every window after the first knows at once.
    _probe_cache: dict[tuple[str, ...], tuple[bool, str]] = {}

    started = Signal()
    output = Signal(str)  # stdout/stderr text as it comes
    metrics = Signal(list)  # new records
    reset_metrics = Signal()
    finished = Signal(int, str)  # exit code, "finished" / "stopped" / "crashed" / "failed to start"
    availability = Signal(bool, str)  # whether ``cmanet train`` exists, and why not

    def __init__(self, parent: QObject | None = None, prefix: list[str] | None = None):
        super().__init__(parent)
        self.prefix = prefix or cli_prefix()
        self.process: QProcess | None = None
        self.options: TrainOptions | None = None
        self.reader: MetricsReader | None = None
        self.available: bool | None = None
        self.unavailable_reason = ""
        self._stopping = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._probe: QProcess | None = None

    # ---------------------------------------------------------------- is `cmanet train` there?

    def check_available(self) -> None:
        """Run ``train --help`` in the background; emits :attr:`availability`."""
        cached = self._probe_cache.get(tuple(self.prefix))
        if cached is not None:
            self.available, self.unavailable_reason = cached
            QTimer.singleShot(0, lambda: self.availability.emit(*cached))
            return
        probe = QProcess(self)
        probe.setProgram(self.prefix[0])
        probe.setArguments(self.prefix[1:] + ["train", "--help"])
        probe.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        probe.finished.connect(lambda code, status: self._probed(probe, code, status))
        probe.errorOccurred.connect(lambda err: self._probed(probe, -1, None) if err == QProcess.ProcessError.FailedToStart else None)
        self._probe = probe
        probe.start()

    def _probed(self, probe: QProcess, code: int, status) -> None:
        if self._probe is not probe:
            return  # shut down meanwhile
        text = bytes(probe.readAll()).decode(errors="replace")
        ok = code == 0 and "--data" in text
        lines = [l for l in text.strip().splitlines() if l.strip()]
        self.available = ok
        self.unavailable_reason = "" if ok else (
            "'cmanet train' is not available in this version yet"
            + (f" ({' '.join(self.prefix[1:])} train --help: {lines[-1].strip()})" if lines else ""))
        self._probe_cache[tuple(self.prefix)] = (ok, self.unavailable_reason)
        self.availability.emit(ok, self.unavailable_reason)
        probe.deleteLater()
        self._probe = None

    def shutdown(self) -> None:
        """Stop the availability probe (the window is closing). A training run is not touched
        here: the window asks the user first (see TrainingPanel.confirm_close)."""
        probe, self._probe = self._probe, None
        if probe is not None and probe.state() != QProcess.ProcessState.NotRunning:
            probe.kill()
            probe.waitForFinished(2000)
        self._timer.stop()

    # ---------------------------------------------------------------- running

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, options: TrainOptions, resume: bool = False) -> None:
        if self.running:
            raise RuntimeError("a training run is already in progress")
        self.options = options
        Path(options.out).mkdir(parents=True, exist_ok=True)
        self.reader = MetricsReader(Path(options.out) / METRICS_FILE)
        self.reset_metrics.emit()
        proc = QProcess(self)
        proc.setProgram(self.prefix[0])
        proc.setArguments(self.prefix[1:] + options.arguments(resume))
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")  # live log lines
        proc.setProcessEnvironment(env)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.readyReadStandardOutput.connect(lambda: self.output.emit(bytes(proc.readAllStandardOutput()).decode(errors="replace")))
        proc.finished.connect(lambda code, status: self._finished(proc, code, status))
        proc.errorOccurred.connect(lambda err: self._error(proc, err))
        self.process = proc
        self._stopping = False
        self.output.emit(f"$ cmanet {' '.join(options.arguments(resume))}\n")
        proc.start()
        self._timer.start()
        self.started.emit()

    def stop(self, wait_ms: int = 0) -> None:
        """Ask the run to stop (SIGTERM; the trainer keeps last.pt, so it can be resumed); kill it
        if it has not ended after 15 s (a step with a teacher refresh takes seconds on a CPU)."""
        if not self.running:
            return
        self._stopping = True
        self.process.terminate()
        proc = self.process
        # The timer belongs to the process object, so it cannot fire after the process is gone.
        killer = QTimer(proc)
        killer.setSingleShot(True)
        killer.timeout.connect(proc.kill)
        killer.start(15000)
        if wait_ms:
            if not proc.waitForFinished(wait_ms):
                proc.kill()
                proc.waitForFinished(2000)

    def poll(self) -> None:
        if self.reader is None:
            return
        records = self.reader.poll()
        if records:
            self.metrics.emit(records)

    def _finished(self, proc: QProcess, code: int, status) -> None:
        if proc is not self.process:
            return
        self._timer.stop()
        self.output.emit(bytes(proc.readAllStandardOutput()).decode(errors="replace"))
        self.poll()
        if self._stopping:
            outcome = "stopped"
        elif status == QProcess.ExitStatus.CrashExit:
            outcome = "crashed"
        else:
            outcome = "finished" if code == 0 else "failed"
        self.finished.emit(code, outcome)

    def _error(self, proc: QProcess, error) -> None:
        if error == QProcess.ProcessError.FailedToStart and proc is self.process:
            self._timer.stop()
            self.finished.emit(-1, "failed to start")

    def checkpoint(self) -> Path | None:
        """The run's model to fit with: best.pt, else last.pt."""
        if self.options is None:
            return None
        for name in CHECKPOINT_NAMES:
            path = Path(self.options.out) / name
            if path.is_file():
                return path
        return None
