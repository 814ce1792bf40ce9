"""Calibration-free multi-view fitting: IRV (per-view SMPLify) and IEV (multi-view SMPLify),
per frame or over a static-rig sequence, over the parameter space, projection and losses of
:mod:`core.canonical` that the networks of ``core.nets`` share."""
