"""Runs: every fit of a sequence kept, not just the last one.

A sequence's *result area* (the app's default: ``<cache>/results/<name>-<hash>/``) holds one
folder per fit under ``runs/`` (``runs/20250102-101112-optimize/``: ``result.npz``,
``summary.json`` and ``run.json``, how the run was made). A result folder written by
``cmanet fit SEQ --out RES`` is a run too: the area itself when it holds a ``result.npz``, or any
folder added to the list.

``run.json`` (written by whoever made the run; optional): ``mode``, ``model`` (the network file,
"" for none), ``options`` (threshold, device, body height, config file, imports...),
``started`` (ISO time) and ``seconds``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.io.atomic import atomic_write_json
from core.io.results import RESULT_FILE, SUMMARY_FILE

log = logging.getLogger(__name__)

RUNS_DIR = "runs"
RUN_FILE = "run.json"
# A new run whose fused reprojection error is over this many times the best run's is flagged.
MUCH_WORSE = 1.5


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Run:
    """One fit of a sequence: its folder (``result.npz`` and ``summary.json``), what its summary
    says and how it was made (``run.json``; empty for a ``cmanet fit --out`` folder)."""

    folder: Path
    summary: dict = field(default_factory=dict, compare=False)
    settings: dict = field(default_factory=dict, compare=False)
    created: float = field(default=0.0, compare=False)  # seconds since the epoch (result.npz written)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def mode(self) -> str:
        return str(self.settings.get("mode") or self.summary.get("mode") or "?")

    @property
    def model(self) -> str:
        """The network file the run used ("" for none or unknown)."""
        return str(self.settings.get("model") or "")

    @property
    def fused_px(self) -> float:
        """Mean reprojection error of the fused (IEV) fit over every view, px (NaN if unknown)."""
        value = self.summary.get("iev_reproj_px_mean")
        return float(value) if isinstance(value, (int, float)) else math.nan

    @property
    def per_view_px(self) -> dict[str, tuple[float, float]]:
        """view name -> (per-view IRV px, fused IEV px)."""
        irv, iev = self.summary.get("irv_reproj_px", {}), self.summary.get("iev_reproj_px", {})
        nan = math.nan
        return {str(v): (float(irv.get(v) if irv.get(v) is not None else nan),
                         float(iev.get(v) if iev.get(v) is not None else nan)) for v in iev}

    @property
    def when(self) -> str:
        """Local time the run was written, ``2025-01-02 10:11``."""
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created)) if self.created else "?"


def read_run(folder: str | Path) -> Run | None:
    """The run in ``folder``, or None when it holds no ``result.npz`` (an unfinished fit)."""
    folder = Path(folder).expanduser()
    result = folder / RESULT_FILE
    try:
        created = result.stat().st_mtime
    except OSError:
        return None
    return Run(folder, _read_json(folder / SUMMARY_FILE), _read_json(folder / RUN_FILE), created)


def list_runs(area: str | Path, extra: Iterable[str | Path] = ()) -> list[Run]:
    """Every finished run of a result ``area`` (``area/runs/*``, and ``area`` itself when it holds a
    result) and of the ``extra`` folders, oldest first, each folder once."""
    area = Path(area).expanduser()
    folders = [area]
    runs_dir = area / RUNS_DIR
    if runs_dir.is_dir():
        folders += sorted(p for p in runs_dir.iterdir() if p.is_dir())
    folders += [Path(p).expanduser() for p in extra]
    runs, seen = [], set()
    for folder in folders:
        key = folder.resolve()
        if key in seen:
            continue
        seen.add(key)
        run = read_run(folder)
        if run is not None:
            runs.append(run)
    return sorted(runs, key=lambda r: r.created)


def new_run_folder(area: str | Path, mode: str, when: float | None = None) -> Path:
    """A fresh folder name under ``area/runs/`` for a fit in ``mode`` (not created)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    base = Path(area).expanduser() / RUNS_DIR / f"{stamp}-{mode}"
    folder, n = base, 2
    while folder.exists():
        folder, n = base.with_name(f"{base.name}-{n}"), n + 1
    return folder


def write_run_settings(folder: str | Path, settings: dict) -> Path:
    """``folder/run.json`` (atomically)."""
    return atomic_write_json(Path(folder) / RUN_FILE, settings)


def best_run(runs: Iterable[Run]) -> Run | None:
    """The run with the lowest fused reprojection error (None when none is known)."""
    known = [r for r in runs if not math.isnan(r.fused_px)]
    return min(known, key=lambda r: r.fused_px) if known else None


def much_worse_than(run: Run, runs: Iterable[Run], factor: float = MUCH_WORSE) -> Run | None:
    """The best of the other ``runs`` when ``run``'s fused reprojection error is over ``factor``
    times its (a fit that went wrong, or a poor model), else None."""
    best = best_run(r for r in runs if r != run)
    if best is None or math.isnan(run.fused_px) or run.fused_px <= factor * best.fused_px:
        return None
    return best
