"""The Session tab in the real window: open a session, fit it in the background, see every trial's
status and the shared rig, open a trial (its result drawn with the shared rig)."""

from __future__ import annotations

import numpy as np

from conftest_app import *  # noqa: F401,F403 - fixtures
from core.io.calibration import read_toml
from core.synth.session import generate_session, write_session


def test_open_fit_and_browse_a_session(qtbot, window, tmp_path):
    session, out = tmp_path / "session", tmp_path / "out"
    write_session(generate_session(trials=2, views=3, frames=6, seed=5), session)
    panel = window.session_panel
    assert panel is not None and window.tabs.indexOf(panel) >= 0
    assert panel.open_session(session, out)
    assert [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())] == ["trial01", "trial02"]
    assert {panel.table.item(r, 1).text() for r in range(2)} == {"not fitted"}
    assert "not estimated yet" in panel.rig_label.text() and not panel.open_trial_button.isEnabled()

    window.state.set_run_options(mode="optimize")
    task = panel.fit_session()
    assert task is not None and not panel.fit_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.task is None, timeout=600000)
    assert task.state == "succeeded", window.reporter.messages
    assert [panel.table.item(r, 1).text() for r in range(2)] == ["done", "done"]
    assert "recovered from the trials" in panel.rig_label.text()
    assert float(panel.table.item(0, 4).text()) > 0  # the trial's reprojection error with the shared rig

    # A batch output folder opens the same session (its session.json names it).
    assert panel.open_session(out)
    assert panel.session_root == session.resolve() and panel.out == out

    panel.table.selectRow(1)
    assert panel.open_trial_button.isEnabled()
    panel.open_trial_button.click()
    qtbot.waitUntil(lambda: window.state.result is not None and not window.controller.busy, timeout=60000)
    assert window.state.sequence.root == (session / "trial02").resolve()
    rig = read_toml(out / "calibration.toml")
    np.testing.assert_allclose(window.state.result.cam_R[0], rig.rotations, atol=1e-5)
