"""The training's teacher fits a whole sequence as ``cmanet fit --mode optimize`` does: the same
inputs (read by the one sequence loader, the focal lengths ``sequence.yaml`` gives kept) and the
same fit, taken straight from the fitter into the canonical space."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml
from test_train_helpers import write_sequence

from core.body import load_body_model
from core.canonical.pose_prior import default_pose_prior
from core.fit.sequence import fit_sequence
from core.train.data import load_sequence
from core.train.teacher import sequence_teacher, teacher_fit_config

pytestmark = pytest.mark.slow


def test_teacher_keeps_the_focal_lengths_sequence_yaml_gives(tmp_path):
    seq = write_sequence(tmp_path / "seq", load_body_model(), views=3, frames=8, seed=3)
    spec = yaml.safe_load((seq / "sequence.yaml").read_text())
    given = [700.0, 650.0, 720.0]  # near the true 614 px: a user's (slightly wrong) calibration
    for camera, focal in zip(spec["cameras"], given):
        camera["focal_px"] = focal
    (seq / "sequence.yaml").write_text(yaml.safe_dump(spec))
    # Focal lengths are estimated from 1 frame on, so that a fit that forgot the given ones would move them.
    config = dataclasses.replace(teacher_fit_config(None, 0.3, 20.0, scale=0.1), estimate_focal_min_frames=1)

    data = load_sequence(seq, 0.3)
    body = load_body_model()  # a fresh one, as fit_sequence's (a body's shape cache keeps its last batch)
    assert data.inputs.focal_known.all() and np.allclose(data.focal, given)
    params, error = sequence_teacher(body, default_pose_prior(body), data.inputs, config)

    result, _ = fit_sequence(seq, tmp_path / "res", config, mode="optimize")  # what `cmanet fit` does
    assert np.allclose(result.cam_f, given)
    # The teacher's labels are that fit's: the same per-frame errors, the same body.
    np.testing.assert_allclose(error.cpu().numpy(), np.nanmean(result.iev_reproj_px, axis=1), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(params.shape.cpu().numpy(), result.shape, atol=1e-5)
