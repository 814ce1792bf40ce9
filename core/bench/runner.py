"""The one loop of every ``cmanet bench``: cases (sequences synthesised or loaded, as a fit's inputs
and the way a result of them is scored) fitted by runs (a fit mode with its settings), each fit
timed and scored into a row; rows averaged, printed as a table and written as JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.body import load_body_model
from core.canonical.pose_prior import default_pose_prior
from core.eval import evaluate, flat, load_ground_truth
from core.fit.capture import CaptureInfo, fit_captured
from core.fit.config import FitConfig
from core.fit.inputs import FitInputs
from core.fit.modes import FitMode
from core.fit.sequence import fit_result, inputs_from_sequence
from core.io import MultiViewSequence, atomic_write_json
from core.io.results import FitResult
from core.nets.checkpoint import DEFAULT_MODEL, load_model
from core.synth import make_synthetic_sequence
from core.synth.detections import DetectionFaults
from core.synth.rig import RigRanges


@dataclass
class Case:
    """One sequence to fit: its name, the fit's inputs, how a result of it is scored (a dict of
    figures), its ground truth where known, what it stands for (``info``: views, noise, seed,
    ...; copied into its rows), and its person crops (F, V, 3, S, S) for image encoders."""

    name: str
    inputs: FitInputs
    score: Callable[[FitResult], dict]
    gt: dict[str, np.ndarray] | None = None
    info: dict = field(default_factory=dict)
    crops: np.ndarray | None = None


@dataclass
class Run:
    """One way to fit a case: the row's label, the fit mode, the fit config (None: the bench's),
    a change of the case's inputs (e.g. the true focal lengths given), the capture (time offsets
    and lens distortions; None: in sync, pinhole), the network to fit with (None: the fitter's;
    e.g. one adapted to the case, made before the fit's clock starts), or ``estimate``: figures of
    its own instead of a fit (e.g. the network's per-frame prediction); ``info`` is copied into its
    rows."""

    label: str
    mode: FitMode = "optimize"
    config: FitConfig | None = None
    inputs: Callable[[Case], FitInputs] | None = None
    capture: Callable[[Case], CaptureInfo] | None = None
    network: Callable[[Case, Fitter], object] | None = None
    estimate: Callable[[Case, Fitter], dict] | None = None
    info: dict = field(default_factory=dict)


class Fitter:
    """What the runs share: the fit config, the body model and pose prior, and the network of
    each fit mode that needs one (``model_path``, loaded once)."""

    def __init__(self, config: FitConfig, model_path: str | Path = DEFAULT_MODEL, model=None):
        self.config, self.model_path = config, Path(model_path)
        self._model = model
        self.body = model.body_model() if model is not None else load_body_model(config.body_model)
        self.prior = default_pose_prior(self.body)

    @property
    def model(self):
        """The network (loaded on first use)."""
        if self._model is None:
            self._model = load_model(self.model_path, self.config.device)
        return self._model

    def model_for(self, mode: FitMode):
        return None if mode == "optimize" else self.model


def sequence_case(seq_dir: str | Path, cache_dir: Path | None = None, info: dict | None = None,
                  show_progress_bar: bool = False) -> Case:
    """A sequence folder with its ``gt.npz`` (a ``cmanet synth`` sequence), loaded as ``cmanet fit``
    loads it and scored by ``cmanet eval`` (:func:`core.eval.flat` keys); ``cache_dir``: the
    detection cache (None: the user's)."""
    seq_dir = Path(seq_dir)
    with MultiViewSequence.open(seq_dir) as seq:
        inputs = inputs_from_sequence(seq, cache_dir, show_progress_bar=show_progress_bar)
    gt = load_ground_truth(seq_dir)
    return Case(seq_dir.name, inputs, lambda result: flat(evaluate(result, gt)), gt, dict(info or {}))


def synthetic_case(folder: Path, views: int, frames: int, seed: int, noise_px: float | None = None,
                   faults: DetectionFaults | None = None, render: bool = False, cache_dir: Path | None = None,
                   info: dict | None = None, rigs: RigRanges | str = "default", known_intrinsics: bool = False) -> Case:
    """``cmanet synth`` a sequence into ``folder`` (``render``: images, whose keypoints the real
    detector finds; ``known_intrinsics``: sequence.yaml gives the true focal lengths) and load it
    as :func:`sequence_case`."""
    kwargs = {} if noise_px is None else {"noise_px": noise_px}
    seq_dir = Path(make_synthetic_sequence(folder, views=views, frames=frames, seed=seed, render=render, faults=faults,
                                           rig_ranges=rigs, known_intrinsics=known_intrinsics, **kwargs))
    if render:
        (seq_dir / "keypoints.npz").rename(seq_dir / "keypoints.simulated.npz")  # force the real detector
    return sequence_case(seq_dir, cache_dir, info, show_progress_bar=render)


def fit_case(case: Case, run: Run, fitter: Fitter, show_progress_bar: bool = False) -> dict:
    """One row: the case fitted by the run (or the run's own estimate), timed and scored.

    fit_s: the wall time of the fit; irv_s, iev_s: its IRV and IEV stages; chosen: the
    candidate fit kept."""
    row = {"case": case.name, **case.info, "run": run.label, "mode": run.mode, **run.info}
    model = run.network(case, fitter) if run.network is not None else fitter.model_for(run.mode)
    start = time.perf_counter()
    if run.estimate is not None:
        figures = run.estimate(case, fitter)
        row["fit_s"] = round(time.perf_counter() - start, 2)
        return {**row, **figures}
    inputs = run.inputs(case) if run.inputs is not None else case.inputs
    capture = run.capture(case) if run.capture is not None else None
    result, timings = fit_captured(inputs, run.config or fitter.config, fit_result, capture, body=fitter.body,
                                   prior=fitter.prior, mode=run.mode, model=model,
                                   show_progress_bar=show_progress_bar)
    row["fit_s"] = round(time.perf_counter() - start, 2)
    row.update(irv_s=timings["irv_s"], iev_s=timings["iev_s"], chosen=timings.get("chosen", run.mode))
    return {**row, **case.score(result)}


def run_cases(cases: Iterable[Case], runs: Sequence[Run], fitter: Fitter, on_row: Callable[[dict], None] | None = None,
              show_progress_bar: bool = False) -> list[dict]:
    """Every case (made as it is reached: synthesised or loaded) fitted by every run; ``on_row``
    sees each row as it is made (to print it)."""
    rows = []
    for case in cases:
        for run in runs:
            rows.append(fit_case(case, run, fitter, show_progress_bar))
            if on_row is not None:
                on_row(rows[-1])
    return rows


def group_mean(rows: list[dict], by: Sequence[str], keys: Sequence[str]) -> list[dict]:
    """The mean of ``keys`` over the rows that share the values of ``by`` (groups in the order
    first met; ``count``: the rows in each)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in by), []).append(row)
    return [{**dict(zip(by, values)), "count": len(items),
             **{k: float(np.mean([r[k] for r in items])) for k in keys if all(k in r for r in items)}}
            for values, items in groups.items()]


@dataclass(frozen=True)
class Column:
    """One column of a printed table: its header, the row's key (``a.b``: key b of row[a]), the
    format of a value, its width, and whether it is left-aligned."""

    label: str
    key: str
    fmt: str = "{}"
    width: int = 8
    left: bool = False

    def value(self, row: dict):
        for part in self.key.split("."):
            row = row.get(part) if isinstance(row, dict) else None
        return row

    def cell(self, text: str) -> str:
        return f"{text:<{self.width}s}" if self.left else f"{text:>{self.width}s}"


def format_row(row: dict, columns: Sequence[Column]) -> str:
    """One row as the table prints it ("-" where a value is missing)."""
    return " ".join(c.cell("-" if c.value(row) is None else c.fmt.format(c.value(row))) for c in columns)


def format_table(rows: Iterable[dict], columns: Sequence[Column]) -> str:
    """A header and a line per row."""
    return "\n".join([format_header(columns)] + [format_row(r, columns) for r in rows])


def format_header(columns: Sequence[Column]) -> str:
    return " ".join(c.cell(c.label) for c in columns)


def write_json(path: Path | None, data) -> None:
    """Write a benchmark's figures (atomically), when a path is given."""
    if path is not None:
        atomic_write_json(path, data)
        print(f"wrote {path}")
