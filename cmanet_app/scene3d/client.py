"""The app's side of the 3D render server: one worker thread that builds each frame's scene
(posing bodies through the shared :class:`MeshCache`), sends it to the server process when it
changed, asks for a picture from the current orbit camera, and emits it. Latest request wins
(:class:`cmanet_app.latest.LatestRequestWorker`), so orbiting never queues up stale renders.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from cmanet_app.latest import LatestRequestWorker
from cmanet_app.scene3d import protocol
from cmanet_app.scene3d.geometry import SceneData
from cmanet_app.scene3d.orbit import OrbitCamera

log = logging.getLogger(__name__)

FULL_SIZE = (800, 600)
DRAFT_SIZE = (400, 300)
START_TIMEOUT_S = 90.0  # importing open3d and creating two renderers, on a loaded machine
RENDER_TIMEOUT_S = 90.0  # the first frame compiles shaders in software


@dataclass(frozen=True)
class RenderRequest:
    scene_key: object  # equal keys mean equal scene content (not rebuilt nor resent)
    build_scene: Callable[[], SceneData]
    camera: OrbitCamera
    draft: bool = False


@dataclass
class RenderedImage:
    request: RenderRequest
    image: np.ndarray  # (H, W, 3) uint8
    seconds: float  # server-side render time
    round_trip: float  # request to image, including scene building and transfer


class _Reader:
    """Reads exactly n bytes from a raw pipe, with a deadline (select), so a hung server is noticed."""

    def __init__(self, raw, timeout: float):
        self.raw = raw
        self.timeout = timeout

    def read(self, n: int) -> bytes:
        deadline = time.monotonic() + self.timeout
        left = deadline - time.monotonic()
        ready, _, _ = select.select([self.raw], [], [], max(0.0, left))
        if not ready:
            raise TimeoutError("the 3D render server did not answer in time")
        return os.read(self.raw.fileno(), n)


class SceneClient(LatestRequestWorker):
    """The 3D panel's worker thread (latest request wins) and its render server process."""

    rendered = Signal(object)  # RenderedImage
    failed = Signal(str)  # the server is unavailable; the message says why
    status = Signal(str)

    def __init__(self, size: tuple[int, int] = FULL_SIZE, draft_size: tuple[int, int] = DRAFT_SIZE,
                 parent: QObject | None = None):
        self.size = size
        self.draft_size = draft_size
        self._proc: subprocess.Popen | None = None
        self._log_path: Path | None = None
        self._scene_key: object = object()
        self.error: str = ""
        self.render_times: list[float] = []  # server seconds per render (bench and the panel's fps)
        super().__init__("scene3d-client", parent)

    def retry(self) -> None:
        """Forget a failure; the next request starts a new server."""
        self.error = ""

    def stop(self, timeout: float = 3.0) -> None:
        super().stop(timeout)

    def stopped(self) -> None:
        self._kill()

    # ---------------------------------------------------------------- worker thread

    def serve(self, req: RenderRequest) -> None:
        if self.error:
            return
        try:
            self._serve(req)
        except Exception as exc:  # noqa: BLE001 - the panel shows why and the app goes on
            self.error = self._describe_failure(exc)
            log.warning("3D view: %s", self.error)
            self._kill()
            self.failed.emit(self.error)

    def _serve(self, req: RenderRequest) -> None:
        start = time.perf_counter()
        if self._proc is None or self._proc.poll() is not None:
            self._start_server()
        if req.scene_key != self._scene_key:
            scene = req.build_scene()
            self._call({"op": "scene", "scene": scene})
            self._scene_key = req.scene_key
        cam = req.camera
        _, up = cam.basis()
        reply = self._call({"op": "render", "eye": cam.eye().tolist(), "target": list(cam.target), "up": up.tolist(),
                            "fov": cam.fov, "draft": req.draft})
        image = np.frombuffer(reply["image"], np.uint8).reshape(reply["shape"])
        self.render_times.append(float(reply["seconds"]))
        del self.render_times[:-200]
        self.rendered.emit(RenderedImage(req, image, float(reply["seconds"]), time.perf_counter() - start))

    def _start_server(self) -> None:
        self.status.emit("starting the 3D renderer…")
        fd, log_name = tempfile.mkstemp(prefix="cmanet-scene3d-", suffix=".log")
        self._log_path = Path(log_name)
        log_file = os.fdopen(fd, "wb")
        cmd = [sys.executable, "-m", "cmanet_app.scene3d.server", *map(str, self.size), *map(str, self.draft_size)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, bufsize=0)
        log_file.close()
        self._scene_key = object()
        reply = self._receive(START_TIMEOUT_S)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        self.status.emit("")

    def _call(self, message: dict) -> dict:
        protocol.send(self._proc.stdin, message)
        reply = self._receive(RENDER_TIMEOUT_S)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def _receive(self, timeout: float) -> dict:
        reply = protocol.receive(_Reader(self._proc.stdout, timeout))
        if reply is None:
            raise RuntimeError("the 3D render server stopped")
        return reply

    def _describe_failure(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        tail = ""
        if self._log_path is not None:
            try:
                lines = [l for l in self._log_path.read_text(errors="replace").splitlines() if l.strip()]
                tail = " ".join(lines[-3:])
            except OSError:
                pass
        return f"{text}" + (f" (renderer log: {tail[-300:]})" if tail and tail not in text else "")

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                try:
                    protocol.send(proc.stdin, {"op": "quit"})
                except (BrokenPipeError, OSError, ValueError):
                    pass
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=2)
        finally:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            if self._log_path is not None:
                self._log_path.unlink(missing_ok=True)
