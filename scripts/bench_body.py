"""Body-model timings: ``python scripts/bench_body.py [--device cuda] [--repeat 20]``.

Prints forward and forward+backward times (median and best of ``--repeat`` runs, milliseconds)
of the Anny body model for a few batch sizes:

- ``keypoints``: ``forward(..., vertices=False)``, the fitting hot path (COCO-17 keypoints only);
- ``mesh``: ``forward(..., vertices=True)``, Anny's full forward (13 718 vertices) + the regressor.

Each in two shape cases: ``per-item`` (a shape vector per batch item, shape batch B) and
``shared`` (one shape for the whole batch, shape batch 1, broadcast). The backward pass is that of
``keypoints.square().sum()`` with respect to every input (orientation, pose, shape, translation).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.body.anny_body import AnnyBody  # noqa: E402


def _params(body: AnnyBody, batch: int, shared: bool, device: torch.device, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    params = dict(
        global_orient=torch.randn(batch, 3, generator=gen) * 0.5,
        body_pose=torch.randn(batch, body.num_pose_joints, 3, generator=gen) * 0.25,
        shape=torch.rand(1 if shared else batch, body.shape_dim, generator=gen),
        transl=torch.randn(batch, 3, generator=gen),
    )
    return {k: v.to(device).requires_grad_() for k, v in params.items()}


def _time(fn, device: torch.device, repeat: int) -> tuple[float, float]:
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(2):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, min(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 400])
    parser.add_argument("--mesh-batches", type=int, nargs="*", default=[1, 64], help="batch sizes for the full mesh path")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    start = time.perf_counter()
    AnnyBody()  # the first one also loads Anny (process-wide)
    first = time.perf_counter() - start
    start = time.perf_counter()
    body = AnnyBody().to(device)
    second = time.perf_counter() - start
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"AnnyBody(): first {first * 1e3:.0f} ms (loads Anny), then {second * 1e3:.0f} ms")
    print(f"{'path':<10} {'shape':<9} {'B':>5} {'forward ms':>18} {'fwd+bwd ms':>18}   (median / best)")

    runs = [("keypoints", b) for b in args.batches] + [("mesh", b) for b in args.mesh_batches]
    for path, batch in runs:
        for shared in (False, True):
            params = _params(body, batch, shared, device)
            vertices = path == "mesh"

            def forward():
                with torch.no_grad():
                    body(**params, vertices=vertices)

            def forward_backward():
                body(**params, vertices=vertices).keypoints.square().sum().backward()

            repeat = args.repeat if batch * (13718 if vertices else 1) < 2_000_000 else max(3, args.repeat // 4)
            fwd = _time(forward, device, repeat)
            both = _time(forward_backward, device, repeat)
            case = "shared" if shared else "per-item"
            print(f"{path:<10} {case:<9} {batch:>5} {fwd[0]:>9.2f} / {fwd[1]:<7.2f} {both[0]:>9.2f} / {both[1]:<7.2f}")


if __name__ == "__main__":
    main()
