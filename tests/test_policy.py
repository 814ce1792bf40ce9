"""The rules the command line and the app share (core.fit.modes, core.io.folders,
core.fit.config.load_fit_config, core.train.metrics_log), checked on their own."""

from __future__ import annotations

import json

import pytest

from core.errors import InputError
from core.fit.config import load_fit_config
from core.fit.modes import FIT_MODES, default_mode, resolve_mode
from core.io.folders import check_outside_inputs
from core.train.metrics_log import MetricsLog, read_metrics


def test_resolve_mode_defaults_to_network_refine_with_a_model_and_optimize_without(tmp_path):
    model = tmp_path / "m.pt"
    model.write_bytes(b"x")
    assert resolve_mode(None, None, None) == ("optimize", None)
    assert resolve_mode(None, None, model) == ("network+refine", model)
    assert resolve_mode(None, model, None) == ("network+refine", model)
    assert resolve_mode("optimize", model, model) == ("optimize", None)
    assert resolve_mode("network", None, model) == ("network", model)
    assert default_mode(None) == "optimize" and default_mode(model) == "network+refine"
    assert set(FIT_MODES) == {"optimize", "network", "network+refine"}


def test_resolve_mode_refuses_a_network_mode_without_a_network(tmp_path):
    with pytest.raises(InputError, match="needs a network"):
        resolve_mode("network", None, None)
    with pytest.raises(InputError, match="no such checkpoint"):
        resolve_mode("network+refine", tmp_path / "missing.pt", None)
    with pytest.raises(InputError, match="unknown fit mode"):
        resolve_mode("fast", None, None)


def test_output_folders_must_lie_outside_every_input(tmp_path):
    seq, other = tmp_path / "seq", tmp_path / "other"
    assert check_outside_inputs(tmp_path / "out", seq) == (tmp_path / "out").resolve()
    for bad in (seq, seq / "res", seq / "a" / "b"):
        with pytest.raises(InputError, match="the result folder must be outside the input sequence"):
            check_outside_inputs(bad, seq)
    with pytest.raises(InputError, match="the run folder must be outside the training sequences"):
        check_outside_inputs(other / "run", [seq, other], "the run folder", "the training sequences")


def test_fit_config_overrides_are_validated_as_bad_input():
    config = load_fit_config(None, confidence_threshold=0.5, device="cpu")
    assert config.confidence_threshold == 0.5 and config.device == "cpu"
    with pytest.raises(InputError, match="confidence_threshold"):
        load_fit_config(None, confidence_threshold=1.5)


def test_metrics_log_round_trip_skips_a_partly_written_line(tmp_path):
    log = MetricsLog(tmp_path)
    log.write({"kind": "train", "step": 1, "loss": float("nan")})
    log.write({"kind": "val", "step": 2, "score": 3.0})
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"kind": "train", "step": 3})[:10])
    assert read_metrics(tmp_path) == [{"kind": "train", "step": 1, "loss": None}, {"kind": "val", "step": 2, "score": 3.0}]
    MetricsLog(tmp_path, resume_step=1)  # a resume drops the records after its step
    assert [r["step"] for r in read_metrics(tmp_path)] == [1]
