"""The shipped default model (resources/models/cmanet_default.pt, made by scripts/train_default):
its size and provenance, and ``cmanet fit`` with it (``network`` and the default mode,
``network+refine``) writing the DESIGN.md results on a small `cmanet synth` sequence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.nets.checkpoint import DEFAULT_MODEL

FRAMES, VIEWS = 6, 4
# DESIGN.md "Output: a result folder": key -> shape, with F frames, V views, K = 17 keypoints.
RESULT_SHAPES = {
    "keypoint_names": ("K",), "view_names": ("V",), "frame_indices": ("F",), "joints3d": ("F", "K", 3),
    "cam_R": ("F", "V", 3, 3), "cam_t": ("F", "V", 3), "cam_f": ("F", "V"), "cam_c": ("F", "V", 2),
    "irv_joints3d": ("F", "V", "K", 3), "irv_reproj_px": ("F", "V"), "iev_reproj_px": ("F", "V"),
    "keypoints2d": ("F", "V", "K", 3),
}
PARAMETERS = ("body_pose", "shape", "global_orient", "transl")


def test_default_model_ships_small_and_loads():
    from core.nets import load_model
    from core.nets.checkpoint import read_checkpoint

    assert DEFAULT_MODEL.is_file(), "run scripts/train_default to make the default model"
    assert DEFAULT_MODEL.stat().st_size <= 20e6
    model = load_model(DEFAULT_MODEL, "cpu")
    assert model.config.encoder == "keypoints" and not model.training
    meta = read_checkpoint(DEFAULT_MODEL)["meta"]
    assert "train_default" in meta.get("note", "") and meta.get("stage") == "2"  # IEV trained (stage 2)


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    from core.synth import make_synthetic_sequence

    return make_synthetic_sequence(tmp_path_factory.mktemp("seq") / "seq", views=VIEWS, frames=FRAMES, seed=4242)


@pytest.mark.parametrize("mode", ["network", None])  # None: the default, network+refine with the default model
def test_fit_with_the_default_model_writes_the_results(sequence, tmp_path, mode):
    out = tmp_path / "res"
    argv = [sys.executable, "-m", "core.cli", "fit", str(sequence), "--out", str(out)] + (["--mode", mode] if mode else [])
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected_mode = mode or "network+refine"

    with np.load(out / "result.npz") as data:
        sizes = {"F": FRAMES, "V": VIEWS, "K": 17}
        for key, shape in RESULT_SHAPES.items():
            assert data[key].shape == tuple(sizes.get(d, d) for d in shape), key
        for key in PARAMETERS:
            assert data[key].shape[0] == FRAMES and np.isfinite(data[key]).all(), key
        assert np.isfinite(data["joints3d"]).all() and np.isfinite(data["cam_R"]).all()
        assert np.allclose(np.linalg.det(data["cam_R"]), 1.0, atol=1e-4)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == expected_mode and summary["frames"] == FRAMES and summary["views"] == VIEWS

    proc = subprocess.run([sys.executable, "-m", "core.cli", "eval", str(out), "--gt", str(sequence / "gt.npz")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "eval.json").read_text())
    # Loose bounds for 6 frames of an unseen rig (the benchmark in docs/bench has the real figures).
    assert report["iev"]["pa_mpjpe_mm"] < 80.0
    assert report["iev"]["camera_rel_rot_deg"] < 20.0


def test_benchmark_compares_refine_lengths(sequence, tmp_path):
    """`python -m core.train.benchmark --refine-rig-iterations`: one network+refine row per length,
    every sequence fitted by each in turn; a negative length is bad input."""
    out = tmp_path / "bench.json"
    argv = [sys.executable, "-m", "core.train.benchmark", "--model", str(DEFAULT_MODEL), "--data", str(sequence)]
    proc = subprocess.run(argv + ["--refine-rig-iterations", "0", "40", "--json", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    mean = json.loads(out.read_text())["mean"]
    short, long = mean["network+refine (0 rig it.)"], mean["network+refine (40 rig it.)"]
    assert "network" in mean and "optimize" not in mean
    assert long["iev_pa_mpjpe_mm"] != short["iev_pa_mpjpe_mm"]  # the rig phase ran in one and not the other
    assert np.isfinite(long["iev_pa_mpjpe_mm"]) and long["iev_pa_mpjpe_mm"] < 80.0
    proc = subprocess.run(argv + ["--refine-rig-iterations", "-1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--refine-rig-iterations" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
