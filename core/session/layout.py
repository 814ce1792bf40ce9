"""A session folder: one camera rig, many trials.

```
SESSION/
  sequence.yaml              optional: the description every trial without its own uses
  calibration/Calib.toml     optional: a calibration shared by all trials (Pose2Sim's place;
  (or calibration.toml, Calib*.toml, *.qca.txt, intri.yml + extri.yml at the top)
  Trial_1/videos/cam01.mp4   a trial: any multi-view sequence folder (DESIGN.md, "Input")
  Trial_2/...
  P01/T01/...                trials may be grouped (Pose2Sim's participant folders); the
                             trial's name is its path, "P01/T01"
```

A folder is a trial when it holds a sequence's cameras (videos or image folders, in any layout
of :mod:`core.io.layout`) or a ``keypoints.npz``; folders inside a trial, hidden folders, folders
starting with ``_`` and the ``calibration`` folder are not searched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from core.io.calibration import EASYMOCAP_EXTRI, EASYMOCAP_INTRI
from core.io.image_folder import natural_key
from core.io.keypoints_file import KEYPOINTS_NPZ
from core.io.layout import find_layouts
from core.io.sequence_config import SEQUENCE_YAML

CALIBRATION_DIR = "calibration"
# How deep trials are searched for: SESSION/participant/trial.
MAX_DEPTH = 3


@dataclass(frozen=True)
class Trial:
    """One multi-view sequence of a session: ``name`` is its path relative to the session
    (POSIX separators), ``path`` the folder."""

    name: str
    path: Path


@dataclass(frozen=True)
class Session:
    """The trials of a session folder and what they share (a sequence.yaml, a calibration)."""

    root: Path
    trials: tuple[Trial, ...]
    sequence_yaml: Path | None = None
    calibration: Path | None = None

    def trial(self, name: str) -> Trial:
        for trial in self.trials:
            if trial.name == name:
                return trial
        raise KeyError(f"no trial {name!r} in {self.root}")


def is_sequence_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a multi-view sequence's frames or given keypoints."""
    return (folder / KEYPOINTS_NPZ).is_file() or bool(find_layouts(folder))


def _searched(folder: Path) -> bool:
    name = folder.name
    return folder.is_dir() and not name.startswith((".", "_")) and name.lower() != CALIBRATION_DIR


def _find_trials(root: Path, folder: Path, depth: int) -> list[Trial]:
    trials = []
    for child in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
        if not _searched(child):
            continue
        if is_sequence_folder(child):
            trials.append(Trial(child.relative_to(root).as_posix(), child))
        elif depth < MAX_DEPTH:
            trials += _find_trials(root, child, depth + 1)
    return trials


def _calibration_candidates(folder: Path) -> list[Path]:
    """Calibration files directly in ``folder``: TOMLs first (Pose2Sim converts a Qualisys file
    into a TOML beside it), then Qualisys files, then an EasyMocap pair."""
    if not folder.is_dir():
        return []
    tomls = sorted(p for p in folder.glob("*.toml") if p.stem.lower().startswith("calib"))
    if tomls:
        return tomls
    qualisys = sorted(folder.glob("*.qca.txt"))
    if qualisys:
        return qualisys
    if (folder / EASYMOCAP_INTRI).is_file() or (folder / EASYMOCAP_EXTRI).is_file():
        return [folder]
    return []


def find_calibration(root: Path) -> Path | None:
    """The calibration shared by a session's trials: in ``calibration/``, else at the top; None
    when there is none. InputError when there are several to choose from."""
    for folder in (root / CALIBRATION_DIR, root):
        found = _calibration_candidates(folder)
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise InputError(f"holds several calibrations ({names}): give the one to use with --calibration", folder)
        if found:
            return found[0]
    return None


def open_session(root: str | Path) -> Session:
    """The session at ``root``; InputError when it is not a folder of trials."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise InputError("no such folder" if not root.exists() else "not a folder", root)
    root = root.resolve()
    if is_sequence_folder(root):
        raise InputError("is a single multi-view sequence, not a session of trials: fit it with 'cmanet fit'", root)
    trials = _find_trials(root, root, 1)
    if not trials:
        raise InputError("holds no trials: expected trial folders (Trial_1/videos/cam01.mp4, ...), each a multi-view "
                         "sequence", root)
    yaml_path = root / SEQUENCE_YAML
    return Session(root, tuple(trials), yaml_path if yaml_path.is_file() else None, find_calibration(root))
