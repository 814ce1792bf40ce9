"""``python -m core.io.smpl_npz SMPL_NEUTRAL.pkl SMPL_NEUTRAL.npz``: a SMPL model ``.pkl`` (a Python
pickle, read without running code by :mod:`core.body.smpl_file`) rewritten as a ``.npz`` of plain
arrays, the form ``body_model.path`` prefers (no pickle left to trust, no chumpy needed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from core.body.smpl_file import read_smpl_file
from core.errors import InputError
from core.io.atomic import atomic_write_npz


def convert_to_npz(source: str | Path, target: str | Path) -> Path:
    """Write the SMPL model ``source`` (``.pkl``) as plain arrays to ``target`` (``.npz``)."""
    data = read_smpl_file(source)
    arrays = {}
    for key, value in data.items():
        array = np.asarray(value)
        if array.dtype == object:
            continue  # training metadata (e.g. pose_training_info): not needed to pose the model
        arrays[key] = array
    return atomic_write_npz(target, **arrays)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.io.smpl_npz",
                                     description="Convert a SMPL model .pkl into a .npz of plain arrays.")
    parser.add_argument("source", type=Path, help="SMPL_{NEUTRAL,MALE,FEMALE}.pkl")
    parser.add_argument("target", type=Path, help="the .npz to write")
    args = parser.parse_args(argv)
    try:
        print(f"wrote {convert_to_npz(args.source, args.target)}")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
