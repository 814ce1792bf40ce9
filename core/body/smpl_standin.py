"""A model file in SMPL's layout and size with random geometry: not a body.

SMPL's own files are licensed and not shipped. This stand-in lets the ``smpl`` backend be tested
(tests/test_body.py) and timed (scripts/bench_gpu.py, on GPU machines where Anny cannot be
installed) exactly as it loads and runs a real SMPL file through smplx.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def write_smpl_standin(path: str | Path, seed: int = 0) -> None:
    """A model file in SMPL's layout and size (not SMPL: random geometry, loadable by smplx)."""
    rng = np.random.default_rng(seed)
    num_verts, num_joints = 6890, 24
    parents = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21])
    joints = np.zeros((num_joints, 3))
    for j in range(1, num_joints):
        joints[j] = joints[parents[j]] + rng.normal(0, 0.1, 3)
    nearest = rng.integers(0, num_joints, num_verts)
    weights = np.zeros((num_verts, num_joints))
    weights[np.arange(num_verts), nearest] = 1.0
    regressor = np.zeros((num_joints, num_verts))
    for j in range(num_joints):
        members = np.flatnonzero(nearest == j)
        regressor[j, members] = 1.0 / max(len(members), 1)
    data = dict(
        v_template=joints[nearest] + rng.normal(0, 0.02, (num_verts, 3)),
        shapedirs=rng.normal(0, 0.01, (num_verts, 3, 10)).astype(np.float32),
        posedirs=rng.normal(0, 0.001, (num_verts, 3, 207)).astype(np.float32),
        J_regressor=regressor,
        weights=weights,
        kintree_table=np.stack([np.where(parents < 0, 4294967295, parents), np.arange(num_joints)]).astype(np.int64),
        f=rng.integers(0, num_verts, (13776, 3)).astype(np.int64),
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(data, f)
