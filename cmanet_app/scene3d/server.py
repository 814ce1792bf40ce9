"""The 3D panel's render server: ``python -m cmanet_app.scene3d.server W H DRAFT_W DRAFT_H``.

Draws with :class:`cmanet_app.scene3d.panel_renderer.PanelRenderer` (Open3D ray casting for the
body, OpenCV for lines and ghosts) in its own process and answers the app's messages on
stdin/stdout (:mod:`.protocol`):

- ``{"op": "scene", "scene": SceneData}`` replaces what is shown;
- ``{"op": "render", "eye", "target", "up", "fov", "draft"}`` replies ``{"image": bytes, "shape",
  "seconds"}`` (RGB uint8), rendered at DRAFT size when ``draft`` (while the user drags);
- ``{"op": "quit"}`` (or a closed stdin) ends it.

Why a process: a render takes 20-100 ms of CPU, mostly numpy holding the GIL, which would
otherwise compete with the GUI thread.
"""

from __future__ import annotations

import os
import sys
import time
import traceback


def main() -> int:
    from cmanet_app.scene3d.protocol import receive, send

    # The protocol owns the real stdout; Open3D's own printing goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    width, height, draft_w, draft_h = (int(x) for x in sys.argv[1:5])
    try:
        from cmanet_app.scene3d.panel_renderer import PanelRenderer

        full = PanelRenderer(width, height)
        draft = PanelRenderer(draft_w, draft_h)
    except Exception as exc:  # noqa: BLE001 - tell the app why, then leave
        send(out, {"error": f"Open3D ray casting is unavailable: {exc}"})
        out.close()
        os._exit(1)
    send(out, {"ready": True})
    while True:
        message = receive(inp)
        if message is None or message.get("op") == "quit":
            break
        try:
            if message["op"] == "scene":
                for r in (full, draft):
                    r.set_scene(message["scene"])
                send(out, {"ok": True})
            elif message["op"] == "render":
                r = draft if message.get("draft") else full
                start = time.perf_counter()
                image = r.render(message["eye"], message["target"], message["up"], float(message["fov"]))
                send(out, {"image": image.tobytes(), "shape": image.shape, "seconds": time.perf_counter() - start})
            else:
                send(out, {"error": f"unknown op {message.get('op')!r}"})
        except Exception:  # noqa: BLE001
            send(out, {"error": traceback.format_exc()})
    out.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
