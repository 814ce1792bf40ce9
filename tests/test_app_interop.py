"""File > Import (another detector's keypoints, a known calibration) and File > Export > Formats,
in the real window."""

from __future__ import annotations

import numpy as np
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import open_and_wait


def test_export_formats_then_import_them_and_fit(qtbot, window, fitted_sequence, tmp_path):
    from cmanet_app.widgets.export_dialog import ExportDialog

    seq, result_dir = fitted_sequence
    open_and_wait(qtbot, window, seq, result_dir)
    result = window.state.result
    dialog = ExportDialog(result, str(tmp_path / "exp"))
    qtbot.addWidget(dialog)
    assert dialog.boxes["calib-toml"].isEnabled() and not dialog.boxes["smpl-npz"].isEnabled()  # an Anny fit
    assert set(dialog.formats()) == {"calib-toml", "trc", "bvh", "glb"} and dialog.ok_button.isEnabled()
    dialog.boxes["openpose-json"].setChecked(True)
    task = window.controller.export_formats(dialog.folder(), dialog.formats())
    qtbot.waitUntil(lambda: task.done, timeout=60000)
    assert task.state == "succeeded", window.reporter.messages
    exp = tmp_path / "exp"
    assert all((exp / name).is_file() for name in ("Calib.toml", "markers.trc", "skeleton.bvh", "body.glb"))

    # The exported detections come back as another detector's, shown before any fit.
    task = window.controller.import_keypoints(exp / "openpose")
    qtbot.waitUntil(lambda: task.done, timeout=30000)
    assert task.state == "succeeded", window.reporter.messages
    assert window.state.keypoints_path == str(exp / "openpose")
    assert np.allclose(window.state.keypoints, result.keypoints2d, atol=1e-4)

    # A bad calibration is reported; the exported one is taken and its focal lengths are kept.
    (tmp_path / "bad.toml").write_text("[cam01]\nmatrix = 3\n")
    window.controller.import_calibration(tmp_path / "bad.toml")
    assert "bad.toml" in window.reporter.messages[-1].message and window.state.calibration_path == ""
    window.controller.import_calibration(exp / "Calib.toml")
    assert window.state.calibration_path == str(exp / "Calib.toml")
    window.state.set_result(None)
    assert window.controller.fit() is not None
    qtbot.waitUntil(lambda: window.state.result is not None, timeout=120000)
    qtbot.waitUntil(lambda: not window.controller.busy)
    assert np.allclose(window.state.result.cam_f[0], result.cam_f[0], rtol=1e-4)

    window.forget_imports()
    assert window.state.keypoints_path == window.state.calibration_path == ""
