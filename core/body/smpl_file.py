"""Reading SMPL model files without running code from them.

SMPL's ``.pkl`` files are Python pickles, and unpickling runs whatever a pickle names. They are
read here with an unpickler that builds only plain data: numpy arrays, scipy sparse matrices
(made dense) and chumpy arrays (their values, without chumpy installed); a pickle naming anything
else is refused as bad input. The ``.npz`` form is read with ``allow_pickle=False``; it is the
preferred form (``python -m core.io.smpl_npz SMPL_NEUTRAL.pkl SMPL_NEUTRAL.npz`` converts a
``.pkl``), and in a folder the ``.npz`` is taken before the ``.pkl``.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError

# (module, name) of the callables a SMPL pickle may name: numpy's array reconstruction, the plain
# object construction of copyreg, sets (chumpy's state) and the bytes of a protocol-2 pickle.
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}
_PLAIN_GLOBALS = {("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("_codecs", "encode"),
                  *((module, name) for module in ("__builtin__", "builtins") for name in ("object", "set", "frozenset"))}
_SPARSE_CLASSES = {"csc_matrix", "csr_matrix", "coo_matrix", "csc_array", "csr_array", "coo_array"}


class ChumpyValue:
    """What a pickled chumpy array becomes: its state, whose ``x`` is the array's value."""

    def __init__(self, *args: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _DataUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, scipy sparse matrices and chumpy values only."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS or (module, name) in _PLAIN_GLOBALS:
            return super().find_class(module, name)
        if module.split(".")[0] == "scipy" and module.startswith("scipy.sparse") and name in _SPARSE_CLASSES:
            import scipy.sparse

            return getattr(scipy.sparse, name)
        if module.split(".")[0] == "chumpy":
            return ChumpyValue
        raise pickle.UnpicklingError(f"names {module}.{name}, which is not model data")


def _plain(value: Any, key: str, path: Path) -> Any:
    """A model value as numpy data (sparse matrices dense, chumpy arrays their values)."""
    if isinstance(value, ChumpyValue):
        state = value.state
        if isinstance(state, dict) and "x" in state:
            return np.asarray(state["x"])
        raise InputError(f"{key} is a chumpy expression, not an array; convert the file with chumpy installed", path)
    if hasattr(value, "toarray"):
        return np.asarray(value.toarray())
    return value


def read_smpl_file(path: str | Path) -> dict[str, Any]:
    """The arrays of a SMPL model file (``.pkl`` or ``.npz``); InputError naming it when it is
    unreadable or holds anything but model data."""
    path = Path(path)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"not a readable SMPL .npz of plain arrays ({exc})", path) from None
    try:
        with open(path, "rb") as f:
            data = _DataUnpickler(f, encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise InputError(f"not a SMPL model file: the pickle {exc}; refused (files are never run)", path) from None
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
        raise InputError(f"not a readable SMPL model file ({type(exc).__name__}: {exc})", path) from None
    if not isinstance(data, dict):
        raise InputError(f"not a SMPL model file (holds a {type(data).__name__}, not a dict of arrays)", path)
    return {str(k): _plain(v, str(k), path) for k, v in data.items()}
