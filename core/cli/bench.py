"""``cmanet bench speed|accuracy|modes|network|real``: print the figures (see core/bench/)."""

from __future__ import annotations

import argparse
from pathlib import Path

REAL_TRIALS = ("walk", "multi", "static", "balance")
DEFAULT_REAL_TRIALS = ("walk", "multi", "static")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="measure speed and accuracy on synthetic and real sequences",
                              description="speed: start-up (import torch, cmanet --help, "
                              "cmanet fit's overhead), then detection vs IRV/IEV seconds per multi-view frame (renders a "
                              "synthetic sequence, runs MediaPipe on it, fits it). accuracy: IRV vs IEV over "
                              "views x noise x seeds, static rig and per frame. real: the pose2sim demo recordings "
                              "(downloaded once with pip), fitted without calibration and scored against calibrated "
                              "triangulation of the same detections, per fit mode (with and without camera synchronisation). "
                              "modes: every fit mode on the same synthetic rigs (harsh detector faults by default), median and "
                              "worst rig. capture: synthetic rigs out of sync (-5 to +5 frames) and with lens distortion (k1 "
                              "-0.2), each against its twin in sync without distortion. network: a trained network "
                              "(--model) on sequences with ground truth (--data), per frame and through cmanet fit's "
                              "pipeline, against the optimizer. report (scripts/bench): all of them side by side in one "
                              "run, written as report.md, report.json and PNG plots in --out.")
    p.add_argument("what", choices=("speed", "accuracy", "real", "modes", "capture", "network", "report"))
    p.add_argument("--views", type=int, nargs="+", default=None, help="speed: one number (default 4); accuracy: a list (default 2 3 4 6 8)")
    p.add_argument("--frames", type=int, default=None, help="frames per sequence (speed: 100, accuracy: 30, real: all)")
    p.add_argument("--noise", type=float, nargs="+", default=[2.0, 4.0, 8.0], help="accuracy: detection noise sigmas, px at 1000 px height")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="accuracy, capture: seeds (default 0 1 2); modes: 0-7")
    p.add_argument("--faults", choices=("default", "harsh", "real"), default="harsh", help="modes: the simulated detector's faults")
    p.add_argument("--rigs", choices=("default", "wide"), default="default",
                   help="modes: the cameras' world (wide: 0.6-1.6x lenses, 2-8 m, 0-60 deg above the person)")
    p.add_argument("--no-per-frame", action="store_true", help="accuracy: static rig only")
    p.add_argument("--trials", nargs="+", choices=REAL_TRIALS + ("shipped",), default=list(DEFAULT_REAL_TRIALS),
                   help="real: which recordings (default: walk multi static; balance: the balancing trial fitted from its "
                   "OpenPose JSON; shipped: the demo in resources/, no download)")
    p.add_argument("--model", type=Path, default=None,
                   help="network, real, modes: the network of the network modes (default: the shipped model)")
    p.add_argument("--data", nargs="+", type=Path, default=[], metavar="SEQ", help="network: sequences with gt.npz (cmanet synth)")
    p.add_argument("--refine", action="store_true", help="network: also network+refine")
    p.add_argument("--refine-rig-iterations", nargs="+", type=int, default=None, metavar="N",
                   help="network: also network+refine with these rig-phase lengths (fit.yaml's refine.rig_iterations)")
    p.add_argument("--optimize", action="store_true", help="network: also the optimizer alone (cmanet fit --mode optimize)")
    p.add_argument("--speed", action="store_true", help="network: also the network's throughput")
    p.add_argument("--threads", type=int, default=1, help="network: torch CPU threads")
    p.add_argument("--adapt", type=float, nargs="+", default=None, metavar="SECONDS",
                   help="real: also fit after adapting the network to each trial's own detections for these budgets "
                   "(cmanet fit --adapt; rows: default mode and network alone)")
    p.add_argument("--startup-only", action="store_true",
                   help="speed: only the start-up figures (python, import torch, cmanet --help, cmanet fit's overhead)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--quick", action="store_true", help="report: one seed, few frames, the shipped trial (about 2 minutes)")
    p.add_argument("--out", type=Path, default=Path("out/bench"), help="report: its folder (default out/bench)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.bench.runner import write_json
    from core.errors import InputError

    if args.what == "report":
        from core.bench.report import run_report

        run_report(args.quick, args.out)
        return 0
    if args.what == "capture":
        from core.bench import capture

        seeds, views = tuple(args.seeds or (0, 1, 2)), (args.views or [4])[0]
        print(capture.SYNC_HEADER)
        sync_rows = capture.bench_sync(seeds, views, args.frames or 100)
        sync = capture.summarize_sync(sync_rows)
        print(sync)
        print(capture.DISTORTION_HEADER)
        distortion_rows = capture.bench_distortion(seeds, views, args.frames or 100)
        distortion = capture.summarize_distortion(distortion_rows)
        print(distortion)
        write_json(args.json, {"sync": {"rows": sync_rows, "summary": sync},
                               "distortion": {"rows": distortion_rows, "summary": distortion}})
        return 0
    if args.what == "network":
        from core.bench import network
        from core.nets.checkpoint import DEFAULT_MODEL

        report = network.bench_network(args.model or DEFAULT_MODEL, args.data, args.refine, args.optimize, args.speed,
                                       args.threads, args.refine_rig_iterations)
        print(network.format_report(report))
        write_json(args.json, report)
        return 0
    if args.what == "real":
        from core.bench import real

        reports = []
        for name in args.trials:
            trial = real.shipped_walk_trial() if name == "shipped" else real.TRIALS[name]
            runs = real.DEFAULT_RUNS + real.adapted_runs(args.adapt or ())
            reports.append(real.run_trial(trial, runs, frames=args.frames, show_progress_bar=True, model=args.model))
        print(real.format_report(reports))
        write_json(args.json, reports)
        return 0

    from core.bench import synthetic

    if args.what == "speed":
        views = (args.views or [4])[0]
        if not 2 <= views <= 8:
            raise InputError("--views must be between 2 and 8")
        from core.bench.startup import bench_startup, format_startup

        startup = bench_startup()
        print(format_startup(startup), flush=True)
        figures = {"startup": startup}
        if not args.startup_only:
            speed = synthetic.bench_speed(views=views, frames=args.frames or 100)
            for key, value in speed.items():
                print(f"{key:36s} {value}")
            figures.update(speed)
        write_json(args.json, figures)
        return 0
    if args.what == "modes":
        report = synthetic.bench_modes(tuple(args.seeds or range(8)), (args.views or [4])[0], args.frames or 30, args.faults,
                                       rigs=args.rigs, model=args.model)
        print(synthetic.format_modes_summary(report))
        write_json(args.json, report)
        return 0
    print(synthetic.ACCURACY_HEADER)
    rows = synthetic.bench_accuracy(tuple(args.views or (2, 3, 4, 6, 8)), tuple(args.noise), tuple(args.seeds or (0, 1, 2)),
                                    args.frames or 30, per_frame=not args.no_per_frame)
    write_json(args.json, rows)
    return 0

