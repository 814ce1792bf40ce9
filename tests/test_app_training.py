"""The Training tab: `cmanet train` as a background process with live curves from metrics.jsonl,
Stop, Resume, "use model for fitting", the unavailable-command message, and closing the window
while a run is in progress."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import open_and_wait
from PySide6.QtWidgets import QMessageBox

from cmanet_app.training import MetricSeries, TrainingRun
from core.train.metrics_log import MetricsReader


@pytest.fixture
def panel(qtbot, settings_file, small_sequence, tmp_path):
    from cmanet_app.errors import ErrorReporter
    from cmanet_app.settings import AppSettings
    from cmanet_app.widgets.training_panel import TrainingPanel

    reporter = ErrorReporter(show_dialogs=False)
    p = TrainingPanel(AppSettings(), reporter)
    qtbot.addWidget(p)
    p.add_sequence(small_sequence)
    p.config_combo.setCurrentText("tiny")
    p.device_combo.setCurrentText("cpu")
    p.out_edit.setText(str(tmp_path / "run"))
    qtbot.waitUntil(lambda: p.run.available is not None, timeout=60000)
    yield p
    p.run.stop(wait_ms=10000)
    p.run.shutdown()


def test_train_live_curves_resume_and_use_model(qtbot, window, small_sequence, tmp_path):
    panel = window.training_panel
    qtbot.waitUntil(lambda: panel.run.available is not None, timeout=60000)
    panel.add_sequence(small_sequence)
    panel.config_combo.setCurrentText("tiny")
    panel.device_combo.setCurrentText("cpu")
    panel.out_edit.setText(str(tmp_path / "run"))
    panel.stage_combo.setCurrentIndex(panel.stage_combo.findData("both"))
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.start()
    assert panel.stop_button.isEnabled() and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: panel.last_outcome != "", timeout=120000)
    assert panel.last_outcome == "finished", panel.log.toPlainText()[-2000:]
    assert ("train", "loss") in panel.curves and any(k[0] == "val" for k in panel.curves)
    xs, ys = panel.series.train["loss"]
    assert len(xs) >= 1 and all(y == y for y in ys)
    assert "$ cmanet train --stage both" in panel.log.toPlainText()

    # Resume continues the same run folder (--resume) and keeps plotting.
    panel.last_outcome = ""
    assert panel.start(resume=True)
    assert "--resume" in panel.run.process.arguments()
    qtbot.waitUntil(lambda: panel.last_outcome != "", timeout=120000)
    assert panel.last_outcome == "finished", panel.log.toPlainText()[-2000:]

    # One click: the trained model becomes the fitting model (network+refine), and fitting uses it.
    assert panel.use_button.isEnabled()
    run_panel = window.run_panel
    assert not run_panel.mode_combo.model().item(2).isEnabled() or run_panel.model_path() is not None
    panel.use_button.click()
    assert Path(window.state.checkpoint).name in ("best.pt", "last.pt")
    assert window.state.mode == "network+refine" == run_panel.mode_combo.currentText()
    open_and_wait(qtbot, window, small_sequence)
    task = window.controller.fit()
    assert task is not None
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=120000)
    assert task.state == "succeeded", window.reporter.messages
    assert window.state.result.mode == "network+refine"


def test_stop_ends_a_long_run(qtbot, panel):
    panel.epochs_spin.setValue(10000)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.series.records > 0, timeout=120000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: not panel.run.running, timeout=20000)
    assert panel.last_outcome == "stopped"
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert not panel.reporter.messages


def test_unavailable_train_command_is_explained(qtbot, settings_file, tmp_path):
    from cmanet_app.errors import ErrorReporter
    from cmanet_app.settings import AppSettings
    from cmanet_app.widgets.training_panel import TrainingPanel

    script = tmp_path / "old_cli.py"
    script.write_text("import sys\nprint(\"cmanet: error: argument COMMAND: invalid choice: 'train'\", file=sys.stderr)\nsys.exit(2)\n")
    reporter = ErrorReporter(show_dialogs=False)
    panel = TrainingPanel(AppSettings(), reporter, run=TrainingRun(prefix=[sys.executable, str(script)]))
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.run.available is not None, timeout=30000)
    assert panel.run.available is False
    assert "not available" in panel.banner.text() and "invalid choice" in panel.banner.text()
    assert not panel.start_button.isEnabled()
    panel.add_sequence(tmp_path)
    assert not panel.start()
    assert reporter.messages[-1].title == "Training is not available"
    panel.run.shutdown()


def test_metrics_reader_is_incremental_and_waits_for_whole_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    reader = MetricsReader(path)
    assert reader.poll() == []
    path.write_text(json.dumps({"kind": "train", "step": 1, "loss": 2.0}) + "\n" + '{"kind": "val", "st')
    assert [r["step"] for r in reader.poll()] == [1]
    with open(path, "a") as f:
        f.write('ep": 1, "val_irv_reproj_px": 4.5}\n')
    records = reader.poll()
    assert records == [{"kind": "val", "step": 1, "val_irv_reproj_px": 4.5}]
    path.write_text(json.dumps({"kind": "train", "step": 1, "loss": 1.0}) + "\n")  # rewritten on resume
    assert reader.poll()[0]["loss"] == 1.0
    series = MetricSeries()
    for i, r in enumerate([{"kind": "train", "step": 1, "loss": 2.0, "grad_norm": 3.0, "l2d": 0.1},
                           {"kind": "val", "step": 1, "val_irv_reproj_px": 4.5, "best": True}]):
        series.add(r, i)
    assert set(series.train) == {"loss", "l2d"} and set(series.val) == {"val_irv_reproj_px"}


def test_closing_the_window_during_training_asks_first(qtbot, window, tmp_path, monkeypatch):
    script = tmp_path / "slow_cli.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        if "--help" in sys.argv:
            print("usage: cmanet train --data SEQ --out RUN"); sys.exit(0)
        time.sleep(120)
    """))
    panel = window.training_panel
    panel.run.prefix = [sys.executable, str(script)]
    panel.run.available = True
    panel.add_sequence(tmp_path)
    panel.out_edit.setText(str(tmp_path / "run"))
    assert panel.start()
    qtbot.waitUntil(lambda: panel.run.running, timeout=10000)
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[1]) or answers.pop(0))
    window.close()
    assert window.isVisible() and panel.run.running and asked == ["Training in progress"]
    window.close()
    assert not window.isVisible() and not panel.run.running and len(asked) == 2
