"""Background jobs: run a plain function in a worker thread and hear about it through Qt signals.

A job is ``fn(progress, should_cancel) -> value``: the shape of every long :mod:`core` function
(``progress(stage, done, total)``, ``should_cancel() -> bool``, CancelledError when it stops), so
the GUI thread only ever receives signals and is never blocked by the work itself.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from core.errors import CancelledError

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
ShouldCancel = Callable[[], bool]
JobFn = Callable[[Progress, ShouldCancel], Any]

# Progress signals are rate-limited: a fit reports every iteration and the GUI only needs a few
# updates per second (each queued signal costs the GUI thread a little).
PROGRESS_INTERVAL_S = 0.05


class Task(QObject):
    """Handle of one job. Exactly one of succeeded / failed / cancelled is emitted, then finished."""

    progress = Signal(str, int, int)  # stage, done, total
    succeeded = Signal(object)  # the job's return value
    failed = Signal(object)  # the exception; its traceback text is in ``task.traceback``
    cancelled = Signal(str)  # the CancelledError message
    finished = Signal()

    def __init__(self, name: str, fn: JobFn):
        super().__init__()
        self.name = name
        self._fn = fn
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._last_progress = 0.0
        self.value: Any = None
        self.error: BaseException | None = None
        self.traceback = ""
        self.state = "pending"  # pending, running, succeeded, failed, cancelled

    def cancel(self) -> None:
        """Ask the job to stop; it does at its next should_cancel() check."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ended (tests and shutdown only; never from a GUI callback)."""
        return self._done.wait(timeout)

    # ---------------------------------------------------------------- worker side

    def _report(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.progress.emit(stage, int(done), int(total))

    def _run(self) -> None:
        self.state = "running"
        try:
            self.value = self._fn(self._report, self._cancel.is_set)
        except CancelledError as exc:
            self.state = "cancelled"
            self.error = exc
            self._done.set()
            self.cancelled.emit(str(exc) or "cancelled")
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user as a dialog
            self.state = "failed"
            self.error = exc
            self.traceback = traceback.format_exc()
            log.debug("task %s failed:\n%s", self.name, self.traceback)
            self._done.set()
            self.failed.emit(exc)
        else:
            self.state = "succeeded"
            self._done.set()
            self.succeeded.emit(self.value)
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
        """Run ``fn(progress, should_cancel)`` in a worker thread; connect to the returned task's
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
