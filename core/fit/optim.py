"""The optimisation loop every fitter uses: Adam over a few tensors, with progress and cancel."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from core.errors import CancelledError

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


def minimize(
    variables: Sequence[torch.Tensor],
    objective: Callable[[], torch.Tensor],
    iterations: int,
    lr: float,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    after_step: Callable[[], None] | None = None,
    lr_decay: float = 0.1,
    method: str = "adam",
) -> None:
    """Minimise the scalar ``objective()`` over ``variables`` in place with Adam.

    The learning rate decays geometrically to ``lr * lr_decay`` over the run, which settles the
    many small independent problems of a batch without per-item tuning. ``after_step`` may
    project variables back onto their valid set (e.g. clamp shape parameters).
    """
    if iterations <= 0:
        return
    if method == "lbfgs":
        _minimize_lbfgs(variables, objective, iterations, lr, progress, should_cancel, after_step)
        return
    optimizer = torch.optim.Adam(variables, lr=lr)
    gamma = lr_decay ** (1.0 / iterations)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)
    for step in range(iterations):
        if should_cancel is not None and should_cancel():
            raise CancelledError("fitting cancelled")
        optimizer.zero_grad(set_to_none=True)
        loss = objective()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if after_step is not None:
            with torch.no_grad():
                after_step()
        if progress is not None:
            progress(step + 1, iterations)


def _minimize_lbfgs(variables, objective, iterations, lr, progress, should_cancel, after_step) -> None:
    """L-BFGS with a strong-Wolfe line search: insensitive to the very different scales of a
    rig's shared camera parameters and per-frame body parameters. Runs in chunks of iterations
    so that progress is reported and cancel is honoured between them."""
    optimizer = torch.optim.LBFGS(variables, lr=lr, max_iter=10, history_size=30, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-9, tolerance_change=1e-12)

    def closure():
        optimizer.zero_grad(set_to_none=True)
        loss = objective()
        loss.backward()
        return loss

    chunks = max(1, iterations // 10)
    for step in range(chunks):
        if should_cancel is not None and should_cancel():
            raise CancelledError("fitting cancelled")
        optimizer.step(closure)
        if after_step is not None:
            with torch.no_grad():
                after_step()
        if progress is not None:
            progress(min(iterations, (step + 1) * 10), iterations)
