"""Training data: multi-view sequences (real ones with cached detections, or synthetic ones) as
network inputs held in memory, split into training and held-out validation frames.

Only the inputs are read: detections (``keypoints.npz`` or the detector's cache), intrinsics
(``sequence.yaml`` or the defaults) and, for image encoders, the person crops. Ground truth
(``gt.npz``) is never opened here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.errors import InputError
from core.fit.inputs import FitInputs
from core.fit.sequence import inputs_from_sequence
from core.io import MultiViewSequence
from core.nets.crops import person_crops
from core.nets.inputs import ViewInputs, make_view_inputs
from core.progress_bar import progress_bar

log = logging.getLogger(__name__)


@dataclass
class SequenceArrays:
    """One sequence's inputs: what ``cmanet fit`` would fit (``inputs``: detections, intrinsics
    and which focal lengths are known) and, for image encoders, crops: (F, V, 3, S, S) uint8.
    keypoints2d: (F, V, 17, 3); focal: (V,); principal: (V, 2); image_sizes: (V, 2) float."""

    name: str
    path: Path
    inputs: FitInputs
    crops: np.ndarray | None = None

    @property
    def keypoints2d(self) -> np.ndarray:
        return self.inputs.keypoints2d

    @property
    def focal(self) -> np.ndarray:
        return self.inputs.focal

    @property
    def principal(self) -> np.ndarray:
        return self.inputs.principal

    @property
    def image_sizes(self) -> np.ndarray:
        return self.inputs.image_sizes.astype(np.float32)

    @property
    def num_frames(self) -> int:
        return self.keypoints2d.shape[0]

    @property
    def num_views(self) -> int:
        return self.keypoints2d.shape[1]


@dataclass
class FrameSet:
    """Frames that have the same number of views, as network inputs on the CPU.

    inputs: ViewInputs with batch (N,) and V views; sequence: (N,) index into the loaded
    sequences; frame: (N,) frame number within it.
    """

    inputs: ViewInputs
    sequence: torch.Tensor
    frame: torch.Tensor

    def __len__(self) -> int:
        return self.inputs.keypoints2d.shape[0]

    @property
    def num_views(self) -> int:
        return self.inputs.num_views

    def batch(self, rows: torch.Tensor) -> ViewInputs:
        return self.inputs.map(lambda t: t[rows])


def load_sequence(path: str | Path, threshold: float, crop_size: int | None = None, show_progress: bool = False) -> SequenceArrays:
    """Read one sequence folder as ``cmanet fit`` does (:func:`core.fit.sequence.inputs_from_sequence`):
    the main person's detections come from its keypoints.npz, the detection cache, or (for videos
    never detected before) MediaPipe, cached as ``cmanet detect`` does."""
    path = Path(path)
    with MultiViewSequence.open(path) as seq:
        inputs = inputs_from_sequence(seq, show_progress_bar=show_progress)
        inputs.keypoints2d = inputs.keypoints2d.astype(np.float32)
        keypoints = inputs.keypoints2d
        crops = None
        if crop_size is not None:
            if not seq.has_images:
                raise InputError("the image encoder needs images, this sequence has only keypoints", path)
            crops = np.stack([
                person_crops(seq.read_frame(i), keypoints[i], threshold, crop_size)
                for i in progress_bar(range(seq.num_frames), desc=f"crops {path.name}", disable=not show_progress, leave=False)
            ])
        return SequenceArrays(path.name, seq.root, inputs, crops)


def load_sequences(paths: list[str | Path], threshold: float, crop_size: int | None = None, show_progress: bool = False) -> list[SequenceArrays]:
    if not paths:
        raise InputError("no training data: give at least one sequence folder (--data SEQ ...)")
    return [load_sequence(p, threshold, crop_size, show_progress) for p in paths]


def _frame_set(parts: list[tuple[int, SequenceArrays, np.ndarray]], threshold: float) -> FrameSet:
    kp = torch.cat([torch.from_numpy(s.keypoints2d[rows]) for _, s, rows in parts])
    focal = torch.cat([torch.from_numpy(s.focal)[None].expand(len(rows), -1) for _, s, rows in parts])
    principal = torch.cat([torch.from_numpy(s.principal)[None].expand(len(rows), -1, -1) for _, s, rows in parts])
    size = torch.cat([torch.from_numpy(s.image_sizes)[None].expand(len(rows), -1, -1) for _, s, rows in parts])
    crops = None
    if parts[0][1].crops is not None:
        crops = torch.cat([torch.from_numpy(s.crops[rows]) for _, s, rows in parts])
    inputs = make_view_inputs(kp, focal.contiguous(), principal.contiguous(), size.contiguous(), threshold, crops)
    sequence = torch.cat([torch.full((len(rows),), i, dtype=torch.long) for i, _, rows in parts])
    frame = torch.cat([torch.from_numpy(rows).long() for _, _, rows in parts])
    return FrameSet(inputs, sequence, frame)


def split_frames(sequences: list[SequenceArrays], val_fraction: float, threshold: float) -> tuple[list[FrameSet], list[FrameSet]]:
    """Training and validation frame sets, one of each per view count.

    The last ``val_fraction`` of each sequence's frames (at least one frame when the fraction is
    positive) is held out: a contiguous block, so that validation frames are not the near
    duplicates of neighbouring training frames.
    """
    train: dict[int, list] = {}
    val: dict[int, list] = {}
    for i, seq in enumerate(sequences):
        frames = seq.num_frames
        held = 0 if val_fraction <= 0 else min(frames - 1, max(1, int(round(frames * val_fraction))))
        cut = frames - held
        train.setdefault(seq.num_views, []).append((i, seq, np.arange(cut)))
        if held:
            val.setdefault(seq.num_views, []).append((i, seq, np.arange(cut, frames)))
    make = lambda groups: [_frame_set(parts, threshold) for _, parts in sorted(groups.items())]  # noqa: E731
    return make(train), make(val)


def epoch_batches(
    sets: list[FrameSet], batch_frames: int, seed: int, epoch: int, world: int = 1, rank: int = 0
) -> list[tuple[int, torch.Tensor]]:
    """This process's batches of one epoch: (set index, rows), shuffled by (seed, epoch) alone,
    so that a resumed run sees the same order. Every process gets the same number of batches
    (DistributedDataParallel steps in lockstep); leftover batches are dropped, or repeated when
    there are fewer batches than processes."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    batches = []
    for index, frame_set in enumerate(sets):
        order = torch.randperm(len(frame_set), generator=gen)
        batches += [(index, rows) for rows in order.split(batch_frames)]
    if not batches:
        return []
    batches = [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]
    while len(batches) < world:
        batches = batches + batches
    usable = len(batches) // world * world
    return batches[rank:usable:world]
