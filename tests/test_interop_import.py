"""Imports: other detectors' keypoint layouts and files, the main-person choice, and calibration
files (Pose2Sim/anipose/FreeMoCap TOML, EasyMocap YAML) read into known cameras."""

import json
import logging

import numpy as np
import pytest

from core.errors import InputError
from core.fit.known_cameras import apply_calibration
from core.fit.sequence import FitInputs
from core.io.calibration import easymocap_texts, read_calibration, read_qca, toml_text
from core.io.keypoint_formats import KEYPOINT_FORMATS, detect_format, to_coco17
from core.io.keypoint_import import (
    match_cameras,
    read_coco_keypoints,
    read_keypoints,
    read_openpose_folder,
)
from core.io.main_person import main_person


def coco_person(seed=0, centre=(500.0, 400.0), scale=300.0, conf=0.8) -> np.ndarray:
    """(17, 3) a plausible upright COCO-17 person in pixels."""
    rng = np.random.default_rng(seed)
    layout = np.array([[0, -0.9], [0.05, -0.95], [-0.05, -0.95], [0.1, -0.92], [-0.1, -0.92], [0.2, -0.7], [-0.2, -0.7],
                       [0.25, -0.4], [-0.25, -0.4], [0.27, -0.15], [-0.27, -0.15], [0.12, -0.1], [-0.12, -0.1],
                       [0.12, 0.3], [-0.12, 0.3], [0.12, 0.7], [-0.12, 0.7]])
    xy = np.asarray(centre) + scale * layout + rng.normal(0, 2, (17, 2))
    return np.concatenate([xy, np.full((17, 1), conf)], axis=1)


def in_layout(person: np.ndarray, fmt: str) -> np.ndarray:
    """The COCO-17 person written in another layout (extra points: neck/mid-hip midpoints, feet low)."""
    count, index = KEYPOINT_FORMATS[fmt]
    out = np.zeros((count, 3))
    out[list(index)] = person
    neck, hip = 0.5 * (person[5] + person[6]), 0.5 * (person[11] + person[12])
    named = {"body25": {1: neck, 8: hip}, "coco18": {1: neck}, "body25b": {17: neck}, "halpe26": {18: neck, 19: hip}}
    for i, p in named.get(fmt, {}).items():
        out[i] = p
    return out


@pytest.mark.parametrize("fmt", list(KEYPOINT_FORMATS))
def test_layouts_are_told_apart_and_mapped_to_coco17(fmt):
    people = np.stack([in_layout(coco_person(s), fmt) for s in range(3)])
    assert detect_format(people) == fmt
    assert np.allclose(to_coco17(people, fmt), np.stack([coco_person(s) for s in range(3)]))


def test_an_unknown_keypoint_count_needs_the_format():
    with pytest.raises(InputError, match="--keypoint-format"):
        detect_format(np.zeros((2, 20, 3)))


def write_openpose(folder, cameras, frames, people_of, fmt="body25", name="{cam}_{f:012d}_keypoints.json"):
    for cam in cameras:
        (folder / f"{cam}_json").mkdir(parents=True)
        for f in range(frames):
            people = [{"person_id": [-1], "pose_keypoints_2d": in_layout(p, fmt).reshape(-1).tolist()}
                      for p in people_of(cam, f)]
            (folder / f"{cam}_json" / name.format(cam=cam, f=f)).write_text(json.dumps({"version": 1.3, "people": people}))


def test_openpose_folder_with_a_bystander_keeps_the_main_person(tmp_path):
    def people_of(cam, f):
        main = coco_person(f, centre=(400 + 5 * f, 400), conf=0.6)
        bystander = coco_person(100 + f, centre=(900, 380), scale=250, conf=0.9)
        return [bystander, main] if cam == "cam01" and f % 3 == 0 else [main]  # brighter, but seen only now and then

    write_openpose(tmp_path / "pose", ["cam01", "cam02"], 9, people_of, name="{cam}.{f:04d}.json")
    imported = read_openpose_folder(tmp_path / "pose")
    assert imported.view_names == ["cam01", "cam02"] and imported.keypoint_format == "body25"
    keypoints = imported.for_views(["cam02", "cam01"])
    assert keypoints.shape == (9, 2, 17, 3)
    expected = np.stack([coco_person(f, centre=(400 + 5 * f, 400), conf=0.6) for f in range(9)])
    assert np.allclose(keypoints[:, 1], expected, atol=1e-4) and np.allclose(keypoints[:, 0], expected, atol=1e-4)


def test_main_person_is_followed_through_a_gap():
    frames = [np.stack([coco_person(f, centre=(300 + 10 * f, 400))]) if f != 3 else np.zeros((0, 17, 3)) for f in range(8)]
    frames[5] = np.stack([coco_person(55, centre=(900, 400), conf=0.95), frames[5][0]])  # someone else, once
    chosen = main_person(frames)
    assert (chosen[3] == 0).all()
    assert np.allclose(chosen[5], frames[5][1]) and np.allclose(chosen[7], frames[7][0])


def test_frames_are_placed_by_their_numbers_and_missing_ones_stay_empty(tmp_path):
    write_openpose(tmp_path / "pose", ["a", "b"], 4, lambda cam, f: [coco_person(f)], fmt="coco17")
    (tmp_path / "pose" / "b_json" / "b_000000000002_keypoints.json").unlink()
    keypoints = read_keypoints(tmp_path / "pose").for_views(["a", "b"])
    assert keypoints.shape[0] == 4 and (keypoints[2, 1] == 0).all() and (keypoints[3, 1, :, 2] > 0).all()


def test_cameras_matched_by_name_else_by_sorted_order(caplog):
    assert match_cameras(["cam_02", "cam_01"], ["cam01", "cam02"], None) == [1, 0]
    with caplog.at_level(logging.WARNING):
        assert match_cameras(["left", "right"], ["cam1", "cam2"], None) == [0, 1]
    assert "sorted order" in caplog.text
    with pytest.raises(InputError, match="cam3"):
        match_cameras(["cam1", "cam2"], ["cam1", "cam2", "cam3"], None)


def test_coco_keypoint_file(tmp_path):
    images, annotations = [], []
    for c, cam in enumerate(["cam01", "cam02"]):
        for f in range(3):
            images.append({"id": 10 * c + f, "file_name": f"{cam}/{f:06d}.jpg", "width": 1000, "height": 800})
            person = coco_person(f)
            person[:, 2] = 2
            person[3, 2] = 0  # not labelled
            annotations.append({"image_id": 10 * c + f, "keypoints": person.reshape(-1).tolist(), "num_keypoints": 16})
    path = tmp_path / "keypoints.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    imported = read_coco_keypoints(path)
    keypoints = imported.for_views(["cam01", "cam02"])
    assert imported.keypoint_format == "coco17" and keypoints.shape == (3, 2, 17, 3)
    assert set(np.unique(keypoints[..., 2])) == {0.0, 1.0} and (keypoints[:, :, 3, 2] == 0).all()
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "x.jpg"}], "annotations": []}))
    with pytest.raises(InputError, match="<camera>/<frame>"):
        read_coco_keypoints(path)


def test_bad_keypoint_inputs_are_named(tmp_path):
    with pytest.raises(InputError, match="no such keypoint"):
        read_keypoints(tmp_path / "missing")
    (tmp_path / "pose" / "cam01_json").mkdir(parents=True)
    (tmp_path / "pose" / "cam01_json" / "0.json").write_text("{not json")
    with pytest.raises(InputError, match="0.json: not readable JSON"):
        read_keypoints(tmp_path / "pose")


# ---------------------------------------------------------------------------------- calibration

def demo_rig():
    from core.bench.real import SHIPPED_REFERENCE

    return read_qca(SHIPPED_REFERENCE)


def test_toml_in_millimetres_is_read_in_metres(tmp_path):
    rig = demo_rig()
    text = toml_text(rig)
    millimetres = []
    for line in text.splitlines():
        if line.startswith("translation"):
            values = [1000 * float(v) for v in line.split("[")[1].rstrip("]").split(",")]
            line = f"translation = [ {', '.join(map(str, values))}]"
        millimetres.append(line.replace("[cam0", "[cam_0"))
    (tmp_path / "anipose.toml").write_text("\n".join(millimetres) + "\n[charuco]\nsquare_length = 40.0\n")
    read = read_calibration(tmp_path / "anipose.toml")
    assert read.names == rig.names
    assert np.allclose(read.translations, rig.translations, atol=1e-9) and np.allclose(read.rotations, rig.rotations, atol=1e-9)


def test_toml_refusals(tmp_path):
    (tmp_path / "f.toml").write_text('[cam1]\nmatrix = [[1000, 0, 500], [0, 1000, 500], [0, 0, 1]]\nfisheye = true\n')
    with pytest.raises(InputError, match=r"f.toml: \[cam1\]: fisheye"):
        read_calibration(tmp_path / "f.toml")
    (tmp_path / "g.toml").write_text("[metadata]\nerror = 0\n")
    with pytest.raises(InputError, match="no camera tables"):
        read_calibration(tmp_path / "g.toml")
    (tmp_path / "c.txt").write_text("x")
    with pytest.raises(InputError, match="unknown calibration format"):
        read_calibration(tmp_path / "c.txt")


def test_easymocap_round_trip_and_intrinsics_only(tmp_path):
    rig = demo_rig()
    intri, extri = easymocap_texts(rig)
    (tmp_path / "intri.yml").write_text(intri)
    (tmp_path / "extri.yml").write_text(extri)
    read = read_calibration(tmp_path)
    assert np.allclose(read.rotations, rig.rotations) and np.allclose(read.translations, rig.translations)
    assert [c.size for c in read.cameras] == [c.size for c in rig.cameras]
    (tmp_path / "extri.yml").unlink()
    assert not any(c.has_extrinsics for c in read_calibration(tmp_path / "intri.yml").cameras)


def test_a_partial_calibration_fixes_what_it_knows(tmp_path):
    rig = demo_rig()
    text = toml_text(rig)
    # cam02 only, and without extrinsics; cam01 fully known
    blocks = text.split("\n\n")
    cam01 = blocks[0].split("\n", 1)[1] if blocks[0].startswith("#") else blocks[0]
    cam02 = "\n".join(line for line in blocks[1].splitlines() if not line.startswith(("rotation", "translation")))
    (tmp_path / "partial.toml").write_text(cam01 + "\n\n" + cam02 + "\n")
    views = ["cam01", "cam02", "cam03"]
    keypoints = np.zeros((2, 3, 17, 3), np.float32)
    keypoints[..., :2], keypoints[..., 2] = 300.0, 0.9
    inputs = FitInputs(keypoints, np.full(3, 1500, np.float32), np.full((3, 2), 500, np.float32),
                       np.array([[1088, 1920]] * 3), views, np.arange(2))
    fitted, capture = apply_calibration(inputs, read_calibration(tmp_path / "partial.toml"))
    extrinsics = fitted.extrinsics
    assert fitted.focal_known.tolist() == [True, True, False]
    assert fitted.focal[0] == pytest.approx(rig.cameras[0].focal_px) and fitted.focal[2] == 1500
    assert extrinsics.known.tolist() == [True, False, False]
    assert np.allclose(extrinsics.rotation[0], rig.cameras[0].rotation)
    # the calibrated views' lens distortion goes to the capture (the fit removes it), the others' stays 0
    assert np.any(capture.distortions[0]) and not np.any(capture.distortions[2])
    inputs.image_sizes[0] = (640, 480)
    with pytest.raises(InputError, match="calibrated for 1088x1920"):
        apply_calibration(inputs, read_calibration(tmp_path / "partial.toml"))
