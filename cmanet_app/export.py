"""File > Export, run in a worker thread: the result file itself, the fused body as one OBJ per
frame, and any formats of ``cmanet export`` (calibration, TRC, BVH, glTF, ...) -- all through
:mod:`core.io.export` (atomic writes), with the app's already loaded body model."""

from __future__ import annotations

from pathlib import Path

from core.body import BodyModelConfig
from core.errors import InputError
from core.io.atomic import atomic_write_bytes
from core.io.results import RESULT_FILE, FitResult
from core.progress import Progress


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


def export_meshes(result: FitResult, folder: Path, body_config: BodyModelConfig | None,
                  progress: Progress) -> list[Path]:
    """``folder/mesh_<frame>.obj`` of the fused body per frame (Y up, metres, feet on the floor)."""
    from cmanet_app.bodies import body_provider
    from core.io.export_mesh import export_meshes as write_meshes

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with body_provider().use(result.body_model, body_config) as body:
        return write_meshes(result, body, folder, "obj", progress.stage("export", check=True))


def export_formats(result_dir: Path, result: FitResult, out: Path, formats: tuple[str, ...],
                   body_config: BodyModelConfig | None, progress: Progress, alone: bool = False) -> list[Path]:
    """``cmanet export RES --out OUT --format ...`` (any of core.io.export_formats.FORMATS).
    ``alone``: ``result`` is one person of a several-people fit (FitResult.person), exported from
    its own copy as ``cmanet export`` exports each person."""
    import tempfile

    from cmanet_app.bodies import body_provider
    from core.io.export import export_result

    with body_provider().use(result.body_model, body_config) as body, \
            tempfile.TemporaryDirectory(prefix="cmanet-export-") as tmp:
        src = result.save(tmp) if alone else Path(result_dir)
        return export_result(src, Path(out), tuple(formats), body, progress.stage("export", check=True))
