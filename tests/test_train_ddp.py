"""Training under torchrun: two CPU processes (gloo) train the tiny config in lockstep."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import yaml
from test_train_helpers import write_sequence

from core.body import load_body_model
from core.config import CONFIGS_DIR
from core.nets.checkpoint import read_checkpoint
from core.train.metrics_log import read_metrics


@pytest.mark.slow
def test_two_processes_with_gloo(tmp_path):
    body = load_body_model()
    data = [write_sequence(tmp_path / f"seq{i}", body, views=3, frames=10, seed=10 + i) for i in range(2)]
    run = tmp_path / "run"
    # Pseudo-labels refreshed every step, and stage-2 batches that see a random subset of the rig
    # (which offer no labels) drawn independently by each process: the label exchange must still
    # take place in both processes on the same steps.
    config = yaml.safe_load((CONFIGS_DIR / "tiny.yaml").read_text())
    config["teacher"]["every"] = 1
    config["view_subsets"] = 0.5
    (tmp_path / "ddp.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "core.cli", "train", "--stage", "both", "--config", str(tmp_path / "ddp.yaml"), "--device", "cpu",
           "--data", *map(str, data), "--out", str(run), "--no-progress"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    state = read_checkpoint(run / "last.pt")["train"]["state"]
    assert state["completed"] == ["1", "2"]
    # 16 training frames in batches of 4 -> 4 batches per epoch, 2 per process: 2 epochs x 2 stages.
    assert state["step"] == 8
    train_records = [r for r in read_metrics(run) if r["kind"] == "train"]
    assert [r["step"] for r in train_records] == list(range(1, 9))
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in train_records)
