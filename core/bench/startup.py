"""``cmanet bench speed``'s start-up figures: how long a user waits before a command does anything.

Each figure is the fastest of a few runs of a fresh interpreter (``sys.executable``), so that a
busy machine inflates it less; all are measured in the same call, so they compare:

* ``python -c pass`` and ``python -c "import torch"`` (the floor every fitting command pays);
* ``cmanet --help`` (no torch: the sub-command parsers import only light modules);
* the libraries every fit needs beyond torch, one by one: roma (which imports ``torch._dynamo``),
  Anny (the body model; it imports roma and warp), scipy.optimize (people association);
* ``cmanet fit`` on a synthetic sequence: its wall time minus the work its summary times
  (detection, IRV, IEV) minus ``import torch`` is the start-up overhead the user waits through.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What a fit imports beyond torch, each measured alone after ``import torch``.
FIT_LIBRARIES = {"roma": "import roma", "anny": "import anny", "scipy_optimize": "import scipy.optimize",
                 "warp": "import warp"}


def wall_seconds(command: list[str], repeats: int = 3, cwd: Path | None = None) -> float:
    """The fastest wall time of ``repeats`` runs of ``command`` (which must succeed)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def python_seconds(code: str, repeats: int = 3) -> float:
    return wall_seconds([sys.executable, "-c", code], repeats)


def fit_startup(workdir: Path, views: int = 4, frames: int = 30, repeats: int = 2) -> dict:
    """``cmanet fit`` (default mode) on a ``cmanet synth`` sequence: wall seconds, the seconds its
    summary accounts for (detection + IRV + IEV), and the rest (start-up, loading, writing)."""
    cli = [sys.executable, "-m", "core.cli"]
    sequence = workdir / "seq"
    subprocess.run(cli + ["synth", str(sequence), "--views", str(views), "--frames", str(frames)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    best = None
    for k in range(repeats):
        out = workdir / f"res{k}"
        start = time.perf_counter()
        subprocess.run(cli + ["fit", str(sequence), "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        summary = json.loads((out / "summary.json").read_text())
        work = float(sum(summary["timings_s"].values()))
        if best is None or wall - work < best["fit_wall_s"] - best["fit_work_s"]:
            best = {"fit_wall_s": wall, "fit_work_s": work, "fit_mode": summary.get("mode")}
    return best


def bench_startup(repeats: int = 3, fit_frames: int = 30) -> dict:
    """The start-up figures (seconds), measured in one call (see the module docstring)."""
    figures: dict = {"python_s": python_seconds("pass", repeats)}
    figures["import_torch_s"] = torch_s = python_seconds("import torch", repeats)
    figures["cmanet_help_s"] = wall_seconds([sys.executable, "-m", "core.cli", "--help"], repeats)
    figures["cmanet_fit_help_s"] = wall_seconds([sys.executable, "-m", "core.cli", "fit", "--help"], repeats)
    for name, code in FIT_LIBRARIES.items():
        figures[f"import_{name}_beyond_torch_s"] = python_seconds(f"import torch; {code}", repeats) - torch_s
    figures["import_fit_modules_beyond_torch_s"] = python_seconds(
        "import torch; import core.cli.fit; import core.fit.sequence; import core.body.anny_body", repeats) - torch_s
    with tempfile.TemporaryDirectory() as tmp:
        fit = fit_startup(Path(tmp), frames=fit_frames)
    figures.update(fit)
    figures["fit_startup_beyond_torch_s"] = fit["fit_wall_s"] - fit["fit_work_s"] - torch_s
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()}


def format_startup(figures: dict) -> str:
    return "\n".join(f"{key:36s} {value}" for key, value in figures.items())
