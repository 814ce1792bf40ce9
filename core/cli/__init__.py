"""The ``cmanet`` command line: one sub-command per module in this package.

Each sub-command module defines ``add_parser(subparsers)`` and ``run(args) -> int``. Bad input
raises :class:`core.errors.InputError`, printed here as one ``error: ...`` line with exit status 2;
so is a file the system refuses (no permission, read-only, full disk). Ctrl-C and SIGTERM stop a
command the same way (exit status 130), through the code's cleanup: atomic writes remove their
temporary files, and what was finished (cached detections, checkpoints) stays for the next run.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import signal
import sys

from core import __version__
from core.errors import CancelledError, InputError

COMMANDS = ("synth", "detect", "fit", "batch", "eval", "train", "export", "bench")
# System errors about a file that are the user's to fix, not bugs: reported as one line.
FILE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOENT, errno.ENOTDIR,
               errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EFBIG, errno.EIO}


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM (``kill``, a closing terminal session, a job scheduler) stops the command like Ctrl-C:
    through every ``finally`` and atomic write's cleanup, instead of dying mid-write."""
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread (a test calling main() from a worker)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
        with terminate_as_interrupt():
            return int(args.run(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if args.verbose or exc.errno not in FILE_ERRNOS or exc.filename is None:
            raise
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except CancelledError as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
