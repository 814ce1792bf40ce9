"""Responsiveness benchmark of the app: ``python -m cmanet_app.bench [--sequence SEQ --result RES]``.

Prints figures (it is not a timed test):

- mesh overlay drawing per view: the OpenCV rasteriser the app uses vs. QPainter polygons;
- the GUI thread's longest stall (a 10 ms QTimer probe: max gap between ticks, and the 99th
  percentile) while idle, while detection runs (MediaPipe on rendered images), while fitting runs,
  while playing the sequence with mesh overlays on, and while orbiting the 3D panel;
- frames per second of the views during playback (first pass, and once the previews are cached)
  and of the 3D panel while orbiting (drafts).

Without ``--sequence`` it makes small synthetic sequences (core.synth) in a temporary folder.
Runs headless (QT_QPA_PLATFORM=offscreen is set when there is no display).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np


class GuiProbe:
    """A 10 ms timer on the GUI thread; a late tick means the GUI thread was busy."""

    def __init__(self, interval_ms: int = 10):
        from PySide6.QtCore import QTimer

        self.interval_ms = interval_ms
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append((now - self._last) * 1000.0)
        self._last = now

    @contextmanager
    def measure(self):
        self.gaps, self._last = [], None
        self.timer.start()
        try:
            yield self
        finally:
            self.timer.stop()

    def summary(self) -> str:
        if not self.gaps:
            return "no ticks"
        gaps = np.asarray(self.gaps)
        return f"max gap {gaps.max():6.0f} ms, p99 {np.percentile(gaps, 99):5.0f} ms, median {statistics.median(gaps):4.0f} ms"


def spin_until(app, condition, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.002)
    return condition()


def spin_for(app, seconds: float, each=None) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if each is not None:
            each()
        time.sleep(0.002)


def bench_rasteriser(result, faces: np.ndarray, vertices: np.ndarray) -> list[str]:
    """OpenCV (the app) vs QPainter, one 640x480 and one 1920x1080 view."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QImage, QPainter, QPolygonF

    from cmanet_app import overlay

    lines = []
    cam = overlay.to_camera(vertices, result.cam_R[0, 0], result.cam_t[0, 0])
    for width, height in ((640, 480), (1920, 1080)):
        f = float(result.cam_f[0, 0]) * width / float(result.image_sizes[0][0])
        c = np.array([width / 2, height / 2])
        times = []
        for _ in range(5):
            start = time.perf_counter()
            overlay.rasterize_mesh(cam, faces, f, c, (width, height), overlay.IEV_COLOUR)
            times.append(time.perf_counter() - start)
        cv_ms = 1000 * statistics.median(times)
        uv = overlay.project_points(cam, f, c)
        start = time.perf_counter()
        image = QImage(width, height, QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        painter.setPen(QColor(0, 0, 0, 0))
        painter.setBrush(QColor(200, 200, 200))
        for tri in uv[faces]:
            painter.drawPolygon(QPolygonF([QPointF(*p) for p in tri]))
        painter.end()
        qp_ms = 1000 * (time.perf_counter() - start)
        mr_ms = float("nan")
        try:
            from core.render import MeshRenderer

            renderer = MeshRenderer(width, height)
            renderer.render(cam, faces, f, c, shadows=False)  # first call builds its scene
            start = time.perf_counter()
            renderer.render(cam, faces, f, c, shadows=False)
            mr_ms = 1000 * (time.perf_counter() - start)
        except ImportError:
            pass
        lines.append(f"mesh overlay {width}x{height}, {len(faces)} triangles: OpenCV (shaded, culled) {cv_ms:5.0f} ms, "
                     f"QPainter polygons (flat, all) {qp_ms:5.0f} ms, core.render.MeshRenderer {mr_ms:5.0f} ms")
    return lines


def bench_playback(app, window, probe: GuiProbe, seconds: float) -> list[str]:
    """Playing with IRV + IEV mesh overlays: the first pass (previews composed as they are asked
    for, and ahead) and, once the worker has composed the loop, the cached pass. Updated frames/s
    counts the views' repaints with a new frame."""
    from cmanet_app.state import Overlays

    state, info, frames = window.state, window.state.sequence, window.frames
    state.set_overlays(Overlays(image=True, keypoints=True, irv_mesh=True, iev_mesh=True, iev_skeleton=True))
    shown: list = []
    frames.rendered.connect(lambda images: shown.append(images))
    spin_until(app, lambda: frames.idle, 120)  # the still frame (and the meshes ahead) first
    sizes = ", ".join(f"{w}x{h}" for w, h in info.image_sizes)
    lines = []
    for name in ("first pass", "cached"):
        if name == "first pass":
            frames.composed.clear()
        else:  # let the worker compose the loop ahead of the shown frame
            window.timeline.set_playing(True)
            spin_for(app, 0.3)
            window.timeline.set_playing(False)
            start = time.perf_counter()
            spin_until(app, lambda: frames.idle and frames.composed_ahead(), 900)
            compose_s = time.perf_counter() - start
        state.set_frame(0)
        spin_until(app, lambda: frames.idle, 60)
        shown.clear()
        with probe.measure():
            window.timeline.set_playing(True)
            spin_for(app, seconds)
            window.timeline.set_playing(False)
        previews = [s for s in shown if s.request.preview]
        hits = sum(s.cached for s in previews)
        size = "x".join(map(str, previews[0].images[0].shape[1::-1])) if previews else "?"
        lines.append(f"GUI thread, playing {info.num_views} views ({sizes}) at {info.fps:g} fps with IRV+IEV meshes, "
                     f"{name}: {probe.summary()}; views updated {len(shown) / seconds:.1f} frames/s "
                     f"(previews {size} for view 1, {hits}/{len(previews)} from the cache)")
    lines.append(f"  after the first pass, a pause: the worker composed the rest of the loop in {compose_s:.1f} s "
                 f"({len(frames.composed)} of {info.num_frames} frames cached)")
    spin_until(app, lambda: frames.idle, 60)
    return lines


def bench_full_frames(app, panel, state, num_frames: int, renders: list, repeats: int = 5) -> list[str]:
    """The 3D panel's full-size frame after an orbit's release, and after stepping to the next
    frame (new meshes: posed, sent, rendered): server render ms and request-to-image ms, median of
    ``repeats``; ``renders`` collects (time, draft, seconds, round trip) of every rendered image."""
    from PySide6.QtCore import Qt

    def full_after(action) -> tuple[float, float] | None:
        spin_until(app, lambda: panel.idle, 60)
        count = len(renders)
        action()
        spin_until(app, lambda: panel.idle and any(not r[1] for r in renders[count:]), 120)
        full = [r for r in renders[count:] if not r[1]]
        return (full[-1][2], full[-1][3]) if full else None

    def release() -> None:
        panel.canvas.dragged.emit(3.0, 0.5, Qt.MouseButton.LeftButton)
        panel.canvas.released.emit()

    lines = []
    size = f"{panel.client.size[0]}x{panel.client.size[1]}"
    for name, action in (("after an orbit's release", release),
                         ("next frame (new meshes)", lambda: state.set_frame((state.frame + 1) % num_frames))):
        times = [t for t in (full_after(action) for _ in range(repeats)) if t is not None]
        if not times:
            lines.append(f"3D panel full size ({size}), {name}: no full-size image")
            continue
        server = 1000 * statistics.median(t[0] for t in times)
        trip = 1000 * statistics.median(t[1] for t in times)
        lines.append(f"3D panel full size ({size}), {name}: render {server:.0f} ms, request to image {trip:.0f} ms "
                     f"(median of {len(times)}, worst {1000 * max(t[1] for t in times):.0f} ms)")
    return lines


def make_sequences(tmp: Path) -> tuple[Path, Path]:
    """(keypoints sequence for fitting, rendered image sequence without keypoints for detection)."""
    from cmanet_app import demo

    fit_seq = demo.make_synthetic(tmp / "fit", views=4, frames=10, seed=3, render=False)
    det_seq = demo.make_synthetic(tmp / "detect", views=2, frames=6, seed=4, render=True)
    (det_seq / "keypoints.npz").unlink()  # make the detector run
    return Path(fit_seq), det_seq


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cmanet_app.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sequence", type=Path, default=None, help="sequence with images to play (default: the demo)")
    p.add_argument("--result", type=Path, default=None, help="its result folder (default: the app's)")
    p.add_argument("--seconds", type=float, default=6.0, help="seconds of playback and of orbiting")
    p.add_argument("--skip", default="", help="comma-separated: detect,fit,play,orbit,raster")
    args = p.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="cmanet-bench-"))
    os.environ.setdefault("CMANET_APP_SETTINGS", str(tmp / "settings.ini"))

    import pyqtgraph as pg
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from cmanet_app.widgets.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    pg.setConfigOptions(imageAxisOrder="row-major")
    window = MainWindow(enable_3d="orbit" not in skip, show_dialogs=False)
    window.resize(1600, 1000)
    window.show()
    probe = GuiProbe()
    controller, state = window.controller, window.state
    report: list[str] = [f"machine: {os.cpu_count()} CPUs, Qt platform {QApplication.platformName()}"]

    def wait_job(task, timeout=1800.0):
        if task is None:
            raise SystemExit(f"could not start: {window.reporter.messages[-1].message if window.reporter.messages else '?'}")
        spin_until(app, lambda: task.done and not controller.busy, timeout)
        if task.state != "succeeded":
            raise SystemExit(f"{task.name} {task.state}: {window.reporter.messages[-1].message if window.reporter.messages else ''}")

    try:
        with probe.measure():
            spin_for(app, 2.0)
        report.append(f"GUI thread, idle:                         {probe.summary()}")

        fit_seq, det_seq = make_sequences(tmp)
        if "detect" not in skip:
            wait_job(controller.open_sequence(det_seq, tmp / "det-result"))
            with probe.measure():
                start = time.perf_counter()
                wait_job(controller.detect())
            report.append(f"GUI thread, detecting {state.sequence.num_views}x{state.sequence.num_frames} images "
                          f"({time.perf_counter() - start:.1f} s): {probe.summary()}")
        if "fit" not in skip:
            wait_job(controller.open_sequence(fit_seq, tmp / "fit-result"))
            with probe.measure():
                start = time.perf_counter()
                wait_job(controller.fit())
            report.append(f"GUI thread, fitting {state.sequence.num_views} views x {state.sequence.num_frames} frames "
                          f"({time.perf_counter() - start:.1f} s): {probe.summary()}")
            if "raster" not in skip:
                faces = window.meshes.faces()
                verts = window.meshes.iev(0)
                report += bench_rasteriser(state.result, faces, verts)

        # Playback and orbiting: the demo (rendered images + result) or the given sequence.
        if args.sequence is None:
            wait_job(controller.open_demo(), timeout=3600)
        else:
            wait_job(controller.open_sequence(args.sequence, args.result))
        if state.result is None:
            wait_job(controller.fit())
        info = state.sequence
        if "play" not in skip:
            report += bench_playback(app, window, probe, args.seconds)
        if "orbit" not in skip and window.scene_panel is not None:
            panel = window.scene_panel
            window.tabs.setCurrentWidget(panel)
            state.set_overlay("ghosts_3d", False)
            spin_until(app, lambda: panel.last_render is not None or (panel.client and panel.client.error), 300)
            if panel.client.error:
                report.append(f"3D panel: unavailable ({panel.client.error})")
            else:
                spin_until(app, lambda: panel.idle, 120)
                renders = []
                panel.client.rendered.connect(lambda r: renders.append((time.perf_counter(), r.request.draft, r.seconds,
                                                                        r.round_trip)))
                with probe.measure():
                    start = time.perf_counter()
                    spin_for(app, args.seconds, each=lambda: panel.canvas.dragged.emit(3.0, 0.5, Qt.MouseButton.LeftButton))
                    elapsed = time.perf_counter() - start
                    panel.canvas.released.emit()
                drafts = [r for r in renders if r[1]]
                server_ms = 1000 * statistics.median(r[2] for r in drafts) if drafts else float("nan")
                report.append(f"GUI thread, orbiting the 3D panel: {probe.summary()}; {len(drafts) / elapsed:.1f} frames/s "
                              f"at {panel.client.draft_size[0]}x{panel.client.draft_size[1]} (render {server_ms:.0f} ms each)")
                report += bench_full_frames(app, panel, state, info.num_frames, renders)
    finally:
        window.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(report), flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: after MediaPipe ran in-process, a native extension's refcount bug
    # can abort the finalizing interpreter ("none_dealloc"), which would turn a good run into a crash.
    os._exit(code)
