"""How far a long job is, and whether to stop it: one object that the command line and the app
hand to core's long functions (fitting, detection, export, synthesis) and that those functions
hand down.

A job reports ``progress(stage, done, total)`` (stage names such as "detect", "irv", "iev",
"export") and asks ``progress.cancelled()`` at safe points, raising
:class:`core.errors.CancelledError` (``progress.check()`` does both). Whoever runs the job --
tqdm on a terminal, a progress bar with a Cancel button in the app -- makes the object with its
callbacks and calls :meth:`Progress.cancel` to stop it.

Core functions that still take the older pair of callbacks (``progress(stage, done, total)`` or
``progress(done, total)``, and ``should_cancel()``) turn them into one with :func:`as_progress`,
so both kinds of caller keep working.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from core.errors import CancelledError

StageReport = Callable[[str, int, int], None]  # (stage, done, total)
CountReport = Callable[[int, int], None]  # (done, total) of one stage
CancelCheck = Callable[[], bool]


class Progress:
    """Progress reports and cancellation of one long job (thread-safe: the job runs in one thread,
    its owner cancels from another).

    on_report(stage, done, total): called on every report (rate-limit it there if needed).
    on_found(item): pieces of the result handed over as soon as they exist (for instance one
        image's detections), so that a viewer can show them before the job ends.
    cancel_check(): an outside reason to stop (e.g. a terminal's Ctrl-C flag), besides :meth:`cancel`.
    """

    def __init__(self, on_report: StageReport | None = None, on_found: Callable[[Any], None] | None = None,
                 cancel_check: CancelCheck | None = None):
        self._on_report = on_report
        self._on_found = on_found
        self._cancel_check = cancel_check
        self._cancel = threading.Event()

    # ---------------------------------------------------------------- the job's side

    def __call__(self, stage: str, done: int, total: int) -> None:
        """A Progress is itself a ``progress(stage, done, total)`` callback."""
        self.report(stage, done, total)

    def report(self, stage: str, done: int, total: int) -> None:
        if self._on_report is not None:
            self._on_report(stage, int(done), int(total))

    def found(self, item: Any) -> None:
        """Hand over a piece of the result early (ignored when nobody listens)."""
        if self._on_found is not None:
            self._on_found(item)

    def cancelled(self) -> bool:
        """Whether the job should stop (a ``should_cancel()`` callback)."""
        return self._cancel.is_set() or (self._cancel_check is not None and bool(self._cancel_check()))

    def check(self, message: str = "cancelled") -> None:
        """Raise CancelledError(``message``) when the job should stop."""
        if self.cancelled():
            raise CancelledError(message)

    def stage(self, name: str, check: bool = False) -> CountReport:
        """A ``(done, total)`` callback reporting stage ``name``, for lower layers that report one
        stage. ``check``: it also raises CancelledError when the job should stop (for loops that
        report but do not ask)."""

        def report(done: int, total: int) -> None:
            self.report(name, done, total)
            if check and done < total:
                self.check(f"{name} cancelled after {done} of {total}")

        return report

    # ---------------------------------------------------------------- the owner's side

    def cancel(self) -> None:
        """Ask the job to stop; it does at its next check."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()


def as_progress(progress: Progress | StageReport | CountReport | None = None,
                should_cancel: CancelCheck | None = None, stage: str | None = None) -> Progress:
    """The :class:`Progress` behind a long function's arguments: ``progress`` itself when it is one
    (``should_cancel`` is then ignored: the object carries its own), else one around the older
    callbacks -- ``progress(stage, done, total)``, or ``progress(done, total)`` when the function
    reports a single ``stage`` -- and ``should_cancel()``."""
    if isinstance(progress, Progress):
        return progress
    if progress is None or stage is None:
        return Progress(progress, cancel_check=should_cancel)  # type: ignore[arg-type]
    count: CountReport = progress  # type: ignore[assignment]
    return Progress(lambda _stage, done, total: count(done, total), cancel_check=should_cancel)
