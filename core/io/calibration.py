"""Known camera calibrations: one :class:`RigCalibration` read from (and written to) the files
other tools use.

Conventions: OpenCV pinhole cameras, world->camera ``X_cam = R X_world + t``, translations in
metres, distortion coefficients in OpenCV order ``[k1, k2, p1, p2(, k3)]``. A calibration may be
partial: some cameras only, or intrinsics only (``rotation``/``translation`` None).

Readers (:func:`read_calibration` picks by file name):

* Pose2Sim / anipose / FreeMoCap ``.toml``: one table per camera (``name``, ``size``, ``matrix``,
  ``distortions``, ``rotation`` as a Rodrigues vector, ``translation``), other tables
  (``metadata``, ``charuco``...) skipped. anipose and FreeMoCap work in the board's units, often
  millimetres: translations whose cameras lie tens of units apart are read as millimetres.
* EasyMocap ``intri.yml`` (``names``, ``K_<cam>``, ``dist_<cam>``, optional ``H_``/``W_``) and
  ``extri.yml`` (``R_<cam>`` Rodrigues or ``Rot_<cam>``, ``T_<cam>``), OpenCV FileStorage YAML;
  ``intri.yml`` alone is an intrinsics-only calibration.
* Qualisys ``.qca.txt`` (what the Pose2Sim demo recordings ship with; converted as Pose2Sim's
  ``calib_qca_fun`` does: sensor units / 64, camera->world transform inverted, the cameras turned
  by pi about their x axis).

Writers: :func:`toml_text` (Pose2Sim's layout, which anipose reads too) and
:func:`easymocap_texts`.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from core.errors import InputError

log = logging.getLogger(__name__)

# Camera centres further than this (in the file's units) from their mean: the file is in
# millimetres (a capture volume of tens of metres is not a human motion-capture rig).
MILLIMETRE_SPREAD = 30.0


@dataclass(frozen=True)
class CameraCalibration:
    """One calibrated camera.

    size: (width, height) pixels (None: not given); matrix: (3, 3) K; distortions: (4,) or (5,)
    OpenCV order; rotation: (3, 3) world->camera and translation: (3,) metres, both None for an
    intrinsics-only camera.
    """

    name: str
    size: tuple[int, int] | None
    matrix: np.ndarray
    distortions: np.ndarray
    rotation: np.ndarray | None = None
    translation: np.ndarray | None = None

    @property
    def has_extrinsics(self) -> bool:
        return self.rotation is not None and self.translation is not None

    @property
    def focal_px(self) -> float:
        """Mean of fx and fy."""
        return float(0.5 * (self.matrix[0, 0] + self.matrix[1, 1]))

    @property
    def principal_point(self) -> tuple[float, float]:
        return float(self.matrix[0, 2]), float(self.matrix[1, 2])

    @property
    def projection_matrix(self) -> np.ndarray:
        """(3, 4) ``K [R | t]``."""
        if not self.has_extrinsics:
            raise ValueError(f"camera {self.name} has no extrinsics")
        return self.matrix @ np.hstack([self.rotation, self.translation[:, None]])

    @property
    def center(self) -> np.ndarray:
        """(3,) the camera centre in the world, ``-R^T t``."""
        return -self.rotation.T @ self.translation


@dataclass(frozen=True)
class RigCalibration:
    """Calibrated cameras in one world frame (metres)."""

    cameras: tuple[CameraCalibration, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def by_name(self, names: list[str]) -> RigCalibration:
        """The cameras in the order of ``names``: matched by name, else by name without case and
        punctuation (``cam_01`` is ``cam01``); InputError when one is missing."""
        picked = self.match(names)
        if None in picked:
            missing = names[picked.index(None)]
            raise InputError(f"calibration has no camera {missing!r} (it has {', '.join(self.names)})")
        return RigCalibration(tuple(picked))

    def match(self, names: list[str]) -> list[CameraCalibration | None]:
        """The camera of each of ``names`` (as :meth:`by_name` matches them), None where the
        calibration has none (a partial calibration)."""
        exact = {c.name: c for c in self.cameras}
        loose = {loose_name(c.name): c for c in self.cameras}
        return [exact.get(n) or loose.get(loose_name(n)) for n in names]

    @property
    def rotations(self) -> np.ndarray:
        """(V, 3, 3) world->camera."""
        return np.stack([c.rotation for c in self.cameras])

    @property
    def translations(self) -> np.ndarray:
        """(V, 3) metres."""
        return np.stack([c.translation for c in self.cameras])


def pinhole_calibration(names: list[str], image_sizes, rotation: np.ndarray, translation: np.ndarray,
                        focal: np.ndarray, principal: np.ndarray) -> RigCalibration:
    """Pinhole cameras (square pixels, no distortion) as a calibration: ``names`` (V,),
    ``image_sizes`` (V, 2) width, height; rotation (V, 3, 3) world->camera, translation (V, 3)
    metres, focal (V,) and principal (V, 2) pixels."""
    cameras = []
    for v, name in enumerate(names):
        f, (cx, cy) = float(focal[v]), np.asarray(principal[v], dtype=np.float64)
        cameras.append(CameraCalibration(
            name=str(name), size=(int(image_sizes[v][0]), int(image_sizes[v][1])),
            matrix=np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]]), distortions=np.zeros(4),
            rotation=np.asarray(rotation[v], dtype=np.float64).copy(),
            translation=np.asarray(translation[v], dtype=np.float64).copy()))
    return RigCalibration(tuple(cameras))


def loose_name(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _rotation_about_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def read_qca(path: str | Path) -> RigCalibration:
    """A Qualisys ``.qca.txt`` calibration (XML), as Pose2Sim converts it."""
    path = Path(path)
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as exc:
        raise InputError(f"not a readable Qualisys calibration ({exc})", path) from None
    cameras = []
    for tag in root.findall("cameras/camera"):
        try:
            fov = tag.find("fov_video").attrib
            intr = tag.find("intrinsic").attrib
            tr = tag.find("transform").attrib
            left, top = float(fov["left"]), float(fov["top"])
            size = (int(float(fov["right"]) - left + 1), int(float(fov["bottom"]) - top + 1))
            # Sensor coordinates are 64 sub-pixels per pixel.
            fu, fv = float(intr["focalLengthU"]) / 64, float(intr["focalLengthV"]) / 64
            cu, cv = float(intr["centerPointU"]) / 64 - left, float(intr["centerPointV"]) / 64 - top
            dist = np.array([float(intr[k]) / 64 for k in
                             ("radialDistortion1", "radialDistortion2", "tangentalDistortion1", "tangentalDistortion2")])
            matrix = np.array([[float(tr[f"r{i}{j}"]) for j in (1, 2, 3)] for i in (1, 2, 3)])
            position = np.array([float(tr[k]) for k in ("x", "y", "z")]) / 1000.0
        except (AttributeError, KeyError, ValueError, OverflowError) as exc:  # OverflowError: an infinite size
            raise InputError(f"camera {tag.attrib.get('serial', '?')}: incomplete Qualisys calibration ({exc})", path) from None
        # The file holds each camera's orientation column by column (camera->world) and its
        # position, so read row by row it is world->camera; Qualisys cameras look down their -z
        # axis, hence the half turn about x.
        flip = _rotation_about_x(np.pi)
        rotation = flip @ matrix
        translation = flip @ (-matrix @ position)
        camera = CameraCalibration(
            name=str(tag.attrib.get("serial", f"cam{len(cameras) + 1:02d}")), size=size,
            matrix=np.array([[fu, 0.0, cu], [0.0, fv, cv], [0.0, 0.0, 1.0]]), distortions=dist,
            rotation=rotation, translation=translation,
        )
        cameras.append(_checked_camera(camera, path))
    if not cameras:
        raise InputError("no cameras in this Qualisys calibration", path)
    return RigCalibration(tuple(cameras))


# ------------------------------------------------------------------------------ any calibration


def read_calibration(path: str | Path) -> RigCalibration:
    """The calibration in ``path``: a ``.toml`` (Pose2Sim, anipose, FreeMoCap), EasyMocap's
    ``intri.yml``/``extri.yml`` (either file, or their folder), or a Qualisys ``.qca.txt``."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such calibration file", path)
    if path.is_dir() or path.name in (EASYMOCAP_INTRI, EASYMOCAP_EXTRI) or path.suffix in (".yml", ".yaml"):
        return read_easymocap(path)
    if path.suffix == ".toml":
        return read_toml(path)
    if path.name.endswith(".qca.txt"):
        return read_qca(path)
    raise InputError("unknown calibration format (expected a .toml, EasyMocap intri.yml/extri.yml, or a "
                     "Qualisys .qca.txt)", path)


def _rotation_matrix(value, where: str) -> np.ndarray:
    """A (3, 3) rotation from a Rodrigues vector (3,) or a matrix (3, 3)."""
    import cv2

    array = np.asarray(value, dtype=np.float64)
    if array.shape == (3,) or array.shape in ((3, 1), (1, 3)):
        return cv2.Rodrigues(array.reshape(3, 1))[0]
    if array.shape == (3, 3):
        if not np.allclose(array @ array.T, np.eye(3), atol=1e-4):
            raise ValueError(f"{where} is not a rotation matrix")
        return array
    raise ValueError(f"{where} must be a Rodrigues vector (3 numbers) or a 3x3 matrix, got shape {array.shape}")


def _with_metres(cameras: list[CameraCalibration], path: Path) -> list[CameraCalibration]:
    """The cameras with translations in metres: a rig whose cameras lie tens of units from their
    mean is taken to be in millimetres (anipose and FreeMoCap use the board's units)."""
    centres = np.array([c.center for c in cameras if c.has_extrinsics])
    if len(centres) == 0:
        return cameras
    spread = np.linalg.norm(centres - centres.mean(0), axis=1).max() if len(centres) > 1 else np.linalg.norm(centres[0])
    if spread <= MILLIMETRE_SPREAD:
        return cameras
    log.warning("%s: cameras up to %.0f units apart: reading the translations as millimetres", path, spread)
    return [c if not c.has_extrinsics else CameraCalibration(c.name, c.size, c.matrix, c.distortions, c.rotation,
                                                             c.translation / 1000.0) for c in cameras]


def _checked_camera(camera: CameraCalibration, path: Path) -> CameraCalibration:
    """``camera`` when it is usable; else InputError naming it and the file."""
    try:
        _check_camera(camera)
    except ValueError as exc:
        raise InputError(f"camera {camera.name}: {exc}", path) from None
    return camera


def _check_camera(camera: CameraCalibration) -> None:
    k = camera.matrix
    if k.shape != (3, 3) or not np.isfinite(k).all() or k[0, 0] <= 0 or k[1, 1] <= 0:
        raise ValueError("matrix must be a 3x3 camera matrix with positive focal lengths")
    if camera.distortions.ndim != 1 or len(camera.distortions) not in (0, 4, 5, 8, 12, 14):
        raise ValueError(f"distortions must hold 4 or 5 numbers (k1, k2, p1, p2[, k3]), got {len(camera.distortions)}")
    if camera.size is not None and min(camera.size) <= 0:
        raise ValueError(f"size must be two positive numbers [width, height], got {list(camera.size)}")
    if camera.has_extrinsics and not np.isfinite(camera.translation).all():
        raise ValueError("translation must be 3 finite numbers")


# ------------------------------------------------------------------------------------------ TOML


def read_toml(path: str | Path) -> RigCalibration:
    """A Pose2Sim / anipose / FreeMoCap calibration (see the module doc)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not a readable TOML calibration ({exc})", path) from None
    cameras = []
    for key, table in data.items():
        if not isinstance(table, dict) or "matrix" not in table:
            continue  # metadata, charuco, capture_volume...
        name = str(table.get("name", key))
        try:
            if table.get("fisheye", False):
                raise ValueError("fisheye cameras are not supported (pinhole cameras only)")
            size = table.get("size")
            has_pose = "rotation" in table and "translation" in table
            camera = CameraCalibration(
                name=name,
                size=None if size is None else (int(round(float(size[0]))), int(round(float(size[1])))),
                matrix=np.asarray(table["matrix"], dtype=np.float64),
                distortions=np.asarray(table.get("distortions", [0.0, 0.0, 0.0, 0.0]), dtype=np.float64).reshape(-1),
                rotation=_rotation_matrix(table["rotation"], "rotation") if has_pose else None,
                translation=np.asarray(table["translation"], dtype=np.float64).reshape(3) if has_pose else None,
            )
            _check_camera(camera)
        except (TypeError, ValueError, IndexError, OverflowError) as exc:  # OverflowError: an infinite size
            raise InputError(f"[{key}]: {exc}", path) from None
        cameras.append(camera)
    if not cameras:
        raise InputError("no camera tables (with a 'matrix') in this calibration", path)
    return RigCalibration(tuple(_with_metres(cameras, path)))


def _toml_key(name: str) -> str:
    bare = name and all(ch.isalnum() or ch in "_-" for ch in name) and name.isascii()
    return name if bare else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values) -> str:
    return "[ " + ", ".join(_toml_list(v) if np.ndim(v) else repr(float(v)) for v in values) + "]"


def toml_text(rig: RigCalibration, error_px: float = 0.0, comment: str = "") -> str:
    """The Pose2Sim calibration file of ``rig`` (every camera with extrinsics): one table per
    camera (``name``, ``size``, ``matrix``, ``distortions``, ``rotation`` Rodrigues,
    ``translation`` metres, ``fisheye``) and ``[metadata]`` (``adjusted``, ``error``); anipose and
    FreeMoCap read the same layout."""
    import cv2

    lines = [f"# {line}" for line in comment.splitlines()]
    for cam in rig.cameras:
        if not cam.has_extrinsics or cam.size is None:
            raise ValueError(f"camera {cam.name}: a calibration file needs its size and extrinsics")
        rotation = cv2.Rodrigues(np.asarray(cam.rotation, dtype=np.float64))[0].reshape(3)
        lines += [
            f"[{_toml_key(cam.name)}]",
            f'name = "{cam.name}"',
            f"size = {_toml_list(cam.size)}",
            f"matrix = {_toml_list(cam.matrix)}",
            f"distortions = {_toml_list(cam.distortions)}",
            f"rotation = {_toml_list(rotation)}",
            f"translation = {_toml_list(cam.translation)}",
            "fisheye = false",
            "",
        ]
    lines += ["[metadata]", "adjusted = false", f"error = {float(error_px)!r}", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- EasyMocap

EASYMOCAP_INTRI = "intri.yml"
EASYMOCAP_EXTRI = "extri.yml"


def _easymocap_paths(path: Path) -> tuple[Path, Path | None]:
    folder = path if path.is_dir() else path.parent
    intri, extri = folder / EASYMOCAP_INTRI, folder / EASYMOCAP_EXTRI
    if not intri.is_file():
        raise InputError(f"an EasyMocap calibration needs {EASYMOCAP_INTRI} (with {EASYMOCAP_EXTRI} beside it)", folder)
    return intri, extri if extri.is_file() else None


def _file_storage(path: Path):
    import cv2

    try:
        storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as exc:  # SystemError: OpenCV's binding wraps some cv2.errors (an empty file)
        cause = exc.__cause__ or exc
        raise InputError(f"not a readable OpenCV YAML file ({str(cause).strip().splitlines()[-1]})", path) from None
    if not storage.isOpened():
        raise InputError("not a readable OpenCV YAML file", path)
    return storage


def _storage_names(storage, path: Path) -> list[str]:
    node = storage.getNode("names")
    if node.empty() or not node.isSeq():
        raise InputError("has no 'names' list", path)
    names = []
    for i in range(node.size()):
        item = node.at(i)
        names.append(item.string() if item.isString() else str(int(item.real())))
    return names


def _storage_matrix(storage, key: str, path: Path, required: bool = True) -> np.ndarray | None:
    import cv2

    node = storage.getNode(key)
    try:
        matrix = None if node.empty() else node.mat()
    except (cv2.error, SystemError):
        raise InputError(f"{key} is not a readable matrix", path) from None
    if matrix is None and required:
        raise InputError(f"has no {key}", path)
    return None if matrix is None else np.asarray(matrix, dtype=np.float64)


def read_easymocap(path: str | Path) -> RigCalibration:
    """EasyMocap's ``intri.yml`` and ``extri.yml`` (``path``: either file or their folder);
    without ``extri.yml``, intrinsics only."""
    intri_path, extri_path = _easymocap_paths(Path(path))
    intri = _file_storage(intri_path)
    extri = _file_storage(extri_path) if extri_path is not None else None
    cameras = []
    for name in _storage_names(intri, intri_path):
        matrix = _storage_matrix(intri, f"K_{name}", intri_path)
        dist = _storage_matrix(intri, f"dist_{name}", intri_path, required=False)
        if dist is None:
            dist = _storage_matrix(intri, f"D_{name}", intri_path, required=False)
        width, height = intri.getNode(f"W_{name}"), intri.getNode(f"H_{name}")
        size = None if width.empty() or height.empty() else (int(width.real()), int(height.real()))
        rotation = translation = None
        if extri is not None:
            rvec = _storage_matrix(extri, f"R_{name}", extri_path, required=False)
            rmat = _storage_matrix(extri, f"Rot_{name}", extri_path, required=False)
            tvec = _storage_matrix(extri, f"T_{name}", extri_path, required=False)
            if (rvec is None and rmat is None) or tvec is None:
                raise InputError(f"camera {name} has no R_{name}/Rot_{name} and T_{name}", extri_path)
            try:
                rotation = _rotation_matrix(rmat if rmat is not None else rvec, f"R_{name}")
            except ValueError as exc:
                raise InputError(str(exc), extri_path) from None
            translation = tvec.reshape(3)
        camera = CameraCalibration(name, size, matrix, np.zeros(5) if dist is None else dist.reshape(-1), rotation,
                                   translation)
        cameras.append(_checked_camera(camera, intri_path))
    if not cameras:
        raise InputError("lists no cameras", intri_path)
    return RigCalibration(tuple(_with_metres(cameras, extri_path or intri_path)))


def _yaml_matrix(key: str, matrix: np.ndarray) -> list[str]:
    matrix = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
    data = ", ".join(repr(float(v)) for v in matrix.reshape(-1))
    return [f"{key}: !!opencv-matrix", f"  rows: {matrix.shape[0]}", f"  cols: {matrix.shape[1]}", "  dt: d",
            f"  data: [{data}]"]


def easymocap_texts(rig: RigCalibration) -> tuple[str, str]:
    """``(intri.yml, extri.yml)`` of ``rig`` in EasyMocap's layout (OpenCV FileStorage YAML)."""
    import cv2

    head = ["%YAML:1.0", "---", "names:", *[f'  - "{c.name}"' for c in rig.cameras]]
    intri, extri = list(head), list(head)
    for cam in rig.cameras:
        dist = np.zeros(5)
        dist[: min(5, len(cam.distortions))] = cam.distortions[:5]
        intri += _yaml_matrix(f"K_{cam.name}", cam.matrix) + _yaml_matrix(f"dist_{cam.name}", dist[None])
        if cam.size is not None:
            intri += [f"W_{cam.name}: {int(cam.size[0])}", f"H_{cam.name}: {int(cam.size[1])}"]
        if not cam.has_extrinsics:
            raise ValueError(f"camera {cam.name}: no extrinsics to write")
        rvec = cv2.Rodrigues(np.asarray(cam.rotation, dtype=np.float64))[0]
        extri += (_yaml_matrix(f"R_{cam.name}", rvec) + _yaml_matrix(f"Rot_{cam.name}", cam.rotation)
                  + _yaml_matrix(f"T_{cam.name}", np.asarray(cam.translation).reshape(3, 1)))
    return "\n".join(intri) + "\n", "\n".join(extri) + "\n"
