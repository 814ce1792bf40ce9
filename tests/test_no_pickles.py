"""Untrusted files are never unpickled: every loader of a user file refuses a file whose pickle
would run code (the proof: a pickle that would create a marker file, which must never appear),
and no loader in the code allows pickles (a source scan). The SMPL ``.pkl`` is read without
running code and converts to the preferred ``.npz``."""

from __future__ import annotations

import ast
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
# The one place that unpickles: the app's own render-server pipe (a child process it starts itself;
# no file). SMPL .pkl files go through core.body.smpl_file's restricted unpickler (no pickle.load).
PICKLE_LOADS_ALLOWED = {"cmanet_app/scene3d/protocol.py"}


class Payload:
    """Unpickling this creates ``marker``: a stand-in for code an attacker's pickle would run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "code-ran"
    yield path
    assert not path.exists(), "a loader unpickled an untrusted file"


def object_npz(path: Path, marker: Path, **arrays) -> Path:
    evil = np.empty(1, dtype=object)
    evil[0] = Payload(marker)
    np.savez(path, evil=evil, **arrays)
    return path


def test_result_with_a_pickle_is_refused(tmp_path, marker):
    from core.io.results import FitResult

    object_npz(tmp_path / "result.npz", marker)
    with pytest.raises(InputError, match="pickled"):
        FitResult.load(tmp_path)
    (tmp_path / "result.npz").write_bytes(pickle.dumps(Payload(marker)))  # a bare pickle named .npz
    with pytest.raises(InputError, match="not an .npz archive"):
        FitResult.load(tmp_path)


def test_keypoints_and_ground_truth_with_a_pickle_are_refused(tmp_path, marker):
    from core.eval import load_ground_truth
    from core.io.keypoints_file import read_keypoints_npz

    kp = np.zeros((2, 2, 17, 3), np.float32)
    with pytest.raises(InputError, match="pickled"):
        read_keypoints_npz(object_npz(tmp_path / "keypoints.npz", marker, keypoints2d=kp))
    with pytest.raises(InputError, match="pickled"):
        load_ground_truth(object_npz(tmp_path / "gt.npz", marker, joints3d=np.zeros((2, 17, 3))))


def test_a_detection_cache_with_a_pickle_is_a_miss(tmp_path, marker):
    from core.detect.cache import FORMAT_VERSION, entry_path, read_entry

    evil = np.empty(1, dtype=object)
    evil[0] = Payload(marker)
    np.savez(entry_path(tmp_path, 3), keypoints=evil, boxes=np.zeros((1, 4), np.float32), scores=np.ones(1, np.float32),
             rois=np.zeros((1, 5), np.float32), format_version=np.int64(FORMAT_VERSION), frame=np.int64(3))
    assert read_entry(tmp_path, 3) is None
    assert not marker.exists()


def test_checkpoint_with_a_pickle_is_refused(tmp_path, marker):
    from core.nets.checkpoint import load_model

    path = tmp_path / "model.pt"
    torch.save({"format": "cmanet", "version": 1, "state_dict": {}, "meta": Payload(marker)}, path)
    with pytest.raises(InputError, match="model.pt"):
        load_model(path, "cpu")


def test_training_resume_from_a_pickled_checkpoint_is_refused(tmp_path, marker):
    from core.train.trainer import train

    run = tmp_path / "run"
    run.mkdir()
    torch.save({"format": "cmanet", "train": Payload(marker)}, run / "last.pt")
    with pytest.raises(InputError, match="last.pt"):
        train([tmp_path / "data"], run, None, resume=True)


def test_smpl_pickle_naming_code_is_refused(tmp_path, marker):
    from core.body.smpl_body import SmplBody

    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps({"v_template": Payload(marker)}))
    with pytest.raises(InputError, match="never run"):
        SmplBody(path)
    npz = object_npz(tmp_path / "SMPL_MALE.npz", marker)
    with pytest.raises(InputError, match="SMPL_MALE.npz"):
        SmplBody(npz)


def chumpy_pickle(path: Path, data: dict) -> None:
    """``data`` pickled as SMPL's own files are: some arrays as chumpy arrays (``chumpy.ch.Ch``,
    state ``{"x": array}``), the joint regressor as a scipy sparse matrix; chumpy itself is not
    installed, so a stand-in module of that name exists while pickling."""
    import scipy.sparse

    chumpy, ch = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x

        def __getstate__(self):
            return {"x": self.x, "_dirty_vars": set()}

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    ch.Ch = Ch
    saved = {k: sys.modules.get(k) for k in ("chumpy", "chumpy.ch")}
    sys.modules.update({"chumpy": chumpy, "chumpy.ch": ch})
    try:
        wrapped = dict(data, shapedirs=Ch(data["shapedirs"]), J_regressor=scipy.sparse.csc_matrix(data["J_regressor"]))
        path.write_bytes(pickle.dumps(wrapped, protocol=2))
    finally:
        for key, module in saved.items():
            if module is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = module


def test_smpl_pkl_with_chumpy_and_sparse_arrays_reads_and_converts_to_npz(tmp_path):
    from core.body.smpl_body import SmplBody
    from core.body.smpl_standin import write_smpl_standin
    from core.io.smpl_npz import main as convert

    write_smpl_standin(tmp_path / "plain.pkl")
    with open(tmp_path / "plain.pkl", "rb") as f:
        data = pickle.load(f)  # our own stand-in, written just above
    folder = tmp_path / "models"
    folder.mkdir()
    chumpy_pickle(folder / "SMPL_NEUTRAL.pkl", data)
    from_pkl = SmplBody(folder / "SMPL_NEUTRAL.pkl")
    assert convert([str(folder / "SMPL_NEUTRAL.pkl"), str(folder / "SMPL_NEUTRAL.npz")]) == 0
    with np.load(folder / "SMPL_NEUTRAL.npz", allow_pickle=False) as converted:
        assert np.array_equal(converted["shapedirs"], data["shapedirs"])
        assert np.array_equal(converted["J_regressor"], data["J_regressor"])
    from_folder = SmplBody(folder)
    assert from_folder.model_file.suffix == ".npz"  # the folder's .npz is preferred
    pose = torch.zeros(1, 23, 3)
    pose[0, 3, 0] = 0.5
    shape = torch.full((1, 10), 0.3)
    a = from_pkl(torch.zeros(1, 3), pose, shape)
    b = from_folder(torch.zeros(1, 3), pose, shape)
    assert torch.allclose(a.vertices, b.vertices) and torch.allclose(a.keypoints, b.keypoints)


# ------------------------------------------------------------------------------------- source scan

def _calls(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            yield owner, name, {kw.arg: kw.value for kw in node.keywords}, node.lineno


def _constant(node) -> object:
    return node.value if isinstance(node, ast.Constant) else "not a constant"


def offences_in(path: Path, rel: str) -> list[str]:
    """The loader calls of ``path`` that would unpickle."""
    found = []
    for owner, name, keywords, line in _calls(path):
        where = f"{rel}:{line}"
        if owner == "np" and name == "load" and _constant(keywords.get("allow_pickle")) is not False:
            found.append(f"{where}: np.load without allow_pickle=False")
        if owner == "torch" and name == "load" and _constant(keywords.get("weights_only")) is not True:
            found.append(f"{where}: torch.load without weights_only=True")
        if owner == "pickle" and name in ("load", "loads", "Unpickler") and rel not in PICKLE_LOADS_ALLOWED:
            found.append(f"{where}: pickle.{name}")
    return found


def test_no_loader_in_the_code_allows_pickles():
    paths = sorted([*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("cmanet_app").rglob("*.py"),
                    *ROOT.joinpath("scripts").rglob("*.py")])
    offences = [o for path in paths for o in offences_in(path, path.relative_to(ROOT).as_posix())]
    assert not offences, "\n".join(offences)


def test_the_scan_sees_an_offending_loader(tmp_path):
    """The scan above is not vacuous: it flags each kind of offence, and not the safe calls."""
    sample = tmp_path / "sample.py"
    sample.write_text("np.load(p)\nnp.load(p, allow_pickle=True)\ntorch.load(p)\npickle.loads(b)\n"
                      "np.load(p, allow_pickle=False)\ntorch.load(p, weights_only=True)\n")
    assert len(offences_in(sample, "sample.py")) == 4
