"""Atomic writers: complete files or nothing, never a temporary left behind."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from core.io.atomic import (
    atomic_open,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_npz,
    atomic_write_npz_compressed,
    atomic_write_text,
)


def test_npz_roundtrip_keeps_the_exact_name(tmp_path):
    path = tmp_path / "sub" / "detections.cache"  # no .npz suffix appended, parent created
    atomic_write_npz(path, a=np.arange(3), b=np.array("hello"), path=np.ones(2))
    with np.load(path) as data:
        np.testing.assert_array_equal(data["a"], [0, 1, 2])
        assert str(data["b"]) == "hello"
        np.testing.assert_array_equal(data["path"], [1, 1])  # 'path' is a valid array name
    assert sorted(os.listdir(tmp_path / "sub")) == ["detections.cache"]


def test_compressed_npz(tmp_path):
    atomic_write_npz_compressed(tmp_path / "x.npz", zeros=np.zeros(10000))
    assert (tmp_path / "x.npz").stat().st_size < 10000
    with np.load(tmp_path / "x.npz") as data:
        assert data["zeros"].shape == (10000,)


def test_text_json_bytes(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "héllo\n")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    atomic_write_json(tmp_path / "a.json", {"x": np.float32(1.5), "y": np.arange(2), "p": tmp_path})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1.5, "y": [0, 1], "p": str(tmp_path)}
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "result.txt"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(path, "w") as f:
            f.write("half of the new")
            raise RuntimeError("crash while writing")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["result.txt"]


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_only_write_modes(tmp_path):
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / "a", "a"):
            pass
