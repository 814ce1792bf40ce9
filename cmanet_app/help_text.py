"""The words of the Help menu: what the app is (with its version), how to fit a recording of your
own, and the keyboard shortcuts (read from the window's actions, so the list is never out of date)."""

from __future__ import annotations

import html

from PySide6.QtGui import QAction, QKeySequence

from cmanet_app import __version__

HOW_TO = """
<h3>Fitting your own recording</h3>
<ol>
<li><b>Film</b> one person with 2 or more cameras (3-4 give much better cameras) that stand still, all
recording at once. Phones on tripods do. Keep the whole body in view of every camera, and let the person move
around: walking, turning, raising arms. A few seconds is enough.</li>
<li><b>Put the videos in one folder</b>, one per camera: <tt>cam01.mp4</tt>, <tt>cam02.mp4</tt>, … (or one folder
of images per camera). Trim them to start at the same moment if you can.</li>
<li><b>Open the folder</b> (File &gt; Open, or drop it on the window). The app warns you when something looks off:
very different lengths, images of different sizes, a single frame.</li>
<li><b>Detect</b> finds the person's body points in every frame (once per recording; kept for later fits).
Points the detector is unsure of are drawn hollow: raise the <i>confidence threshold</i> to ignore more of them.</li>
<li><b>Fit</b> finds the 3D body, its mesh and where every camera stands. If you know the person's height, enter
it under <i>Body height</i>: the cameras alone cannot tell a tall person far away from a short one nearby.</li>
<li><b>Check the result</b>: the <i>fused fit (IEV)</i>, one body for all cameras, should sit on the person in
every view. The <i>per-view fit (IRV)</i> is each camera's own guess; the <i>IRV vs IEV</i> tab shows how far each
lands from the detected points. Every fit is kept in the <i>Runs</i> tab: try another fit mode and compare.</li>
<li><b>Export</b> (File &gt; Export) to Blender (BVH, glTF), OpenSim (TRC), Pose2Sim (calibration) and more.</li>
</ol>
<p>Cameras that move during the recording, people leaving the picture, or heavy occlusion make the fit harder.
The command line (<tt>cmanet fit FOLDER --out RESULT</tt>) does the same fits; its result folders can be added in
the Runs tab.</p>
"""


def about() -> str:
    return (f"CMANet Studio {__version__}\n\n"
            "3D body pose, body mesh and camera positions from a few ordinary cameras, without calibration and "
            "without annotation.\n\n"
            "Each camera's view is first fitted on its own (the per-view fit, IRV); then one body is fitted to all "
            "views at once (the fused fit, IEV), which also finds where each camera stands. A trained network "
            "(CMANet) gives a fast first answer that the optimizers refine.")


def shortcuts(actions: list[QAction]) -> str:
    """An HTML table of every action that has a keyboard shortcut."""
    rows = []
    for action in actions:
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            name = action.text().replace("&", "").rstrip("…")
            rows.append(f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(name)}</td></tr>")
    return "<table cellspacing='6'>" + "".join(rows) + "</table>"
