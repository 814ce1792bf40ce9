"""A worker thread that serves requests "latest wins": a request that was overtaken before its turn
is dropped, so a display driven by a timeline or a mouse never lags behind by more than one
request. The 2D views (:class:`cmanet_app.frames.FrameRenderer`) and the 3D panel
(:class:`cmanet_app.scene3d.client.SceneClient`) are both one of these.

Stopping is cancelling: the worker's :class:`core.progress.Progress` is cancelled, so work inside a
request that asks ``self.progress.cancelled()`` stops too. Signals a subclass emits from
:meth:`serve` come from the worker thread: connect them with ``Qt.QueuedConnection``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject

from core.progress import Progress

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.5  # how often an idle worker asks whether it has background work


class LatestRequestWorker(QObject):
    """One daemon thread; :meth:`request` never blocks. Subclasses implement :meth:`serve` and,
    for background work between requests (prefetching), :meth:`has_background_work` and
    :meth:`background_step`."""

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.progress = Progress()
        self._cv = threading.Condition()
        self._pending: Any = None
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- the GUI's side

    def request(self, req: Any) -> None:
        """Serve ``req`` next, replacing any request still waiting."""
        with self._cv:
            self._pending = req
            self.requested(req)
            self._cv.notify()

    @property
    def idle(self) -> bool:
        """No request waiting and none being served."""
        with self._cv:
            return self._pending is None and not self._busy

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel and end the thread (waits up to ``timeout`` seconds), then :meth:`stopped`."""
        with self._cv:
            self.progress.cancel()
            self._pending = None
            self._cv.notify()
        self._thread.join(timeout=timeout)
        self.stopped()

    # ---------------------------------------------------------------- for subclasses

    def serve(self, req: Any) -> None:
        """Handle one request (worker thread); exceptions are logged and the worker goes on."""
        raise NotImplementedError

    def requested(self, req: Any) -> None:
        """Called under the lock when a request arrives (GUI thread): note what it implies."""

    def has_background_work(self) -> bool:
        """Whether :meth:`background_step` has something to do (asked under the lock)."""
        return False

    def background_step(self) -> None:
        """One short piece of background work, run while no request waits (worker thread)."""

    def stopped(self) -> None:
        """Release what the worker holds (GUI thread, after the thread ended)."""

    # ---------------------------------------------------------------- worker thread

    def _loop(self) -> None:
        while True:
            with self._cv:
                while self._pending is None and not self.progress.cancelled() and not self.has_background_work():
                    self._cv.wait(IDLE_POLL_S)
                if self.progress.cancelled():
                    return
                req, self._pending = self._pending, None
                self._busy = req is not None
            try:
                if req is None:
                    self.background_step()
                else:
                    self.serve(req)
            except Exception:  # noqa: BLE001 - one bad request must not end the worker
                log.exception("%s: a request failed", self._thread.name)
            finally:
                with self._cv:
                    self._busy = False
