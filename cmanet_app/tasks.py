"""Background jobs: run a plain function in a worker thread and hear about it through Qt signals.

A job is ``fn(progress) -> value`` with a :class:`core.progress.Progress`, the object every long
:mod:`core` function takes (reports ``progress(stage, done, total)``, hands over early pieces of
its result with ``progress.found(item)``, and raises CancelledError when ``progress.cancelled()``),
so the GUI thread only ever receives signals and is never blocked by the work itself.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from core.errors import CancelledError
from core.progress import Progress

log = logging.getLogger(__name__)

JobFn = Callable[[Progress], Any]

# Progress signals are rate-limited: a fit reports every iteration and the GUI only needs a few
# updates per second (each queued signal costs the GUI thread a little).
PROGRESS_INTERVAL_S = 0.05
# At most this many distinct warnings are kept per job (the rest are counted).
MAX_WARNINGS = 12


class _WarningCollector(logging.Handler):
    """Keeps the warnings that ``core`` logs from one thread (a job's worker): what the command
    line prints to stderr (views cut to a common part, frames without the person...), for the app
    to show."""

    def __init__(self, thread_id: int):
        super().__init__(logging.WARNING)
        self.thread_id = thread_id
        self.messages: list[str] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread_id:
            return
        message = record.getMessage()
        if message in self.messages:
            return
        if len(self.messages) < MAX_WARNINGS:
            self.messages.append(message)
        else:
            self.dropped += 1


class Task(QObject):
    """Handle of one job. Exactly one of succeeded / failed / cancelled is emitted, then finished.

    The public signals are emitted on the GUI thread (the thread that made the task): the worker
    emits private signals that reach this object's slots through explicitly queued connections.
    (Emitting the public signals from the worker would leave the connection type of plain
    Python callables to chance; such events were seen to be lost.)
    """

    progress = Signal(str, int, int)  # stage, done, total
    found = Signal(object)  # an early piece of the result (Progress.found)
    succeeded = Signal(object)  # the job's return value
    failed = Signal(object)  # the exception; its traceback text is in ``task.traceback``
    cancelled = Signal(str)  # the CancelledError message
    finished = Signal()

    _worker_progress = Signal(str, int, int)
    _worker_found = Signal(object)
    _worker_done = Signal()

    def __init__(self, name: str, fn: JobFn):
        super().__init__()
        self._worker_progress.connect(self._relay_progress, Qt.ConnectionType.QueuedConnection)
        self._worker_found.connect(self._relay_found, Qt.ConnectionType.QueuedConnection)
        self._worker_done.connect(self._relay_done, Qt.ConnectionType.QueuedConnection)
        self.name = name
        self._fn = fn
        self.job = Progress(self._report, self._worker_found.emit)
        self._done = threading.Event()  # set on the GUI thread when the outcome is delivered
        self._returned = threading.Event()  # set on the worker when the function returned
        self._last_progress = 0.0
        self._outcome = "pending"
        self.value: Any = None
        self.error: BaseException | None = None
        self.traceback = ""
        self.warnings: list[str] = []  # what core warned about while the job ran
        self.state = "pending"  # pending, running, succeeded, failed, cancelled

    def cancel(self) -> None:
        """Ask the job to stop; it does at its next check of ``progress.cancelled()``."""
        self.job.cancel()

    @property
    def cancel_requested(self) -> bool:
        return self.job.cancel_requested

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job's function returned (shutdown only: the signals need the event loop)."""
        return self._returned.wait(timeout)

    # ---------------------------------------------------------------- worker side

    def _report(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._worker_progress.emit(stage, int(done), int(total))

    def _run(self) -> None:
        state = "running"
        self.state = state
        collector = _WarningCollector(threading.get_ident())
        logging.getLogger("core").addHandler(collector)
        try:
            self.value = self._fn(self.job)
            state = "succeeded"
        except CancelledError as exc:
            state = "cancelled"
            self.error = exc
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user as a dialog
            state = "failed"
            self.error = exc
            self.traceback = traceback.format_exc()
            log.debug("task %s failed:\n%s", self.name, self.traceback)
        finally:
            logging.getLogger("core").removeHandler(collector)
        self.warnings = collector.messages + ([f"... and {collector.dropped} more"] if collector.dropped else [])
        self._outcome = state
        self._returned.set()
        self._worker_done.emit()

    # ---------------------------------------------------------------- GUI thread

    @Slot(str, int, int)
    def _relay_progress(self, stage: str, done: int, total: int) -> None:
        if not self._done.is_set():
            self.progress.emit(stage, done, total)

    @Slot(object)
    def _relay_found(self, item) -> None:
        if not self._done.is_set():
            self.found.emit(item)

    @Slot()
    def _relay_done(self) -> None:
        # ``done`` (and ``state``) flip here, on the GUI thread, right before the signals: whoever
        # sees a task done can rely on its success/failure handlers having run.
        self.state = self._outcome
        self._done.set()
        if self.state == "succeeded":
            self.succeeded.emit(self.value)
        elif self.state == "cancelled":
            self.cancelled.emit(str(self.error) or "cancelled")
        else:
            self.failed.emit(self.error)
        self.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, task: Task):
        super().__init__()
        self._task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        self._task._run()


class TaskRunner(QObject):
    """Starts tasks on its own thread pool and keeps them alive until they finish."""

    def __init__(self, max_threads: int = 2, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._tasks: set[Task] = set()

    def start(self, name: str, fn: JobFn) -> Task:
        """Run ``fn(progress)`` in a worker thread; connect to the returned task's
        signals right away (they are queued to the GUI thread, so none is missed)."""
        task = Task(name, fn)
        self._tasks.add(task)
        task.finished.connect(lambda: self._tasks.discard(task))
        self._pool.start(_Runnable(task))
        return task

    @property
    def active(self) -> list[Task]:
        return [t for t in self._tasks if not t.done]

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Wait for every running job (shutdown)."""
        return self._pool.waitForDone(timeout_ms)
