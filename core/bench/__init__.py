"""``cmanet bench``: benchmarks that measure and print, never assert.

* :mod:`core.bench.synthetic`: speed and accuracy on ``cmanet synth`` sequences;
* :mod:`core.bench.real`: the real-footage benchmark (the ``pose2sim`` demo recordings, scored
  against calibrated triangulation).
"""
