"""Several people from the app (``cmanet fit --people``): choosing to fit everybody, then choosing
the person shown -- the views' detections and overlays, the 3D panel's body, the comparison and
the exports follow."""

from __future__ import annotations

import numpy as np
import pytest
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import open_and_wait, wait_images

from cmanet_app.widgets.runs_panel import run_details
from core.io.results import FitResult
from core.synth import make_synthetic_sequence


def _two_people(tmp_path):
    """``cmanet synth OUT --people 2 --views 3 --frames 6``: keypoints only, two people crossing."""
    return make_synthetic_sequence(tmp_path / "two", views=3, frames=6, seed=3, people=2)


def test_fit_everybody_and_choose_the_person_shown(qtbot, window, tmp_path):
    seq = _two_people(tmp_path)
    open_and_wait(qtbot, window, seq)
    panel, chooser = window.run_panel, window.person_chooser
    assert not chooser.isVisible()  # nothing fitted yet
    assert panel.people_combo.currentText() == "main person" and window.state.people == 1
    panel.mode_combo.setCurrentText("optimize")
    panel.people_combo.setCurrentText("all people")
    assert window.state.people is None

    panel.fit_button.click()
    qtbot.waitUntil(lambda: window.state.result is not None and not window.controller.busy, timeout=240000)
    assert not [m for m in window.reporter.messages if m.level == "error"], window.reporter.messages
    fitted = FitResult.load(window.state.result_dir)  # what the run wrote: both people, one rig
    assert fitted.num_people == 2 and window.state.num_people == 2
    assert window.state.run.settings["options"]["people"] == "all"
    assert "People fitted: 2" in run_details(window.state.run)

    # The chooser appears with both people, the main one shown.
    assert chooser.isVisible() and chooser.combo.count() == 2
    assert chooser.combo.currentIndex() == 0 and window.state.person == 0
    np.testing.assert_allclose(window.state.result.joints3d, fitted.person(0).joints3d)
    main_keypoints = window.state.keypoints.copy()
    wait_images(qtbot, window)
    irv = window.overlay_actions["irv_mesh"]
    assert irv.isEnabled()

    # Person 1 chosen in the widget: the state shows their body and detections, the views redraw.
    chooser.combo.setCurrentIndex(1)
    assert window.state.person == 1
    other = fitted.person(1)
    np.testing.assert_allclose(window.state.result.joints3d, other.joints3d)
    np.testing.assert_allclose(window.state.result.transl, other.transl)
    assert not np.allclose(window.state.result.joints3d, fitted.joints3d)
    np.testing.assert_allclose(window.state.keypoints, other.keypoints2d)
    assert not np.allclose(window.state.keypoints, main_keypoints)
    images = wait_images(qtbot, window)
    assert images.request.result is window.state.result
    assert not irv.isEnabled()  # per-view fits are the main person's only
    window.state.set_overlay("irv_mesh", True)  # left on from the main person: nothing to draw, no error
    images = wait_images(qtbot, window, irv_mesh=True)
    assert not images.errors and not window.reporter.messages
    window.state.set_overlay("irv_mesh", False)
    assert window.state.fitted is not None and window.state.fitted.num_people == 2
    rows = window.compare_panel.table_values()  # their fused errors; no per-view fit of theirs
    assert rows[-1][0] == "all views" and rows[-1][1] == "–"
    assert float(rows[-1][2]) == pytest.approx(float(np.nanmean(other.iev_reproj_px)), abs=0.01)

    # Exported: the person shown, alone (as cmanet export writes person1/).
    task = window.controller.export_formats(tmp_path / "exported", ("npz",))
    qtbot.waitUntil(lambda: task.done, timeout=60000)
    assert task.state == "succeeded", window.reporter.messages
    exported = FitResult.load(tmp_path / "exported")
    assert exported.num_people == 1
    np.testing.assert_allclose(exported.joints3d, other.joints3d)
    assert "person 1" in window.reporter.messages[-1].message

    # Back to the main person from the model layer: the chooser follows.
    window.state.set_person(0)
    assert chooser.combo.currentIndex() == 0
    np.testing.assert_allclose(window.state.result.joints3d, fitted.joints3d)
    assert irv.isEnabled()


def test_one_person_result_has_no_chooser(qtbot, window, fitted_sequence):
    seq, result = fitted_sequence
    open_and_wait(qtbot, window, seq, result)
    assert window.state.result is not None and window.state.num_people == 1
    assert window.state.result is window.state.fitted  # nothing copied for one person
    assert not window.person_chooser.isVisible() and window.person_chooser.combo.count() == 1
