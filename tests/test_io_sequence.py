"""MultiViewSequence on real videos, image folders and keypoints-only sequences made here."""

from __future__ import annotations

import logging
import os
import shutil

import cv2
import numpy as np
import pytest
from _make_sequence import (
    frame_number,
    image_sequence,
    keypoints_only_sequence,
    random_keypoints,
    snapshot,
    video_sequence,
    write_images,
    write_video,
    write_yaml,
)

from core.errors import InputError
from core.io import CameraInfo, MultiViewSequence


def open_seq(root):
    return MultiViewSequence.open(root)


# ---------------------------------------------------------------- layouts


@pytest.mark.parametrize("under", ["videos", None])
def test_videos_layout(tmp_path, under):
    video_sequence(tmp_path, sizes=((64, 48), (80, 64), (48, 64)), num_frames=(6, 6, 6), under=under)
    with open_seq(tmp_path) as seq:
        assert seq.root == tmp_path.resolve()
        assert seq.view_names == ["cam01", "cam02", "cam03"]
        assert seq.num_views == 3 and seq.num_frames == 6
        assert seq.view_kinds == ["video"] * 3
        assert seq.has_images and seq.given_keypoints is None
        np.testing.assert_array_equal(seq.frame_indices, np.arange(6))
        assert seq.fps == pytest.approx(25.0)
        np.testing.assert_array_equal(seq.image_sizes, [[64, 48], [80, 64], [48, 64]])
        assert seq.image_sizes.dtype.kind == "i"
        frames = seq.read_frame(3)
        assert [f.shape for f in frames] == [(48, 64, 3), (64, 80, 3), (64, 48, 3)]
        assert all(f.dtype == np.uint8 for f in frames)
        assert [frame_number(f) for f in frames] == [3, 3, 3]


@pytest.mark.parametrize("under", ["images", None])
def test_image_folders_layout(tmp_path, under):
    image_sequence(tmp_path, sizes=((64, 48), (32, 40)), num_frames=(12, 12), under=under)
    with open_seq(tmp_path) as seq:
        assert seq.view_names == ["cam01", "cam02"]
        assert seq.view_kinds == ["images", "images"]
        assert seq.num_frames == 12
        assert seq.fps == 30.0  # images carry no frame rate
        np.testing.assert_array_equal(seq.image_sizes, [[64, 48], [32, 40]])
        # frame10.png must come after frame9.png (natural, not lexicographic order)
        assert [frame_number(seq.read_view_frame("cam02", i)) for i in range(12)] == list(range(12))


def test_frames_are_rgb(tmp_path):
    image_sequence(tmp_path, num_frames=(1, 1))
    with open_seq(tmp_path) as seq:
        r, g, b = seq.read_view_frame(0, 0)[0, 0]
        assert (r, g, b) == (20, 200, 60)


@pytest.mark.parametrize("ext", [".avi", ".mov", ".MP4"])
def test_common_video_extensions(tmp_path, ext):
    video_sequence(tmp_path, ext=ext, under=None, num_frames=(4, 4))
    with open_seq(tmp_path) as seq:
        assert seq.view_names == ["cam01", "cam02"]
        assert frame_number(seq.read_view_frame(1, 2)) == 2


def test_jpeg_images_and_natural_camera_order(tmp_path):
    names = ["cam10", "cam2", "cam1"]
    image_sequence(tmp_path, sizes=((32, 32),) * 3, num_frames=(3, 3, 3), ext=".jpg", names=names)
    with open_seq(tmp_path) as seq:
        assert seq.view_names == ["cam1", "cam2", "cam10"]


def test_stray_files_are_ignored(tmp_path):
    video_sequence(tmp_path, under=None, num_frames=(3, 3))
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "._cam01.mp4").write_bytes(b"macOS resource fork")
    (tmp_path / "empty_dir").mkdir()
    with open_seq(tmp_path) as seq:
        assert seq.view_names == ["cam01", "cam02"]


# ---------------------------------------------------------------- sequence.yaml


def test_yaml_orders_cameras_and_gives_intrinsics(tmp_path):
    video_sequence(tmp_path, num_frames=(10, 10), fps=25)
    write_yaml(tmp_path, {
        "fps": 50,
        "frame_range": [2, 9],
        "frame_step": 3,
        "cameras": [
            {"name": "cam02", "focal_px": 120, "principal_point": [40, 32]},
            {"name": "cam01", "image_size": [64, 48]},
        ],
    })
    with open_seq(tmp_path) as seq:
        assert seq.view_names == ["cam02", "cam01"]
        assert seq.fps == 50.0
        np.testing.assert_array_equal(seq.frame_indices, [2, 5, 8])
        assert seq.num_frames == 3
        assert seq.cameras[0] == CameraInfo("cam02", (80, 64), 120.0, (40.0, 32.0))
        assert seq.cameras[1] == CameraInfo("cam01", (64, 48), None, None)
        assert [frame_number(f) for f in seq.read_frame(1)] == [5, 5]
        assert [frame_number(f) for f in seq.iter_view_frames("cam01")] == [2, 5, 8]


def test_keypoints_only_sequence(tmp_path):
    keypoints_only_sequence(tmp_path, num_frames=6)
    with open_seq(tmp_path) as seq:
        assert not seq.has_images
        assert seq.view_names == ["cam01", "cam02", "cam03"]
        assert seq.view_kinds == ["keypoints"] * 3
        np.testing.assert_array_equal(seq.image_sizes, [[640, 480], [1920, 1080], [480, 640]])
        assert seq.fps == 50.0 and seq.num_frames == 6
        kp = seq.given_keypoints
        assert kp.shape == (6, 3, 17, 3) and kp.dtype == np.float32
        np.testing.assert_array_equal(kp, random_keypoints(6, 3))
        with pytest.raises(ValueError):
            kp[0, 0, 0, 0] = 1  # read-only: nobody changes the input by accident
        with pytest.raises(InputError, match="keypoints-only"):
            seq.read_frame(0)


def test_keypoints_with_videos_follow_the_frame_range(tmp_path):
    video_sequence(tmp_path, num_frames=(8, 8))
    keypoints = random_keypoints(8, 2)
    np.savez(tmp_path / "keypoints.npz", keypoints2d=keypoints, view_names=np.array(["cam01", "cam02"]))
    write_yaml(tmp_path, {"frame_range": [3, None]})
    with open_seq(tmp_path) as seq:
        np.testing.assert_array_equal(seq.given_keypoints, keypoints[3:])


def test_nan_keypoints_count_as_missing(tmp_path):
    video_sequence(tmp_path, num_frames=(2, 2))
    keypoints = random_keypoints(2, 2)
    keypoints[1, 0, 4, :2] = np.nan
    np.savez(tmp_path / "keypoints.npz", keypoints2d=keypoints)
    with open_seq(tmp_path) as seq:
        np.testing.assert_array_equal(seq.given_keypoints[1, 0, 4], [0, 0, 0])


# ---------------------------------------------------------------- frame counts and reading


def test_different_frame_counts_are_cut_with_a_warning(tmp_path, caplog):
    video_sequence(tmp_path, sizes=((64, 48), (80, 64), (64, 48)), num_frames=(9, 7, 8))
    with caplog.at_level(logging.WARNING):
        seq = open_seq(tmp_path)
    assert seq.num_frames == 7
    assert "cam01.mp4: 9" in caplog.text and "cam02.mp4: 7" in caplog.text and "first 7" in caplog.text
    seq.close()


def test_image_and_keypoint_counts_are_cut_too(tmp_path, caplog):
    image_sequence(tmp_path, num_frames=(5, 5))
    np.savez(tmp_path / "keypoints.npz", keypoints2d=random_keypoints(4, 2))
    with caplog.at_level(logging.WARNING):
        seq = open_seq(tmp_path)
    assert seq.num_frames == 4 and seq.given_keypoints.shape[0] == 4
    assert "keypoints.npz: 4" in caplog.text


def test_frame_range_past_the_end_is_cut_with_a_warning(tmp_path, caplog):
    image_sequence(tmp_path, num_frames=(5, 5))
    write_yaml(tmp_path, {"frame_range": [1, 100]})
    with caplog.at_level(logging.WARNING):
        seq = open_seq(tmp_path)
    np.testing.assert_array_equal(seq.frame_indices, [1, 2, 3, 4])
    assert "frame_range" in caplog.text


def test_iter_view_frames_equals_read_view_frame(tmp_path):
    # Longer than the decoder's skip-ahead window, so random access has to seek too.
    write_video(tmp_path / "videos" / "cam01.mp4", 150, (48, 32))
    write_video(tmp_path / "videos" / "cam02.mp4", 150, (32, 48))
    with open_seq(tmp_path) as seq:
        for view in range(2):
            frames = list(seq.iter_view_frames(view))
            assert len(frames) == 150
            for i in [0, 1, 149, 3, 100, 99, 20, 140, 0]:  # backwards, forwards, far and near
                np.testing.assert_array_equal(seq.read_view_frame(view, i), frames[i])
        # A second pass restarts from the first frame.
        first = next(seq.iter_view_frames(0))
        np.testing.assert_array_equal(first, seq.read_view_frame(0, 0))


def test_iter_view_frames_images_with_step(tmp_path):
    image_sequence(tmp_path, num_frames=(12, 12))
    write_yaml(tmp_path, {"frame_range": [1, 12], "frame_step": 4})
    with open_seq(tmp_path) as seq:
        assert [frame_number(f) for f in seq.iter_view_frames(1)] == [1, 5, 9]
        for i, frame in enumerate(seq.iter_view_frames(0)):
            np.testing.assert_array_equal(frame, seq.read_view_frame(0, i))


def test_out_of_range_frame(tmp_path):
    image_sequence(tmp_path, num_frames=(3, 3))
    with open_seq(tmp_path) as seq:
        with pytest.raises(IndexError):
            seq.read_frame(3)
        with pytest.raises(KeyError, match="cam09"):
            seq.read_view_frame("cam09", 0)


def test_reading_never_writes_to_the_input(tmp_path):
    video_sequence(tmp_path / "v", num_frames=(4, 4))
    before = snapshot(tmp_path)
    with open_seq(tmp_path / "v") as seq:
        seq.read_frame(2)
        list(seq.iter_view_frames(1))
        seq.fingerprint()
    assert snapshot(tmp_path) == before


def test_close_and_reopen(tmp_path):
    video_sequence(tmp_path, num_frames=(4, 4))
    seq = open_seq(tmp_path)
    seq.close()
    assert frame_number(seq.read_view_frame(0, 2)) == 2  # reading after close reopens the video
    seq.close()


# ---------------------------------------------------------------- fingerprint


def test_fingerprint_is_stable_and_tracks_changes(tmp_path):
    video_sequence(tmp_path, num_frames=(4, 4))
    first = open_seq(tmp_path).fingerprint()
    assert open_seq(tmp_path).fingerprint() == first  # same input, same fingerprint

    video = tmp_path / "videos" / "cam02.mp4"
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    touched = open_seq(tmp_path).fingerprint()
    assert touched != first

    write_yaml(tmp_path, {"fps": 25})
    with_yaml = open_seq(tmp_path).fingerprint()
    assert with_yaml != touched
    write_yaml(tmp_path, {"fps": 24})
    assert open_seq(tmp_path).fingerprint() != with_yaml

    np.savez(tmp_path / "keypoints.npz", keypoints2d=random_keypoints(4, 2))
    assert open_seq(tmp_path).fingerprint() not in (first, touched, with_yaml)


def test_fingerprint_sees_replaced_images(tmp_path):
    image_sequence(tmp_path, num_frames=(3, 3))
    seq = open_seq(tmp_path)
    before = seq.fingerprint()
    write_images(tmp_path / "images" / "cam01", 1, (20, 20))  # overwrites frame0.png with another size
    assert seq.fingerprint() != before


def test_fingerprint_does_not_depend_on_the_folder_location(tmp_path):
    image_sequence(tmp_path / "a", num_frames=(2, 2))
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    for src in (tmp_path / "a").rglob("*"):  # copytree keeps mtimes only with copy2; make sure
        dst = tmp_path / "b" / src.relative_to(tmp_path / "a")
        st = src.stat()
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert open_seq(tmp_path / "a").fingerprint() == open_seq(tmp_path / "b").fingerprint()


# ---------------------------------------------------------------- errors


def input_error(root, *needles) -> str:
    """Open ``root``, expect an InputError whose one-line message contains every needle."""
    with pytest.raises(InputError) as info:
        MultiViewSequence.open(root)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert str(needle) in message, message
    return message


def test_missing_folder(tmp_path):
    input_error(tmp_path / "nope", "nope", "no such folder")


def test_file_instead_of_folder(tmp_path):
    write_video(tmp_path / "cam01.mp4", 2, (32, 32))
    input_error(tmp_path / "cam01.mp4", "cam01.mp4", "not a folder")


def test_empty_folder(tmp_path):
    input_error(tmp_path, str(tmp_path), "no views found")


def test_single_view(tmp_path):
    video_sequence(tmp_path, sizes=((32, 32),), num_frames=(3,))
    input_error(tmp_path, "only one camera", "cam01", "at least 2")


def test_corrupt_video(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3), under=None)
    (tmp_path / "cam02.mp4").write_bytes(b"\x00\x01 this is not a video" * 100)
    input_error(tmp_path, "cam02.mp4", "cannot")


def test_truncated_video(tmp_path):
    video_sequence(tmp_path, num_frames=(30, 30), sizes=((160, 120), (160, 120)))
    video = tmp_path / "videos" / "cam01.mp4"
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    input_error(tmp_path, "cam01.mp4")


def test_corrupt_first_image(tmp_path):
    image_sequence(tmp_path, num_frames=(3, 3))
    (tmp_path / "images" / "cam02" / "frame0.png").write_bytes(b"not a png")
    input_error(tmp_path, "frame0.png", "cannot read image")


def test_corrupt_later_image_fails_when_read(tmp_path):
    image_sequence(tmp_path, num_frames=(3, 3))
    (tmp_path / "images" / "cam01" / "frame2.png").write_bytes(b"garbage")
    with open_seq(tmp_path) as seq:
        seq.read_frame(1)
        with pytest.raises(InputError, match="frame2.png.*cannot read image"):
            seq.read_frame(2)


def test_image_of_another_size_in_a_camera(tmp_path):
    image_sequence(tmp_path, num_frames=(3, 3))
    write_images(tmp_path / "images" / "cam01", 1, (20, 20), pattern="frame1")
    with open_seq(tmp_path) as seq:
        with pytest.raises(InputError, match=r"frame1.png.*20x20.*frame0.png is 64x48"):
            seq.read_view_frame(0, 1)


def test_keypoints_wrong_shape(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3))
    np.savez(tmp_path / "keypoints.npz", keypoints2d=np.zeros((3, 2, 33, 3)))
    input_error(tmp_path, "keypoints.npz", "(3, 2, 33, 3)", "(F, V, 17, 3)")


def test_keypoints_wrong_view_count(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3))
    np.savez(tmp_path / "keypoints.npz", keypoints2d=random_keypoints(3, 4))
    input_error(tmp_path, "keypoints.npz", "4 views", "2 (cam01, cam02)")


def test_keypoints_wrong_view_names(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3))
    np.savez(tmp_path / "keypoints.npz", keypoints2d=random_keypoints(3, 2), view_names=np.array(["a", "b"]))
    input_error(tmp_path, "keypoints.npz", "view_names")


def test_keypoints_missing_array(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3))
    np.savez(tmp_path / "keypoints.npz", points=random_keypoints(3, 2))
    input_error(tmp_path, "keypoints.npz", "no 'keypoints2d'", "points")


def test_keypoints_not_npz(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3))
    (tmp_path / "keypoints.npz").write_text("x,y,c\n1,2,3\n")
    input_error(tmp_path, "keypoints.npz", "not an .npz archive")


def test_keypoints_bad_confidence(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3))
    keypoints = random_keypoints(3, 2)
    keypoints[0, 0, 0, 2] = 7.0
    np.savez(tmp_path / "keypoints.npz", keypoints2d=keypoints)
    input_error(tmp_path, "keypoints.npz", "confidences")


def test_keypoints_without_images_or_yaml(tmp_path):
    np.savez(tmp_path / "keypoints.npz", keypoints2d=random_keypoints(3, 2))
    input_error(tmp_path, "keypoints.npz", "sequence.yaml", "image_size")


def test_keypoints_only_needs_every_image_size(tmp_path):
    keypoints_only_sequence(tmp_path)
    write_yaml(tmp_path, {"cameras": [{"name": "cam01", "image_size": [640, 480]}, {"name": "cam02"}, {"name": "cam03"}]})
    input_error(tmp_path, "sequence.yaml", "cameras[1].image_size")


def test_yaml_cameras_without_any_data(tmp_path):
    write_yaml(tmp_path, {"cameras": [{"name": "a"}, {"name": "b"}]})
    input_error(tmp_path, "no views found", "keypoints.npz")


def test_yaml_lists_a_camera_that_is_missing(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3))
    write_yaml(tmp_path, {"cameras": [{"name": "cam01"}, {"name": "cam02"}, {"name": "cam03"}]})
    input_error(tmp_path, "sequence.yaml", "'cam03'", "cam01, cam02")


def test_yaml_misses_a_camera_that_is_there(tmp_path):
    video_sequence(tmp_path, sizes=((32, 32),) * 3, num_frames=(3, 3, 3))
    write_yaml(tmp_path, {"cameras": [{"name": "cam01"}, {"name": "cam03"}]})
    input_error(tmp_path, "sequence.yaml", "'cam02'", "does not list")


def test_yaml_image_size_disagrees_with_video(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3))
    write_yaml(tmp_path, {"cameras": [{"name": "cam01", "image_size": [1920, 1080]}, {"name": "cam02"}]})
    input_error(tmp_path, "sequence.yaml", "cameras[0].image_size is 1920x1080", "cam01.mp4 is 64x48")


@pytest.mark.parametrize("content, needles", [
    ("fps: [30\n", ["not valid YAML", "line"]),
    ({"fps": "fast"}, ["fps", "expected a number"]),
    ({"fps": 0}, ["fps must be a positive"]),
    ({"speed": 3}, ["unknown key speed"]),
    ({"cameras": [{"name": "cam01", "focal_px": -5}, {"name": "cam02"}]}, ["cameras[0]", "focal_px"]),
    ({"cameras": [{"name": "cam01", "image_size": [64]}, {"name": "cam02"}]}, ["cameras[0].image_size"]),
    ({"cameras": [{"name": "cam01"}, {"name": "cam01"}]}, ["listed twice"]),
    ({"cameras": [{"name": "cam01", "lens": "wide"}]}, ["cameras[0].lens"]),
    ({"frame_range": [5, 2]}, ["frame_range"]),
    ({"frame_range": [50, None]}, ["frame_range starts at frame 50", "3 frames"]),
    ({"frame_step": 0}, ["frame_step"]),
])
def test_bad_yaml(tmp_path, content, needles):
    video_sequence(tmp_path, num_frames=(3, 3))
    write_yaml(tmp_path, content)
    input_error(tmp_path, "sequence.yaml", *needles)


def test_two_layouts_are_ambiguous(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3), under="videos")
    image_sequence(tmp_path, num_frames=(3, 3), under="images", names=["left", "right"])
    input_error(tmp_path, "videos under videos/", "image folders under images/", "sequence.yaml")
    # Listing the cameras picks them out of the layouts.
    write_yaml(tmp_path, {"cameras": [{"name": "left"}, {"name": "cam01"}]})
    input_error(tmp_path, "'cam02'", "does not list")
    write_yaml(tmp_path, {"cameras": [{"name": "left"}, {"name": "right"}]})
    with open_seq(tmp_path) as seq:
        assert seq.view_kinds == ["images", "images"]


def test_camera_in_two_places(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3), under="videos")
    image_sequence(tmp_path, num_frames=(3, 3), under="images")
    write_yaml(tmp_path, {"cameras": [{"name": "cam01"}, {"name": "cam02"}]})
    input_error(tmp_path, "'cam01'", "two places", "videos/cam01.mp4", "images/cam01")


def test_two_videos_for_one_camera(tmp_path):
    video_sequence(tmp_path, num_frames=(3, 3), under=None)
    write_video(tmp_path / "cam01.avi", 3, (32, 32))
    input_error(tmp_path, "two videos", "cam01")


def test_video_decoding_is_unaffected_by_opencv_image_size(tmp_path):
    # Odd sizes, to be sure the reported size is what is decoded (not the container's hint).
    write_video(tmp_path / "a.avi", 3, (66, 50), fourcc="MJPG")
    write_video(tmp_path / "b.avi", 3, (50, 66), fourcc="MJPG")
    with open_seq(tmp_path) as seq:
        assert [f.shape[:2] for f in seq.read_frame(0)] == [(50, 66), (66, 50)]
        assert cv2.__version__  # opencv-contrib is the only OpenCV in the environment


def test_truncated_avi_uses_the_frames_that_decode(tmp_path, caplog):
    # AVI keeps its header (30 frames) when the tail is cut off: the count must come from decoding.
    video_sequence(tmp_path, num_frames=(30, 30), sizes=((160, 120), (160, 120)), ext=".avi")
    video = tmp_path / "videos" / "cam02.avi"
    video.write_bytes(video.read_bytes()[: int(video.stat().st_size * 0.6)])
    with caplog.at_level(logging.WARNING):
        seq = open_seq(tmp_path)
    assert "cam02.avi" in caplog.text and "30 frames" in caplog.text
    assert 0 < seq.num_frames < 30
    frames = list(seq.iter_view_frames(1))
    assert len(frames) == seq.num_frames
    assert frame_number(seq.read_view_frame(1, seq.num_frames - 1)) == seq.num_frames - 1
    seq.close()
