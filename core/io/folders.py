"""Output folders: never inside an input (inputs are never modified)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.errors import InputError


def check_outside_inputs(out: str | Path, inputs: str | Path | Iterable[str | Path], what: str = "the result folder",
                         inputs_name: str = "the input sequence") -> Path:
    """``out`` resolved (``~`` expanded); InputError naming ``out`` when it is one of the
    ``inputs`` folders or lies inside one, e.g. "the result folder must be outside the input
    sequence (inputs are never modified)"."""
    out = Path(out).expanduser().resolve()
    roots = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    for root in roots:
        root = Path(root).expanduser().resolve()
        if out == root or root in out.parents:
            raise InputError(f"{what} must be outside {inputs_name} (inputs are never modified)", out)
    return out
