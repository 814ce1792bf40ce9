"""The optimizers' two-phase schedule: fit, undo the detector's left/right swaps that the fit
reveals, fit again at half the learning rate."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from core.fit.optim import CancelFn, ProgressFn, minimize


def two_phase(
    variables: Sequence[torch.Tensor],
    objective: Callable[[], torch.Tensor],
    iterations: int,
    lr: float,
    correct: Callable[[], None] | None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    after_step: Callable[[], None] | None = None,
    method: str = "adam",
) -> None:
    """``iterations`` of :func:`~core.fit.optim.minimize`; with ``correct`` (which updates what
    ``objective`` reads, under no_grad) half of them, then ``correct()``, then the rest at half
    the rate (L-BFGS keeps its rate). ``progress(done, iterations)`` counts both halves."""
    first = iterations // 2 if correct is not None else iterations

    def report(offset):
        return None if progress is None else (lambda done, _total: progress(offset + done, iterations))

    minimize(variables, objective, first, lr, report(0), should_cancel, after_step, method=method)
    if correct is None:
        return
    with torch.no_grad():
        correct()
    minimize(variables, objective, iterations - first, lr * (1.0 if method == "lbfgs" else 0.5), report(first),
             should_cancel, after_step, method=method)
