"""Property-based tests of every parser of user files: ``sequence.yaml``, the fit and training
configs, keypoint imports (OpenPose folders, COCO files, ``keypoints.npz``), calibration files
(Pose2Sim TOML, EasyMocap YAML, Qualisys XML) and results (``result.npz``).

The property: whatever the file holds, the parser returns a well-formed value or raises
InputError (one line for the user); never another exception (a traceback). Files are made from
hypothesis' data both at random and by damaging valid files one value at a time.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from core.config import CONFIGS_DIR  # noqa: E402
from core.errors import InputError  # noqa: E402
from core.fit.config import FitConfig, load_fit_config  # noqa: E402
from core.io.calibration import read_calibration  # noqa: E402
from core.io.keypoint_import import read_keypoints  # noqa: E402
from core.io.keypoints_file import read_keypoints_npz  # noqa: E402
from core.io.results import FitResult  # noqa: E402
from core.io.sequence import MultiViewSequence  # noqa: E402
from core.io.sequence_config import SequenceConfig, load_sequence_config  # noqa: E402
from core.train.config import TrainConfig, load_train_config  # noqa: E402

# The same examples on every run (CI included); to search further, turn derandomize off and run
# with other `--hypothesis-seed`s (that is how an infinite calibration image size was found).
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

# ------------------------------------------------------------------------------ value strategies

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
# What a YAML or JSON file can hold: scalars, lists and string-keyed mappings, nested.
trees = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)), max_leaves=20)
numbers = st.one_of(st.integers(-5000, 5000), st.floats(allow_nan=True, allow_infinity=True, width=32))


def leaf_paths(tree, prefix=()):
    """Every path to a leaf value of a nested dict/list."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaf_paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from leaf_paths(value, (*prefix, i))
    else:
        yield prefix


def replaced(tree, path, value):
    """A copy of ``tree`` with the value at ``path`` replaced (the whole tree for an empty path)."""
    if not path:
        return value
    copy = dict(tree) if isinstance(tree, dict) else list(tree)
    copy[path[0]] = replaced(tree[path[0]], path[1:], value)
    return copy


@st.composite
def damaged(draw, valid_tree):
    """``valid_tree`` with one leaf (or one whole section) replaced by an arbitrary value."""
    paths = list(leaf_paths(valid_tree))
    path = draw(st.sampled_from(paths)) if paths else ()
    path = path[: draw(st.integers(0, len(path)))] if path else path  # sometimes a whole section
    return replaced(valid_tree, path, draw(trees))


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="cmanet-fuzz-"))


def yaml_text(tree) -> str:
    return yaml.safe_dump(tree, allow_unicode=True)


# ------------------------------------------------------------------------------- sequence.yaml

VALID_SEQUENCE = {"fps": 25, "frame_range": [0, 4], "cameras": [
    {"name": "cam01", "image_size": [640, 480], "focal_px": 600.0, "principal_point": [320, 240],
     "distortions": [0.1, 0.0, 0.0, 0.0], "time_offset_frames": 0.0, "fps": 25},
    {"name": "cam02", "image_size": [640, 480]},
]}


@FUZZ
@given(st.one_of(trees, damaged(VALID_SEQUENCE)))
def test_sequence_yaml_is_a_config_or_one_error(tree):
    path = scratch() / "sequence.yaml"
    path.write_text(yaml_text(tree), encoding="utf-8")
    try:
        assert isinstance(load_sequence_config(path), SequenceConfig)
    except InputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


@FUZZ
@given(st.one_of(trees, damaged(VALID_SEQUENCE)), st.integers(1, 6))
def test_keypoints_only_sequence_opens_or_fails_with_one_error(tree, frames):
    """The whole opening of a sequence folder (sequence.yaml + keypoints.npz) with any yaml."""
    root = scratch()
    (root / "sequence.yaml").write_text(yaml_text(tree), encoding="utf-8")
    kp = np.random.default_rng(frames).uniform(0, 400, (frames, 2, 17, 3)).astype(np.float32)
    kp[..., 2] = 0.9
    np.savez(root / "keypoints.npz", keypoints2d=kp)
    try:
        with MultiViewSequence.open(root) as seq:
            assert seq.num_frames >= 1 and seq.num_views == 2
            assert seq.given_keypoints.shape == (seq.num_frames, 2, 17, 3)
            assert (seq.image_sizes > 0).all()
    except InputError as exc:
        assert "\n" not in str(exc)


# ------------------------------------------------------------------------------------- configs

FIT_DEFAULT = yaml.safe_load((CONFIGS_DIR / "fit.yaml").read_text())
TRAIN_TINY = yaml.safe_load((CONFIGS_DIR / "tiny.yaml").read_text())


@FUZZ
@given(st.one_of(trees, damaged(FIT_DEFAULT)))
def test_fit_config_is_a_config_or_one_error(tree):
    path = scratch() / "fit.yaml"
    path.write_text(yaml_text(tree), encoding="utf-8")
    try:
        config = load_fit_config(path)
        assert isinstance(config, FitConfig)
        config.validate()
    except InputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


@FUZZ
@given(st.one_of(trees, damaged(TRAIN_TINY)))
def test_train_config_is_a_config_or_one_error(tree):
    path = scratch() / "train.yaml"
    path.write_text(yaml_text(tree), encoding="utf-8")
    try:
        assert isinstance(load_train_config(path), TrainConfig)
    except InputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


@FUZZ
@given(st.binary(max_size=200))
def test_config_bytes_are_a_config_or_one_error(data):
    path = scratch() / "fit.yaml"
    path.write_bytes(data)
    try:
        load_fit_config(path)
    except InputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


# ---------------------------------------------------------------------------- keypoint imports

def check_imported(imported, views: int = 2) -> None:
    """Well-formed imported keypoints: (P, 17, 3) finite arrays, confidences in [0, 1]."""
    assert len(imported.view_names) == len(imported.people)
    for frames in imported.people:
        for people in frames:
            assert people.ndim == 3 and people.shape[1:] == (17, 3)
            assert np.isfinite(people).all() and (people[..., 2] >= 0).all() and (people[..., 2] <= 1).all()
    out = imported.for_views([f"cam{v + 1:02d}" for v in range(len(imported.view_names))])
    assert out.shape[1:] == (len(imported.view_names), 17, 3) and np.isfinite(out).all()


person_values = st.one_of(
    st.lists(numbers, min_size=51, max_size=51),  # COCO-17
    st.lists(numbers, min_size=75, max_size=75),  # BODY_25
    st.lists(numbers, max_size=80),
    trees,
)
openpose_frames = st.one_of(
    st.fixed_dictionaries({"people": st.lists(st.fixed_dictionaries({"pose_keypoints_2d": person_values}), max_size=3)}),
    st.dictionaries(st.sampled_from(["people", "version", "x"]), trees, max_size=3),
    trees,
)


@FUZZ
@given(st.lists(st.lists(openpose_frames, min_size=1, max_size=3), min_size=1, max_size=2),
       st.sampled_from([None, "coco17", "body25", "halpe26"]))
def test_openpose_folder_imports_or_fails_with_one_error(cameras, keypoint_format):
    folder = scratch()
    for c, frames in enumerate(cameras):
        camera = folder / f"cam{c + 1:02d}_json"
        camera.mkdir()
        for f, frame in enumerate(frames):
            (camera / f"cam{c + 1:02d}_{f:012d}_keypoints.json").write_text(json.dumps(frame))
    try:
        check_imported(read_keypoints(folder, keypoint_format))
    except InputError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["cam01", "cam02"]), st.integers(0, 5), person_values), max_size=6),
       st.one_of(st.none(), trees))
def test_coco_file_imports_or_fails_with_one_error(annotations, junk):
    images = [{"id": i, "file_name": f"{cam}/{frame:06d}.png"} for i, (cam, frame, _) in enumerate(annotations)]
    anns = [{"image_id": i, "keypoints": points} for i, (_, _, points) in enumerate(annotations)]
    data = {"images": images, "annotations": anns} if junk is None else replaced({"images": images, "annotations": anns},
                                                                               ("annotations",), junk)
    path = scratch() / "keypoints.json"
    path.write_text(json.dumps(data))
    try:
        check_imported(read_keypoints(path))
    except InputError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(st.binary(max_size=300))
def test_keypoint_json_bytes_import_or_fail_with_one_error(data):
    path = scratch() / "keypoints.json"
    path.write_bytes(data)
    with pytest.raises(InputError):
        read_keypoints(path)


# ------------------------------------------------------------------------ npz files (keypoints, results)

dtypes = st.sampled_from([np.float32, np.float64, np.int64, np.bool_, np.complex64, "U4", "S3"])


@st.composite
def arrays(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
    dtype = np.dtype(draw(dtypes))
    size = int(np.prod(shape))
    if dtype.kind in "US":
        values = draw(st.lists(st.text("abc", max_size=3), min_size=size, max_size=size))
    else:
        values = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=size, max_size=size))
    with np.errstate(invalid="ignore"):
        return np.array(values, dtype=np.float64 if dtype.kind not in "US" else None).astype(dtype).reshape(shape) \
            if dtype.kind not in "US" else np.array(values, dtype=dtype).reshape(shape)


@FUZZ
@given(st.dictionaries(st.sampled_from(["keypoints2d", "view_names", "other"]), arrays(), max_size=3))
def test_keypoints_npz_reads_or_fails_with_one_error(contents):
    path = scratch() / "keypoints.npz"
    np.savez(path, **contents)
    try:
        keypoints, names = read_keypoints_npz(path)
        assert keypoints.ndim == 4 and keypoints.shape[2:] == (17, 3) and keypoints.dtype == np.float32
        assert np.isfinite(keypoints).all() and keypoints[..., 2].min() >= 0 and keypoints[..., 2].max() <= 1
    except InputError as exc:
        assert "\n" not in str(exc)


def valid_result(frames: int = 2, views: int = 2) -> dict[str, np.ndarray]:
    """The arrays of a well-formed result (zeros, right shapes)."""
    J, S, K = 3, 4, 17
    from core.keypoints import COCO17_NAMES

    f32 = lambda *shape: np.zeros(shape, np.float32)  # noqa: E731
    return {
        "keypoint_names": np.array(COCO17_NAMES), "view_names": np.array([f"cam{v}" for v in range(views)]),
        "frame_indices": np.arange(frames), "joints3d": f32(frames, K, 3),
        "cam_R": np.tile(np.eye(3, dtype=np.float32), (frames, views, 1, 1)), "cam_t": f32(frames, views, 3),
        "cam_f": f32(frames, views) + 500, "cam_c": f32(frames, views, 2), "global_orient": f32(frames, 3),
        "transl": f32(frames, 3), "body_pose": f32(frames, J, 3), "shape": f32(frames, S),
        "irv_joints3d": f32(frames, views, K, 3), "irv_global_orient": f32(frames, views, 3),
        "irv_transl": f32(frames, views, 3), "irv_body_pose": f32(frames, views, J, 3), "irv_shape": f32(frames, views, S),
        "irv_reproj_px": f32(frames, views), "iev_reproj_px": f32(frames, views), "keypoints2d": f32(frames, views, K, 3),
        "image_sizes": np.full((views, 2), 100), "fps": np.float64(25), "body_model": np.array("anny"),
        "pose_joint_names": np.array(["a", "b", "c"]), "mode": np.array("optimize"), "irv_cam_f": f32(frames, views),
        "format_version": np.int64(2), "time_offsets_frames": f32(views), "distortions": f32(views, 5),
    }


def test_the_valid_result_of_the_fuzz_loads(tmp_path):
    np.savez(tmp_path / "result.npz", **valid_result())
    assert FitResult.load(tmp_path).num_frames == 2


@FUZZ
@given(st.sampled_from(sorted(valid_result())), st.one_of(arrays(), st.just(None)))
def test_result_with_one_damaged_array_loads_or_fails_with_one_error(key, value):
    contents = valid_result()
    if value is None:
        del contents[key]
    else:
        contents[key] = value
    path = scratch() / "result.npz"
    np.savez(path, **contents)
    try:
        result = FitResult.load(path)
        result.validate()
        for field in dataclasses.fields(result):
            getattr(result, field.name)
    except InputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


@FUZZ
@given(st.binary(max_size=400))
def test_result_bytes_fail_with_one_error(data):
    path = scratch() / "result.npz"
    path.write_bytes(data)
    with pytest.raises(InputError):
        FitResult.load(path)


# --------------------------------------------------------------------------------- calibrations

def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        if isinstance(value, float) and math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


toml_scalars = st.one_of(st.booleans(), st.integers(-10**6, 10**6), st.floats(), st.text(max_size=8))
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=12)
camera_tables = st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.text(max_size=8), toml_scalars),
    "size": st.one_of(st.lists(numbers, max_size=3), toml_values),
    "matrix": st.one_of(st.just([[1000.0, 0.0, 320.0], [0.0, 1000.0, 240.0], [0.0, 0.0, 1.0]]),
                        st.lists(st.lists(numbers, min_size=3, max_size=3), min_size=3, max_size=3), toml_values),
    "distortions": st.one_of(st.lists(numbers, max_size=6), toml_values),
    "rotation": st.one_of(st.lists(numbers, min_size=3, max_size=3),
                          st.lists(st.lists(numbers, min_size=3, max_size=3), min_size=3, max_size=3), toml_values),
    "translation": st.one_of(st.lists(numbers, min_size=3, max_size=3), toml_values),
    "fisheye": toml_values,
})


def check_rig(rig) -> None:
    for camera in rig.cameras:
        assert camera.matrix.shape == (3, 3) and np.isfinite(camera.matrix).all()
        assert camera.matrix[0, 0] > 0 and camera.matrix[1, 1] > 0
        if camera.has_extrinsics:
            assert camera.rotation.shape == (3, 3) and camera.translation.shape == (3,)
            assert np.allclose(camera.rotation @ camera.rotation.T, np.eye(3), atol=1e-3)
            assert np.isfinite(camera.translation).all()


@FUZZ
@given(st.dictionaries(st.sampled_from(["cam_1", "cam_2", "metadata", "int_cam3"]), camera_tables, min_size=1, max_size=3))
def test_toml_calibration_reads_or_fails_with_one_error(tables):
    lines = []
    for key, table in tables.items():
        lines.append(f"[{key}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    path = scratch() / "Calib.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        check_rig(read_calibration(path))
    except InputError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["Calib.toml", "cal.qca.txt", "intri.yml"]))
def test_calibration_bytes_read_or_fail_with_one_error(data, name):
    path = scratch() / name
    path.write_bytes(data)
    try:
        check_rig(read_calibration(path))
    except InputError as exc:
        assert "\n" not in str(exc)


def opencv_matrix(key: str, values, rows: int, cols: int) -> str:
    data = ", ".join("nan" if isinstance(v, float) and math.isnan(v) else
                     (".inf" if v > 0 else "-.inf") if isinstance(v, float) and math.isinf(v) else repr(v) for v in values)
    return f"{key}: !!opencv-matrix\n  rows: {rows}\n  cols: {cols}\n  dt: d\n  data: [{data}]\n"


@FUZZ
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(1, 3), st.lists(numbers, min_size=0, max_size=9)), min_size=1, max_size=2),
       st.booleans())
def test_easymocap_calibration_reads_or_fails_with_one_error(matrices, with_extri):
    folder = scratch()
    names = [f"{i + 1:02d}" for i in range(len(matrices))]
    intri = "%YAML:1.0\n---\nnames:\n" + "".join(f'  - "{n}"\n' for n in names)
    extri = intri
    for name, (rows, cols, values) in zip(names, matrices):
        values = (values + [1.0] * 9)[: rows * cols]
        intri += opencv_matrix(f"K_{name}", values, rows, cols) + opencv_matrix(f"dist_{name}", [0.0] * 5, 1, 5)
        extri += opencv_matrix(f"R_{name}", (values + [0.1] * 3)[:3], 3, 1) + opencv_matrix(f"T_{name}", [0.0, 0.0, 3.0], 3, 1)
    (folder / "intri.yml").write_text(intri)
    if with_extri:
        (folder / "extri.yml").write_text(extri)
    try:
        check_rig(read_calibration(folder))
    except InputError as exc:
        assert "\n" not in str(exc)


QCA_CAMERA = ('<camera serial="{serial}"><fov_video left="{left}" top="0" right="639" bottom="479"/>'
              '<intrinsic focalLengthU="{fu}" focalLengthV="64000" centerPointU="20480" centerPointV="15360" '
              'radialDistortion1="0" radialDistortion2="0" tangentalDistortion1="0" tangentalDistortion2="0"/>'
              '<transform x="0" y="0" z="{z}" r11="1" r12="0" r13="0" r21="0" r22="1" r23="0" r31="0" r32="0" r33="1"/>'
              '</camera>')


@FUZZ
@given(st.lists(st.fixed_dictionaries({"serial": st.text("abc123", max_size=4), "left": st.one_of(numbers, st.text(max_size=3)),
                                       "fu": st.one_of(numbers, st.text(max_size=3)), "z": st.one_of(numbers, st.text(max_size=3))}),
                max_size=3))
def test_qualisys_calibration_reads_or_fail_with_one_error(cameras):
    from xml.sax.saxutils import quoteattr

    body = "".join(QCA_CAMERA.format(**{k: quoteattr(str(v))[1:-1] for k, v in cam.items()}) for cam in cameras)
    path = scratch() / "cal.qca.txt"
    path.write_text(f'<?xml version="1.0"?><calibration><cameras>{body}</cameras></calibration>')
    try:
        check_rig(read_calibration(path))
    except InputError as exc:
        assert "\n" not in str(exc)


def test_the_fuzzers_reach_valid_files(tmp_path):
    """The valid seeds of the damaged-file strategies do parse (so damage, not a broken seed, is
    what the fuzz tests exercise)."""
    path = tmp_path / "sequence.yaml"
    path.write_text(yaml_text(VALID_SEQUENCE))
    assert load_sequence_config(path).cameras[0].focal_px == 600.0
    stream = io.StringIO()
    yaml.safe_dump(FIT_DEFAULT, stream)
    (tmp_path / "fit.yaml").write_text(stream.getvalue())
    assert isinstance(load_fit_config(tmp_path / "fit.yaml"), FitConfig)
