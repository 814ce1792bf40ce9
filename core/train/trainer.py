"""The two-stage training loop (``cmanet train``).

Stages (``--stage``): ``1`` trains the encoder and IRV per view; ``2`` freezes them and trains
IEV; ``both`` runs 1 then 2. Two more exist for the paper's ablation (Table 1): ``joint`` trains
IRV and IEV together in one stage (the sum of both losses), ``iev`` trains the encoder and IEV
alone, IEV starting from the mean body in every view (no IRV).

Every step: the network predicts; every ``teacher.every`` steps SMPLify refines the prediction
into new pseudo-labels (kept per sample where they reproject better); the loss
``alpha * L2D + gamma * LSMPL`` is minimised. After every epoch a validation pass on the held-out
frames (self-supervised: reprojection losses and errors), ``last.pt`` and, when the validation
loss improved, ``best.pt``. Under torchrun each process takes its share of the batches;
pseudo-label updates are exchanged so that every process holds the same banks.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from core.body import BodyModel, load_body_model
from core.canonical.losses import reprojection_error_px, reprojection_loss
from core.canonical.params import (
    CanonicalParams,
    canonical_keypoints,
    detach,
    map_fields,
)
from core.canonical.pose_prior import PosePrior, default_pose_prior
from core.config import from_dict, to_dict
from core.device import resolve_device
from core.errors import InputError
from core.eval import GT_FILE, evaluate_canonical, flat, load_ground_truth
from core.geometry.camera import project
from core.io import atomic_write_text
from core.io.folders import check_outside_inputs, prepare_output_folder
from core.nets.checkpoint import (
    check_body_model,
    model_from_payload,
    model_payload,
    read_checkpoint,
    write_checkpoint,
)
from core.nets.cmanet import (
    CMANet,
    IRVOutput,
    build_model,
    visible_views,
    with_iev_iterations,
)
from core.nets.param_space import CanonicalTheta
from core.progress_bar import progress_bar
from core.train import distributed as dist_utils
from core.train.config import StageConfig, TrainConfig
from core.train.data import FrameSet, epoch_batches, load_sequences, split_frames
from core.train.losses import iev_loss, irv_loss
from core.train.metrics_log import MetricsLog
from core.train.pseudo_labels import LabelBank
from core.train.teacher import (
    canonical_view_bodies,
    iev_teacher,
    irv_teacher,
    sequence_teacher,
    teacher_fit_config,
)

log = logging.getLogger(__name__)

LAST, BEST = "last.pt", "best.pt"
# Frames per chunk when the teachers or the validation run over a whole frame set.
CHUNK_FRAMES = 256


@dataclass(frozen=True)
class Stage:
    """One training stage.

    trains: the network's modules it trains (the others are frozen); step: how a step runs it
    (``irv``: IRV per view; ``iev``: IEV on IRV's precomputed, frozen outputs; ``joint``: IRV and
    IEV together, the sum of both losses; ``iev_mean``: IEV alone from the mean body);
    settings: the config section of its epochs and learning rate; score: the validation metric
    ``best.pt`` is chosen by.
    """

    name: str
    trains: tuple[str, ...]
    step: Literal["irv", "iev", "joint", "iev_mean"]
    settings: Literal["stage1", "stage2"]
    score: str

    def config(self, config: TrainConfig) -> StageConfig:
        return getattr(config, self.settings)

    def modules(self, model: CMANet) -> list[torch.nn.Module]:
        return [getattr(model, name) for name in self.trains]


STAGE_TABLE: dict[str, Stage] = {
    "1": Stage("1", ("encoder", "irv"), "irv", "stage1", "val_irv_l2d"),
    "2": Stage("2", ("iev",), "iev", "stage2", "val_iev_l2d"),
    "joint": Stage("joint", ("encoder", "irv", "iev"), "joint", "stage2", "val_iev_l2d"),
    "iev": Stage("iev", ("encoder", "iev"), "iev_mean", "stage2", "val_iev_l2d"),
}
# What ``--stage`` accepts: a stage, or ``both`` (1 then 2).
PLANS: dict[str, list[str]] = {**{name: [name] for name in STAGE_TABLE}, "both": ["1", "2"]}
STAGES = tuple(PLANS)


def stage_plan(stage: str) -> list[str]:
    """``both`` -> ["1", "2"]; any other stage alone."""
    if stage not in PLANS:
        raise InputError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
    return list(PLANS[stage])


def learning_rate(stage: StageConfig, step: int, total: int) -> float:
    """Linear warm-up, then cosine decay to 5 % of the base rate over the stage."""
    if stage.warmup_steps and step < stage.warmup_steps:
        return stage.lr * (step + 1) / stage.warmup_steps
    progress = min(1.0, (step - stage.warmup_steps) / max(1, total - stage.warmup_steps))
    return stage.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


@dataclass
class RunState:
    """Where a run stands (saved in every checkpoint).

    plan: the stages to run; stage_index: the current one; epoch / batch: position in it (batches
    done in the current epoch); step: optimizer steps over the whole run; stage_start: the step
    the current stage began at; best: the current stage's best validation score.
    """

    plan: list[str]
    stage_index: int = 0
    epoch: int = 0
    batch: int = 0
    step: int = 0
    stage_start: int = 0
    best: float = math.inf
    completed: list[str] = field(default_factory=list)

    @property
    def stage(self) -> str | None:
        return self.plan[self.stage_index] if self.stage_index < len(self.plan) else None


@contextmanager
def stop_requests(enabled: bool = True) -> Iterator[threading.Event]:
    """An event set by SIGTERM (the app's Stop button, a job scheduler) while training runs: the
    loop then finishes its step, writes ``last.pt`` and returns, so ``--resume`` continues from
    that very step. Only when ``enabled`` and in the main thread; torchrun's workers keep the
    default SIGTERM (their processes must stop together, which torchrun handles)."""
    event = threading.Event()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield event
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: event.set())
    try:
        yield event
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class TrainSummary:
    """What :func:`train` returns."""

    out: Path
    state: RunState
    last_val: dict[str, float]
    seconds: float
    stopped: bool = False


class _Stopped(Exception):
    """A stop request was honoured: ``last.pt`` holds the step reached."""


def _to_cpu(params):
    """A detached CPU copy of a parameter dataclass (ViewBodies, CanonicalParams)."""
    return map_fields(params, lambda t: t.detach().cpu())


def _rows(params, rows: torch.Tensor):
    """The rows ``rows`` of every tensor of a parameter dataclass."""
    return map_fields(params, lambda t: t[rows.to(t.device)])


def _data_fingerprint(sequences) -> list[list[Any]]:
    return [[str(s.path), int(s.num_frames), int(s.num_views)] for s in sequences]


class Trainer:
    """Holds one run's model, data, banks and state; :meth:`run` trains through the plan."""

    def __init__(self, config: TrainConfig, model: CMANet, body: BodyModel, prior: PosePrior, sequences, out: Path,
                 env: dist_utils.DistEnv, state: RunState, show_progress: bool = True,
                 gt: dict[int, dict] | None = None) -> None:
        self.config, self.model, self.body, self.prior = config, model, body, prior
        self.env, self.device, self.out, self.state = env, env.device, out, state
        self.sequences = sequences
        self.threshold = config.model.confidence_threshold
        self.train_sets, self.val_sets = split_frames(sequences, config.val_fraction, self.threshold)
        if not self.train_sets:
            raise InputError("no training frames")
        self.show_progress = show_progress and env.is_main
        self.fit_config = teacher_fit_config(config.teacher.fit_config, self.threshold, config.loss.robust_sigma,
                                             env.device.type, config.teacher.fit_scale)
        space = model.space
        self.irv_banks = [LabelBank.for_views(len(s), s.num_views, space.num_joints, space.shape_dim) for s in self.train_sets]
        self.iev_banks = [LabelBank.for_frames(len(s), s.num_views, space.num_joints, space.shape_dim) for s in self.train_sets]
        self.gt = gt  # evaluation only: {sequence index: gt arrays}, logged, never trained on
        self.stop_event = threading.Event()  # set: stop after the current step (see stop_requests)
        self.optimizer: torch.optim.Optimizer | None = None
        self.ddp: torch.nn.Module | None = None
        self.precomputed: list[dict[str, torch.Tensor]] | None = None
        self.last_val: dict[str, float] = {}
        # Adaptation at fit time (core.train.adapt): each stage's time limit (perf_counter), a
        # callback after every step (progress; it may raise to cancel), and no checkpoint files.
        self.deadlines: dict[str, float] = {}
        self.on_step: Callable[[int], None] | None = None
        self.write_checkpoints = True

    # ------------------------------------------------------------------ set-up per stage

    def _prepare_stage(self, stage: Stage, optimizer_state: dict | None) -> None:
        model = self.model
        model.requires_grad_(False)
        params = []
        for module in stage.modules(model):
            module.requires_grad_(True)
            params += list(module.parameters())
        cfg = stage.config(self.config)
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=self.config.weight_decay)
        if optimizer_state is not None:
            self.optimizer.load_state_dict(optimizer_state)
        if self.env.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)
        else:
            self.ddp = model
        self.precomputed = self._precompute_irv(self.train_sets) if stage.step == "iev" else None

    @torch.no_grad()
    def _precompute_irv(self, sets: list[FrameSet]) -> list[dict[str, torch.Tensor]]:
        """Stage 2 freezes the encoder and IRV: their outputs for every frame are computed once."""
        model, out = self.model, []
        model.eval()
        for frame_set in sets:
            parts: dict[str, list[torch.Tensor]] = {"features": [], "context": [], "theta": [], "view_loss": []}
            for rows in torch.arange(len(frame_set)).split(CHUNK_FRAMES):
                inputs = frame_set.batch(rows).to(self.device)
                irv = model.run_irv(inputs)
                _, view_loss = model.view_losses(irv.theta, inputs, self.body)
                for key, value in (("features", irv.features), ("context", irv.context), ("theta", irv.theta), ("view_loss", view_loss)):
                    parts[key].append(value)
            out.append({k: torch.cat(v) for k, v in parts.items()})
        model.train()
        return out

    # ------------------------------------------------------------------ pseudo-labels

    def _share_and_offer(self, banks: list[LabelBank], update: tuple | None) -> int:
        """Offer this process's new labels, ``update`` = (set index, rows, labels, error) or None
        when it has none this step, to the banks of every process. All processes call this on the
        same steps (it is a collective; one missing would hang the others), so that their banks
        stay identical. Returns how many samples got a better label."""
        local = None if update is None else (update[0], update[1].cpu(), _to_cpu(update[2]), update[3].detach().cpu())
        shared = [u for u in dist_utils.all_gather_objects(self.env, local) if u is not None]
        return sum(banks[s].offer(r, lab, err) for s, r, lab, err in shared)

    def _initial_labels(self) -> None:
        """teacher.init = optimize: before training, the optimizer's estimate of every training
        sequence (``cmanet fit --mode optimize``) makes the first pseudo-labels: IEV's are its
        fused canonical parameters, IRV's per-view SMPLify fits started from the fused body seen
        by that view (so that each view's fit starts in the right basin, e.g. not facing the
        wrong way). Runs once per run: banks that hold labels already are kept."""
        teacher = self.config.teacher
        if teacher.init != "optimize" or all(b.coverage() > 0 for b in self.irv_banks + self.iev_banks):
            return
        count = len(self.sequences)
        rounds = range(0, count, self.env.world)
        for first in progress_bar(rounds, desc="teacher: optimizing the training sequences", disable=not self.show_progress, leave=False):
            index = first + self.env.rank
            updates = self._sequence_labels(index) if index < count else []
            for bank, set_index, rows, labels, error in sum(dist_utils.all_gather_objects(self.env, updates), []):
                (self.irv_banks if bank == "irv" else self.iev_banks)[set_index].offer(rows, labels, error)
        self.save()  # they took minutes to hours: a run stopped from here on resumes with them

    def _sequence_labels(self, index: int) -> list[tuple]:
        """Initial labels of sequence ``index``'s training frames: [(bank, set, rows, labels, error)]."""
        seq = self.sequences[index]
        params, error = sequence_teacher(self.body, self.prior, seq.inputs, self.fit_config)
        updates = []
        for set_index, frame_set in enumerate(self.train_sets):
            rows = (frame_set.sequence == index).nonzero()[:, 0]
            if not len(rows):
                continue
            frames = frame_set.frame[rows].to(self.device)
            fused = _rows(params, frames)
            updates.append(("iev", set_index, rows, _to_cpu(fused), error[frames].cpu()))
            inputs = frame_set.batch(rows).to(self.device)
            bodies, view_error = irv_teacher(self.body, self.prior, inputs, self.fit_config, self.config.teacher.init_irv_iterations,
                                             canonical_view_bodies(fused))
            updates.append(("irv", set_index, rows, _to_cpu(bodies), view_error.cpu()))
        return updates

    # ------------------------------------------------------------------ one step

    def _irv_terms(self, set_index: int, rows: torch.Tensor, inputs, irv: IRVOutput, refresh: bool) -> tuple[dict, int]:
        space = self.model.space
        bodies = space.view_bodies(irv.theta, inputs)
        replaced = 0
        if refresh:
            labels, error = irv_teacher(self.body, self.prior, inputs, self.fit_config, self.config.teacher.irv_iterations, detach(bodies))
            replaced = self._share_and_offer(self.irv_banks, (set_index, rows, labels, error))
        labels, valid = self.irv_banks[set_index].get(rows, self.device)
        terms = irv_loss(self.body, space, irv.theta, inputs, labels, valid, self.config.loss, self.threshold, self.prior)
        return terms, replaced

    def _view_subset(self, views: int) -> torch.Tensor | None:
        """With probability ``view_subsets``, 2..V of the V views in random order (else None)."""
        if views <= 2 or torch.rand(()) >= self.config.view_subsets:
            return None
        count = int(torch.randint(2, views + 1, ()))
        return torch.randperm(views)[:count].to(self.device)

    def _iev_terms(self, set_index: int, rows: torch.Tensor, inputs, states: list[CanonicalTheta], refresh: bool,
                   views: torch.Tensor | None = None) -> tuple[dict, int]:
        """IEV's loss on its last state, plus ``loss.intermediate`` times the mean of the earlier
        states' losses (deep supervision). ``views``: the subset of the rig the batch uses."""
        params = self.model.canonical(states[-1], inputs)
        replaced = 0
        if refresh:
            update = None
            if views is None:  # the banks hold labels of whole rigs: a batch of a subset offers none
                labels, error = iev_teacher(self.body, self.prior, inputs, self.fit_config, self.config.teacher.iev_iterations, detach(params))
                update = (set_index, rows, labels, error)
            replaced = self._share_and_offer(self.iev_banks, update)
        labels, valid = self.iev_banks[set_index].get(rows, self.device)
        if views is not None:
            labels = CanonicalParams(labels.global_orient[:, views], labels.transl[:, views], labels.body_pose, labels.shape)
        loss_config = self.config.loss
        terms = iev_loss(self.body, self.model.space, states[-1], inputs, labels, valid, loss_config, self.threshold, self.prior)
        if loss_config.intermediate > 0 and len(states) > 1:
            earlier = [iev_loss(self.body, self.model.space, s, inputs, labels, valid, loss_config, self.threshold, self.prior)["loss"]
                       for s in states[:-1]]
            terms["intermediate"] = torch.stack(earlier).mean()
            terms["loss"] = terms["loss"] + loss_config.intermediate * terms["intermediate"]
        return terms, replaced

    def _irv_step(self, set_index: int, rows: torch.Tensor, inputs, refresh: bool) -> tuple[dict, dict, int]:
        irv = self.ddp(inputs, self.body, stage="irv")
        terms, replaced = self._irv_terms(set_index, rows, inputs, irv, refresh)
        return terms, {f"irv_{k}": v for k, v in terms.items()}, replaced

    def _iev_step(self, set_index: int, rows: torch.Tensor, inputs, refresh: bool) -> tuple[dict, dict, int]:
        pre = {k: v[rows.to(self.device)] for k, v in self.precomputed[set_index].items()}
        views = self._view_subset(inputs.num_views)
        if views is not None:  # a random subset of the rig, in random order (augmentation)
            inputs = inputs.map(lambda t: t[:, views])
            pre = {k: v[:, views] for k, v in pre.items()}
        irv = IRVOutput(pre["features"], pre["context"], [pre["theta"]])
        init = self.model.initial_state(pre["theta"], pre["view_loss"])
        states = self.ddp(inputs, self.body, stage="iev", irv=irv, init=init)
        terms, replaced = self._iev_terms(set_index, rows, inputs, states, refresh, views)
        return terms, {f"iev_{k}": v for k, v in terms.items()}, replaced

    def _joint_step(self, set_index: int, rows: torch.Tensor, inputs, refresh: bool) -> tuple[dict, dict, int]:
        irv, _, states = self.ddp(inputs, self.body, stage="full")
        t1, r1 = self._irv_terms(set_index, rows, inputs, irv, refresh)
        t2, r2 = self._iev_terms(set_index, rows, inputs, states, refresh)
        terms = {"loss": t1["loss"] + t2["loss"], "l2d": t1["l2d"] + t2["l2d"], "lsmpl": t1["lsmpl"] + t2["lsmpl"]}
        record = {**{f"irv_{k}": v for k, v in t1.items()}, **{f"iev_{k}": v for k, v in t2.items()}}
        return terms, record, r1 + r2

    def _iev_mean_step(self, set_index: int, rows: torch.Tensor, inputs, refresh: bool) -> tuple[dict, dict, int]:
        states = self.ddp(inputs, self.body, stage="iev_mean")
        terms, replaced = self._iev_terms(set_index, rows, inputs, states, refresh)
        return terms, {f"iev_{k}": v for k, v in terms.items()}, replaced

    def _step(self, stage: Stage, set_index: int, rows: torch.Tensor, refresh: bool) -> dict[str, float]:
        """One optimizer step of ``stage`` on a batch: the loss terms of its step kind, then the update."""
        inputs = self.train_sets[set_index].batch(rows).to(self.device)
        run = {"irv": self._irv_step, "iev": self._iev_step, "joint": self._joint_step, "iev_mean": self._iev_mean_step}
        terms, record, replaced = run[stage.step](set_index, rows, inputs, refresh)

        self.optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        if self.config.grad_clip > 0:
            record["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        self.optimizer.step()
        out = {k: float(terms[k].detach()) for k in ("loss", "l2d", "lsmpl")}
        out.update({k: float(v.detach()) for k, v in record.items() if not k.endswith("_loss")})
        out["labels_replaced"] = float(replaced)
        return out

    # ------------------------------------------------------------------ validation

    @torch.no_grad()
    def validate(self, stage: Stage) -> dict[str, float]:
        """Self-supervised metrics on the held-out frames: reprojection losses (L2D, the score
        best.pt is chosen by) and errors in pixels, of IRV and of IEV; plus, with --eval-gt,
        PA-MPJPE and camera errors against ground truth (logged only)."""
        model = self.model
        model.eval()
        sums: dict[str, float] = {}
        counts: dict[str, float] = {}

        def add(key: str, total: float, count: float) -> None:
            sums[key] = sums.get(key, 0.0) + total
            counts[key] = counts.get(key, 0.0) + count

        gt_parts = []
        for frame_set in self.val_sets:
            for rows in torch.arange(len(frame_set)).split(CHUNK_FRAMES):
                inputs = frame_set.batch(rows).to(self.device)
                kp = inputs.keypoints2d
                visible = visible_views(inputs, self.threshold)
                if stage.step == "iev_mean":
                    states = model(inputs, self.body, stage="iev_mean")
                    irv = None
                else:
                    irv, _, states = model(inputs, self.body, stage="full")
                if irv is not None:
                    points, _ = model.view_losses(irv.theta, inputs, self.body)
                    uv = project(points, inputs.focal, inputs.principal)
                    loss = reprojection_loss(uv, kp, self.threshold, self.config.loss.robust_sigma)
                    add("val_irv_l2d", float((loss * visible).sum()), float(visible.sum()))
                    px = reprojection_error_px(uv, kp, self.threshold)
                    add("val_irv_reproj_px", float(torch.nan_to_num(px).sum()), float(torch.isfinite(px).sum()))
                params = model.canonical(states[-1], inputs)
                uv = project(canonical_keypoints(self.body, params), inputs.focal, inputs.principal)
                loss = reprojection_loss(uv, kp, self.threshold, self.config.loss.robust_sigma)
                add("val_iev_l2d", float(loss.sum()), float(len(rows)))
                px = reprojection_error_px(uv, kp, self.threshold)
                add("val_iev_reproj_px", float(torch.nan_to_num(px).sum()), float(torch.isfinite(px).sum()))
                if self.gt is not None and irv is not None:
                    gt_parts.append((frame_set, rows, model.view_bodies(irv.theta, inputs), params))
        metrics = {k: sums[k] / max(counts[k], 1.0) for k in sums}
        if gt_parts:
            metrics.update(self._gt_metrics(gt_parts))
        model.train()
        return metrics

    def _gt_metrics(self, parts) -> dict[str, float]:
        """Evaluation only (--eval-gt): ground-truth metrics of the held-out frames."""
        rows_out: dict[str, list[float]] = {}
        for frame_set, rows, irv, iev in parts:
            seq_idx, frames = frame_set.sequence[rows], frame_set.frame[rows]
            for s in seq_idx.unique().tolist():
                gt = self.gt.get(s)
                if gt is None:
                    continue
                pick = (seq_idx == s).nonzero()[:, 0]
                for k, v in flat(evaluate_canonical(self.body, _rows(irv, pick), _rows(iev, pick), gt, frames[pick])).items():
                    rows_out.setdefault(f"val_gt_{k}", []).append(v)
        return {k: sum(v) / len(v) for k, v in rows_out.items()}

    # ------------------------------------------------------------------ checkpoints

    def checkpoint_payload(self) -> dict[str, Any]:
        payload = model_payload(self.model, {"stage": self.state.stage, "step": self.state.step})
        payload["train"] = {
            "config": to_dict(self.config),
            "state": dataclasses.asdict(self.state),
            "data": _data_fingerprint(self.sequences),
        }
        payload["optimizer"] = self.optimizer.state_dict() if self.optimizer is not None else None
        payload["banks"] = {"irv": [b.state_dict() for b in self.irv_banks], "iev": [b.state_dict() for b in self.iev_banks]}
        return payload

    def save(self, best: bool = False) -> None:
        if not self.env.is_main or not self.write_checkpoints:
            return
        payload = self.checkpoint_payload()
        write_checkpoint(self.out / LAST, payload)
        if best:
            write_checkpoint(self.out / BEST, payload)

    def load_banks(self, banks: dict[str, list]) -> None:
        for mine, saved in ((self.irv_banks, banks["irv"]), (self.iev_banks, banks["iev"])):
            for bank, state in zip(mine, saved):
                bank.load_state_dict(state)

    # ------------------------------------------------------------------ the loop

    def run(self, metrics: MetricsLog | None, optimizer_state: dict | None = None) -> None:
        state = self.state
        while state.stage is not None:
            stage = STAGE_TABLE[state.stage]
            cfg = stage.config(self.config)
            self._prepare_stage(stage, optimizer_state)
            optimizer_state = None
            self._initial_labels()
            per_epoch = len(epoch_batches(self.train_sets, cfg.batch_frames, self.config.seed, 0, self.env.world, self.env.rank))
            epochs = cfg.epochs
            total = per_epoch * epochs
            while state.epoch < epochs:
                began = time.perf_counter()
                self._epoch(stage, cfg, total, metrics)
                val = self.validate(stage) if self.val_sets else {}
                dist_utils.barrier(self.env)
                self.last_val = val
                score = val.get(stage.score, math.nan)
                improved = math.isfinite(score) and score < state.best
                if improved:
                    state.best = score
                state.epoch += 1
                state.batch = 0
                if metrics is not None:
                    metrics.write({"kind": "val", "step": state.step, "epoch": state.epoch, "stage": stage.name, **val,
                                   "best": improved})
                self.save(best=improved or not self.val_sets)
                epochs = self._epochs_in_time(stage, epochs, time.perf_counter() - began)
                total = per_epoch * epochs
            state.completed.append(stage.name)
            state.stage_index += 1
            state.epoch, state.batch, state.best, state.stage_start = 0, 0, math.inf, state.step
            self.save()

    def _epochs_in_time(self, stage: Stage, epochs: int, epoch_s: float) -> int:
        """The stage's epochs, fewer when the next would end past its deadline (an epoch is assumed
        to take as long as the last one did); the learning rate then decays over the fewer."""
        deadline = self.deadlines.get(stage.name)
        if deadline is None:
            return epochs
        more = int((deadline - time.perf_counter()) // max(epoch_s, 1e-6))
        return min(epochs, self.state.epoch + max(0, more))

    def _epoch(self, stage: Stage, cfg: StageConfig, total: int, metrics: MetricsLog | None) -> None:
        state = self.state
        batches = epoch_batches(self.train_sets, cfg.batch_frames, self.config.seed, state.epoch, self.env.world, self.env.rank)
        every = self.config.teacher.every
        bar = progress_bar(total=len(batches), initial=state.batch, desc=f"stage {stage.name} epoch {state.epoch + 1}/{cfg.epochs}",
                   disable=not self.show_progress, leave=False)
        start = time.perf_counter()
        for set_index, rows in batches[state.batch :]:
            # Dropout differs between processes and steps, and a resumed run draws what the
            # uninterrupted one would have.
            torch.manual_seed(self.config.seed + 7919 * state.step + self.env.rank)
            lr = learning_rate(cfg, state.step - state.stage_start, total)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            refresh = every > 0 and (state.step - state.stage_start) % every == 0
            record = self._step(stage, set_index, rows, refresh)
            state.step += 1
            state.batch += 1
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.4g}")
            if metrics is not None or self.env.enabled:
                if state.step % self.config.log_every == 0 or state.batch == len(batches):
                    record = dist_utils.mean_over_processes(self.env, record)
                    if metrics is not None:
                        irv_cov = sum(b.coverage() for b in self.irv_banks) / len(self.irv_banks)
                        iev_cov = sum(b.coverage() for b in self.iev_banks) / len(self.iev_banks)
                        metrics.write({"kind": "train", "step": state.step, "epoch": state.epoch + state.batch / len(batches),
                                       "stage": stage.name, "lr": lr, **record, "irv_label_coverage": irv_cov,
                                       "iev_label_coverage": iev_cov, "seconds": time.perf_counter() - start})
            if self.on_step is not None:
                self.on_step(state.step)
            if self.stop_event.is_set():
                bar.close()
                self.save()
                raise _Stopped()
            if self.config.checkpoint_every and state.step % self.config.checkpoint_every == 0 and state.batch < len(batches):
                self.save()
        bar.close()


# ---------------------------------------------------------------------- entry point


def _threads(config: TrainConfig, env: dist_utils.DistEnv) -> None:
    if config.num_threads > 0:
        torch.set_num_threads(config.num_threads)
    elif env.enabled and env.device.type == "cpu":
        # Processes on one machine share its cores.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // env.world))


def _load_gt(sequences) -> dict[int, dict]:
    out = {}
    for i, seq in enumerate(sequences):
        if (seq.path / GT_FILE).is_file():
            out[i] = load_ground_truth(seq.path)
    return out


@dataclass
class RunSource:
    """Where a run starts, decided before any data is read (:func:`resolve_run`).

    config: the training config; plan: the stages to run (a resumed run: its own); last: the
    run folder's ``last.pt``; resumed: its payload when the run resumes it (``--resume``), else None;
    init: the checkpoint whose weights start a new run (None: new weights); continues: ``init`` is
    the folder's own finished stage-1 run, which stage 2 continues (its steps and metrics go on).
    """

    config: TrainConfig
    plan: list[str]
    last: Path
    resumed: dict[str, Any] | None = None
    init: Path | None = None
    continues: bool = False

    @property
    def appending(self) -> bool:
        """Whether the run carries on the folder's step count and metrics log."""
        return self.resumed is not None or self.continues


def resolve_run(out: Path, stage: str, config: TrainConfig | None, resume: bool, init: str | Path | None,
                iev_iterations: int | None) -> RunSource:
    """How a run into ``out`` starts: resume its ``last.pt``, start from ``init``'s weights, continue
    a finished stage 1 in the same folder (stage 2 without ``init``), or start anew. Reads
    checkpoints, writes nothing; InputError for a combination that cannot run."""
    if iev_iterations is not None and (iev_iterations < 1 or resume):
        raise InputError("--iev-iterations must be >= 1, and cannot change a run being resumed")
    last = out / LAST
    if resume:
        payload = read_checkpoint(last)
        if "train" not in payload:
            raise InputError("not a training checkpoint (nothing to resume)", last)
        try:
            config = from_dict(TrainConfig, payload["train"]["config"])
        except InputError as exc:
            raise InputError(f"bad training config in checkpoint: {exc}", last) from None
        return RunSource(config, list(payload["train"]["state"]["plan"]), last, resumed=payload)
    if config is None:
        raise InputError("a training config is needed (--config)")
    plan = stage_plan(stage)
    if last.exists() and init is None:
        done = read_checkpoint(last).get("train", {}).get("state", {}) if stage == "2" else {}
        if done.get("completed") == ["1"] and done.get("plan") == ["1"]:
            init = last  # stage 2 after a finished stage-1 run in the same folder
        else:
            raise InputError("already holds a training run: --resume to continue it, or choose another --out", out)
    init = None if init is None else Path(init)
    return RunSource(config, plan, last, init=init, continues=init is not None and init.resolve() == last.resolve())


@dataclass
class RunStart:
    """What :func:`start_run` hands the trainer: the network, the (possibly updated) config, the
    state, and the optimizer state and pseudo-label banks to restore (None: fresh)."""

    model: CMANet
    config: TrainConfig
    state: RunState
    optimizer_state: dict | None = None
    banks: dict | None = None


def start_run(source: RunSource, sequences, body: BodyModel, prior: PosePrior,
              iev_iterations: int | None) -> RunStart:
    """The network and state a run starts from (see :class:`RunSource`); a checkpoint's
    pseudo-labels are reused only when it was trained on the same data."""
    fingerprint = _data_fingerprint(sequences)
    config = source.config
    if source.resumed is not None:
        payload = source.resumed
        if payload["train"]["data"] != fingerprint:
            raise InputError("--data differs from the data this run was trained on; resume with the same sequences",
                             source.last)
        return RunStart(model_from_payload(payload, source.last), config, RunState(**payload["train"]["state"]),
                        payload.get("optimizer"), payload.get("banks"))
    banks = None
    state = RunState(plan=list(source.plan))
    if source.init is not None:
        checkpoint = read_checkpoint(source.init)
        model = model_from_payload(checkpoint, source.init)
        check_body_model(model, config.body_model, source.init)
        if checkpoint.get("train", {}).get("data") == fingerprint:
            banks = checkpoint.get("banks")  # the same data: its pseudo-labels still apply
        if to_dict(model.config) != to_dict(config.model):
            log.warning("%s: its network differs from the config's model section; using the checkpoint's", source.init)
            config = dataclasses.replace(config, model=model.config)
        previous = checkpoint.get("train", {}).get("state")
        if previous and source.continues:
            state.step = state.stage_start = int(previous["step"])
            state.completed = list(previous["completed"])
            state.plan = state.completed + state.plan
            state.stage_index = len(state.completed)
    else:
        model = build_model(config.model, body, config.body_model, prior.mean)
    if iev_iterations is not None:
        model = with_iev_iterations(model, iev_iterations)
        config = dataclasses.replace(config, model=model.config)
    return RunStart(model, config, state, None, banks)


def train(
    data: list[str | Path],
    out: str | Path,
    config: TrainConfig | None = None,
    stage: str = "both",
    resume: bool = False,
    init: str | Path | None = None,
    device: str | None = None,
    show_progress: bool = True,
    eval_gt: bool = False,
    iev_iterations: int | None = None,
) -> TrainSummary:
    """Train CMANet on multi-view sequences (``data``: sequence folders) into the run folder ``out``.

    config: the training config (required unless resuming: a resumed run keeps its own);
    stage: 1, 2, both, joint or iev (see the module doc); resume: continue ``out/last.pt`` from
    its step; init: start from another checkpoint's weights (e.g. stage 1's best.pt for stage 2),
    and from its pseudo-labels when it was trained on the same data; iev_iterations: run IEV this
    many times instead of the config's or the ``init`` checkpoint's (its iterations share weights,
    so a trained IEV can be trained further to refine for longer);
    device: auto, cpu or cuda (default: the config's). Under torchrun, every process calls this.
    """
    started = time.perf_counter()
    out = Path(out)
    source = resolve_run(out, stage, config, resume, init, iev_iterations)
    config = source.config
    check_outside_inputs(out, data, "the run folder", "the training sequences")

    env = dist_utils.init_distributed(resolve_device(device or config.device))
    try:
        _threads(config, env)
        if env.is_main:
            prepare_output_folder(out)  # created and writable before the data loads
            if not resume:
                import yaml

                atomic_write_text(out / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False))
        dist_utils.barrier(env)

        body = load_body_model(config.body_model).to(env.device)
        prior = default_pose_prior(body).to(env.device)
        crop = config.model.swin.image_size if config.model.uses_images else None
        # The detector (for videos never detected) runs once, in the main process.
        if env.is_main:
            sequences = load_sequences(data, config.model.confidence_threshold, crop, show_progress)
        dist_utils.barrier(env)
        if not env.is_main:
            sequences = load_sequences(data, config.model.confidence_threshold, crop, False)

        torch.manual_seed(config.seed)  # the same initial weights in every process
        start = start_run(source, sequences, body, prior, iev_iterations)
        model = start.model.to(env.device).train()
        trainer = Trainer(start.config, model, body, prior, sequences, out, env, start.state, show_progress,
                          gt=_load_gt(sequences) if eval_gt else None)
        if start.banks is not None:
            trainer.load_banks(start.banks)
        metrics = MetricsLog(out, start.state.step if source.appending else None) if env.is_main else None
        with stop_requests(enabled=not env.enabled) as trainer.stop_event:
            try:
                trainer.run(metrics, start.optimizer_state)
            except _Stopped:
                log.warning("stopped at step %d; %s holds it (--resume continues)", trainer.state.step, out / LAST)
                return TrainSummary(out, trainer.state, trainer.last_val, time.perf_counter() - started, stopped=True)
        dist_utils.barrier(env)
        return TrainSummary(out, trainer.state, trainer.last_val, time.perf_counter() - started)
    finally:
        dist_utils.shutdown(env)
