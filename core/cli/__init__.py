"""The ``cmanet`` command line: one sub-command per module in this package.

Each sub-command module defines ``add_parser(subparsers)`` and ``run(args) -> int``. Bad input
raises :class:`core.errors.InputError`, printed here as one ``error: ...`` line with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from core import __version__
from core.errors import CancelledError, InputError

COMMANDS = ("synth", "detect", "fit", "batch", "eval", "train", "export", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cmanet",
        description="Calibration-free multi-view 3D human pose, body mesh and camera poses (CMANet).",
    )
    parser.add_argument("--version", action="version", version=f"cmanet {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="print debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"core.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"core.cli.{name}":
                raise
            continue  # command not built yet
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 on bad usage
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
    )
    if not args.verbose:
        logging.getLogger("anny").setLevel(logging.WARNING)
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CancelledError as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
