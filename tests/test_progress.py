"""One progress/cancel object for core and app (core/progress.py), and the app's one "latest
request wins" worker base (cmanet_app/latest.py) that the views and the 3D panel share."""

from __future__ import annotations

import threading
import time

import pytest

from conftest_app import FAST_FIT, make_small_sequence
from core.errors import CancelledError
from core.fit.config import load_fit_config
from core.progress import Progress, as_progress


def test_progress_reports_hands_over_and_cancels():
    reports, found = [], []
    job = Progress(lambda *r: reports.append(r), found.append)
    job("fit", 1, 4)
    job.stage("export")(2, 5)
    job.found("frame 3")
    assert reports == [("fit", 1, 4), ("export", 2, 5)] and found == ["frame 3"]
    assert not job.cancelled()
    job.check()  # nothing asked yet
    job.cancel()
    assert job.cancelled() and job.cancel_requested
    with pytest.raises(CancelledError, match="stopped here"):
        job.check("stopped here")
    with pytest.raises(CancelledError, match="export cancelled after 3 of 5"):
        job.stage("export", check=True)(3, 5)
    job.stage("export", check=True)(5, 5)  # the last report of a stage never raises: the work is done


def test_older_callbacks_become_one_progress():
    stages, counts, stop = [], [], threading.Event()
    job = as_progress(lambda *r: stages.append(r), stop.is_set)
    job("iev", 3, 9)
    assert stages == [("iev", 3, 9)] and not job.cancelled()
    stop.set()
    assert job.cancelled()
    single = as_progress(lambda d, t: counts.append((d, t)), stage="detect")
    single.stage("detect")(4, 8)
    assert counts == [(4, 8)]
    same = Progress()
    assert as_progress(same, lambda: True) is same and not same.cancelled()


def test_the_fit_takes_a_progress_and_stops_when_cancelled(tmp_path):
    """core's long function takes the object the app hands it; the CLI's callbacks still work."""
    from core.fit.sequence import fit_sequence

    seq = make_small_sequence(tmp_path / "seq")
    config = load_fit_config(None, **FAST_FIT)
    stages = []
    job = Progress(lambda stage, done, total: stages.append(stage))
    result, _ = fit_sequence(seq, tmp_path / "out", config, progress=job)
    assert result.num_frames == 3 and {"irv", "iev"} <= set(stages)

    cancelling = Progress(lambda stage, done, total: cancelling.cancel() if stage == "iev" else None)
    with pytest.raises(CancelledError):
        fit_sequence(seq, tmp_path / "out2", config, progress=cancelling)
    calls = []
    fit_sequence(seq, tmp_path / "out3", config, progress=lambda *r: calls.append(r), should_cancel=lambda: False)
    assert calls and calls[-1][0] == "iev"


def test_latest_request_wins_and_stop_cancels(qtbot):
    from cmanet_app.latest import LatestRequestWorker

    class Slow(LatestRequestWorker):
        def __init__(self):
            self.served, self.background = [], 0
            self.gate = threading.Event()
            super().__init__("slow")

        def serve(self, req):
            self.gate.wait(5)
            self.served.append(req)
            if req == "boom":
                raise ValueError("a bad request")

        def has_background_work(self):
            return self.background < 3

        def background_step(self):
            self.background += 1

    worker = Slow()
    qtbot.waitUntil(lambda: worker.background == 3, timeout=5000)  # idle: background work runs
    worker.request(0)
    time.sleep(0.1)  # the worker is now blocked in serve(0)
    for i in range(1, 10):
        worker.request(i)
    assert not worker.idle
    worker.gate.set()
    qtbot.waitUntil(lambda: worker.idle, timeout=5000)
    assert worker.served == [0, 9]  # 1..8 were overtaken before their turn
    worker.request("boom")
    qtbot.waitUntil(lambda: worker.idle and worker.served[-1] == "boom", timeout=5000)
    worker.request(10)
    qtbot.waitUntil(lambda: worker.idle and worker.served[-1] == 10, timeout=5000)  # a failure does not end it
    worker.stop()
    assert worker.progress.cancelled() and not worker._thread.is_alive()


def test_the_views_and_the_3d_panel_are_latest_request_workers():
    from cmanet_app.frames import FrameRenderer
    from cmanet_app.latest import LatestRequestWorker
    from cmanet_app.scene3d.client import SceneClient

    for cls in (FrameRenderer, SceneClient):
        assert issubclass(cls, LatestRequestWorker) and cls._loop is LatestRequestWorker._loop
        assert cls.request is LatestRequestWorker.request and cls.idle is LatestRequestWorker.idle
