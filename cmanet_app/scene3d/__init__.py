"""The 3D panel's machinery: scene content as plain arrays (:mod:`.geometry`), an orbit camera
(:mod:`.orbit`), and rendering in a separate process (:mod:`.server`, driven by :mod:`.client`;
the pictures: :mod:`.panel_renderer`, Open3D ray casting for the body and OpenCV for lines) so
that rendering never competes with the GUI thread. :mod:`.viewer` opens the same scene in a real
Open3D window (another process)."""
