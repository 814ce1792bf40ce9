"""``scripts/bench``: one command, one report. Every benchmark side by side in one run, written as
``report.md``, ``report.json`` and PNG plots (:mod:`core.bench.plots`).

Sections (all through the one loop of :mod:`core.bench.runner`, fixed seeds, torch on one thread):

* ``synthetic``: ``cmanet synth`` sequences (a few seeds) fitted without calibration by IEV
  optimize, the network, network+refine (the default), optimize per frame (no static rig); IRV per
  view and the naive baseline (the view whose IRV fit reprojects best) from the optimizer's fit;
  the calibrated upper bound (true cameras: robust triangulation, and the same body fit with the
  cameras held fixed). The paper's metrics: MPJPE (one similarity per sequence), PA-MPJPE,
  PCK@150, AUC (absolute and per-frame rigid), camera relative-rotation error.
* ``real``: the real walking trial (:mod:`core.bench.real`; ``shipped``: the copy in resources/demo)
  the same ways, scored against calibrated triangulation, and adapted to the trial (full run only).
* ``sweeps`` (one seed each, the default mode): views, pixel noise, focal known or not, and the
  two views with most / fewest visible keypoints (the paper's Table 2 analogue).
* ``speed``: detection per image (MediaPipe on the shipped videos, decoding included), IRV and IEV
  per frame, network frames/s, peak RSS, and fitting's cost against frames F and views V.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.bench import real
from core.bench.baselines import calibrated_inputs, naive_view, triangulate_calibrated
from core.bench.network import throughput
from core.bench.runner import Case, Fitter, Run, group_mean, run_cases, synthetic_case
from core.errors import InputError
from core.eval import evaluate, flat, ground_truth_at, skeleton_metrics
from core.fit.config import load_fit_config
from core.fit.inputs import camera_intrinsics
from core.fit.known_cameras import apply_calibration
from core.fit.modes import default_mode
from core.fit.sequence import inputs_from_sequence
from core.geometry.bundle import projection_matrices
from core.io import MultiViewSequence
from core.io.atomic import atomic_write_json, atomic_write_text
from core.nets.checkpoint import DEFAULT_MODEL, installed_model
from core.synth.detections import DetectionFaults
from core.synth.rig import RigRanges

SEED = 0
IRV_KEYS = ("mpjpe_mm", "pa_mpjpe_mm", "pck150", "auc")


@dataclass(frozen=True)
class ReportConfig:
    """What one report measures (see :data:`FULL` and :data:`QUICK`).

    seeds, frames, views: the synthetic sequences of the side-by-side table; trial: ``walk`` (the
    cached full trial) or ``shipped``; real_frames: its first frames (None: all); adapt_s: seconds
    of adaptation for the adapted rows (None: none); sweep_*: the sweeps' values (one seed);
    cost_frames, cost_views: fitting's cost against F (at 4 views) and V (at ``frames``);
    detect_frames: frames of the shipped videos detected for the detection time; network_frames:
    frames of the throughput measurement; cost_modes: the fit modes whose cost is measured
    (``default``: the default mode); sweep_missing: the probability that a self-occluded joint is
    not detected; sweep_distance_m, sweep_elevation_deg: the cameras' distance to the person (a
    0.5 m band from each value) and angle above them (a 5 deg band).
    """

    name: str
    seeds: tuple[int, ...]
    frames: int
    views: int
    trial: str
    real_frames: int | None
    adapt_s: float | None
    sweep_views: tuple[int, ...]
    sweep_noise: tuple[float, ...]
    cost_frames: tuple[int, ...]
    cost_views: tuple[int, ...]
    detect_frames: int
    network_frames: int
    cost_modes: tuple[str, ...] = ("optimize", "default")
    sweep_missing: tuple[float, ...] = ()
    sweep_distance_m: tuple[float, ...] = ()
    sweep_elevation_deg: tuple[float, ...] = ()


FULL = ReportConfig("full", seeds=(0, 1, 2, 3, 4), frames=30, views=4, trial="walk", real_frames=None, adapt_s=30.0,
                    sweep_views=(2, 3, 4, 5, 6, 7, 8), sweep_noise=(1.0, 2.0, 4.0, 8.0, 16.0),
                    cost_frames=(15, 30, 60, 120), cost_views=(2, 4, 8), detect_frames=10, network_frames=2048,
                    sweep_missing=(0.0, 0.3, 0.6, 0.9), sweep_distance_m=(2.5, 4.0, 5.5),
                    sweep_elevation_deg=(0.0, 25.0, 50.0))
QUICK = ReportConfig("quick", seeds=(0,), frames=12, views=4, trial="shipped", real_frames=12, adapt_s=None,
                     sweep_views=(2, 4), sweep_noise=(8.0,), cost_frames=(6, 12), cost_views=(2,),
                     detect_frames=2, network_frames=256, cost_modes=("optimize",))

# ----------------------------------------------------------------------------------- the runs


def unknown_focal(case: Case):
    """The case's inputs with the focal lengths forgotten (the default guess, estimated)."""
    inputs = case.inputs
    focal, _ = camera_intrinsics(inputs.image_sizes)
    return dataclasses.replace(inputs, focal=focal, focal_known=np.zeros(len(focal), dtype=bool))


def synthetic_score(gt: dict[str, np.ndarray]) -> Callable:
    """A fit scored by :func:`core.eval.evaluate` (flat keys), with each view's IRV figures and the
    naive baseline's (``naive_*``: the view whose IRV fit reprojects best)."""
    def score(result) -> dict:
        report = evaluate(result, gt)
        views = {name: {k: round(v, 2) for k, v in m.items()} for name, m in report["irv"].items() if name != "mean"}
        best = naive_view(views)
        return {**flat(report), "irv_views": views, "naive_view": best,
                **{f"naive_{k}": views[best][k] for k in IRV_KEYS}}
    return score


def triangulation_estimate(case: Case, fitter: Fitter) -> dict:
    """Robust triangulation of a synthetic case's detections with its true cameras, scored as a
    fit's IEV skeleton (camera error 0: the cameras are given)."""
    views = len(case.inputs.view_names)
    joints, rot, t = ground_truth_at(case.gt, case.inputs.frame_indices, views)
    projections = projection_matrices(rot[0].numpy().astype(np.float64), t[0].numpy().astype(np.float64),
                                      case.inputs.focal.astype(np.float64), case.inputs.principal.astype(np.float64))
    points, found = triangulate_calibrated(case.inputs.keypoints2d, projections)
    figures = skeleton_metrics(torch.as_tensor(points, dtype=torch.float32), joints)
    return {**{f"iev_{k}": v for k, v in figures.items()}, "iev_camera_rel_rot_deg": 0.0, "triangulated_pct": 100.0 * found}


def true_cameras(case: Case):
    """A synthetic case's inputs with its true cameras given and held fixed."""
    _, rot, t = ground_truth_at(case.gt, case.inputs.frame_indices, len(case.inputs.view_names))
    return calibrated_inputs(case.inputs, rot[0].numpy(), t[0].numpy())


def synthetic_runs(config) -> list[Run]:
    """The side-by-side rows on synthetic sequences (focal lengths unknown unless calibrated)."""
    per_frame = dataclasses.replace(config, static_rig=False)
    default = default_mode(installed_model())
    return [Run("optimize", "optimize", inputs=unknown_focal), Run("network", "network", inputs=unknown_focal),
            Run(f"{default} (default)", default, inputs=unknown_focal),
            Run("optimize, per frame", "optimize", config=per_frame, inputs=unknown_focal),
            Run("calibrated: triangulation", "optimize", estimate=triangulation_estimate),
            Run("calibrated: body fit", default, inputs=true_cameras),
            Run("calibrated: body fit, optimize", "optimize", inputs=true_cameras)]


def synthetic_case_at(root: Path, views: int, frames: int, seed: int, noise_px: float | None = None,
                      faults: DetectionFaults | None = None, rigs: RigRanges | str = "default", info: dict | None = None) -> Case:
    """A ``cmanet synth`` sequence (true focal lengths in its sequence.yaml), scored by
    :func:`synthetic_score`; ``info``: what it stands for, beside its views, frames and seed."""
    info = {"seed": seed, "views": views, "frames": frames, **(info or {})}
    name = "_".join(f"{k}{v}" for k, v in info.items()) + f"_n{noise_px}"
    case = synthetic_case(root / name, views, frames, seed, noise_px=noise_px, faults=faults, cache_dir=root / "cache",
                          info=info, rigs=rigs, known_intrinsics=True)
    return dataclasses.replace(case, score=synthetic_score(case.gt))


def view_subset(case: Case, views: Sequence[int], name: str) -> Case:
    """The case seen by some of its views only (inputs and ground truth)."""
    idx = list(views)
    inputs = case.inputs
    sub = dataclasses.replace(inputs, keypoints2d=inputs.keypoints2d[:, idx], focal=inputs.focal[idx],
                              principal=inputs.principal[idx], image_sizes=inputs.image_sizes[idx],
                              view_names=[inputs.view_names[i] for i in idx],
                              focal_known=None if inputs.focal_known is None else inputs.focal_known[idx], scene=None)
    gt = {**case.gt, "cam_R": case.gt["cam_R"][..., idx, :, :], "cam_t": case.gt["cam_t"][..., idx, :]}
    return Case(f"{case.name}:{name}", sub, synthetic_score(gt), gt, {**case.info, "views": len(idx)})


# The camera distance and elevation sweeps: normal lenses (focal length 1-1.2x the image's longer
# side), one held at these while the other varies.
SWEEP_FOCAL_RATIO = (1.0, 1.2)
SWEEP_DISTANCE_M = 4.0
SWEEP_ELEVATION_DEG = 5.0


def sweep_rig(distance_m: float, elevation_deg: float) -> RigRanges:
    """Cameras 0.5 m from ``distance_m`` away and 5 deg from ``elevation_deg`` above the person
    (:class:`core.synth.rig.RigRanges`: one that would cut the person off moves back)."""
    return RigRanges(focal_ratio=SWEEP_FOCAL_RATIO, distance_m=(distance_m, distance_m + 0.5),
                     elevation_deg=(elevation_deg, elevation_deg + 5.0))


def pair_angle_deg(rotations: np.ndarray) -> float:
    """The angle between two cameras' orientations: (2, 3, 3) world->camera rotations (a static
    rig's; per-frame ones (F, 2, 3, 3) take the first frame's)."""
    first, second = np.asarray(rotations, dtype=np.float64).reshape(-1, 2, 3, 3)[0]
    cos = (np.trace(second @ first.T) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def visible_counts(case: Case, threshold: float = 0.5) -> np.ndarray:
    """(V,) keypoints each view detects with confidence above ``threshold``."""
    return (case.inputs.keypoints2d[..., 2] > threshold).sum(axis=(0, 2))


# ------------------------------------------------------------------------------------ sections


def _progress(rows: list[dict]) -> Callable[[dict], None]:
    def show(row: dict) -> None:
        rows.append(row)
        pa = row.get("iev_pa_mpjpe_mm", row.get("body_pa_mpjpe_mm"))
        print(f"  {row['case'][-28:]:28s} {row['run']:28s} PA {pa if pa is None else round(pa, 1)} mm  "
              f"{row['fit_s']:.2f} s", flush=True)
    return show


SYNTHETIC_KEYS = ("iev_mpjpe_mm", "iev_pa_mpjpe_mm", "iev_pck150", "iev_auc", "iev_pck150_aligned", "iev_auc_aligned",
                  "iev_camera_rel_rot_deg", "irv_mpjpe_mm", "irv_pa_mpjpe_mm", "irv_pck150", "irv_auc",
                  "irv_pck150_aligned", "irv_auc_aligned",
                  "irv_camera_rel_rot_deg", "naive_mpjpe_mm", "naive_pa_mpjpe_mm", "naive_pck150", "naive_auc",
                  "fit_s", "irv_s", "iev_s", "triangulated_pct")


def synthetic_section(cfg: ReportConfig, fitter: Fitter, root: Path) -> dict:
    """Every synthetic run on every seed; means over seeds, with the IRV and naive rows taken
    from the optimizer's fit."""
    rows: list[dict] = []
    cases = (synthetic_case_at(root, cfg.views, cfg.frames, seed) for seed in cfg.seeds)
    run_cases(cases, synthetic_runs(fitter.config), fitter, on_row=_progress(rows))
    mean = group_mean(rows, ("run",), SYNTHETIC_KEYS)
    optimize = next(m for m in mean if m["run"] == "optimize")
    table = [{"method": "IRV (per view, mean)", **_prefixed(optimize, "irv_"), "camera_deg": optimize["irv_camera_rel_rot_deg"]},
             {"method": "naive: best-reprojecting view", **_prefixed(optimize, "naive_"), "camera_deg": None}]
    for m in mean:
        table.append({"method": m["run"], **_prefixed(m, "iev_"), "camera_deg": m["iev_camera_rel_rot_deg"],
                      "fit_s": m["fit_s"], "triangulated_pct": m.get("triangulated_pct")})
    return {"seeds": list(cfg.seeds), "views": cfg.views, "frames": cfg.frames, "table": _json_rows(table),
            "rows": _json_rows(rows)}


def _prefixed(row: dict, prefix: str) -> dict:
    keys = ("mpjpe_mm", "pa_mpjpe_mm", "pck150", "auc", "pck150_aligned", "auc_aligned")
    return {k: row.get(prefix + k) for k in keys}


def _json_rows(rows: list[dict]) -> list[dict]:
    return [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()} for row in rows]


def real_section(cfg: ReportConfig, fitter: Fitter, root: Path) -> dict:
    """The real trial fitted every way; IRV per view and the naive baseline from the optimizer's fit."""
    trial = real.shipped_walk_trial() if cfg.trial == "shipped" else real.TRIALS[cfg.trial]
    loaded = real.trial_case(trial, fitter, root / "trials" if cfg.trial == "shipped" else None, cfg.real_frames)
    base_score, reference = loaded.case.score, loaded.reference

    def score(result) -> dict:
        views = {name: {k: round(v, 2) for k, v in m.items()} for name, m in real.view_scores(result, reference).items()}
        best = naive_view(views)
        return {**base_score(result), "irv_views": views, "naive_view": best,
                **{f"naive_{k}": views[best].get(k) for k in ("body_pa_mpjpe_mm", "seq_mpjpe_mm")}}

    case = dataclasses.replace(loaded.case, score=score)
    known_offsets = real.known_offsets_capture(reference)
    calibrated = lambda c: apply_calibration(c.inputs, loaded.calibration, known_offsets(c))
    default = default_mode(installed_model())
    runs = [Run("optimize", "optimize"), Run("network", "network"), Run(f"{default} (default)", default),
            Run("optimize, per frame", "optimize", config=dataclasses.replace(fitter.config, static_rig=False)),
            Run("calibrated: body fit", default, inputs=lambda c: calibrated(c)[0], capture=lambda c: calibrated(c)[1]),
            Run("calibrated: body fit, optimize", "optimize", inputs=lambda c: calibrated(c)[0],
                capture=lambda c: calibrated(c)[1])]
    adapted = real.AdaptedNetworks()
    if cfg.adapt_s:
        runs.append(Run(f"{default}, adapted {cfg.adapt_s:.0f} s", default, network=adapted.network(cfg.adapt_s)))
    rows: list[dict] = []
    run_cases([case], runs, fitter, on_row=_progress(rows))
    optimize = next(r for r in rows if r["run"] == "optimize")
    table = [{"method": "IRV (per view, mean)",
              "body_pa_mpjpe_mm": float(np.mean([v["body_pa_mpjpe_mm"] for v in optimize["irv_views"].values()])),
              "seq_mpjpe_mm": float(np.mean([v["seq_mpjpe_mm"] for v in optimize["irv_views"].values()]))},
             {"method": f"naive: best-reprojecting view ({optimize['naive_view']})",
              "body_pa_mpjpe_mm": optimize["naive_body_pa_mpjpe_mm"], "seq_mpjpe_mm": optimize["naive_seq_mpjpe_mm"]}]
    for row in rows:
        table.append({"method": row["run"], **{k: row.get(k) for k in (
            "body_pa_mpjpe_mm", "seq_mpjpe_mm", "seq_rigid_mpjpe_mm", "camera_err_deg_mean", "camera_err_deg_max",
            "focal_err_pct_mean", "body_height_m", "fit_s", "irv_s", "iev_s")}})
    if cfg.adapt_s:
        table[-1]["adapt_s"] = adapted.seconds(cfg.adapt_s)
    return {**loaded.header, "table": _json_rows(table), "rows": _json_rows(rows),
            "adapted": "not run (--quick)" if not cfg.adapt_s else f"{cfg.adapt_s:.0f} s budget"}


def sweeps_section(cfg: ReportConfig, fitter: Fitter, root: Path) -> dict:
    """One seed each, the default mode, focal lengths unknown unless stated."""
    default = default_mode(installed_model())
    fit = Run(default, default, inputs=unknown_focal)
    out: dict[str, list[dict]] = {}

    def sweep(name: str, cases, runs=(fit,)) -> None:
        rows: list[dict] = []
        run_cases(cases, list(runs), fitter, on_row=_progress(rows))
        if rows:  # a sweep with no values is left out
            out[name] = _json_rows([{k: v for k, v in r.items() if k != "irv_views"} for r in rows])

    sweep("views", (synthetic_case_at(root, v, cfg.frames, SEED) for v in cfg.sweep_views))
    sweep("noise", (synthetic_case_at(root, cfg.views, cfg.frames, SEED, noise_px=n, info={"noise_px": n})
                    for n in cfg.sweep_noise))
    sweep("missing", (synthetic_case_at(root, cfg.views, cfg.frames, SEED, faults=DetectionFaults(occluded_missing=p),
                                        info={"missing": p}) for p in cfg.sweep_missing))
    sweep("distance", (synthetic_case_at(root, cfg.views, cfg.frames, SEED, rigs=sweep_rig(d, SWEEP_ELEVATION_DEG),
                                         info={"distance_m": d}) for d in cfg.sweep_distance_m))
    sweep("elevation", (synthetic_case_at(root, cfg.views, cfg.frames, SEED, rigs=sweep_rig(SWEEP_DISTANCE_M, e),
                                          info={"elevation_deg": e}) for e in cfg.sweep_elevation_deg))
    focal_case = synthetic_case_at(root, cfg.views, cfg.frames, SEED)
    sweep("focal", [focal_case], [Run("focal unknown", default, inputs=unknown_focal), Run("focal known", default)])
    # The paper's Table 2 analogue: of an 8-view rig, the two views that see most / fewest keypoints.
    wide = synthetic_case_at(root, 8, cfg.frames, SEED)
    counts = visible_counts(wide)
    order = np.argsort(-counts, kind="stable")
    pairs = {"most visible": order[:2], "fewest visible": order[-2:]}
    sweep("view_pairs", [dataclasses.replace(view_subset(wide, idx, name), info={
        **wide.info, "views": 2, "pair": name, "visible_keypoints": int(counts[idx].sum()),
        "pair_angle_deg": round(pair_angle_deg(wide.gt["cam_R"][..., idx, :, :]), 1)}) for name, idx in pairs.items()])
    return out


def speed_section(cfg: ReportConfig, fitter: Fitter, root: Path) -> dict:
    """Detection per image, network throughput, and fitting's cost against F and V."""
    out: dict = {}
    seq_dir, _ = real.prepare_trial(real.shipped_walk_trial(), root / "detect", cfg.detect_frames)
    with MultiViewSequence.open(seq_dir) as seq:
        inputs = inputs_from_sequence(seq, root / "detect-cache", show_progress_bar=False)
    images = inputs.keypoints2d.shape[0] * inputs.keypoints2d.shape[1]
    size = inputs.image_sizes[0]
    out["detection"] = {"images": int(images), "image_size": [int(size[0]), int(size[1])],
                        "s_per_image": round(inputs.timings["detect_s"] / images, 4)}
    out["network"] = {k: (round(v, 1) if isinstance(v, float) else v)
                      for k, v in throughput(fitter.model, fitter.body, views=4, frames=cfg.network_frames,
                                             batch_frames=min(1024, cfg.network_frames)).items()}
    default = default_mode(installed_model())
    modes = [default if mode == "default" else mode for mode in cfg.cost_modes]
    runs = [Run(mode, mode, inputs=unknown_focal) for mode in modes]
    sizes = sorted({(4, f) for f in cfg.cost_frames} | {(v, cfg.frames) for v in cfg.cost_views})
    rows: list[dict] = []
    run_cases((synthetic_case_at(root, v, f, SEED) for v, f in sizes), runs, fitter, on_row=_progress(rows))
    cost = [{k: r[k] for k in ("run", "views", "frames", "fit_s", "irv_s", "iev_s")} for r in rows]
    for row in cost:
        row["frame_views"] = row["views"] * row["frames"]
    out["cost"] = cost
    out["cost_slope"] = {}
    for run in runs:
        items = [r for r in cost if r["run"] == run.label]
        fv = np.log([r["frame_views"] for r in items])
        fit_s = np.log([max(r["irv_s"] + r["iev_s"], 1e-3) for r in items])
        out["cost_slope"][run.label] = round(float(np.polyfit(fv, fit_s, 1)[0]), 2) if len(set(fv)) > 1 else None
    return out


def stage_speed(synthetic: dict, real_part: dict) -> list[dict]:
    """IRV and IEV seconds per frame (per multi-view frame) of each mode, on synthetic and real."""
    out = []
    for where, rows in (("synthetic", synthetic["rows"]), ("real", real_part["rows"])):
        for run, items in _by_run(rows).items():
            if "irv_s" not in items[0] or items[0].get("irv_s") is None:
                continue
            frames = synthetic["frames"] if where == "synthetic" else real_part["frames"]
            out.append({"where": where, "run": run, "views": items[0].get("views", real_part.get("views")),
                        "irv_ms_per_frame": round(1000 * float(np.mean([r["irv_s"] for r in items])) / frames, 1),
                        "iev_ms_per_frame": round(1000 * float(np.mean([r["iev_s"] for r in items])) / frames, 1),
                        "fit_s": round(float(np.mean([r["fit_s"] for r in items])), 2)})
    return out


def _by_run(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["run"], []).append(row)
    return out


# ------------------------------------------------------------------------------------- report


def build_report(cfg: ReportConfig, workdir: Path, log: Callable[[str], None] = print) -> dict:
    """Every section measured in one run (seeded; torch on one thread); JSON-ready."""
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        fitter = Fitter(load_fit_config(), DEFAULT_MODEL)
        report: dict = {"config": dataclasses.asdict(cfg), "machine": machine(), "sections_s": {}}
        for name, section in (("synthetic", synthetic_section), ("real", real_section), ("sweeps", sweeps_section),
                              ("speed", speed_section)):
            log(f"== {name}")
            begin = time.perf_counter()
            report[name] = section(cfg, fitter, workdir / name)
            report["sections_s"][name] = round(time.perf_counter() - begin, 1)
        report["speed"]["stages"] = stage_speed(report["synthetic"], report["real"])
        report["speed"]["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        report["total_s"] = round(time.perf_counter() - started, 1)
        return report
    finally:
        torch.set_num_threads(threads)


def machine() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
            "cpus": os.cpu_count(), "torch_threads": 1, "processor": platform.processor() or platform.machine()}


def write_report(report: dict, out: Path) -> list[Path]:
    """report.json, report.md and the plots (atomically) in ``out``; the paths written."""
    from core.bench.markdown import report_markdown
    from core.bench.plots import write_plots

    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(report, out)
    report = {**report, "plots": [p.name for p in plots]}
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", report_markdown(report))
    return [out / "report.json", out / "report.md", *plots]


def run_report(quick: bool, out: Path) -> list[Path]:
    """``cmanet bench report [--quick] --out DIR``: measure (:data:`QUICK` or :data:`FULL`) and write."""
    if out.exists() and not out.is_dir():
        raise InputError("not a folder", out)
    with tempfile.TemporaryDirectory(prefix="cmanet-bench-") as tmp:
        report = build_report(QUICK if quick else FULL, Path(tmp))
    paths = write_report(report, out)
    for path in paths:
        print(f"wrote {path}")
    return paths
