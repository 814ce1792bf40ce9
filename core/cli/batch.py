"""``cmanet batch SESSION --out DIR``: every trial of a session fitted with one shared rig."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core.fit.modes import FIT_MODES

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "batch",
        help="fit every trial of a session (one camera rig, many trials) with one shared rig",
        description="A session folder holds trial folders (Pose2Sim's Trial_*/videos/ layout or any multi-view "
        "sequence folder), optionally a sequence.yaml every trial without its own uses, and a calibration "
        "(calibration/Calib.toml, ...). Every trial is detected; without a calibration every trial is fitted alone "
        "and the session's rig is estimated from the trials that explain it best; then every trial is fitted "
        "with that rig held. Writes DIR/<trial>/result.npz, DIR/calibration.toml and DIR/session.json. Run it "
        "again to resume: finished trials are not fitted again. Exit status 1 when a trial failed (the others "
        "are still fitted).",
    )
    p.add_argument("session", type=Path, help="session folder of trial folders")
    p.add_argument("--out", type=Path, required=True, help="output folder (outside the session)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes on this machine (default 1: everything in this process)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads of each worker (default: the machine's cores / --jobs)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run the units of work as Ray tasks: 'auto' (the cluster RAY_ADDRESS names), "
                   "'ray://HOST:10001', or 'local' (a Ray instance on this machine); needs 'pip install ray' and, on a "
                   "cluster, the session and DIR on storage every node sees")
    p.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                   help="a calibration for every trial (instead of the session's own; no rig is estimated)")
    p.add_argument("--no-calibration", action="store_true",
                   help="ignore the session's calibration folder: estimate the rig from the trials")
    p.add_argument("--mode", choices=FIT_MODES, default=None,
                   help="fit mode of every trial (default: network+refine when a model is installed, else optimize)")
    p.add_argument("--checkpoint", type=Path, default=None, help="network model for the network modes")
    p.add_argument("--config", type=Path, default=None, help="fit config YAML (default: resources/configs/fit.yaml)")
    p.add_argument("--session-config", type=Path, default=None,
                   help="session config YAML (default: resources/configs/session.yaml)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="compute device")
    p.add_argument("--redo", action="store_true", help="fit every trial again (detections stay cached)")
    p.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1, help="MediaPipe model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.errors import InputError
    from core.fit.config import load_fit_config
    from core.fit.modes import resolve_mode
    from core.nets.checkpoint import installed_model
    from core.session.batch import BatchOptions, failed_trials, run_batch, session_status
    from core.session.config import load_session_config
    from core.session.executors import make_executor

    if args.calibration is not None and args.no_calibration:
        raise InputError("--calibration and --no-calibration exclude each other")
    config = load_fit_config(args.config, **({"device": args.device} if args.device else {}))
    mode, checkpoint = resolve_mode(args.mode, args.checkpoint, installed_model())
    options = BatchOptions(config, mode, checkpoint, load_session_config(args.session_config),
                           args.calibration.resolve() if args.calibration else None, not args.no_calibration,
                           args.model_complexity, args.redo)
    executor = make_executor(args.jobs, args.threads, args.ray)
    bar = _ProgressBar() if sys.stderr.isatty() else None
    try:
        summary = run_batch(args.session, args.out, options, executor, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    _, rows, _ = session_status(args.session, args.out)
    print(format_summary(summary, rows))
    failed = failed_trials(summary)
    for name, reason in failed.items():
        print(f"failed: {name}: {reason}", file=sys.stderr)
    return 1 if failed else 0


def format_summary(summary: dict, rows) -> str:
    """The trials' table and the rig's line that ``cmanet batch`` prints (``rows``: the trials'
    :class:`~core.session.batch.TrialStatus`)."""
    def cell(value, width):
        return f"{value:>{width}.2f}" if isinstance(value, (int, float)) else f"{'-':>{width}s}"

    lines = [f"{'trial':24s} {'status':8s} {'frames':>6s} {'alone px':>9s} {'session px':>10s} {'rig px':>7s}"]
    for row in rows:
        f = row.figures
        lines.append(f"{row.name:24s} {row.status:8s} {f['frames'] if f['frames'] is not None else '-':>6} "
                     f"{cell(f['alone_px'], 9)} {cell(f['session_px'], 10)} {cell(f['rig_px'], 7)}")
    rig = summary["rig"]
    if rig.get("source") == "calibration":
        lines.append(f"rig: the calibration {rig['calibration']}")
    elif "start" in rig:
        lines.append(f"rig: started from {rig['start']}'s own fit, refined on {', '.join(rig['joined']) or 'no trial'}")
    lines.append(f"wrote {summary['out']}: session.json, calibration.toml; {summary['timings_s'].get('total', 0):.1f} s "
                 f"({summary['executor']})")
    return "\n".join(lines)


class _ProgressBar:
    """One tqdm bar per stage of the session."""

    def __init__(self):
        self._bars: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None:
            bar = self._bars[stage] = tqdm(desc=f"batch {stage}", unit="trial", leave=False)
        bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
