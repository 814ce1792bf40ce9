"""The report's PNG plots (matplotlib, a benchmark-only dependency: without it, none are drawn)."""

from __future__ import annotations

import logging
from pathlib import Path

from core.io.atomic import atomic_path

log = logging.getLogger(__name__)


def write_plots(report: dict, out: Path) -> list[Path]:
    """report_accuracy.png, report_views.png, report_noise.png, report_cost.png in ``out``; the paths
    written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no plots")
        return []
    paths = []
    for name, draw in (("report_accuracy.png", _accuracy), ("report_views.png", _sweep_views), ("report_noise.png", _sweep_noise),
                       ("report_cost.png", _cost)):
        fig = plt.figure(figsize=(7, 4), dpi=100)
        draw(fig, report)
        fig.tight_layout()
        path = out / name
        with atomic_path(path) as tmp:  # a reader never sees half a picture
            fig.savefig(tmp)
        plt.close(fig)
        paths.append(path)
    return paths


def _accuracy(fig, report: dict) -> None:
    ax_syn, ax_real = fig.subplots(1, 2)
    for ax, rows, key, title in ((ax_syn, report["synthetic"]["table"], "pa_mpjpe_mm", "synthetic: PA-MPJPE (mm)"),
                                 (ax_real, report["real"]["table"], "body_pa_mpjpe_mm", f"{report['real']['trial']}: body PA-MPJPE (mm)")):
        rows = [r for r in rows if r.get(key) is not None]
        ax.barh([r["method"] for r in rows], [r[key] for r in rows], color="tab:blue")
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)


def _sweep(fig, rows: list[dict], x: str, label: str) -> None:
    ax = fig.subplots()
    xs = [r[x] for r in rows]
    ax.plot(xs, [r["iev_pa_mpjpe_mm"] for r in rows], "o-", label="IEV PA-MPJPE (mm)")
    ax.plot(xs, [r["irv_pa_mpjpe_mm"] for r in rows], "s--", label="IRV PA-MPJPE (mm)")
    ax.set_xlabel(label)
    ax.set_ylabel("mm")
    twin = ax.twinx()
    twin.plot(xs, [r["iev_camera_rel_rot_deg"] for r in rows], "^:", color="tab:red", label="camera error (deg)")
    twin.set_ylabel("deg")
    ax.legend(loc="upper left", fontsize=8)
    twin.legend(loc="upper right", fontsize=8)


def _sweep_views(fig, report: dict) -> None:
    _sweep(fig, report["sweeps"]["views"], "views", "views")


def _sweep_noise(fig, report: dict) -> None:
    _sweep(fig, report["sweeps"]["noise"], "noise_px", "detection noise (px at 1000 px height)")


def _cost(fig, report: dict) -> None:
    ax = fig.subplots()
    rows = report["speed"]["cost"]
    for run in dict.fromkeys(r["run"] for r in rows):
        items = sorted((r for r in rows if r["run"] == run), key=lambda r: r["frame_views"])
        ax.loglog([r["frame_views"] for r in items], [r["irv_s"] + r["iev_s"] for r in items], "o-",
                  label=f"{run} (slope {report['speed']['cost_slope'].get(run)})")
    if rows:  # what linear growth from the smallest size would cost
        first = min(rows, key=lambda r: r["frame_views"])
        sizes = sorted({r["frame_views"] for r in rows})
        base = first["irv_s"] + first["iev_s"]
        ax.loglog(sizes, [base * s / first["frame_views"] for s in sizes], "k--", alpha=0.4, label="linear in F x V")
    ax.set_xlabel("frames x views")
    ax.set_ylabel("IRV + IEV seconds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
