"""``cmanet bench``: benchmarks that measure and print, never assert.

* :mod:`core.bench.runner`: the one loop they share (cases synthesised or loaded, fitted by runs,
  timed, scored, averaged, printed, written as JSON);
* :mod:`core.bench.synthetic`: speed, accuracy and fit modes on ``cmanet synth`` sequences;
* :mod:`core.bench.startup`: start-up seconds (``import torch``, ``cmanet --help``, ``cmanet fit``'s
  overhead), printed first by ``cmanet bench speed``;
* :mod:`core.bench.network`: a trained network per frame and through ``cmanet fit``, against the
  optimizer;
* :mod:`core.bench.real`: the real-footage benchmark (the ``pose2sim`` demo recordings, scored
  against calibrated triangulation).
"""
