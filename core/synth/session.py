"""A synthetic session: several trials, each its own person and motion, seen by one rig.

``cmanet synth OUT --trials N`` writes ``OUT/trial01``, ``OUT/trial02``, ... (each a sequence
folder as :mod:`core.synth.sequence` writes it, with its ``gt.npz``; the cameras in every one are
the same). The rig frames every trial's person: trials that move about the room are smaller in
some views, as in a real session.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.body import load_body_model
from core.errors import InputError
from core.fit.height import keypoint_standing_height
from core.synth.detections import DetectionFaults
from core.synth.rig import random_rig
from core.synth.sequence import (
    _FRAMING_STRIDE,
    SyntheticSequence,
    generate_sequence,
    is_synth_output,
    staged_folder,
    write_sequence,
)

MAX_TRIALS = 64
# A session's participants: adults of ordinary heights. (Single synthetic sequences draw any
# phenotype, 1.06-2.26 m; one rig fixes the scale for all trials, and at the median scale a 1.08 m
# and a 2.25 m person cannot both be fitted within the body model's range.)
ADULT_HEIGHTS_M = (1.50, 1.95)


def trial_name(index: int) -> str:
    """``trial01``, ``trial02``, ... (index from 0)."""
    return f"trial{index + 1:02d}"


def trial_seed(seed: int, index: int, attempt: int = 0) -> int:
    """The seed of a session's trial ``index`` (-1: the rig's), independent of the others;
    ``attempt``: the next draw when a trial's person was refused."""
    return int(np.random.SeedSequence([int(seed), index + 1, attempt]).generate_state(1)[0])


def _participant(index: int, seed: int, heights_m: tuple[float, float] | None, body_model, **kwargs) -> SyntheticSequence:
    """Trial ``index``'s person, moving (drawn again until its standing height is in ``heights_m``)."""
    for attempt in range(100):
        seq = generate_sequence(seed=trial_seed(seed, index, attempt), body_model=body_model, keep_vertices=True, **kwargs)
        if heights_m is None:
            return seq
        with torch.no_grad():
            height = float(keypoint_standing_height(body_model, torch.as_tensor(seq.shape, dtype=torch.float32,
                                                                               device=body_model.device)))
        if heights_m[0] <= height <= heights_m[1]:
            return seq
    raise InputError(f"no person of {heights_m[0]}-{heights_m[1]} m in 100 draws")


def generate_session(trials: int = 8, views: int = 4, frames: int = 30, seed: int = 0, fps: float = 30.0,
                     noise_px: float = 4.0, faults: DetectionFaults | None = None,
                     image_size: tuple[int, int] | None = None, body_model=None, keep_vertices: bool = False,
                     heights_m: tuple[float, float] | None = ADULT_HEIGHTS_M) -> list[SyntheticSequence]:
    """``trials`` synthetic sequences sharing one random rig of ``views`` cameras (the other
    arguments as :func:`core.synth.sequence.generate_sequence`'s); the same arguments give the
    same session. ``heights_m``: the participants' standing heights (None: any of the synthetic
    phenotypes, 1.06-2.26 m)."""
    if not 1 <= trials <= MAX_TRIALS:
        raise InputError(f"--trials must be between 1 and {MAX_TRIALS}, got {trials}")
    body_model = body_model or load_body_model()
    common = dict(frames=frames, fps=fps, noise_px=noise_px, faults=faults)
    # Each trial's person first (its own rig is discarded), then one rig that frames them all.
    people = [_participant(i, seed, heights_m, body_model, views=views, image_size=image_size, **common)
              for i in range(trials)]
    framing = np.concatenate([np.concatenate([p.joints3d.reshape(-1, 3), p.vertices[:, ::_FRAMING_STRIDE].reshape(-1, 3)])
                              for p in people])
    rig = random_rig(views, np.random.default_rng(trial_seed(seed, -1)), framing, image_size=image_size)
    return [generate_sequence(seed=p.seed, rig=rig, keep_vertices=keep_vertices, body_model=body_model, **common)
            for p in people]


def is_session_output(folder: Path) -> bool:
    """Whether ``folder`` holds a previous synthetic session (trial folders only)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    return bool(entries) and all(e.name.startswith("trial") and is_synth_output(e) for e in entries)


def write_session(sequences: list[SyntheticSequence], out: str | Path, render: bool = False,
                  known_intrinsics: bool = False, body_model=None) -> Path:
    """Write a session's trials under ``out`` (new, empty, or a previous session, replaced whole)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not is_session_output(out))):
        raise InputError("is not empty and is not a previous synthetic session; choose an empty or new folder", out)
    with staged_folder(out) as tmp:
        for i, seq in enumerate(sequences):
            write_sequence(seq, tmp / trial_name(i), render=render, known_intrinsics=known_intrinsics,
                           body_model=body_model)
    return out
