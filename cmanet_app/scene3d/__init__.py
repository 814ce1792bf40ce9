"""The 3D panel's machinery: scene content as plain arrays (:mod:`.geometry`), an orbit camera
(:mod:`.orbit`), and Open3D rendering in a separate process (:mod:`.server`, driven by
:mod:`.client`) so that neither a slow software render nor a Filament crash can stall or take
down the app. :mod:`.viewer` opens the same scene in a real Open3D window (another process)."""
