"""``scripts/bench --quick``: one command writes the report (Markdown, JSON, plots) with every
section's figures, measured in one run."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.bench.baselines import fill_gaps, naive_view
from core.bench.markdown import markdown_table
from core.bench.runner import Column

ROOT = Path(__file__).resolve().parents[1]


def test_naive_view_is_the_best_reprojecting_one():
    assert naive_view({"cam1": {"reproj_px": 9.0}, "cam2": {"reproj_px": 3.5}, "cam3": {"reproj_px": 4.0}}) == "cam2"


def test_gaps_are_filled_in_time_and_a_joint_never_seen_stays_missing():
    points = np.full((5, 2, 3), np.nan)
    points[[0, 4], 0] = [[0.0, 0.0, 0.0], [4.0, 8.0, 0.0]]
    filled = fill_gaps(points)
    assert np.allclose(filled[2, 0], [2.0, 4.0, 0.0])
    assert np.isnan(filled[:, 1]).all()


def test_markdown_table_marks_missing_figures():
    text = markdown_table([{"a": "x", "b": 1.234}, {"a": "y"}], [Column("A", "a", left=True), Column("B", "b", "{:.1f}")])
    assert text.splitlines() == ["| A | B |", "|:---|---:|", "| x | 1.2 |", "| y | - |"]


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


@pytest.mark.slow
def test_quick_report_has_every_section(tmp_path):
    out = tmp_path / "report"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([str(ROOT / "scripts" / "bench"), "--quick", "--out", str(out)], capture_output=True, text=True,
                          env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    markdown = (out / "report.md").read_text()

    methods = {row["method"]: row for row in report["synthetic"]["table"]}
    for method in ("IRV (per view, mean)", "naive: best-reprojecting view", "optimize", "network",
                   "network+refine (default)", "optimize, per frame", "calibrated: triangulation", "calibrated: body fit"):
        assert method in methods, method
        assert method in markdown
    for method in ("optimize", "network", "network+refine (default)", "calibrated: body fit"):
        row = methods[method]
        for key in ("mpjpe_mm", "pa_mpjpe_mm", "pck150", "auc", "camera_deg", "fit_s"):
            assert _finite(row[key]), (method, key)
        assert 0.0 <= row["pck150"] <= 100.0 and 0.0 <= row["auc"] <= 100.0
    # The true cameras make the body fit no worse than the uncalibrated optimizer, within noise.
    assert methods["calibrated: body fit"]["camera_deg"] < 0.5
    assert methods["calibrated: triangulation"]["pa_mpjpe_mm"] < 60.0

    real = {row["method"].split(" (")[0]: row for row in report["real"]["table"]}
    assert report["real"]["trial"] == "walk" and report["real"]["views"] == 4
    for method in ("IRV", "naive: best-reprojecting view", "optimize", "network", "calibrated: body fit"):
        assert _finite(real[method]["body_pa_mpjpe_mm"]), method
    assert real["calibrated: body fit"]["camera_err_deg_mean"] < 0.5
    assert _finite(real["optimize"]["camera_err_deg_mean"]) and _finite(real["optimize"]["focal_err_pct_mean"])

    sweeps = report["sweeps"]
    assert [row["views"] for row in sweeps["views"]] == list(report["config"]["sweep_views"])
    assert [row["noise_px"] for row in sweeps["noise"]] == list(report["config"]["sweep_noise"])
    assert {row["run"] for row in sweeps["focal"]} == {"focal known", "focal unknown"}
    pairs = {row["pair"]: row for row in sweeps["view_pairs"]}
    assert pairs["most visible"]["visible_keypoints"] >= pairs["fewest visible"]["visible_keypoints"]

    speed = report["speed"]
    assert speed["detection"]["s_per_image"] > 0 and speed["network"]["frames_per_s"] > 0
    assert speed["peak_rss_mb"] > 100
    assert {row["frame_views"] for row in speed["cost"]} >= {4 * f for f in report["config"]["cost_frames"]}
    assert all(_finite(slope) for slope in speed["cost_slope"].values())
    assert {row["where"] for row in speed["stages"]} == {"synthetic", "real"}
    for plot in report["plots"]:
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({plot})" in markdown
    assert len(report["plots"]) == 4
    assert report["total_s"] < 600, "the quick report should take about 2 minutes"

