"""``cmanet-app [SEQ] [--demo] [--result RES] [--screenshot OUT.png]``: start CMANet Studio.

``--screenshot`` opens SEQ (or the demo), shows its result -- fitting it first when there is none
-- saves a picture of the main window and exits: 0 on success, 2 when the input is unusable,
1 on any other failure. It works headless (``QT_QPA_PLATFORM=offscreen``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("cmanet_app")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cmanet-app", description="CMANet Studio: calibration-free multi-view 3D human "
                                "pose, body mesh and camera poses.")
    p.add_argument("sequence", nargs="?", type=Path, help="multi-view sequence folder to open")
    p.add_argument("--demo", action="store_true", help="open the demo recording (the walking trial in resources/demo; "
                   "fitted on first start, then kept)")
    p.add_argument("--result", type=Path, default=None, help="result area for SEQ, where its runs are kept (default: under "
                   "the user cache dir); a 'cmanet fit --out' folder is one")
    p.add_argument("--screenshot", type=Path, default=None, metavar="OUT.png",
                   help="open, show the result (fit if needed), save a screenshot of the window and exit")
    p.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    p.add_argument("--frame", type=int, default=None, help="frame to show first")
    p.add_argument("--tab", choices=("3d", "compare", "runs", "sync", "training"), default=None, help="side tab to show")
    p.add_argument("--overlays", default=None,
                   help="comma-separated overlays to show (image,keypoints,irv_mesh,iev_mesh,iev_skeleton,ghosts_3d)")
    p.add_argument("--no-3d", action="store_true", help="do not start the Open3D panel")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


class _ScreenshotRun:
    """Drives ``--screenshot``: after opening, fit if needed, wait until idle, grab, quit."""

    def __init__(self, window, out: Path, frame: int | None):
        self.window = window
        self.out = out
        self.frame = frame
        self.exit_code = 1
        window.controller.job_finished.connect(self._job_finished)
        window.reporter.reported.connect(self._reported)

    def _reported(self, report) -> None:
        if report.level == "error":
            print(f"error: {report.title}: {report.message}", file=sys.stderr)
            if report.details:
                print(report.details, file=sys.stderr)
            self.exit_code = 2 if "open" in report.title.lower() else 1
            self._quit()

    def _job_finished(self, name: str, outcome: str) -> None:
        state = self.window.state
        if outcome != "succeeded":
            if outcome == "cancelled":
                self._quit()
            return
        if name in ("open", "demo"):
            if state.result is None:
                print("no result yet: fitting (this takes a while)", file=sys.stderr)
                if self.window.controller.fit() is None:
                    self._quit()
                return
            self._shoot()
        elif name == "fit":
            self._shoot()

    def _shoot(self) -> None:
        if self.frame is not None:
            self.window.state.set_frame(self.frame)

        def save():
            if self.window.save_screenshot(self.out):
                print(f"wrote {self.out}")
                self.exit_code = 0
            self._quit()

        self.window.when_idle(save)

    def _quit(self) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        # Close the window first: that stops the workers (and the 3D process) cleanly.
        QTimer.singleShot(0, self.window.close)
        QTimer.singleShot(0, QApplication.instance().quit)


def _apply_overlays(window, names: str) -> None:
    from cmanet_app.state import Overlays

    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = wanted - set(Overlays.names())
    if unknown:
        raise SystemExit(f"error: unknown overlays: {', '.join(sorted(unknown))}")
    window.state.set_overlays(Overlays(**{n: n in wanted for n in Overlays.names()}))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(name)s: %(message)s")
    try:
        width, height = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        print(f"error: --size must be WxH, got {args.size!r}", file=sys.stderr)
        return 2
    if args.sequence is None and not args.demo and args.screenshot is not None:
        print("error: --screenshot needs a sequence folder or --demo", file=sys.stderr)
        return 2
    if args.screenshot is not None and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a screenshot needs no screen

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from cmanet_app.widgets.main_window import MainWindow
    from cmanet_app.widgets.progress_dialog import JobProgressDialog

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("CMANet Studio")
    app.setOrganizationName("CMANet")
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

    window = MainWindow(enable_3d=not args.no_3d)
    if args.screenshot is not None or args.size != "1600x1000":
        window.resize(width, height)
    if args.overlays is not None:
        _apply_overlays(window, args.overlays)
    if args.tab is not None:
        panel = {"3d": window.scene_panel, "compare": window.compare_panel, "runs": window.runs_panel,
                 "sync": window.offsets_panel, "training": window.training_panel}[args.tab]
        if panel is not None:
            window.tabs.setCurrentWidget(panel)
    shot = _ScreenshotRun(window, args.screenshot, args.frame) if args.screenshot is not None else None
    window.show()

    if args.demo:
        dialog = JobProgressDialog(window.controller, "demo", "Preparing the demo (first run only)…", window)
        if window.controller.open_demo() is not None:
            dialog.show()
    elif args.sequence is not None:
        window.controller.open_sequence(args.sequence, args.result)
        if args.frame is not None and shot is None:
            window.controller.job_finished.connect(
                lambda name, outcome: window.state.set_frame(args.frame) if name == "open" else None)
    code = app.exec()
    return shot.exit_code if shot is not None else code


if __name__ == "__main__":
    sys.exit(main())
