"""``cmanet export RES --format trc,bvh,glb,calib-toml,... --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import InputError


def add_parser(subparsers) -> None:
    from core.io.export_formats import ALL, DEFAULT_FORMATS, FORMATS

    listing = "; ".join(f"{name}: {text}" for name, text in FORMATS.items())
    p = subparsers.add_parser(
        "export",
        help="export a result for Blender, OpenSim, Pose2Sim, EasyMocap or your own code",
        description=f"{listing}; {ALL}: every format this result can give.",
    )
    p.add_argument("result", type=Path, help="result folder or result.npz (from cmanet fit)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: RESULT/export)")
    p.add_argument("--format", default=",".join(DEFAULT_FORMATS),
                   help=f"comma-separated, from {','.join(FORMATS)}, or {ALL} (default: {','.join(DEFAULT_FORMATS)})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.progress_bar import progress_bar

    from core.io.export import export_result
    from core.io.export_formats import ALL, parse_formats

    try:
        formats = parse_formats(args.format)
    except ValueError as exc:
        raise InputError(f"--format: {exc}") from None
    folder = args.result if args.result.is_dir() else args.result.parent
    out = args.out or folder / "export"
    bars: list = []  # created on the first mesh, so that bad input prints nothing but its error

    def progress(done, total):
        if not bars:
            bars.append(progress_bar(desc="export meshes", unit="frame", total=total, leave=False))
        bars[0].update(done - bars[0].n)

    try:
        written = []
        skip = ALL in [f.strip() for f in args.format.split(",")]
        for result_path, folder in _per_person(args.result, out):
            written += export_result(result_path, folder, formats, progress=progress, skip_unavailable=skip)
    finally:
        for bar in bars:
            bar.close()
    print(f"wrote {len(written)} files to {out}")
    return 0


def _per_person(result: Path, out: Path):
    """(result file, output folder) per exported person: the result itself into ``out``, or, for a
    multi-person result, each person's own result into ``out/personN`` (N = 0 for the main one)."""
    import tempfile

    from core.io.results import FitResult

    fitted = FitResult.load(result)
    if fitted.num_people == 1:
        yield result, out
        return
    with tempfile.TemporaryDirectory(prefix="cmanet-export-") as tmp:
        for p in range(fitted.num_people):
            folder = Path(tmp) / f"person{p}"
            folder.mkdir()
            yield fitted.person(p).save(folder), out / f"person{p}"
