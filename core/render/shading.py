"""The one shading rule of every picture of a body: the ray-traced renderer, the app's 2D mesh
overlay and its 3D view all light a surface by an ambient term, a key light (Lambert) and a fill
term, each with its own light and weights.
"""

from __future__ import annotations

import numpy as np


def diffuse(normals: np.ndarray, towards_light: np.ndarray) -> np.ndarray:
    """(N,) Lambert factor ``max(n . l, 0)`` of (N, 3) unit normals for the unit direction
    towards the light (3,)."""
    return np.clip(normals @ towards_light, 0.0, None)


def sky(normals: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """(N,) light from the whole sky: 1 for normals facing ``up``, 0 facing down."""
    return 0.5 + 0.5 * (normals @ up)


def shade(normals: np.ndarray, towards_light: np.ndarray, ambient: float, key: float, fill: float = 0.0,
          fill_factor: np.ndarray | float = 0.0, key_visibility: np.ndarray | float = 1.0) -> np.ndarray:
    """(N,) brightness of (N, 3) unit normals: ``ambient + key * visibility * diffuse + fill *
    fill_factor``.

    fill_factor: how much of the fill light each point gets ((N,): e.g. ``|n . view|`` for a light
    beside the camera, :func:`sky` for light from above); key_visibility: the key light's share
    a shadow leaves (N,) (1: unshadowed).
    """
    return ambient + key * key_visibility * diffuse(normals, towards_light) + fill * fill_factor
