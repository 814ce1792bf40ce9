"""Interrupted work: Ctrl-C and SIGTERM stop ``cmanet fit`` through its cleanup (exit status 130, no
result, no half-written or temporary file) and the next run completes; ``kill -9`` of a training
run leaves a loadable ``last.pt`` from which ``--resume`` continues (the killed writer's temporary
file removed); closing the app in the middle of a fit leaves nothing half-written."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest_app import settings_file  # noqa: F401 - fixture

from core.io.results import FitResult


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    from core.synth.sequence import make_synthetic_sequence

    return make_synthetic_sequence(tmp_path_factory.mktemp("interrupt") / "seq", views=3, frames=6, seed=0)


def leftovers(folder: Path) -> list[str]:
    """Temporary or half-written files in ``folder``."""
    return [p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".cmanet-write-test")]


class Reader(threading.Thread):
    """Collects a process's stderr lines as they come."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.lines = stream, []

    def run(self):
        for line in self.stream:
            self.lines.append(line)

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_fit_stopped_by_a_signal_leaves_nothing_and_the_rerun_completes(sequence, tmp_path, signum):
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "core.cli", "fit", str(sequence), "--out", str(out), "--mode", "optimize"]
    # As from a terminal: a shell's background job (nohup, ``&``, CI runners) starts with Ctrl-C
    # ignored, and a process started so keeps ignoring it; the test is about the fit's handling.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    reader = Reader(proc.stderr)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while not reader.saw("fit IEV"):  # stopped in the middle of the multi-view fit
            assert proc.poll() is None, "".join(reader.lines)
            assert time.monotonic() < deadline, "the fit did not start"
            time.sleep(0.05)
        proc.send_signal(signum)
        proc.wait(timeout=120)
    finally:
        proc.kill()
    reader.join(timeout=10)
    err = "".join(reader.lines)
    assert proc.returncode == 130, err
    assert "cancelled" in err and "Traceback" not in err
    assert not (out / "result.npz").exists() and not (out / "summary.json").exists() and not leftovers(out)

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert FitResult.load(out).num_frames == 6 and not leftovers(out)


def test_killed_training_resumes_from_its_last_checkpoint(tmp_path):
    """``kill -9`` (no cleanup at all) in the middle of training: last.pt is whole (atomic
    writes), and ``--resume`` continues from its step."""
    from core.body import load_body_model
    from core.nets.checkpoint import read_checkpoint
    from core.config import resolve_config_path
    from core.train import train
    from core.train.metrics_log import read_metrics
    from test_train_helpers import write_sequence

    body = load_body_model()
    data = [write_sequence(tmp_path / f"seq{i}", body, views=3, frames=10, seed=i) for i in range(2)]
    config = yaml.safe_load(resolve_config_path("tiny").read_text())
    config["checkpoint_every"] = 2
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(config))
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "core.cli", "train", "--stage", "1", "--config", str(tmp_path / "train.yaml"),
           "--epochs", "60", "--data", *map(str, data), "--out", str(run), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not any(r["kind"] == "train" and r["step"] >= 7 for r in
                      (read_metrics(run) if (run / "metrics.jsonl").is_file() else [])):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training did not start"
            time.sleep(0.05)
        proc.kill()  # SIGKILL: no handler, no finally, no cleanup
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    saved = read_checkpoint(run / "last.pt")["train"]["state"]  # loads: never half-written
    assert saved["step"] >= 2
    # A writer killed in the middle of a write leaves its temporary file; one is made here the
    # way such a writer leaves it, so that the resume is seen to clean it up.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = run / f".last.pt.{int(dead.stdout)}-deadbeef.tmp"
    stale.write_bytes(b"half a checkpoint")
    summary = train(data, run, resume=True, show_progress=False)
    assert summary.state.step > saved["step"] and not summary.stopped
    assert not stale.exists() and not leftovers(run)


def test_closing_the_app_in_the_middle_of_a_fit(qtbot, settings_file, sequence, tmp_path):
    from cmanet_app.widgets.main_window import MainWindow
    from conftest_app import open_and_wait
    from core.fit.config import IEVConfig

    window = MainWindow(enable_3d=False)
    qtbot.addWidget(window)
    window.controller.fit_overrides = {"iev": dataclasses.replace(IEVConfig(), rig_iterations=4000), "device": "cpu"}
    window.show()
    result_dir = tmp_path / "result"
    open_and_wait(qtbot, window, sequence, result_dir)
    stages = []
    window.controller.job_progress.connect(lambda job, stage, done, total: stages.append(stage))
    task = window.controller.fit()
    assert task is not None
    qtbot.waitUntil(lambda: "iev" in stages, timeout=300000)
    window.close()  # cancels the fit and waits for it
    assert task.wait(30)
    assert not (result_dir / "result.npz").exists() and not (result_dir / "summary.json").exists()
    assert not leftovers(result_dir)
