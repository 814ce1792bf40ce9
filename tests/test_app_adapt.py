"""The run panel's "Adapt the network to this footage" checkbox (issue 16): it drives
core.train.adapt.fit_adapted, the function behind ``cmanet fit --adapt``, on a real slice of the
shipped walking trial (real MediaPipe detections, cached once per session), with progress, Cancel,
the adapted network kept with the run and reused by the next fit."""

from __future__ import annotations

import json

from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import open_and_wait

from cmanet_app.widgets.runs_panel import run_details
from core.train.adapt import ADAPT_BY_DEFAULT, ADAPTED_MODEL, adaptation_dir

BUDGET_S = 3  # seconds of learning: a few steps on this CPU, enough to show it ran


def _fit_and_wait(qtbot, window, stages: list[str]):
    runs_before = len(window.state.runs)
    window.controller.job_progress.connect(lambda job, stage, done, total: stages.append(stage))
    window.run_panel.fit_button.click()
    assert window.state.busy == "fit"
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=600000)
    assert not [m for m in window.reporter.messages if m.level == "error"], window.reporter.messages
    assert len(window.state.runs) == runs_before + 1
    run = window.state.run
    return run, json.loads((run.folder / "summary.json").read_text())


def test_adapt_checkbox_fits_with_the_adapted_network_and_reuses_it(qtbot, window, walk):
    seq, area = walk
    open_and_wait(qtbot, window, seq, area, timeout=60000)
    panel = window.run_panel
    assert panel.adapt_check.isChecked() == ADAPT_BY_DEFAULT

    # Offered for the network modes only.
    panel.mode_combo.setCurrentText("optimize")
    assert not panel.adapt_check.isEnabled() and not panel.budget_spin.isEnabled()
    panel.mode_combo.setCurrentText("network")
    assert panel.adapt_check.isEnabled()
    panel.adapt_check.setChecked(True)
    panel.budget_spin.setValue(BUDGET_S)
    assert window.state.adapt and window.state.adapt_budget == BUDGET_S and panel.budget_spin.isEnabled()

    stages: list[str] = []
    run, summary = _fit_and_wait(qtbot, window, stages)
    assert "adapt" in stages
    adapted = summary["adaptation"]
    assert not adapted["reused"] and adapted["steps"] >= 1 and adapted["budget_s"] == BUDGET_S
    kept = run.folder / ADAPTED_MODEL
    assert kept.is_file()  # kept with the run, as `cmanet fit --adapt` keeps it with RES
    assert run.settings["options"]["adapt_budget_s"] == BUDGET_S and run.mode == "network"
    told = [m for m in window.reporter.messages if m.title == "Network adapted to this footage"]
    assert len(told) == 1 and f"{adapted['steps']} steps" in told[0].message and "learnt" in told[0].message
    assert told[0].message in run_details(run)  # and the Runs tab says it too

    # A second fit of the same recording reuses the adapted network: no learning, the same file.
    window.reporter.messages.clear()
    stages.clear()
    again, summary_again = _fit_and_wait(qtbot, window, stages)
    assert again.folder != run.folder
    assert summary_again["adaptation"]["reused"]
    assert summary_again["adaptation"]["checkpoint"] == adapted["checkpoint"]
    assert (again.folder / ADAPTED_MODEL).read_bytes() == kept.read_bytes()
    told = [m for m in window.reporter.messages if m.title == "Network adapted to this footage"]
    assert len(told) == 1 and told[0].message.startswith("Reused")


def test_cancel_stops_adapting_without_keeping_a_network(qtbot, window, walk):
    seq, area = walk
    open_and_wait(qtbot, window, seq, area, timeout=60000)
    panel = window.run_panel
    panel.mode_combo.setCurrentText("network")
    panel.adapt_check.setChecked(True)
    panel.budget_spin.setValue(600)
    adapting = []
    window.controller.job_progress.connect(lambda job, stage, done, total: adapting.append(total) if stage == "adapt" else None)
    runs_before = len(window.state.runs)
    task = window.controller.fit()
    qtbot.waitUntil(lambda: bool(adapting), timeout=300000)
    assert adapting[0] == 600
    assert "Adapting the network" in panel.stage_label.text()
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=120000)
    assert task.state == "cancelled" and not window.reporter.messages
    assert len(window.state.runs) == runs_before
    assert not list(adaptation_dir().glob("*.pt"))  # nothing learnt is cached
