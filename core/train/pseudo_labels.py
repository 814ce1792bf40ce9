"""Pseudo-label banks: the best SMPLify fit found so far for every training sample.

A sample's label is replaced only when a new fit reprojects better (lower error, pixels), as the
paper keeps its SMPLify targets. Stage 1 keeps one per (frame, view) (IRV), stage 2 one per frame
(IEV's canonical parameters).
"""

from __future__ import annotations

import torch

from core.canonical.params import CanonicalParams, ViewBodies


class LabelBank:
    """Tensors with leading dims ``size`` (the samples) plus an error per sample (inf: no label).

    Args:
        size: (N,) or (N, V).
        shapes: name -> trailing shape of that field.
        kind: the parameter dataclass the fields make (ViewBodies or CanonicalParams).
    """

    def __init__(self, size: tuple[int, ...], shapes: dict[str, tuple[int, ...]], kind: type) -> None:
        self.kind = kind
        self.fields = {name: torch.zeros(*size, *shape) for name, shape in shapes.items()}
        self.error = torch.full(size, float("inf"))

    @classmethod
    def for_views(cls, frames: int, views: int, joints: int, shape_dim: int) -> LabelBank:
        """IRV labels: a ViewBodies per (frame, view)."""
        shapes = {"global_orient": (3, 3), "body_pose": (joints, 3, 3), "shape": (shape_dim,), "transl": (3,)}
        return cls((frames, views), shapes, ViewBodies)

    @classmethod
    def for_frames(cls, frames: int, views: int, joints: int, shape_dim: int) -> LabelBank:
        """IEV labels: CanonicalParams per frame."""
        shapes = {"global_orient": (views, 3, 3), "transl": (views, 3), "body_pose": (joints, 3, 3), "shape": (shape_dim,)}
        return cls((frames,), shapes, CanonicalParams)

    def get(self, rows: torch.Tensor, device: torch.device | None = None):
        """(labels for ``rows`` as ViewBodies / CanonicalParams, valid mask of shape error[rows])."""
        rows = rows.cpu()
        labels = self.kind(**{k: v[rows].to(device) for k, v in self.fields.items()})
        return labels, torch.isfinite(self.error[rows]).to(device)

    def offer(self, rows: torch.Tensor, labels, error: torch.Tensor) -> int:
        """Keep ``labels`` (fields with leading dims like error[rows]) where ``error`` is finite and
        lower than the stored one. Returns how many samples were replaced."""
        rows = rows.cpu()
        error = error.detach().cpu().float()
        better = torch.isfinite(error) & (error < self.error[rows])
        if not better.any():
            return 0
        for name, stored in self.fields.items():
            new = getattr(labels, name).detach().cpu().float()
            mask = better.reshape(*better.shape, *([1] * (new.dim() - better.dim())))
            stored[rows] = torch.where(mask, new, stored[rows])
        self.error[rows] = torch.where(better, error, self.error[rows])
        return int(better.sum())

    def empty(self):
        """(labels, error) for no sample: what a process with nothing to offer contributes."""
        return self.kind(**{k: v[:0] for k, v in self.fields.items()}), self.error[:0]

    def coverage(self) -> float:
        """Fraction of samples that have a label."""
        return float(torch.isfinite(self.error).float().mean())

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {**self.fields, "error": self.error}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name in self.fields:
            if state[name].shape != self.fields[name].shape:
                raise ValueError(f"pseudo-label bank {name}: shape {tuple(state[name].shape)} != {tuple(self.fields[name].shape)}")
            self.fields[name] = state[name].clone()
        self.error = state["error"].clone()
