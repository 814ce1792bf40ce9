"""Memory of long sequences and of repeated use: prints figures (a benchmark, not a test).

    python scripts/bench_memory.py keypoints --frames 1000 5000   # keypoints-only, 4 views
    python scripts/bench_memory.py video --frames 1000             # the demo walk looped, 4 views
    python scripts/bench_memory.py fits --count 20                 # 20 fits in one process
    python scripts/bench_memory.py app --count 20                  # 20 sequences opened and fitted in one app

``keypoints`` and ``video`` run each ``cmanet`` command as its own process and report its peak
resident memory (GNU time's maximum resident set size of that command, see ``run_measured``) and
wall time; ``fits`` and ``app``
report the resident memory after each fit, and its growth over the second half of the runs (a
leak grows steadily; allocator caches level off). Fits run with the default config and mode except
for fewer iterations (``--iterations-scale``, default 0.1): memory follows the sizes of the
batches, not the number of iterations.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """This process's resident memory now, MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[int, float, float, str]:
    """Run ``cmd``; (exit status, peak RSS MB of that process, wall seconds, stderr tail).

    The peak is GNU time's ``%M`` of the command, not this process's ``wait4`` figure: on Linux a
    child's ``ru_maxrss`` starts from its parent's high-water mark at the fork (kept through
    ``exec``), so a parent that once held 1.5 GB reports at least 1.5 GB for every child.
    ``/usr/bin/time`` is a small process, and its child's figure is the command's own."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err, tempfile.NamedTemporaryFile("r", suffix=".maxrss") as peak:
        wrapped = ["/usr/bin/time", "-f", "%M", "-o", peak.name, *cmd] if Path("/usr/bin/time").is_file() else cmd
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-600:]
        text = peak.read().split()
        kb = int(text[-1]) if wrapped is not cmd and text and text[-1].isdigit() else usage.ru_maxrss
    return proc.returncode, kb / 1024, time.perf_counter() - start, tail


def fit_config(folder: Path, scale: float) -> Path:
    """The default fit config with its iteration counts scaled by ``scale`` (batch sizes kept)."""
    import yaml

    from core.config import to_dict
    from core.fit.config import load_fit_config

    config = to_dict(load_fit_config())
    for section, keys in (("irv", ("iterations", "orientation_iterations")), ("iev", ("rig_iterations", "iterations")),
                          ("refine", ("irv_iterations", "rig_iterations", "iterations"))):
        for key in keys:
            config[section][key] = max(1, int(round(config[section][key] * scale)))
    path = folder / f"fit-iterations-x{scale:g}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def cmanet(*args) -> list[str]:
    return [sys.executable, "-m", "core.cli", *map(str, args)]


def bench_keypoints(args) -> None:
    from core.synth.sequence import make_synthetic_sequence

    work = Path(args.work)
    config = fit_config(work, args.iterations_scale)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    print(f"keypoints-only, {args.views} views, default mode, iterations x{args.iterations_scale:g}")
    print(f"{'frames':>7} {'fit peak RSS MB':>16} {'fit s':>8}")
    for frames in [10, *args.frames]:
        seq = work / f"keypoints-{frames}"
        if not (seq / "keypoints.npz").is_file():
            make_synthetic_sequence(seq, views=args.views, frames=frames, seed=0)
        code, peak, seconds, tail = run_measured(cmanet("fit", seq, "--out", work / f"result-{frames}", "--config", config), env)
        if code:
            raise SystemExit(f"fit of {frames} frames failed:\n{tail}")
        print(f"{frames:>7} {peak:>16.0f} {seconds:>8.1f}", flush=True)


def looped_demo(folder: Path, frames: int) -> Path:
    """The shipped walking trial's four videos looped (forth and back, so the motion stays
    continuous) to ``frames`` frames each."""
    import cv2

    videos = folder / "videos"
    source = ROOT / "resources" / "demo" / "walk" / "videos"
    for path in sorted(source.glob("*.mp4")):
        target = videos / path.name
        if target.is_file():
            continue
        capture = cv2.VideoCapture(str(path))
        clip = []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            clip.append(image)
        capture.release()
        fps = 60.0
        videos.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, (clip[0].shape[1], clip[0].shape[0]))
        order = clip + clip[::-1]
        for i in range(frames):
            writer.write(order[i % len(order)])
        writer.release()
    return folder


def bench_video(args) -> None:
    work = Path(args.work)
    config = fit_config(work, args.iterations_scale)
    env = dict(os.environ, PYTHONPATH=str(ROOT), CMANET_CACHE_DIR=str(work / "cache"))
    for frames in args.frames:
        seq = looped_demo(work / f"video-{frames}", frames)
        print(f"video, 4 views x {frames} frames (1080x1920, the demo walk looped)")
        for label, cmd in (("detect", cmanet("detect", seq)),
                           ("fit (cached detections)", cmanet("fit", seq, "--out", work / f"video-result-{frames}",
                                                             "--config", config))):
            code, peak, seconds, tail = run_measured(cmd, env)
            if code:
                raise SystemExit(f"{label} failed:\n{tail}")
            print(f"  {label:<24} peak RSS {peak:7.0f} MB  {seconds:7.1f} s", flush=True)


def growth(values: list[float]) -> str:
    half = values[len(values) // 2:]
    per_run = (half[-1] - half[0]) / max(1, len(half) - 1)
    return f"first {values[0]:.0f} MB, last {values[-1]:.0f} MB, second half {per_run:+.1f} MB per run"


def bench_fits(args) -> None:
    from core.fit.config import load_fit_config
    from core.fit.sequence import fit_sequence
    from core.synth.sequence import make_synthetic_sequence

    work = Path(args.work)
    seq = make_synthetic_sequence(work / "small", views=4, frames=args.frames_per_fit, seed=1)
    config = load_fit_config(fit_config(work, args.iterations_scale))
    from core.fit.modes import resolve_mode
    from core.nets.checkpoint import installed_model, load_model

    mode, checkpoint = resolve_mode(None, None, installed_model())
    model = load_model(checkpoint, "cpu") if checkpoint else None
    values = []
    for i in range(args.count):
        fit_sequence(seq, work / f"fits-{i % 2}", config, mode=mode, model=model)
        values.append(rss_mb())
        print(f"fit {i + 1:>2}: RSS {values[-1]:.0f} MB", flush=True)
    print(f"{args.count} fits ({mode}, 4 views x {args.frames_per_fit} frames) in one process: {growth(values)}")


def bench_app(args) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["CMANET_APP_SETTINGS"] = str(Path(args.work) / "settings.ini")
    from PySide6.QtWidgets import QApplication

    from cmanet_app.widgets.main_window import MainWindow
    from core.fit.config import load_fit_config
    from core.synth.sequence import make_synthetic_sequence

    work = Path(args.work)
    template = make_synthetic_sequence(work / "template", views=4, frames=args.frames_per_fit, seed=2)
    config = load_fit_config(fit_config(work, args.iterations_scale))
    app = QApplication.instance() or QApplication([])
    window = MainWindow(enable_3d=not args.no_3d)
    window.controller.fit_overrides = {"irv": config.irv, "iev": config.iev, "refine": config.refine}
    window.show()

    def wait(condition, timeout=600.0):
        deadline = time.monotonic() + timeout
        while not condition():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() > deadline:
                raise SystemExit("timed out")

    values = []
    for i in range(args.count):
        seq = work / f"app-seq-{i:02d}"
        if not seq.exists():
            shutil.copytree(template, seq)
        window.controller.open_sequence(seq, work / f"app-result-{i:02d}")
        wait(lambda: not window.controller.busy and window.state.sequence is not None and window.state.sequence.root == seq.resolve())
        window.controller.fit()
        wait(lambda: not window.controller.busy and window.state.result is not None)
        wait(lambda: window.frames.idle)
        values.append(rss_mb())
        print(f"sequence {i + 1:>2}: RSS {values[-1]:.0f} MB, {len(window.reporter.messages)} messages", flush=True)
    window.close()
    print(f"{args.count} sequences opened and fitted in one app ({'no ' if args.no_3d else ''}3D panel): {growth(values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("keypoints", "video", "fits", "app"))
    parser.add_argument("--frames", type=int, nargs="+", default=[1000])
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--frames-per-fit", type=int, default=30)
    parser.add_argument("--iterations-scale", type=float, default=0.1)
    parser.add_argument("--no-3d", action="store_true", help="app: without the 3D panel")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "cmanet-bench-memory"))
    args = parser.parse_args()
    Path(args.work).mkdir(parents=True, exist_ok=True)
    {"keypoints": bench_keypoints, "video": bench_video, "fits": bench_fits, "app": bench_app}[args.what](args)


if __name__ == "__main__":
    main()
