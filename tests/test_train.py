"""Training: each stage trains and its loss falls, resume continues exactly, checkpoints reload,
bad input is reported with the file it concerns."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from test_train_helpers import write_sequence

from core.body import load_body_model
from core.cli import main as cmanet
from core.errors import InputError
from core.nets import load_model, predict
from core.nets.checkpoint import read_checkpoint
from core.train import load_train_config, train
from core.train.metrics_log import read_metrics
from core.train.trainer import Trainer


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    body = load_body_model()
    root = tmp_path_factory.mktemp("train-data")
    return [write_sequence(root / f"seq{i}", body, views=3, frames=10, seed=i) for i in range(2)]


def tiny(**changes):
    return dataclasses.replace(load_train_config("tiny"), **changes)


def _losses(run, stage):
    return [r["loss"] for r in read_metrics(run) if r["kind"] == "train" and r["stage"] == stage]


def test_stages_train_their_loss_falls_and_checkpoints_reload(data, tmp_path):
    run = tmp_path / "run"
    config = tiny(stage1=dataclasses.replace(load_train_config("tiny").stage1, epochs=3))
    first = train(data, run, config, stage="1", show_progress=False)
    assert first.state.completed == ["1"]
    # Stage 2 in the same folder starts from the finished stage 1.
    second = train(data, run, config, stage="2", show_progress=False)
    assert second.state.completed == ["1", "2"] and second.state.step > first.state.step
    for stage in ("1", "2"):
        losses = _losses(run, stage)
        assert len(losses) >= 6
        assert sum(losses[-3:]) < sum(losses[:3]), (stage, losses)
    records = read_metrics(run)
    steps = [r["step"] for r in records if r["kind"] == "train"]
    assert steps == sorted(steps) and len(steps) == len(set(steps))
    val = [r for r in records if r["kind"] == "val"]
    assert {r["stage"] for r in val} == {"1", "2"} and all("val_iev_l2d" in r for r in val)
    assert not any(k.startswith("val_gt") for r in val for k in r)  # no ground truth unless asked

    model = load_model(run / "best.pt", "cpu")
    seq = data[0]
    kp = torch.from_numpy(__import__("numpy").load(seq / "keypoints.npz")["keypoints2d"])
    irv, iev = predict(model, kp, torch.full((3,), 614.4), torch.tensor([[320.0, 240.0]] * 3), torch.tensor([[640.0, 480.0]] * 3))
    assert iev.body_pose.shape == (10, 19, 3, 3) and torch.isfinite(iev.transl).all()


def test_resume_continues_from_the_saved_step(data, tmp_path, monkeypatch):
    config = tiny(checkpoint_every=3)
    whole = train(data, tmp_path / "a", config, stage="both", show_progress=False)

    original, calls = Trainer._step, [0]

    def interrupted(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 7:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(data, tmp_path / "b", config, stage="both", show_progress=False)
    monkeypatch.setattr(Trainer, "_step", original)
    assert read_checkpoint(tmp_path / "b" / "last.pt")["train"]["state"]["step"] == 6

    resumed = train(data, tmp_path / "b", resume=True, show_progress=False)
    assert resumed.state.step == whole.state.step and resumed.state.completed == ["1", "2"]
    a = read_checkpoint(tmp_path / "a" / "last.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "b" / "last.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # exactly where the uninterrupted run got
    steps = [r["step"] for r in read_metrics(tmp_path / "b") if r["kind"] == "train"]
    assert steps == list(range(1, whole.state.step + 1))


def test_first_pseudo_labels_are_saved_before_training_and_resume_keeps_them(data, tmp_path, monkeypatch):
    config = tiny()
    assert config.teacher.init == "optimize"
    original_step, original_labels, calls = Trainer._step, Trainer._sequence_labels, []

    def stopped(self, *args, **kwargs):
        raise KeyboardInterrupt

    def counted(self, index):
        calls.append(index)
        return original_labels(self, index)

    monkeypatch.setattr(Trainer, "_step", stopped)
    monkeypatch.setattr(Trainer, "_sequence_labels", counted)
    with pytest.raises(KeyboardInterrupt):
        train(data, tmp_path / "run", config, stage="1", show_progress=False)
    assert sorted(calls) == [0, 1]
    saved = read_checkpoint(tmp_path / "run" / "last.pt")
    assert saved["train"]["state"]["step"] == 0
    assert all(torch.isfinite(bank["error"]).any() for bank in saved["banks"]["iev"])
    monkeypatch.setattr(Trainer, "_step", original_step)
    resumed = train(data, tmp_path / "run", resume=True, show_progress=False)
    assert resumed.state.completed == ["1"] and sorted(calls) == [0, 1]  # not computed again


def test_bad_input_names_the_file(data, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  encoder: keypoints\n  widht: 3\n")
    with pytest.raises(InputError, match=r"bad\.yaml.*model\.widht"):
        load_train_config(bad)
    missing = tmp_path / "no-such-sequence"
    assert cmanet(["train", "--config", "tiny", "--data", str(missing), "--out", str(tmp_path / "r")]) == 2
    assert "no-such-sequence" in capsys.readouterr().err
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="last.pt"):
        train(data, tmp_path / "r2", resume=True, show_progress=False)
    with pytest.raises(InputError, match="already holds a training run"):
        train(data, tmp_path / "r2", tiny(), stage="1", show_progress=False)


def test_cli_writes_run_folder(data, tmp_path, capsys):
    run = tmp_path / "cli"
    assert cmanet(["train", "--stage", "1", "--config", "tiny", "--epochs", "1", "--data", *map(str, data),
                   "--out", str(run), "--no-progress"]) == 0
    assert "trained stages 1" in capsys.readouterr().out
    assert {p.name for p in run.iterdir()} >= {"last.pt", "best.pt", "metrics.jsonl", "config.yaml"}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert {"step", "epoch", "stage", "kind"} <= set(record)


@pytest.mark.parametrize("stage", ["joint", "iev"])
def test_ablation_stages_train(data, tmp_path, stage):
    config = tiny(view_subsets=0.5, stage2=dataclasses.replace(load_train_config("tiny").stage2, epochs=3))
    summary = train(data, tmp_path / stage, config, stage=stage, show_progress=False)
    assert summary.state.completed == [stage]
    losses = _losses(tmp_path / stage, stage)
    assert sum(losses[-3:]) < sum(losses[:3]), losses


def test_export_keeps_only_the_network(data, tmp_path):
    from core.train.export import export_model

    run = tmp_path / "run"
    train(data, run, tiny(view_subsets=1.0), stage="both", show_progress=False)
    out = export_model(run / "best.pt", tmp_path / "model.pt", {"note": "test"})
    payload = read_checkpoint(out)
    assert "optimizer" not in payload and "banks" not in payload and payload["meta"]["note"] == "test"
    assert payload["meta"]["stage"] == "2"  # best.pt saved during stage 2
    assert read_checkpoint(export_model(run / "last.pt", tmp_path / "last.pt"))["meta"]["stage"] == "2"  # after it
    assert out.stat().st_size < (run / "best.pt").stat().st_size
    model = load_model(out, "cpu")
    assert model.config == load_model(run / "best.pt", "cpu").config
    longer = export_model(run / "best.pt", tmp_path / "longer.pt", iev_iterations=model.iev.iterations + 3)
    refining = load_model(longer, "cpu")
    assert refining.iev.iterations == refining.config.iev.iterations == model.iev.iterations + 3
    assert all(torch.equal(v, refining.state_dict()[k]) for k, v in model.state_dict().items())
    from core.train.export import main as export_main

    assert export_main([str(run / "best.pt"), str(tmp_path / "none.pt"), "--iev-iterations", "0"]) == 2
    assert not (tmp_path / "none.pt").exists()


def test_iev_iterations_train_a_checkpoints_iev_to_refine_longer(data, tmp_path, capsys):
    config = tiny(view_subsets=1.0)
    train(data, tmp_path / "a", config, stage="both", show_progress=False)
    start = read_checkpoint(tmp_path / "a" / "best.pt")["state_dict"]
    longer = config.model.iev.iterations + 2
    assert cmanet(["train", "--stage", "2", "--config", "tiny", "--epochs", "1", "--init", str(tmp_path / "a" / "best.pt"),
                   "--iev-iterations", str(longer), "--data", *map(str, data), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    model = load_model(tmp_path / "b" / "best.pt", "cpu")
    assert model.iev.iterations == model.config.iev.iterations == longer
    trained = read_checkpoint(tmp_path / "b" / "best.pt")["state_dict"]
    assert not all(torch.equal(start[k], trained[k]) for k in start if k.startswith("iev."))
    assert all(torch.equal(start[k], trained[k]) for k in start if k.startswith("irv."))  # stage 2: IRV frozen
    # Without the option, --init's network is trained as it is.
    train(data, tmp_path / "c", config, stage="2", init=tmp_path / "b" / "best.pt", show_progress=False)
    assert load_model(tmp_path / "c" / "best.pt", "cpu").iev.iterations == longer
    capsys.readouterr()
    assert cmanet(["train", "--resume", "--iev-iterations", "3", "--data", *map(str, data), "--out", str(tmp_path / "c")]) == 2
    assert "--iev-iterations" in capsys.readouterr().err


def test_sigterm_saves_the_step_reached_and_resume_continues(data, tmp_path):
    """The app's Stop sends SIGTERM: the run must keep the step it reached, not its last epoch."""
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "stopped"
    cmd = [sys.executable, "-m", "core.cli", "train", "--stage", "1", "--config", "tiny", "--epochs", "60",
           "--data", *map(str, data), "--out", str(run), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not any(r["kind"] == "train" and r["step"] >= 3 for r in (read_metrics(run) if (run / "metrics.jsonl").is_file() else [])):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training did not start"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped at step" in out
    state = read_checkpoint(run / "last.pt")["train"]["state"]
    assert state["step"] >= 3 and state["completed"] == []
    summary = train(data, run, resume=True, show_progress=False)
    assert summary.state.step > state["step"] and not summary.stopped


@pytest.mark.parametrize("name", ["tiny", "cpu", "paper", "finetune_cpu", "adapt_cpu", "ablation_cpu", "wide_cpu"])
def test_every_shipped_training_config_loads_and_validates(name):
    config = load_train_config(name)
    assert config.stage1.epochs > 0 and config.stage2.epochs > 0 and config.teacher.fit_scale > 0
