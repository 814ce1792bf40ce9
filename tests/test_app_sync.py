"""The app's Sync tab: each camera's time offset shown (sequence.yaml's, then the result's),
edited by hand (the views' images follow, the next fit keeps it), and the timeline in seconds."""

from __future__ import annotations

import numpy as np
from _make_sequence import frame_number, image_sequence, write_yaml
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import open_and_wait, wait_images


def test_offsets_shown_edited_and_followed_by_the_images(qtbot, window, tmp_path):
    root = image_sequence(tmp_path / "seq", sizes=((64, 48), (64, 48)), num_frames=(10, 10))
    write_yaml(root, {"fps": 20, "cameras": [{"name": "cam01"}, {"name": "cam02", "time_offset_frames": 2}]})
    open_and_wait(qtbot, window, root)
    panel, state = window.offsets_panel, window.state
    assert [s.value() for s in panel.spins] == [0.0, 2.0]
    assert not panel.spins[0].isEnabled() and panel.spins[1].isEnabled()
    assert "+0.100 s" in panel.seconds[1].text()
    state.set_frame(1)
    images = wait_images(qtbot, window, frame=1)
    assert [frame_number(i) for i in images.images] == [1, 3]
    assert "0.050 s" in window.timeline.label.text()  # frame 1 at 20 fps

    panel.spins[1].setValue(4.0)  # set by hand: the images follow, the next fit keeps it
    assert state.time_offsets == {"cam02": 4.0} and "(set)" in panel.seconds[1].text()
    qtbot.waitUntil(lambda: window.view_grid.last_images is not None
                    and window.view_grid.last_images.request.time_offsets == (0.0, 4.0), timeout=10000)
    assert [frame_number(i) for i in window.view_grid.last_images.images] == [1, 5]
    assert not panel.sync_check.isChecked() and not window.controller.fit_config().sync.enabled
    panel.sync_check.setChecked(True)
    assert window.controller.fit_config().sync.enabled
    panel.reset_button.click()
    assert state.time_offsets == {} and panel.spins[1].value() == 2.0
    np.testing.assert_array_equal(state.view_time_offsets(), [0.0, 2.0])
