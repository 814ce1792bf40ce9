"""How well several people were fitted, against a synthetic ground truth with ``people_*`` keys.

Each fitted person is matched to the true person whose detections they were given most often
(the association's verdict); per person: PA-MPJPE (body, per-frame similarity Procrustes) over
the frames where at least two views saw them, and identity switches: images (frame, view) whose
detection came from another true person than the one matched.
"""

from __future__ import annotations

import numpy as np
import torch

from core.geometry import metrics
from core.io.results import FitResult


def detection_owner(keypoints2d: np.ndarray, truth2d: np.ndarray) -> np.ndarray:
    """(F, V) which true person (index into P) each (F, V, 17, 3) detection is, by the nearest of
    the (P, F, V, 17, 3) true detections; -1 where there is no detection."""
    present = keypoints2d[..., 2].max(-1) > 0
    distance = np.abs(keypoints2d[None, ..., :2] - truth2d[..., :2]).sum(axis=(-1, -2))  # (P, F, V)
    distance = np.where(truth2d[..., 2].max(-1) > 0, distance, np.inf)
    return np.where(present, distance.argmin(0), -1)


def people_report(result: FitResult, gt: dict[str, np.ndarray]) -> list[dict]:
    """Per fitted person: the true person matched, frames scored, PA-MPJPE (mm), identity switches."""
    fitted = [result.person(p) for p in range(result.num_people)]
    rows = []
    for p, person in enumerate(fitted):
        owner = detection_owner(person.keypoints2d, gt["people_keypoints2d"])
        counts = np.bincount(owner[owner >= 0], minlength=gt["people_joints3d"].shape[0])
        match = int(counts.argmax())
        seen = ((owner >= 0).sum(-1) >= 2)
        pred = torch.as_tensor(person.joints3d[seen], dtype=torch.float64)
        true = torch.as_tensor(gt["people_joints3d"][match][seen], dtype=torch.float64)
        rows.append({
            "person": p, "true_person": match, "frames": int(seen.sum()),
            "pa_mpjpe_mm": float(metrics.pa_mpjpe(pred, true)) if seen.sum() else float("nan"),
            "identity_switches": int(((owner >= 0) & (owner != match)).sum()),
        })
    return rows
