"""The fit modes and which one runs when the user names none: one rule for the CLI and the app."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

FitMode = Literal["optimize", "network", "network+refine"]
FIT_MODES: tuple[str, ...] = ("optimize", "network", "network+refine")
# Optimizers started from the network: as accurate as the optimizers alone, faster.
NETWORK_DEFAULT_MODE: FitMode = "network+refine"


def default_mode(checkpoint: str | Path | None) -> FitMode:
    """The mode of a fit that names none: ``network+refine`` with a network, else ``optimize``."""
    return NETWORK_DEFAULT_MODE if checkpoint is not None else "optimize"
