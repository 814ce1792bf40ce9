"""Posed body meshes for display: one shared body model per backend (loading Anny takes seconds)
and an LRU cache of the vertices of each frame's fused (IEV, world) and per-view (IRV, camera
frame) bodies. Used from worker threads only; a lock serialises the model's forward passes.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np
import torch

from core.body import BodyModel, BodyModelConfig, load_body_model
from core.io.results import FitResult

# ~165 kB per Anny body: 600 bodies ~ 100 MB, e.g. 120 frames x (1 fused + 4 views).
CACHE_BODIES = 600


class BodyProvider:
    """Loads each body model once, on first use, and lends it out under a lock."""

    def __init__(self):
        self._models: dict[tuple, BodyModel] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()

    @staticmethod
    def _config(name: str, config: BodyModelConfig | None) -> BodyModelConfig:
        # A result records only its backend's name; the path of licensed SMPL files comes from
        # the fit config in use.
        if config is not None and config.name == name:
            return config
        return BodyModelConfig(name=name)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def use(self, name: str, config: BodyModelConfig | None = None) -> Iterator[BodyModel]:
        cfg = self._config(name, config)
        key = (cfg.name, cfg.path, cfg.gender)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._models:
                self._models[key] = load_body_model(cfg).eval()
            yield self._models[key]


_PROVIDER = BodyProvider()


def body_provider() -> BodyProvider:
    """The process-wide provider (one copy of each model for the whole app)."""
    return _PROVIDER


class MeshCache:
    """Vertices of the bodies of a result, computed on demand and kept (LRU)."""

    def __init__(self, provider: BodyProvider | None = None, capacity: int = CACHE_BODIES):
        self._provider = provider or body_provider()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._result: FitResult | None = None
        self._body_config: BodyModelConfig | None = None
        self._faces: np.ndarray | None = None
        self._generation = 0

    def set_result(self, result: FitResult | None, body_config: BodyModelConfig | None = None) -> None:
        with self._lock:
            self._result = result
            self._body_config = body_config
            self._cache.clear()
            self._generation += 1

    @property
    def result(self) -> FitResult | None:
        return self._result

    def faces(self) -> np.ndarray | None:
        """(T, 3) triangles of the result's body model (loads the model the first time)."""
        result = self._result
        if result is None:
            return None
        if self._faces is None or self._faces_model != result.body_model:
            with self._provider.use(result.body_model, self._body_config) as body:
                self._faces = body.faces.cpu().numpy().astype(np.int32)
                self._faces_model = result.body_model
        return self._faces

    def cached(self, frame: int, view: int | None = None) -> bool:
        return (frame, view) in self._cache

    def iev(self, frame: int) -> np.ndarray | None:
        """(N, 3) vertices of the fused body of ``frame``, world frame."""
        return self._get([(frame, None)])[0]

    def irv(self, frame: int, view: int) -> np.ndarray | None:
        """(N, 3) vertices of view ``view``'s IRV body of ``frame``, in that camera's frame."""
        return self._get([(frame, view)])[0]

    def prefetch(self, frames: list[int], views: bool = False) -> int:
        """Compute what is missing for ``frames`` (fused bodies; with ``views`` also IRV); returns
        how many bodies were computed."""
        result = self._result
        if result is None:
            return 0
        keys = [(f, None) for f in frames]
        if views:
            keys += [(f, v) for f in frames for v in range(result.num_views)]
        missing = [k for k in keys if k not in self._cache]
        self._get(missing)
        return len(missing)

    def _get(self, keys: list[tuple[int, int | None]]) -> list[np.ndarray | None]:
        result, generation = self._result, self._generation
        if result is None or not keys:
            return [None] * len(keys)
        with self._lock:
            found = {k: self._cache[k] for k in keys if k in self._cache}
            for k in found:
                self._cache.move_to_end(k)
        missing = [k for k in keys if k not in found]
        if missing:
            computed = self._compute(result, missing)
            with self._lock:
                if generation == self._generation:
                    for k, v in computed.items():
                        self._cache[k] = v
                    while len(self._cache) > self._capacity:
                        self._cache.popitem(last=False)
            found.update(computed)
        return [found[k] for k in keys]

    def _compute(self, result: FitResult, keys: list[tuple[int, int | None]]) -> dict:
        orient, pose, shape, transl = [], [], [], []
        for frame, view in keys:
            if view is None:
                orient.append(result.global_orient[frame])
                pose.append(result.body_pose[frame])
                shape.append(result.shape[frame])
                transl.append(result.transl[frame])
            else:
                orient.append(result.irv_global_orient[frame, view])
                pose.append(result.irv_body_pose[frame, view])
                shape.append(result.irv_shape[frame, view])
                transl.append(result.irv_transl[frame, view])
        as_t = lambda xs: torch.as_tensor(np.stack(xs), dtype=torch.float32)  # noqa: E731
        with self._provider.use(result.body_model, self._body_config) as body, torch.no_grad():
            out = body(as_t(orient), as_t(pose), as_t(shape), as_t(transl))
        vertices = out.vertices.cpu().numpy()
        return {k: vertices[i] for i, k in enumerate(keys)}


def camera_to_world(points: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Inverse of ``X_cam = R X_world + t`` for (N, 3) points: ``R^T (X_cam - t)``."""
    return (points - t) @ R


def refocused(points_cam: np.ndarray, focal_from: float, focal_to: float) -> np.ndarray:
    """(N, 3) camera-frame points of a body fitted through a lens of ``focal_from`` pixels, moved
    along the optical axis so that a lens of ``focal_to`` pixels sees it cover the same pixels
    (to first order): its depth is scaled by ``focal_to / focal_from`` and its size kept (a person
    is as tall through any lens; a longer lens sees them from further away). This is how an IRV
    body, fitted with its own focal length, is placed in the fused (IEV) camera's world."""
    points = np.array(points_cam, dtype=np.float64)
    points[:, 2] += points[:, 2].mean() * (focal_to / focal_from - 1.0)
    return points
