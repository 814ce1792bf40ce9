"""The 3D panel's render server: ``python -m cmanet_app.scene3d.server W H DRAFT_W DRAFT_H``.

Runs Open3D's OffscreenRenderer (Filament; headless through Vulkan/Mesa) in its own process and
answers the app's messages on stdin/stdout (:mod:`.protocol`):

- ``{"op": "scene", "scene": SceneData}`` replaces what is shown;
- ``{"op": "render", "eye", "target", "up", "fov", "draft"}`` replies ``{"image": bytes, "shape",
  "seconds"}`` (RGB uint8), rendered at DRAFT size when ``draft`` (while the user drags);
- ``{"op": "quit"}`` (or a closed stdin) ends it.

Why a process: a software render takes 50-300 ms of CPU that would otherwise compete with the GUI
thread for the GIL, and Filament aborts the whole process when a renderer is destroyed, so it must
not live inside the app. Post-processing is off: on llvmpipe it costs ~15 s per frame.
"""

from __future__ import annotations

import os
import sys
import time
import traceback


def _configure(renderer) -> None:
    from cmanet_app.scene3d.o3d_scene import linear_background

    view = renderer.scene.view
    view.set_post_processing(False)
    view.set_shadowing(False)
    view.set_antialiasing(False)
    renderer.scene.set_background(linear_background())


def _set_scene(renderer, scene) -> None:
    from cmanet_app.scene3d.o3d_scene import geometries

    renderer.scene.clear_geometry()
    for name, geometry, material in geometries(scene):
        renderer.scene.add_geometry(name, geometry, material)


def main() -> int:
    from cmanet_app.scene3d.protocol import receive, send

    # The protocol owns the real stdout; Open3D's and Filament's own printing goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    width, height, draft_w, draft_h = (int(x) for x in sys.argv[1:5])
    try:
        from open3d.visualization import rendering

        full = rendering.OffscreenRenderer(width, height)
        draft = rendering.OffscreenRenderer(draft_w, draft_h)
        for r in (full, draft):
            _configure(r)
    except Exception as exc:  # noqa: BLE001 - tell the app why, then leave
        send(out, {"error": f"Open3D offscreen rendering is unavailable: {exc}"})
        out.close()
        os._exit(1)
    send(out, {"ready": True})
    # Each renderer takes a new scene only when it next renders (a drag uses just the draft one).
    scene, versions, version = None, {id(full): -1, id(draft): -1}, 0
    while True:
        message = receive(inp)
        if message is None or message.get("op") == "quit":
            break
        try:
            if message["op"] == "scene":
                scene, version = message["scene"], version + 1
                send(out, {"ok": True})
            elif message["op"] == "render":
                r = draft if message.get("draft") else full
                start = time.perf_counter()
                if scene is not None and versions[id(r)] != version:
                    _set_scene(r, scene)
                    versions[id(r)] = version
                r.setup_camera(float(message["fov"]), list(message["target"]), list(message["eye"]), list(message["up"]))
                import numpy as np

                from cmanet_app.scene3d.o3d_scene import GAMMA_LUT

                image = GAMMA_LUT[np.asarray(r.render_to_image())]
                send(out, {"image": image.tobytes(), "shape": image.shape, "seconds": time.perf_counter() - start})
            else:
                send(out, {"error": f"unknown op {message.get('op')!r}"})
        except Exception:  # noqa: BLE001
            send(out, {"error": traceback.format_exc()})
    out.flush()
    # Skip interpreter teardown: destroying Filament renderers aborts (a known Open3D issue).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
