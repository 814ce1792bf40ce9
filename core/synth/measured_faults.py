"""A detector's faults as measured on real footage: the tables ``scripts/measure_detector_faults``
writes (``resources/detector_faults/*.json``) and what :func:`core.synth.detections.simulate_detections`
draws from them.

The tables are measured against calibrated triangulation (each view against the other views'
triangulation, so that a view's own error does not pull its reference). Errors are in metres at the
joint's depth (pixels x depth / focal length): a detector's error follows the person's size in the
image, not the image's.

- ``conf_edges`` (B + 1,): confidence bins; ``conf_hist`` (17, 2, B): per joint, for a joint seen
  (0) and self-occluded (1), the share of detections in each bin;
- ``sigma_m`` (17, B): the robust per-axis noise of a detection of that joint in that bin;
- ``outlier_rate`` (17, B): the share that lies far off (more than ``outlier_m`` and 5 sigma);
- ``bias_m`` (17,): the spread of the fixed per-view offset of each joint (what one camera's view
  of the person shifts a joint by over the whole recording);
- ``noise_correlation``: frame-to-frame correlation of the noise (real detectors jitter slowly).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.config import RESOURCES_DIR
from core.errors import InputError

MEASURED_DIR = RESOURCES_DIR / "detector_faults"
MEDIAPIPE_TABLES = MEASURED_DIR / "mediapipe_pose2sim.json"


@dataclass(frozen=True)
class MeasuredFaults:
    """The measured tables (see the module doc); arrays as numpy."""

    detector: str
    conf_edges: np.ndarray
    conf_hist: np.ndarray
    sigma_m: np.ndarray
    outlier_rate: np.ndarray
    outlier_m: float
    bias_m: np.ndarray
    noise_correlation: float

    def to_json(self) -> dict:
        return {"detector": self.detector, "conf_edges": self.conf_edges.round(4).tolist(),
                "conf_hist": self.conf_hist.round(4).tolist(), "sigma_m": self.sigma_m.round(5).tolist(),
                "outlier_rate": self.outlier_rate.round(4).tolist(), "outlier_m": self.outlier_m,
                "bias_m": self.bias_m.round(5).tolist(), "noise_correlation": round(self.noise_correlation, 3)}


def _from_json(data: dict, path: Path) -> MeasuredFaults:
    try:
        tables = MeasuredFaults(str(data["detector"]), np.asarray(data["conf_edges"], dtype=np.float64),
                                np.asarray(data["conf_hist"], dtype=np.float64), np.asarray(data["sigma_m"], dtype=np.float64),
                                np.asarray(data["outlier_rate"], dtype=np.float64), float(data["outlier_m"]),
                                np.asarray(data["bias_m"], dtype=np.float64), float(data["noise_correlation"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a detector-fault table ({exc})", path) from None
    bins = len(tables.conf_edges) - 1
    if tables.conf_hist.shape != (17, 2, bins) or tables.sigma_m.shape != (17, bins) or tables.bias_m.shape != (17,):
        raise InputError("detector-fault table: shapes do not match its confidence bins", path)
    return tables


@lru_cache(maxsize=4)
def load_measured_faults(name_or_path: str | Path = MEDIAPIPE_TABLES) -> MeasuredFaults:
    """The tables named ``name_or_path`` in resources/detector_faults, or at that path (default:
    MediaPipe on the pose2sim recordings)."""
    path = Path(name_or_path)
    if path.suffix != ".json" and len(path.parts) == 1:
        path = MEASURED_DIR / f"{path}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the detector-fault table ({exc})", path) from None
    return _from_json(data, path)


def draw_confidences(tables: MeasuredFaults, occluded: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(F, V, 17) confidences and their bin indices, drawn per joint from the measured histogram
    of its seen or occluded state (uniform within a bin)."""
    shape = occluded.shape
    hist = tables.conf_hist[np.arange(17)[None, None, :], occluded.astype(np.int64)]  # (F, V, 17, B)
    cdf = np.cumsum(hist, axis=-1)
    cdf /= cdf[..., -1:]
    bins = (rng.random(shape)[..., None] > cdf).sum(-1).clip(max=hist.shape[-1] - 1)
    lo, hi = tables.conf_edges[bins], np.minimum(tables.conf_edges[bins + 1], 1.0)
    return lo + rng.random(shape) * (hi - lo), bins


def correlated_noise(shape: tuple[int, ...], correlation: float, rng: np.random.Generator) -> np.ndarray:
    """Unit Gaussian noise (F, ...) whose frames follow an AR(1) process with this lag-1 correlation."""
    white = rng.normal(0.0, 1.0, size=shape)
    if correlation <= 0 or shape[0] < 2:
        return white
    out = np.empty_like(white)
    out[0] = white[0]
    keep = np.sqrt(1.0 - correlation**2)
    for f in range(1, shape[0]):
        out[f] = correlation * out[f - 1] + keep * white[f]
    return out
