"""Reading ``.npz`` files the user hands over (results, keypoints, ground truth): never unpickled.

``numpy.load`` reads whatever is not a zip archive as a pickle (refused with ``allow_pickle=False``,
but with a puzzling message), and an archive may hold object arrays (pickles too). Either is an
InputError naming the file here, as is a damaged archive.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from core.errors import InputError

ZIP_MAGIC = b"PK"


def read_npz(path: str | Path, what: str = ".npz file") -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path`` (loaded into memory, the file closed again).

    InputError naming ``path`` when it is missing, not a zip archive, damaged, or holds pickled
    objects (``what`` names the kind of file in the message, e.g. "result file")."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(len(ZIP_MAGIC))
    except FileNotFoundError:
        raise InputError(f"no such {what}", path) from None
    except OSError as exc:
        raise InputError(f"cannot read the {what} ({exc.strerror or exc})", path) from None
    if magic != ZIP_MAGIC:
        raise InputError(f"not a {what} (not an .npz archive)", path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InputError(f"holds pickled Python objects, which are never loaded from files (not a {what})",
                             path) from None
        raise InputError(f"damaged {what} ({exc})", path) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"damaged {what} ({exc})", path) from None
