"""``cmanet --help`` and every sub-command's parser stay light: building the command line imports
no torch, roma, scipy, Open3D or MediaPipe (each sub-command imports those in its ``run``). The
seconds themselves are a benchmark's (``cmanet bench speed --startup-only``), not a test's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "roma", "scipy", "open3d", "mediapipe", "anny", "warp")


def test_building_the_command_line_imports_no_heavy_module():
    code = ("import sys; from core.cli import build_parser; build_parser(); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported by the parsers: {out.stdout.strip()}"


def test_help_prints_every_command_without_torch():
    code = ("import sys, contextlib, io; from core.cli import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n"
            "    try: main(['--help'])\n"
            "    except SystemExit: pass\n"
            "print(buf.getvalue()); print('TORCH' if 'torch' in sys.modules else 'LIGHT')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("LIGHT")
    for command in ("synth", "detect", "fit", "batch", "eval", "train", "export", "bench"):
        assert command in out
