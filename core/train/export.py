"""Export a trained network for shipping: ``python -m core.train.export RUN/best.pt OUT.pt``.

Keeps the network (its config, body model and weights) and a little provenance; drops what only
training needs (optimizer state, pseudo-labels), which is most of a training checkpoint's size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import InputError
from core.nets.checkpoint import model_from_payload, read_checkpoint, save_model
from core.nets.cmanet import with_iev_iterations


def export_model(checkpoint: str | Path, out: str | Path, meta: dict | None = None, iev_iterations: int | None = None) -> Path:
    """Write the network of ``checkpoint`` to ``out`` (atomically); returns ``out``.
    ``iev_iterations``: run IEV that many times instead of as trained (they share weights)."""
    payload = read_checkpoint(checkpoint)
    model = model_from_payload(payload, checkpoint)
    if iev_iterations is not None:
        model = with_iev_iterations(model, iev_iterations)
    state = payload.get("train", {}).get("state", {})
    # stage: the stage the weights come from (a best.pt is saved during its stage, before that
    # stage counts as completed; a finished run's last.pt after it); stages: those completed.
    completed = state.get("completed") or []
    stage = payload.get("meta", {}).get("stage") or (completed[-1] if completed else None)
    provenance = {"source": Path(checkpoint).name, "stage": stage,
                  "stages": state.get("completed"), "step": state.get("step"),
                  "data": [Path(d[0]).name for d in payload.get("train", {}).get("data", [])]}
    return save_model(model, out, {**provenance, **(meta or {})})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.train.export", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--note", default=None, help="free text stored in the file's meta data")
    p.add_argument("--iev-iterations", type=int, default=None, metavar="N",
                   help="the exported network runs IEV N times (its iterations share weights; default: as trained)")
    args = p.parse_args(argv)
    try:
        path = export_model(args.checkpoint, args.out, {"note": args.note} if args.note else None, args.iev_iterations)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
