"""File > Export: the result file itself, and the fused body as one OBJ mesh per frame (posed by
the core body model; every file written atomically). Run in a worker thread."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from core.body import BodyModelConfig
from core.errors import CancelledError, InputError
from core.io.atomic import atomic_open, atomic_write_bytes
from core.io.results import RESULT_FILE, FitResult

BATCH = 8  # bodies posed per call: bounded memory, steady progress


def copy_result(result_dir: Path, dest: Path) -> Path:
    """Copy ``result_dir/result.npz`` to ``dest`` (a file, or a folder to put result.npz in)."""
    src = Path(result_dir) / RESULT_FILE
    if not src.is_file():
        raise InputError("no result to export (fit first)", src)
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / RESULT_FILE
    if dest.resolve() == src.resolve():
        raise InputError("is the result file itself; choose another place", dest)
    return atomic_write_bytes(dest, src.read_bytes())


def obj_text(vertices: np.ndarray, faces: np.ndarray, comment: str = "") -> str:
    """Wavefront OBJ of one triangle mesh (1-based indices)."""
    out = io.StringIO()
    if comment:
        out.write(f"# {comment}\n")
    np.savetxt(out, vertices, fmt="v %.5f %.5f %.5f")
    np.savetxt(out, faces + 1, fmt="f %d %d %d")
    return out.getvalue()


def export_meshes(result: FitResult, folder: Path, body_config: BodyModelConfig | None, progress,
                  should_cancel) -> list[Path]:
    """Write ``folder/frame_XXXXXX.obj`` (source frame numbers) of the fused body, world frame
    (Z up, metres)."""
    import torch

    from cmanet_app.bodies import body_provider

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = result.num_frames
    written: list[Path] = []
    with body_provider().use(result.body_model, body_config) as body:
        faces = body.faces.cpu().numpy()
        for start in range(0, frames, BATCH):
            if should_cancel():
                raise CancelledError(f"mesh export cancelled after {len(written)} of {frames} frames")
            sl = slice(start, min(frames, start + BATCH))
            with torch.no_grad():
                out = body(torch.as_tensor(result.global_orient[sl]), torch.as_tensor(result.body_pose[sl]),
                           torch.as_tensor(result.shape[sl]), torch.as_tensor(result.transl[sl]))
            for i, vertices in zip(range(sl.start, sl.stop), out.vertices.cpu().numpy()):
                path = folder / f"frame_{int(result.frame_indices[i]):06d}.obj"
                with atomic_open(path, "w") as f:
                    f.write(obj_text(vertices, faces, f"CMANet fused (IEV) body, frame {int(result.frame_indices[i])}, "
                                     "world frame: Z up, metres"))
                written.append(path)
            progress("export", sl.stop, frames)
    return written
