"""The real-footage benchmark: ``cmanet bench real``.

The recordings that ship inside the ``pose2sim`` wheels (BSD-3; one lab rig of four portrait
cameras with a Qualisys calibration) are fitted without their calibration, then scored against
calibrated, undistorted, robust triangulation of the same detections. The calibration is the
reference only, never an input.

Trials:

* ``walk``: ``Demo_SinglePerson`` of pose2sim 0.10.49 (100 frames at 60 fps, a bystander in two
  views); also shipped in ``resources/demo/walk`` as the app's demo. Its videos are deliberately
  out of sync: the calibrated triangulation residual is lowest with cam03 2.5-3.5 frames late
  (flat in between), and the reference takes cam03 at +2.5 frames, the others at 0.
* ``multi``: ``Demo_MultiPerson`` (the same rig, a second person composited in): cameras only.
* ``static``: the 11-frame static trial of pose2sim 0.8.4's batch session (a person standing).
* ``balance``: the walking trial fitted from the OpenPose BODY_25B detections that pose2sim 0.8.4
  ships with the same videos as its "balancing trial" (another detector, 2-3 people in two views:
  ``cmanet fit --keypoints``); the reference is walk's (MediaPipe, triangulated).

Scores, per fit mode (and with the cameras' time offsets estimated, ``sync``, or given as the
reference's, ``known offsets``; the offsets used and their largest error against the reference's
are reported): **body PA-MPJPE** (the 10 body joints: shoulders, elbows, hips, knees,
ankles, per-frame similarity Procrustes, mean over frames), sequence-aligned MPJPE (one similarity
for the whole sequence; and one rigid transform, which keeps the fit's own scale), camera error
(angle of ``R_j R_i^T`` estimated vs calibrated over all view pairs: mean, max), focal length error,
segment lengths against the reference's, the fitted body's standing height, and the fitting time.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.bench.runner import Case, Column, Fitter, Run, format_row, format_table, run_cases
from core.config import RESOURCES_DIR
from core.detect.cache import cache_base_dir
from core.errors import InputError
from core.fit.capture import CaptureInfo
from core.fit.config import FitConfig, load_fit_config
from core.fit.modes import default_mode
from core.fit.sequence import inputs_from_sequence
from core.geometry import metrics
from core.geometry.distortion import undistort_pixels
from core.geometry.triangulation import reprojection_px, triangulate_robust
from core.io.atomic import atomic_write_text
from core.io.calibration import RigCalibration, loose_name, read_qca
from core.io.keypoint_import import read_keypoints
from core.io.results import FitResult
from core.io.sequence import MultiViewSequence
from core.io.timeline import shift_in_time
from core.keypoints import COCO17_NAMES
from core.nets.checkpoint import DEFAULT_MODEL, installed_model
from core.train.adapt import Adaptation, adapt_network

log = logging.getLogger(__name__)

BODY_JOINTS = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_hip", "right_hip",
               "left_knee", "right_knee", "left_ankle", "right_ankle")
BODY_INDICES = tuple(COCO17_NAMES.index(n) for n in BODY_JOINTS)
# Segment name -> (left pair, right pair) of COCO-17 names; a single pair for the shoulder width.
SEGMENTS = {
    "thigh": (("left_hip", "left_knee"), ("right_hip", "right_knee")),
    "shank": (("left_knee", "left_ankle"), ("right_knee", "right_ankle")),
    "upper_arm": (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")),
    "shoulder_width": (("left_shoulder", "right_shoulder"),),
}
# Reference triangulation: a view whose detection reprojects further than this from the point the
# other views agree on is left out of it (a bystander picked, a swapped side).
REFERENCE_MAX_ERROR_PX = 30.0
REFERENCE_THRESHOLD = 0.5


@dataclass(frozen=True)
class RealTrial:
    """One recording of the benchmark.

    wheel: the pose2sim version that carries it (None: ``local`` folders are given);
    videos, calibration: paths inside the wheel (or local paths);
    reference_offsets: camera name -> frames its video lags the first camera's (see module doc);
    score_body: whether the body is scored (one person: the triangulated reference is that person);
    keypoints: an OpenPose folder (inside ``keypoints_wheel``, else ``wheel``) whose detections are
    fitted instead of MediaPipe's.
    """

    name: str
    videos: str
    calibration: str
    wheel: str | None = None
    reference_offsets: dict[str, float] = field(default_factory=dict)
    score_body: bool = True
    description: str = ""
    keypoints: str | None = None
    keypoints_wheel: str | None = None


TRIALS: dict[str, RealTrial] = {
    "walk": RealTrial("walk", "Pose2Sim/Demo_SinglePerson/videos", "Pose2Sim/Demo_SinglePerson/calibration/Calib.qca.txt",
                      "0.10.49", {"cam03": 2.5}, True, "Demo_SinglePerson, 100 frames, 60 fps, a bystander in two views"),
    "multi": RealTrial("multi", "Pose2Sim/Demo_MultiPerson/videos", "Pose2Sim/Demo_MultiPerson/calibration/Calib.qca.txt",
                       "0.10.49", {}, False, "Demo_MultiPerson, two people: cameras only"),
    "static": RealTrial("static", "Pose2Sim/S00_Demo_BatchSession/S00_P00_SingleParticipant/S00_P00_T00_StaticTrial/videos",
                        "Pose2Sim/S00_Demo_BatchSession/S00_Calibration/Calib.qca.txt", "0.8.4", {}, True,
                        "the batch session's static trial, 11 frames, a person standing"),
    # The same videos as walk; its OpenPose detections ship in another wheel.
    "balance": RealTrial("balance", "Pose2Sim/Demo_SinglePerson/videos", "Pose2Sim/Demo_SinglePerson/calibration/Calib.qca.txt",
                         "0.10.49", {"cam03": 2.5}, True,
                         "the walking trial fitted from the OpenPose BODY_25B JSON of pose2sim 0.8.4's balancing trial",
                         "Pose2Sim/S00_Demo_BatchSession/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/pose", "0.8.4"),
}
SHIPPED_DEMO = RESOURCES_DIR / "demo" / "walk"
SHIPPED_REFERENCE = RESOURCES_DIR / "demo" / "walk_reference" / "Calib.qca.txt"


def shipped_walk_trial() -> RealTrial:
    """The walking trial as it ships in ``resources/demo`` (no download)."""
    return dataclasses.replace(TRIALS["walk"], videos=str(SHIPPED_DEMO / "videos"), calibration=str(SHIPPED_REFERENCE),
                               wheel=None, description="the shipped demo (the walking trial)")


# ---------------------------------------------------------------------------------------- data


def wheel_dir() -> Path:
    """Where downloaded pose2sim wheels are kept between runs."""
    return cache_base_dir() / "bench" / "wheels"


def pose2sim_wheel(version: str, folder: Path | None = None) -> Path:
    """The ``pose2sim==version`` wheel, downloaded once with ``pip download --no-deps``."""
    folder = Path(folder or wheel_dir())
    found = sorted(folder.glob(f"pose2sim-{version}-*.whl"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    log.info("downloading pose2sim==%s (the benchmark's recordings) into %s", version, folder)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", f"pose2sim=={version}", "-d", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(folder.glob(f"pose2sim-{version}-*.whl"))
    if done.returncode != 0 or not found:
        raise InputError(f"could not download pose2sim=={version}: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    return found[0]


def _extract(wheel: Path, inner: str, target: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n == inner or n.startswith(inner.rstrip("/") + "/")]
        if not names:
            raise InputError(f"has no {inner}", wheel)
        for name in names:
            # A file lands at ``target`` itself, a folder's files under it.
            path = target if name == inner else target / name[len(inner):].lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(name) as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)


def trials_dir() -> Path:
    """Where the benchmark's trials are unpacked (their detections are cached by this path)."""
    return cache_base_dir() / "bench" / "trials"


def trial_keypoints(trial: RealTrial, workdir: Path | None = None) -> Path | None:
    """The OpenPose folder of a trial fitted from given keypoints (unpacked by prepare_trial)."""
    if trial.keypoints is None:
        return None
    if trial.wheel is None:
        return Path(trial.keypoints)
    return Path(workdir or trials_dir()) / "_source" / f"{trial.name}-{trial.wheel}" / "pose"


def prepare_trial(trial: RealTrial, workdir: Path | None = None, frames: int | None = None) -> tuple[Path, Path]:
    """A sequence folder for ``trial`` (links to its videos, and a ``sequence.yaml`` with the frame
    range when ``frames`` is given) and the path of its calibration, under ``workdir``."""
    workdir = Path(workdir or trials_dir())
    source = workdir / "_source" / (trial.name if trial.wheel is None else f"{trial.name}-{trial.wheel}")
    calibration = source / "calibration.qca.txt"
    if trial.wheel is None:
        source = Path(trial.videos)
        calibration = Path(trial.calibration)
    elif not calibration.is_file():
        wheel = pose2sim_wheel(trial.wheel)
        _extract(wheel, trial.videos, source / "videos")
        if trial.keypoints is not None:
            _extract(pose2sim_wheel(trial.keypoints_wheel or trial.wheel), trial.keypoints, source / "pose")
        _extract(wheel, trial.calibration, calibration)
    if trial.wheel is not None:
        source = source / "videos"
    seq = workdir / (f"{trial.name}{'' if trial.wheel else '-local'}" + ("" if frames is None else f"-first{int(frames)}"))
    videos = seq / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    for video in sorted(source.glob("*.mp4")):
        target = videos / video.name
        if not target.exists():
            os.symlink(video.resolve(), target)
    if frames is not None and not (seq / "sequence.yaml").is_file():
        atomic_write_text(seq / "sequence.yaml", f"frame_range: [0, {int(frames)}]\n")
    return seq, calibration


# ----------------------------------------------------------------------------------- reference


@dataclass
class Reference:
    """Calibrated triangulation of a trial's detections, on the first view's timeline.

    joints3d: (F, 17, 3) metres in the calibration's world (NaN where not triangulated);
    residual_px: median reprojection residual of the triangulated points in the views used.
    """

    joints3d: np.ndarray
    calibration: RigCalibration
    residual_px: float
    offsets: dict[str, float]


def build_reference(keypoints2d: np.ndarray, calibration: RigCalibration, offsets: dict[str, float]) -> Reference:
    """Undistorted, robust, confidence-weighted DLT of (F, V, 17, 3) detections with the
    calibrated cameras (in the detections' view order), each view shifted by its offset."""
    frames, views = keypoints2d.shape[:2]
    undistorted = keypoints2d.astype(np.float64).copy()
    for v, cam in enumerate(calibration.cameras):
        undistorted[:, v, :, :2] = undistort_pixels(keypoints2d[:, v, :, :2], cam.matrix, cam.distortions)
    loose = {loose_name(n): o for n, o in offsets.items()}  # trial offsets name the videos (cam03), calibrations may not (cam_03)
    shift = np.array([offsets.get(name, loose.get(loose_name(name), 0.0)) for name in calibration.names])
    synced = shift_in_time(undistorted, shift).transpose(0, 2, 1, 3).reshape(-1, views, 3)
    projections = np.stack([c.projection_matrix for c in calibration.cameras])
    points, used = triangulate_robust(projections, synced[..., :2], synced[..., 2], threshold=REFERENCE_THRESHOLD,
                                      max_error_px=REFERENCE_MAX_ERROR_PX)
    residual = reprojection_px(projections, np.nan_to_num(points), synced[..., :2])[used]
    return Reference(points.reshape(frames, -1, 3), calibration, float(np.median(residual)) if residual.size else float("nan"),
                     {n: float(o) for n, o in zip(calibration.names, shift)})


# ------------------------------------------------------------------------------------- scoring


def _segment_lengths(joints: np.ndarray) -> dict[str, float]:
    """Median over frames of each segment's length (mean of the sides), metres; (F, 17, 3)."""
    out = {}
    for name, pairs in SEGMENTS.items():
        lengths = [np.linalg.norm(joints[:, COCO17_NAMES.index(a)] - joints[:, COCO17_NAMES.index(b)], axis=-1)
                   for a, b in pairs]
        out[name] = float(np.nanmedian(np.nanmean(np.stack(lengths), axis=0)))
    return out


def score(result: FitResult, reference: Reference, body_height_m: float | None = None) -> dict:
    """The benchmark's figures for one fit (see the module doc)."""
    calib = reference.calibration.by_name([str(v) for v in result.view_names])
    cam_err = metrics.relative_rotation_error_deg(torch.as_tensor(result.cam_R[0], dtype=torch.float64),
                                                  torch.as_tensor(calib.rotations, dtype=torch.float64)).numpy()
    true_f = np.array([c.focal_px for c in calib.cameras])
    focal_err = np.abs(result.cam_f[0] - true_f) / true_f * 100.0
    out = {
        "camera_err_deg_mean": float(cam_err.mean()), "camera_err_deg_max": float(cam_err.max()),
        "focal_err_pct_mean": float(focal_err.mean()), "focal_err_pct_max": float(focal_err.max()),
        "focal_px": [round(float(f), 1) for f in result.cam_f[0]],
        "iev_reproj_px": float(np.nanmean(result.iev_reproj_px)),
        "irv_reproj_px": float(np.nanmean(result.irv_reproj_px)),
    }
    if body_height_m is not None:
        out["body_height_m"] = body_height_m
    ref = reference.joints3d[:, list(BODY_INDICES)]
    fit = result.joints3d[: len(ref), list(BODY_INDICES)].astype(np.float64)
    valid = ~np.isnan(ref).any(axis=(1, 2))
    out["body_frames"] = int(valid.sum())
    if valid.sum() >= 2:
        pred, gt = torch.as_tensor(fit[valid]), torch.as_tensor(ref[valid])
        out["body_pa_mpjpe_mm"] = float(metrics.pa_mpjpe(pred, gt))
        out["seq_mpjpe_mm"] = float(metrics.mpjpe(metrics.align_sequence(pred, gt), gt))
        rigid = metrics.procrustes_align(pred.reshape(1, -1, 3), gt.reshape(1, -1, 3), scale=False).reshape(pred.shape)
        out["seq_rigid_mpjpe_mm"] = float(metrics.mpjpe(rigid, gt))
        fit_seg, ref_seg = _segment_lengths(result.joints3d.astype(np.float64)), _segment_lengths(reference.joints3d)
        out["segments_m"] = {k: round(v, 4) for k, v in fit_seg.items()}
        out["segment_ratio"] = {k: round(fit_seg[k] / ref_seg[k], 3) for k in SEGMENTS}
        out["segment_ratio_worst"] = float(max(abs(r - 1.0) for r in out["segment_ratio"].values()))
    return out


def standing_height(body, shape: np.ndarray) -> float:
    """Top of the head to the soles of the body model in its rest pose with ``shape`` (S,), metres."""
    with torch.no_grad():
        device = body.device
        out = body(torch.zeros(1, 3, device=device), torch.zeros(1, body.num_pose_joints, 3, device=device),
                   torch.as_tensor(shape, dtype=torch.float32, device=device)[None])
        heights = out.vertices[0] @ body.up_axis.to(device).to(out.vertices.dtype)
        return float(heights.max() - heights.min())


# ---------------------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RealRun:
    """One row of the benchmark: a fit mode (None: the default mode), whether the true focal
    lengths are given (as a user would in ``sequence.yaml``), whether the cameras' time offsets
    are estimated (``cmanet fit --sync``), whether the reference's offsets are given as known
    (as ``time_offset_frames`` in ``sequence.yaml``), and ``adapt``: seconds of adaptation to the
    trial's own detections before the fit (``cmanet fit --adapt``; None: none)."""

    mode: str | None
    true_focal: bool = False
    sync: bool = False
    known_offsets: bool = False
    adapt: float | None = None

    @property
    def label(self) -> str:
        adapted = f", adapted {self.adapt:.0f} s" if self.adapt else ""
        return (f"{self.mode or 'default'}{', true focal' if self.true_focal else ''}{', sync' if self.sync else ''}"
                f"{', known offsets' if self.known_offsets else ''}{adapted}")


def adapted_runs(budgets) -> tuple[RealRun, ...]:
    """The rows ``cmanet bench real --adapt S...`` adds: the default mode and the network alone,
    each after adapting for each budget."""
    return tuple(RealRun(mode, adapt=float(b)) for b in budgets for mode in (None, "network"))


DEFAULT_RUNS = (RealRun(None), RealRun("optimize"), RealRun("network"), RealRun(None, True), RealRun("optimize", True),
                RealRun(None, known_offsets=True), RealRun("optimize", known_offsets=True), RealRun("optimize", sync=True))


def with_true_focal(inputs, calibration: RigCalibration):
    """``inputs`` with the calibration's focal lengths given (known, as sequence.yaml gives them)."""
    return dataclasses.replace(inputs, focal=np.array([c.focal_px for c in calibration.cameras], dtype=np.float32),
                               focal_known=np.ones(len(calibration.cameras), dtype=bool))


@dataclass
class TrialCase:
    """A trial ready to fit: its case (detections as ``cmanet fit`` reads them, scored against the
    reference), the reference, the calibration in the case's view order, and the report's header."""

    case: Case
    reference: Reference
    calibration: RigCalibration
    header: dict


def trial_case(trial: RealTrial, fitter: Fitter, workdir: Path | None = None, frames: int | None = None,
               show_progress_bar: bool = False) -> TrialCase:
    """Detect (cached) a trial and build its reference; its case scores a fit by :func:`score`
    (with the time offsets found and their largest error)."""
    seq_dir, calib_path = prepare_trial(trial, workdir, frames)
    calibration = read_qca(calib_path)
    with MultiViewSequence.open(seq_dir) as seq:
        inputs = inputs_from_sequence(seq, show_progress_bar=show_progress_bar)
    calibration = calibration.by_name(inputs.view_names)
    reference = build_reference(inputs.keypoints2d, calibration, trial.reference_offsets)
    keypoints = trial_keypoints(trial, workdir)
    if keypoints is not None:
        given = read_keypoints(keypoints).for_views(inputs.view_names)
        inputs = dataclasses.replace(inputs, keypoints2d=given[inputs.frame_indices])

    def score_trial(result: FitResult) -> dict:
        figures = score(result, reference, standing_height(fitter.body, np.median(result.shape, axis=0)))
        offsets = result.view_time_offsets
        figures["time_offsets_frames"] = {str(n): round(float(o), 2) for n, o in zip(result.view_names, offsets)}
        truth = np.array([reference.offsets.get(str(n), 0.0) for n in result.view_names])
        figures["offset_err_max"] = round(float(np.abs(offsets - truth).max()), 2)
        if not trial.score_body:
            figures = {k: v for k, v in figures.items() if not k.startswith(("body_", "seq_", "segment"))}
        return figures

    header = {"trial": trial.name, "description": trial.description, "frames": int(inputs.keypoints2d.shape[0]),
              "views": len(inputs.view_names), "reference_residual_px": round(reference.residual_px, 2),
              "reference_offsets": reference.offsets, "detect_s": round(inputs.timings.get("detect_s", 0.0), 2)}
    return TrialCase(Case(trial.name, inputs, score_trial), reference, calibration, header)


def known_offsets_capture(reference: Reference) -> Callable[[Case], CaptureInfo]:
    """A run's capture with the reference's time offsets given as known."""
    def known_offsets(case: Case) -> CaptureInfo:
        given = np.array([reference.offsets.get(name, 0.0) for name in case.inputs.view_names])
        capture = CaptureInfo.default(len(given), case.inputs.fps)
        return dataclasses.replace(capture, offset_known=np.ones(len(given), dtype=bool), shift=given)
    return known_offsets


def view_scores(result: FitResult, reference: Reference) -> dict[str, dict]:
    """Each view's IRV skeleton alone against the reference seen by that view's calibrated camera
    (the 10 body joints): body PA-MPJPE, sequence MPJPE (one similarity), and the view's IRV
    reprojection error (px). Views are scored on the first view's timeline."""
    out = {}
    ref_world = reference.joints3d[:, list(BODY_INDICES)]
    valid = ~np.isnan(ref_world).any(axis=(1, 2))
    calib = reference.calibration.by_name([str(v) for v in result.view_names])
    for v, (name, cam) in enumerate(zip(result.view_names, calib.cameras)):
        figures = {"reproj_px": float(np.nanmean(result.irv_reproj_px[:, v]))}
        if valid.sum() >= 2:
            ref = torch.as_tensor(ref_world[valid] @ cam.rotation.T + cam.translation)
            fit = torch.as_tensor(result.irv_joints3d[: len(ref_world), v][:, list(BODY_INDICES)][valid].astype(np.float64))
            figures["body_pa_mpjpe_mm"] = float(metrics.pa_mpjpe(fit, ref))
            figures["seq_mpjpe_mm"] = float(metrics.mpjpe(metrics.align_sequence(fit, ref), ref))
        out[str(name)] = figures
    return out


class AdaptedNetworks:
    """The benchmarked case's network adapted to it (``cmanet fit --adapt``, never from the cache),
    learnt once per budget and shared by every run that uses that budget."""

    def __init__(self) -> None:
        self.adaptations: dict[float, Adaptation] = {}

    def network(self, budget: float) -> Callable[[Case, Fitter], object]:
        """A run's ``network``: the adapted network for ``budget`` seconds."""
        def network(case: Case, fitter: Fitter):
            if budget not in self.adaptations:
                self.adaptations[budget] = adapt_network(case.inputs, fitter.model_path, budget, fitter.config,
                                                         reuse=False)
            return self.adaptations[budget].model
        return network

    def seconds(self, budget: float) -> float:
        """Seconds the adaptation for ``budget`` learnt, rounded to 0.1."""
        return round(self.adaptations[budget].seconds, 1)


def run_trial(trial: RealTrial, runs=DEFAULT_RUNS, workdir: Path | None = None, frames: int | None = None,
              config: FitConfig | None = None, show_progress_bar: bool = False, model: Path | None = None) -> dict:
    """Detect (cached), build the reference and fit every run of one trial; JSON-ready figures.
    ``model``: the network of the network modes (default: the shipped model)."""
    fitter = Fitter(config or load_fit_config(), model or DEFAULT_MODEL)
    loaded = trial_case(trial, fitter, workdir, frames, show_progress_bar)
    calibration, reference = loaded.calibration, loaded.reference
    report = dict(loaded.header)
    adapted = AdaptedNetworks()

    true_focal = lambda case: with_true_focal(case.inputs, calibration)  # noqa: E731
    bench_runs = [Run(run.label, run.mode or default_mode(installed_model()), inputs=true_focal if run.true_focal else None,
                      config=dataclasses.replace(fitter.config, sync=dataclasses.replace(fitter.config.sync, enabled=run.sync)),
                      capture=known_offsets_capture(reference) if run.known_offsets else None,
                      network=adapted.network(run.adapt) if run.adapt else None,
                      info={"true_focal": run.true_focal, "sync": run.sync, "known_offsets": run.known_offsets,
                            "adapt": run.adapt})
                  for run in runs]
    rows = run_cases([loaded.case], bench_runs, fitter,
                     on_row=lambda row: log.info("%s", format_row(_table_row(row, trial.name), COLUMNS)))
    for row in rows:
        row["adapt_s"] = adapted.seconds(row["adapt"]) if row["adapt"] else None
    report["rows"] = [{k: v for k, v in row.items() if k != "case"} for row in rows]
    return report


def _table_row(row: dict, trial: str) -> dict:
    """A row as the table prints it: with its trial and the estimated time offsets that are not 0."""
    offsets = " ".join(f"{n} {o:+.2f}" for n, o in (row.get("time_offsets_frames") or {}).items() if o)
    return {**row, "trial": trial, "offsets_text": offsets}


COLUMNS = (
    Column("trial", "trial", "{}", 7, left=True), Column("run", "run", "{}", 36, left=True),
    Column("body PA", "body_pa_mpjpe_mm", "{:.1f}", 8), Column("seq MPJPE", "seq_mpjpe_mm", "{:.1f}", 9),
    Column("cam mean", "camera_err_deg_mean", "{:.2f}", 8), Column("cam max", "camera_err_deg_max", "{:.2f}", 7),
    Column("focal %", "focal_err_pct_mean", "{:.1f}", 7), Column("thigh", "segment_ratio.thigh", "{:.2f}", 6),
    Column("shank", "segment_ratio.shank", "{:.2f}", 6), Column("u.arm", "segment_ratio.upper_arm", "{:.2f}", 6),
    Column("should.", "segment_ratio.shoulder_width", "{:.2f}", 7), Column("height", "body_height_m", "{:.2f}", 6),
    Column("fit s", "fit_s", "{:.2f}", 6), Column("adapt s", "adapt_s", "{:.0f}", 7),
    Column("sync err", "offset_err_max", "{:.2f}", 8),
    Column("offsets", "offsets_text", "{}", 0, left=True),
)


def format_report(reports: list[dict]) -> str:
    """The plain-text table of every trial's rows (segment columns: fitted / reference length)."""
    return format_table((_table_row(row, report["trial"]) for report in reports for row in report["rows"]), COLUMNS)
