"""The app's screenshot set (docs/screenshots/), on the real walking trial that ships in
resources/demo/walk:

    QT_QPA_PLATFORM=offscreen python scripts/app_screenshots.py [--out docs/screenshots]

main-3d.png (the views with the fused fit and the 3D panel), compare-irv-iev.png (each view's
per-view fit against the fused fit, two runs side by side), runs.png (the Runs tab) and
training.png (a short training run on the trial's first frames, live). The trial is fitted on
first use in the user cache (``CMANET_CACHE_DIR``): ``cmanet fit``'s default mode, then the
optimizers alone as a second run, as a person would from the Fit button. A few minutes on a CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

FRAME = 40
SIZE = (1600, 1000)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    p.add_argument("--train-seconds", type=float, default=240.0, help="how long the training runs before its picture")
    args = p.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="cmanet-shots-"))
    os.environ.setdefault("CMANET_APP_SETTINGS", str(tmp / "settings.ini"))

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from cmanet_app.bench import spin_for, spin_until
    from cmanet_app.state import Overlays
    from cmanet_app.widgets.main_window import MainWindow
    from core.bench.real import SHIPPED_DEMO

    app = QApplication.instance() or QApplication(sys.argv[:1])
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    window = MainWindow(show_dialogs=False)
    window.resize(*SIZE)
    window.show()
    controller, state = window.controller, window.state
    args.out.mkdir(parents=True, exist_ok=True)

    def settle(timeout: float = 600.0) -> None:
        spin_until(app, lambda: not controller.busy and not controller.side_tasks, timeout)
        spin_until(app, lambda: window.frames.idle and (window.scene_panel is None or window.scene_panel.idle), timeout)
        spin_for(app, 1.0)

    def shoot(name: str) -> None:
        settle()
        path = args.out / name
        window.save_screenshot(path)
        print(f"wrote {path}", flush=True)

    def fit(mode: str) -> None:
        window.run_panel.mode_combo.setCurrentText(mode)
        print(f"fitting the walking trial ({mode})…", flush=True)
        task = controller.fit()
        spin_until(app, lambda: task.done, 3600)
        settle()

    try:
        controller.open_sequence(SHIPPED_DEMO)
        settle()
        if not state.runs:
            fit(window.run_panel.mode_combo.currentText())  # cmanet fit's default mode
        if len(state.runs) < 2:
            fit("optimize")
        default = next(r for r in state.runs if r.mode != "optimize")
        other = next(r for r in state.runs if r != default)
        controller.show_run(default)
        settle()
        state.set_frame(FRAME)

        state.set_overlays(Overlays(image=True, keypoints=True, irv_mesh=False, iev_mesh=True, iev_skeleton=True))
        window.tabs.setCurrentWidget(window.scene_panel)
        shoot("main-3d.png")

        state.set_overlays(Overlays(image=True, keypoints=False, irv_mesh=True, iev_mesh=False, iev_skeleton=True))
        controller.compare_with(other)
        window.tabs.setCurrentWidget(window.compare_panel)
        shoot("compare-irv-iev.png")

        window.tabs.setCurrentWidget(window.runs_panel)
        window.runs_panel.table.selectRow(window.runs_panel.row_of(default))
        window.runs_panel._clicked(window.runs_panel.row_of(default))
        shoot("runs.png")

        # Training: the trial's first 40 frames, the tiny settings, live curves after a while.
        panel = window.training_panel
        walk = tmp / "walk-start"
        (walk / "videos").mkdir(parents=True)
        for video in sorted((SHIPPED_DEMO / "videos").glob("*.mp4")):
            (walk / "videos" / video.name).symlink_to(video)
        (walk / "sequence.yaml").write_text("frame_range: [0, 40]\n")
        panel.add_sequence(walk)
        panel.config_combo.setCurrentText("tiny")
        panel.out_edit.setText(str(tmp / "training-run"))
        window.tabs.setCurrentWidget(panel)
        spin_until(app, lambda: panel.run.available is not None, 120)
        if panel.start():
            start = time.monotonic()
            spin_until(app, lambda: not panel.run.running or time.monotonic() - start > args.train_seconds,
                       args.train_seconds + 60)
        spin_for(app, 1.5)
        shoot("training.png")
        panel.stop()
        spin_until(app, lambda: not panel.run.running, 60)
    finally:
        window.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # as cmanet_app.bench: skip interpreter teardown after MediaPipe ran in-process
