"""The fit modes and which one runs when the user names none: one rule for the CLI and the app."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from core.errors import InputError

FitMode = Literal["optimize", "network", "network+refine"]
FIT_MODES: tuple[str, ...] = ("optimize", "network", "network+refine")
# Optimizers started from the network: as accurate as the optimizers alone, faster.
NETWORK_DEFAULT_MODE: FitMode = "network+refine"


def default_mode(checkpoint: str | Path | None) -> FitMode:
    """The mode of a fit that names none: ``network+refine`` with a network, else ``optimize``."""
    return NETWORK_DEFAULT_MODE if checkpoint is not None else "optimize"


def resolve_mode(mode: str | None, checkpoint: str | Path | None, installed: Path | None) -> tuple[FitMode, Path | None]:
    """The mode of a fit and the network file it needs (None for ``optimize``).

    The network is the ``checkpoint`` given, else the ``installed`` default model
    (:func:`core.nets.checkpoint.installed_model`); the mode is ``mode``, else
    :func:`default_mode`. InputError when a network mode has no network or its file is missing.
    """
    model = Path(checkpoint).expanduser() if checkpoint else installed
    mode = mode or default_mode(model)
    if mode not in FIT_MODES:
        raise InputError(f"unknown fit mode {mode!r} (one of {', '.join(FIT_MODES)})")
    if mode == "optimize":
        return mode, None
    if model is None:
        raise InputError(f"mode {mode} needs a network: choose a model checkpoint (--checkpoint; no default model is installed)")
    if not model.is_file():
        raise InputError("no such checkpoint file", model)
    return mode, model
