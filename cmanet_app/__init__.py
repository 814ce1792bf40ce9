"""CMANet Studio, the desktop app (PySide6 + pyqtgraph + Open3D).

Architecture (napari-like):

- :mod:`cmanet_app.state` -- :class:`AppState`, the model: the open sequence, the current frame,
  the result, overlay toggles and run settings. It holds data and emits Qt signals; it runs nothing.
- :mod:`cmanet_app.controller` -- the user's actions (open, detect, fit, evaluate, export). Each one
  calls the same :mod:`core` functions as the command line, in a worker thread (:mod:`.tasks`).
- :mod:`cmanet_app.widgets` -- one widget per file; they display the state and forward user actions
  to the controller. Nothing heavy runs on the GUI thread.
- :mod:`cmanet_app.frames` (2D overlays, a worker thread) and :mod:`cmanet_app.scene3d` (the Open3D
  panel, rendered in a separate process) turn the state into pixels.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
