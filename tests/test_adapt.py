"""Adaptation at fit time (core/train/adapt.py, ``cmanet fit --adapt``) on a slice of the shipped
real footage (the walking trial, 16 frames, real MediaPipe detections)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.bench import real
from core.cli import main as cmanet
from core.errors import CancelledError
from core.fit.config import load_fit_config
from core.fit.sequence import inputs_from_sequence
from core.io import MultiViewSequence
from core.io.results import FitResult
from core.nets.checkpoint import DEFAULT_MODEL
from core.train.adapt import ADAPTED_MODEL, adaptation_dir, adapt_network


@pytest.fixture(scope="module")
def walk_slice(tmp_path_factory):
    """16 frames of the shipped walking trial: symlinked videos and a sequence.yaml frame range in
    a temporary folder (nothing is written into resources/)."""
    seq, _ = real.prepare_trial(real.shipped_walk_trial(), tmp_path_factory.mktemp("trials"), frames=16)
    return seq


def _fit(seq, out, *extra) -> tuple[FitResult, dict]:
    assert cmanet(["fit", str(seq), "--out", str(out), "--mode", "network", *extra]) == 0
    return FitResult.load(out), json.loads((out / "summary.json").read_text())


@pytest.mark.slow
def test_adaptation_lowers_the_reprojection_error_and_is_reused(walk_slice, tmp_path):
    """The shipped network alone, then adapted to the slice's own detections (no labels): the
    fused body explains the views better; a second fit of the same sequence reuses the adapted
    network (no learning, the same result) and keeps it with its result too."""
    base, base_summary = _fit(walk_slice, tmp_path / "base")
    adapted, summary = _fit(walk_slice, tmp_path / "adapted", "--adapt", "--adapt-budget", "900")
    info = summary["adaptation"]
    assert not info["reused"] and info["steps"] >= 8
    assert (tmp_path / "adapted" / ADAPTED_MODEL).is_file()
    assert np.nanmean(adapted.iev_reproj_px) < 0.9 * np.nanmean(base.iev_reproj_px)
    assert np.nanmean(adapted.irv_reproj_px) < np.nanmean(base.irv_reproj_px)

    again, summary_again = _fit(walk_slice, tmp_path / "again", "--adapt", "--adapt-budget", "600")
    assert summary_again["adaptation"]["reused"]
    assert summary_again["adaptation"]["checkpoint"] == info["checkpoint"]
    assert (tmp_path / "again" / ADAPTED_MODEL).read_bytes() == (tmp_path / "adapted" / ADAPTED_MODEL).read_bytes()
    np.testing.assert_allclose(again.joints3d, adapted.joints3d, atol=1e-5)
    assert "adaptation" not in base_summary


def test_adaptation_reports_progress_and_cancels_without_caching(walk_slice, tmp_path):
    with MultiViewSequence.open(walk_slice) as seq:
        inputs = inputs_from_sequence(seq, tmp_path / "cache", show_progress_bar=False)
    reports = []

    def progress(stage, done, total):
        reports.append((stage, done, total))

    with pytest.raises(CancelledError):
        adapt_network(inputs, DEFAULT_MODEL, 120.0, load_fit_config(), progress=progress,
                      should_cancel=lambda: len(reports) >= 2)
    assert reports and all(stage == "adapt" and total == 120 and 0 <= done <= total for stage, done, total in reports)
    assert not list(adaptation_dir().glob("*.pt"))


def test_adapt_needs_a_network_mode(walk_slice, tmp_path, capsys):
    assert cmanet(["fit", str(walk_slice), "--out", str(tmp_path / "res"), "--mode", "optimize", "--adapt"]) == 2
    assert "error: --adapt needs a network mode" in capsys.readouterr().err
    assert cmanet(["fit", str(walk_slice), "--out", str(tmp_path / "res"), "--adapt", "--adapt-budget", "0"]) == 2
