"""``cmanet detect`` end to end, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from _make_sequence import keypoints_only_sequence, sequence_from_images, snapshot
from _render_person import render_person

REPO = Path(__file__).resolve().parent.parent


def cmanet(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_detect_then_reuse(tmp_path):
    image, _ = render_person(480, 640)
    root = sequence_from_images(tmp_path / "seq", [image, image[:, ::-1].copy()], 2)
    before = snapshot(root)

    first = cmanet("detect", root, "--out", tmp_path / "out")
    assert first.returncode == 0, first.stderr
    assert f"detections: {tmp_path / 'out' / 'detections.npz'}" in first.stdout
    assert "2 frames x 2 views: mean confidence" in first.stdout
    assert "% of joints above 0.5" in first.stdout
    with np.load(tmp_path / "out" / "detections.npz") as data:
        assert data["keypoints2d"].shape == (2, 2, 17, 3)
        assert (data["keypoints2d"][..., 2] > 0.5).mean() > 0.8

    second = cmanet("detect", root, "--out", tmp_path / "out")
    assert second.returncode == 0 and "using cached detections" in second.stderr
    assert snapshot(root) == before


def test_default_cache_location_and_given_keypoints(tmp_path):
    root = keypoints_only_sequence(tmp_path / "seq", num_frames=4)
    result = cmanet("detect", root)
    assert result.returncode == 0, result.stderr
    assert "keypoints given in" in result.stdout and "4 frames x 3 views" in result.stdout


def test_bad_folder_is_one_error_line(tmp_path):
    result = cmanet("detect", tmp_path / "missing")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "missing" in lines[0]
    assert "Traceback" not in result.stderr

    (tmp_path / "empty").mkdir()
    result = cmanet("detect", tmp_path / "empty")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "no views found" in result.stderr


def test_out_inside_the_sequence_is_refused(tmp_path):
    image, _ = render_person(480, 640)
    root = sequence_from_images(tmp_path / "seq", [image, image], 1)
    result = cmanet("detect", root, "--out", root / "det")
    assert result.returncode == 2 and "inside the input sequence" in result.stderr
    assert not (root / "det").exists()


def test_help():
    result = cmanet("detect", "--help")
    assert result.returncode == 0
    for word in ("SEQ", "--out", "--model-complexity", "--force", "detections.npz", "keypoints.npz"):
        assert word in result.stdout
