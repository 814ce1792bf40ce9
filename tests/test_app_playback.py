"""Playback in the app's views: previews while playing, composed ahead by the frame worker into a
cache of finished frames (overlays drawn), served from it once composed; the still frame at full
display resolution once playback stops. Real widgets, the real frame worker and body model."""

from __future__ import annotations

import itertools

import numpy as np
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import open_and_wait, wait_images

from cmanet_app.frames import PREVIEW_SIDE
from cmanet_app.state import Overlays


def test_playing_shows_previews_composed_ahead_then_the_full_frame_when_still(qtbot, window, fitted_sequence):
    seq, result = fitted_sequence
    open_and_wait(qtbot, window, seq, result)
    state, grid, frames = window.state, window.view_grid, window.frames
    state.set_overlays(Overlays(image=True, keypoints=True, irv_mesh=True, iev_mesh=True, iev_skeleton=True))
    still = wait_images(qtbot, window, frame=0, irv_mesh=True)
    assert not still.request.preview
    width, height = (int(x) for x in state.sequence.image_sizes[0])

    shown = []
    frames.rendered.connect(shown.append)
    window.timeline.set_playing(True)
    # Every frame of the loop gets composed (as asked for, and ahead of the shown one).
    qtbot.waitUntil(lambda: len(frames.composed) >= state.num_frames, timeout=60000)
    qtbot.waitUntil(lambda: any(s.cached for s in shown), timeout=10000)
    window.timeline.set_playing(False)

    previews = [s for s in shown if s.request.preview]
    assert previews, "playing asks for previews"
    for s in previews:
        image = s.images[0]
        assert max(image.shape[:2]) <= PREVIEW_SIDE
        # The scale maps the preview back onto source pixels (keypoints stay aligned).
        assert abs(image.shape[1] * s.scales[0] - width) <= s.scales[0]
    # Composed while playing (the first pass): frame after frame from the one shown, not jumps.
    for before, after in itertools.pairwise(previews):
        if after.request.playing and not after.cached:
            assert after.request.frame == (before.request.frame + 1) % state.num_frames
    # A cached preview is the frame the worker composes for that request, meshes and all.
    hit = next(s for s in shown if s.cached)
    fresh = frames._render(hit.request)
    for a, b in zip(hit.images, fresh.images):
        assert a.shape == b.shape and np.array_equal(a, b)
    assert any(np.any(a != b) for a, b in zip(hit.images, frames._render(hit.request.ahead(
        (hit.request.frame + 1) % state.num_frames)).images)), "frames differ: the bodies move"

    # Once still, the views show the frame at full display resolution again.
    qtbot.waitUntil(lambda: grid.last_images is not None and not grid.last_images.request.preview
                    and grid.last_images.request.frame == state.frame, timeout=10000)
    full = grid.last_images.images[0]
    assert max(full.shape[:2]) > PREVIEW_SIDE or max(width, height) <= PREVIEW_SIDE


def test_previews_are_cached_per_overlay_choice(qtbot, window, fitted_sequence):
    import dataclasses

    seq, result = fitted_sequence
    open_and_wait(qtbot, window, seq, result)
    state, frames = window.state, window.frames
    meshes = Overlays(image=True, iev_mesh=True, irv_mesh=False)
    state.set_overlays(meshes)
    window.timeline.set_playing(True)
    qtbot.waitUntil(lambda: len(frames.composed) >= state.num_frames, timeout=60000)
    shown = []
    frames.rendered.connect(shown.append)
    state.set_overlays(Overlays(image=True, iev_mesh=False, irv_mesh=False))
    qtbot.waitUntil(lambda: any(s.request.preview and not s.request.overlays.iev_mesh for s in shown), timeout=10000)
    window.timeline.set_playing(False)
    plain = next(s for s in shown if s.request.preview and not s.request.overlays.iev_mesh)
    with_mesh = frames._render(dataclasses.replace(plain.request, overlays=meshes))
    assert any(np.any(a != b) for a, b in zip(plain.images, with_mesh.images)), "no mesh drawn in the plain preview"


def test_the_hidden_3d_panel_does_not_render_while_playing_and_catches_up_when_shown(qtbot, window3d, fitted_sequence):
    import pytest

    panel = window3d.scene_panel
    open_and_wait(qtbot, window3d, *fitted_sequence)
    qtbot.waitUntil(lambda: panel.last_render is not None or bool(panel.client and panel.client.error), timeout=180000)
    if panel.client.error:
        pytest.skip(f"no 3D renderer here: {panel.client.error}")
    tabs = window3d.tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.widget(i) is not panel))
    assert not panel.isVisible()  # another side tab is in front
    renders = []
    panel.client.rendered.connect(renders.append)
    qtbot.waitUntil(lambda: panel.idle, timeout=60000)
    renders.clear()
    for frame in (1, 2, 0, 1):
        window3d.state.set_frame(frame)
    qtbot.wait(500)
    assert renders == []
    tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.last_render.request.scene_key[1] == 1 and not panel.last_render.request.draft,
                    timeout=60000)
