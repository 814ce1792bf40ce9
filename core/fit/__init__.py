"""Calibration-free multi-view fitting: IRV (per-view SMPLify) and IEV (multi-view SMPLify),
per frame or over a static-rig sequence. The networks of ``core.nets`` share this module's
parameter space (``core.fit.params``), projection and losses (``core.fit.losses``)."""
