"""CUDA figures: network inference, training and fitting on a GPU, next to the same on the CPU.

    python scripts/bench_gpu.py --data SEQ [SEQ ...] --out DIR [--smpl-standin] [--config cpu]

For each device (cuda if present, and cpu): the network's throughput (4-view frames/s, batched),
``--epochs`` of ``cmanet train --stage 1`` and of ``--stage 2`` on ``--data`` (wall time, and
samples/s of the training loop with its periodic SMPLify teacher refreshes), and ``cmanet fit --mode optimize`` on the first sequence (seconds).

``--smpl-standin`` runs everything with the ``smpl`` body backend on a model file written in
SMPL's layout and size (6890 vertices, 24 joints, random geometry: not a body) for GPU machines
where Anny cannot be installed. The timings then stand for an SMPL-sized body; the accuracy of
such a run means nothing and is not reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import torch


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def bench_device(device: str, data: list[Path], config, fit_config, work: Path) -> dict:
    from core.body import load_body_model
    from core.canonical.pose_prior import default_pose_prior
    from core.fit.sequence import fit_sequence
    from core.nets import build_model
    from core.train.benchmark import throughput
    from core.train.metrics_log import read_metrics
    from core.train.trainer import train

    out: dict = {"device": device}
    body = load_body_model(config.body_model).to(device)
    model = build_model(config.model, body, config.body_model, default_pose_prior(body).mean).to(device).eval()
    _sync(device)
    out["network"] = throughput(model, body, views=4, frames=4096 if device == "cuda" else 2048)
    for stage in ("1", "2"):
        run = work / f"run_{device}_{stage}"
        init = None if stage == "1" else work / f"run_{device}_1" / "last.pt"
        start = time.perf_counter()
        train(data, run, config, stage=stage, device=device, show_progress=False, init=init)
        _sync(device)
        seconds = time.perf_counter() - start
        records = read_metrics(run)
        logged = [r for r in records if r.get("kind") == "train"]
        batch = (config.stage1 if stage == "1" else config.stage2).batch_frames
        loop_s = sum(r["seconds"] for r in logged)
        # The training loop alone (its teacher refreshes included): each record covers log_every steps.
        out[f"stage{stage}"] = {"wall_s": round(seconds, 2), "steps": logged[-1]["step"] if logged else 0,
                                "loop_samples_per_s": round(len(logged) * config.log_every * batch / max(loop_s, 1e-9), 1)}
    start = time.perf_counter()
    fit_sequence(data[0], work / f"fit_{device}", dataclasses.replace(fit_config, device=device))
    _sync(device)
    out["fit_optimize_s"] = round(time.perf_counter() - start, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    from core.body import BodyModelConfig
    from core.fit.config import load_fit_config
    from core.train.config import load_train_config

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="where bench_gpu.json is written")
    p.add_argument("--config", default="cpu", help="training config")
    p.add_argument("--epochs", type=int, default=1, help="epochs per stage")
    p.add_argument("--smpl-standin", action="store_true", help="SMPL-sized stand-in body (see the module doc)")
    p.add_argument("--devices", nargs="+", default=None, help="default: cuda (if present) and cpu")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_gpu_"))
    config = load_train_config(args.config)
    fit_config = load_fit_config()
    if args.smpl_standin:
        from core.body.smpl_standin import write_smpl_standin

        write_smpl_standin(work / "smpl" / "SMPL_NEUTRAL.pkl")
        body_config = BodyModelConfig(name="smpl", path=str(work / "smpl"))
        config = dataclasses.replace(config, body_model=body_config)
        fit_config = dataclasses.replace(fit_config, body_model=body_config)
    config = dataclasses.replace(config, stage1=dataclasses.replace(config.stage1, epochs=args.epochs),
                                 stage2=dataclasses.replace(config.stage2, epochs=args.epochs))
    devices = args.devices or (["cuda"] if torch.cuda.is_available() else []) + ["cpu"]
    report = {"config": args.config, "smpl_standin": args.smpl_standin, "torch": torch.__version__,
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "runs": []}
    for device in devices:
        report["runs"].append(bench_device(device, args.data, config, fit_config, work))
        print(json.dumps(report["runs"][-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_gpu.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
