"""``python -m cmanet_app.scene3d.viewer SCENE.npz``: the current frame in a real Open3D window
(O3DVisualizer via ``open3d.visualization.draw``), run as its own process by the 3D panel's
"Open in Open3D window" button so the app never waits on it. Needs a display: without one it
exits with status 3 and says so."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

NO_DISPLAY = 3


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m cmanet_app.scene3d.viewer SCENE.npz", file=sys.stderr)
        return 2
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("no display: an Open3D window needs a desktop session (DISPLAY or WAYLAND_DISPLAY is unset)", file=sys.stderr)
        return NO_DISPLAY
    import open3d as o3d

    from cmanet_app.scene3d.geometry import scene_from_arrays
    from cmanet_app.scene3d.o3d_scene import geometries

    with np.load(Path(argv[0]), allow_pickle=False) as data:
        scene = scene_from_arrays({k: data[k] for k in data.files})
        title = str(data["title"]) if "title" in data.files else "CMANet Studio"
    items = [{"name": name, "geometry": geometry, "material": material} for name, geometry, material in geometries(scene)]
    o3d.visualization.draw(items, title=title, show_skybox=False, bg_color=(0.11, 0.115, 0.13, 1.0), width=1280, height=900)
    return 0


if __name__ == "__main__":
    sys.exit(main())
