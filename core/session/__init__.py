"""Sessions: one camera rig, many trials (``cmanet batch``): the folder layout, the shared rig,
the units of work and where they run."""
