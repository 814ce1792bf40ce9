"""``report.md``: a :func:`core.bench.report.build_report` report as Markdown tables (the columns of
:class:`core.bench.runner.Column`: "-" where a figure does not apply)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.bench.runner import Column


def markdown_table(rows: Iterable[dict], columns: Sequence[Column]) -> str:
    """A Markdown table: a header, an alignment line and a line per row."""
    def cell(row: dict, column: Column) -> str:
        value = column.value(row)
        return "-" if value is None else column.fmt.format(value)

    lines = ["| " + " | ".join(c.label for c in columns) + " |",
             "|" + "|".join(":---" if c.left else "---:" for c in columns) + "|"]
    lines += ["| " + " | ".join(cell(row, c) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


SYNTHETIC_COLUMNS = (
    Column("method", "method", left=True), Column("MPJPE mm", "mpjpe_mm", "{:.1f}"),
    Column("PA-MPJPE mm", "pa_mpjpe_mm", "{:.1f}"), Column("PCK@150 %", "pck150", "{:.1f}"),
    Column("AUC %", "auc", "{:.1f}"), Column("PCK@150 rigid %", "pck150_aligned", "{:.1f}"),
    Column("AUC rigid %", "auc_aligned", "{:.1f}"), Column("camera deg", "camera_deg", "{:.2f}"),
    Column("fit s", "fit_s", "{:.2f}"),
)
REAL_COLUMNS = (
    Column("method", "method", left=True), Column("body PA-MPJPE mm", "body_pa_mpjpe_mm", "{:.1f}"),
    Column("seq MPJPE mm", "seq_mpjpe_mm", "{:.1f}"), Column("seq rigid MPJPE mm", "seq_rigid_mpjpe_mm", "{:.1f}"),
    Column("camera mean deg", "camera_err_deg_mean", "{:.2f}"), Column("camera max deg", "camera_err_deg_max", "{:.2f}"),
    Column("focal err %", "focal_err_pct_mean", "{:.1f}"), Column("height m", "body_height_m", "{:.2f}"),
    Column("fit s", "fit_s", "{:.2f}"), Column("adapt s", "adapt_s", "{:.0f}"),
)
SWEEP_COLUMNS = (
    Column("views", "views"), Column("noise px", "noise_px", "{:g}"), Column("occluded missing", "missing", "{:.0%}"),
    Column("distance m", "distance_m", "{:g}"), Column("elevation deg", "elevation_deg", "{:g}"), Column("run", "run", left=True),
    Column("pair", "pair", left=True), Column("visible kp", "visible_keypoints"), Column("angle deg", "pair_angle_deg", "{:.0f}"),
    Column("MPJPE mm", "iev_mpjpe_mm", "{:.1f}"), Column("PA-MPJPE mm", "iev_pa_mpjpe_mm", "{:.1f}"),
    Column("PCK@150 %", "iev_pck150", "{:.1f}"), Column("AUC %", "iev_auc", "{:.1f}"),
    Column("IRV PA mm", "irv_pa_mpjpe_mm", "{:.1f}"), Column("camera deg", "iev_camera_rel_rot_deg", "{:.2f}"),
    Column("fit s", "fit_s", "{:.2f}"),
)
STAGE_COLUMNS = (
    Column("data", "where", left=True), Column("mode", "run", left=True), Column("views", "views"),
    Column("IRV ms/frame", "irv_ms_per_frame", "{:.1f}"), Column("IEV ms/frame", "iev_ms_per_frame", "{:.1f}"),
    Column("fit s", "fit_s", "{:.2f}"),
)
COST_COLUMNS = (
    Column("mode", "run", left=True), Column("views V", "views"), Column("frames F", "frames"),
    Column("F x V", "frame_views"), Column("IRV s", "irv_s", "{:.2f}"), Column("IEV s", "iev_s", "{:.2f}"),
    Column("fit s (wall)", "fit_s", "{:.2f}"),
)


def report_markdown(report: dict) -> str:
    """The whole report as Markdown."""
    cfg, syn, rl, sw, sp = (report[k] for k in ("config", "synthetic", "real", "sweeps", "speed"))
    m = report["machine"]
    text = [
        f"# CMANet Studio benchmark report ({cfg['name']} run)",
        "",
        (f"Made by `scripts/bench{' --quick' if cfg['name'] == 'quick' else ''}` in {report['total_s'] / 60:.1f} min "
         f"on {m['cpus']} CPU(s) ({m['processor']}), torch {m['torch']} on {m['torch_threads']} thread; fixed seeds. "
         "Timings on a shared machine are noisy."),
        "",
        "## Accuracy side by side: synthetic sequences",
        "",
        (f"`cmanet synth` sequences, {syn['views']} views x {syn['frames']} frames, seeds {', '.join(map(str, syn['seeds']))} "
         "(means), the default detector faults. Focal lengths unknown except for the calibrated rows. MPJPE: one "
         "similarity for the whole sequence (no calibration fixes the world's frame or scale); PA-MPJPE, and "
         "rigid: per frame. IRV: each view's skeleton alone in its camera's frame; naive: the one view whose IRV fit "
         "reprojects best (chosen without ground truth). Calibrated: the true cameras given (what a Pose2Sim user "
         "gets): robust triangulation (gaps interpolated), and the same body fit with the cameras held fixed (the "
         "default mode, and the optimizer alone)."),
        "",
        markdown_table(syn["table"], SYNTHETIC_COLUMNS),
        "",
        f"## Accuracy side by side: real footage ({rl['trial']})",
        "",
        (f"{rl['description']}: {rl['frames']} frames, {rl['views']} views, MediaPipe detections. Reference: calibrated, "
         f"undistorted robust triangulation of the same detections (median residual {rl['reference_residual_px']:.1f} px); "
         "body: the 10 body joints. Calibrated triangulation is the reference itself here (0 mm by construction); the "
         "calibrated body fit holds the calibration's cameras (and its time offsets) fixed. IRV per view is scored on "
         f"the first camera's timeline. Adaptation: {rl['adapted']}."),
        "",
        markdown_table(rl["table"], REAL_COLUMNS),
        "",
        "## Sweeps (one seed each, the default mode, focal lengths unknown unless stated)",
        "",
    ]
    titles = {"views": "Views", "noise": "Pixel noise (sigma at a 1000 px image height)",
              "missing": "Missing joints (probability that a self-occluded joint is not detected)",
              "distance": "Camera distance (a 0.5 m band from the value; 5-10 deg above the person; lenses 1-1.2x the "
                          "image's longer side; a camera that would cut the person off moves back)",
              "elevation": "Camera height (angle above the person, a 5 deg band from the value; 4-4.5 m away)",
              "focal": "Focal length known or not",
              "view_pairs": "The paper's Table 2 analogue: the two views of an 8-view rig with most / fewest visible keypoints"}
    for name, rows in sw.items():
        text += [f"### {titles.get(name, name)}", "", markdown_table(rows, _present(SWEEP_COLUMNS, rows)), ""]
    det, net = sp["detection"], sp["network"]
    text += [
        "## Speed and memory",
        "",
        (f"- detection (MediaPipe, video decoding and the detector's start included): {det['s_per_image'] * 1000:.0f} ms "
         f"per {det['image_size'][0]}x{det['image_size'][1]} image ({det['images']} images of the shipped demo)"),
        f"- network: {net['frames_per_s']:.0f} {net['views']}-view frames/s (batched, {net['threads']} thread)",
        f"- peak RSS of the whole run: {sp['peak_rss_mb']:.0f} MB",
        "",
        "IRV and IEV per frame, as measured in the accuracy tables above:",
        "",
        markdown_table(sp["stages"], STAGE_COLUMNS),
        "",
        ("Fitting's cost against frames F and views V (synthetic, seed 0); log-log slope of IRV + IEV seconds against "
         "F x V (1: linear; below 1: a fixed cost dominates): ") + ", ".join(f"{run} {slope}" for run, slope in sp["cost_slope"].items()) + ".",
        "",
        markdown_table(sp["cost"], COST_COLUMNS),
        "",
    ]
    if report.get("plots"):
        text += ["## Plots", ""] + [f"![{p}]({p})" for p in report["plots"]] + [""]
    text += ["## Not measured here", "",
             ("Training samples/s per stage (`cmanet train` logs them), GPU figures (scripts/bench_gpu.py), memory on long "
              "sequences (scripts/bench_memory.py), and the other real trials (`cmanet bench real --trials walk multi "
              "static`)."), ""]
    text += ["Sections' time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in report["sections_s"].items()), ""]
    return "\n".join(text)


def _present(columns: Sequence[Column], rows: list[dict]) -> list[Column]:
    """The columns some row has a value for."""
    return [c for c in columns if any(c.value(r) is not None for r in rows)]
