"""The views' frames on the first view's clock: time offsets and frame rates in sequence.yaml,
the cut to the common part, reading each view's right frames, and detections moved in time."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from _make_sequence import (
    frame_number,
    image_sequence,
    random_keypoints,
    video_sequence,
    write_yaml,
)

from core.errors import InputError
from core.io import MultiViewSequence
from core.io.timeline import resample_in_time, shift_in_time


def ramp(frames: int, views: int = 2) -> np.ndarray:
    """(F, V, 1, 3) keypoints whose x is the frame number, confidence 1."""
    kp = np.zeros((frames, views, 1, 3))
    kp[..., 0] = np.arange(frames)[:, None, None]
    kp[..., 2] = 1.0
    return kp


def test_time_shift_interpolates_and_blanks_the_outside():
    shifted = shift_in_time(ramp(5), np.array([0.0, 1.5]))
    assert shifted[0, 1, 0, 0] == pytest.approx(1.5)
    assert shifted[2, 1, 0, 0] == pytest.approx(3.5)
    assert shifted[3, 1, 0, 2] == 0.0  # frame 4.5 is outside the recording
    np.testing.assert_array_equal(shifted[:, 0], ramp(5)[:, 0])


def test_resample_takes_the_smaller_confidence_and_keeps_whole_frames_exact():
    values = ramp(4, 1)[:, 0]
    values[2, 0, 2] = 0.2
    out = resample_in_time(values, np.arange(4), np.array([1.0, 1.5, 2.5, 3.0, -0.5]))
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 1.5, 2.5, 3.0, 0.0])
    np.testing.assert_allclose(out[:, 0, 2], [1.0, 0.2, 0.2, 1.0, 0.0])


def test_resample_takes_the_nearer_frame_across_a_jump():
    values = ramp(4, 1)[:, 0]
    values[2, 0, 0] = 100.0  # a swapped or stray detection
    out = resample_in_time(values, np.arange(4), np.array([1.25, 1.75, 0.5]), max_step=10.0)
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 100.0, 0.5])


def test_offsets_and_frame_rates_read_each_views_right_frames(tmp_path, caplog):
    """cam02 films at 50 fps (the first view at 25) and shows a moment 1 of its frames later;
    cam03 is 2 frames ahead: the sequence keeps the moments all three have."""
    video_sequence(tmp_path, sizes=((64, 48), (64, 48), (64, 48)), num_frames=(6, 12, 6), fps=25)
    write_yaml(tmp_path, {"cameras": [{"name": "cam01"}, {"name": "cam02", "fps": 50, "time_offset_frames": 1},
                                      {"name": "cam03", "time_offset_frames": -2}]})
    with caplog.at_level(logging.WARNING), MultiViewSequence.open(tmp_path) as seq:
        np.testing.assert_array_equal(seq.view_fps, [25, 50, 25])
        np.testing.assert_array_equal(seq.time_offsets, [0, 1, -2])
        np.testing.assert_array_equal(seq.time_offset_given, [False, True, True])
        # cam03's frame f - 2 must exist (f >= 2), and cam02's 2 f + 1 (f <= 5).
        np.testing.assert_array_equal(seq.frame_indices, [2, 3, 4, 5])
        np.testing.assert_array_equal(seq.view_frame_indices, [[2, 5, 0], [3, 7, 1], [4, 9, 2], [5, 11, 3]])
        np.testing.assert_allclose(seq.times, np.arange(2, 6) / 25)
        assert [frame_number(f) for f in seq.read_frame(1)] == [3, 7, 1]
        assert [frame_number(f) for f in seq.iter_view_frames("cam02")] == [5, 7, 9, 11]
        assert seq.source_frame("cam03", 0, time_offset=-3) is None  # before cam03's first frame
        assert seq.source_frame("cam03", 3, time_offset=-3) == 2
    assert "different times" in caplog.text


def test_a_slower_view_repeats_its_frames_and_its_detections_are_interpolated(tmp_path):
    image_sequence(tmp_path, num_frames=(10, 5))
    write_yaml(tmp_path, {"fps": 30, "cameras": [{"name": "cam01"}, {"name": "cam02", "fps": 15}]})
    with MultiViewSequence.open(tmp_path) as seq:
        assert seq.num_frames == 9  # cam02's frame 4 is the first view's frame 8
        np.testing.assert_allclose(seq.view_frame_positions[:, 1], np.arange(9) / 2)
        assert [frame_number(f) for f in seq.iter_view_frames(1)] == [int(np.floor(p + 0.5)) for p in np.arange(9) / 2]
        detected = np.zeros((9, 2, 1, 3))
        detected[..., 2] = 1.0
        detected[:, 1, 0, 0] = seq.view_frame_indices[:, 1]  # a detector that reports the frame it saw
        np.testing.assert_allclose(seq.to_timeline(detected)[:, 1, 0, 0], np.arange(9) / 2)


def test_given_keypoints_are_interpolated_at_sub_frame_offsets(tmp_path):
    keypoints = random_keypoints(8, 2)
    keypoints[..., 2] = 1.0
    np.savez(tmp_path / "keypoints.npz", keypoints2d=keypoints)
    write_yaml(tmp_path, {"cameras": [{"name": "a", "image_size": [64, 48]},
                                      {"name": "b", "image_size": [64, 48], "time_offset_frames": 2.5}]})
    with MultiViewSequence.open(tmp_path) as seq:
        assert seq.num_frames == 5 and not seq.has_images
        np.testing.assert_allclose(seq.given_keypoints[:, 1, :, :2], 0.5 * (keypoints[2:7, 1, :, :2] + keypoints[3:8, 1, :, :2]),
                                   rtol=1e-5)
        np.testing.assert_array_equal(seq.given_keypoints[:, 0], keypoints[:5, 0])


def test_views_with_no_moment_in_common(tmp_path):
    image_sequence(tmp_path, num_frames=(5, 5))
    write_yaml(tmp_path, {"cameras": [{"name": "cam01"}, {"name": "cam02", "time_offset_frames": 9}]})
    with pytest.raises(InputError, match="no moment in common"):
        MultiViewSequence.open(tmp_path)


@pytest.mark.parametrize("camera, message", [
    ({"name": "cam02", "fps": 0}, "fps must be a positive"),
    ({"name": "cam02", "time_offset_frames": "late"}, "time_offset_frames"),
    ({"name": "cam02", "distortions": [0.1, 0.2]}, "distortions must be 4 or 5"),
])
def test_bad_camera_timing_and_lens_keys(tmp_path, camera, message):
    image_sequence(tmp_path, num_frames=(3, 3))
    write_yaml(tmp_path, {"cameras": [{"name": "cam01"}, camera]})
    with pytest.raises(InputError, match=message):
        MultiViewSequence.open(tmp_path)
