"""Where a sequence folder keeps each camera's frames.

Four layouts, one per sequence: videos under ``videos/``, image folders under ``images/``, videos
directly in the folder, image folders directly in the folder. A camera's name is its video's stem
or its image folder's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import InputError
from core.io.image_folder import check_link, list_images, natural_key
from core.io.video import VIDEO_EXTENSIONS, is_video_file

VIDEOS_DIR = "videos"
IMAGES_DIR = "images"


@dataclass(frozen=True)
class ViewLocation:
    """Where one camera's frames are: a video file or a folder of images."""

    name: str
    kind: Literal["video", "images"]
    path: Path


@dataclass(frozen=True)
class Layout:
    """One way of storing the cameras, and the cameras found stored that way."""

    description: str  # for messages, e.g. "videos under videos/"
    views: tuple[ViewLocation, ...]


def _videos_in(folder: Path, description: str) -> Layout:
    views: dict[str, ViewLocation] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in VIDEO_EXTENSIONS and not path.name.startswith("."):
                check_link(path)
            if not is_video_file(path):
                continue
            if path.stem in views:
                raise InputError(
                    f"two videos for camera {path.stem!r}: {views[path.stem].path.name} and {path.name}", folder
                )
            views[path.stem] = ViewLocation(path.stem, "video", path)
    return Layout(description, tuple(views[n] for n in sorted(views, key=natural_key)))


def _image_folders_in(folder: Path, description: str, skip: tuple[str, ...] = ()) -> Layout:
    views = []
    if folder.is_dir():
        for path in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
            if path.name.startswith(".") or path.name in skip or not path.is_dir():
                continue
            if list_images(path):
                views.append(ViewLocation(path.name, "images", path))
    return Layout(description, tuple(views))


def find_layouts(root: Path) -> list[Layout]:
    """Every layout that holds at least one camera, most specific first."""
    layouts = [
        _videos_in(root / VIDEOS_DIR, f"videos under {VIDEOS_DIR}/"),
        _image_folders_in(root / IMAGES_DIR, f"image folders under {IMAGES_DIR}/"),
        _videos_in(root, "videos"),
        _image_folders_in(root, "image folders", skip=(VIDEOS_DIR, IMAGES_DIR)),
    ]
    return [layout for layout in layouts if layout.views]


def _describe(layout: Layout) -> str:
    names = ", ".join(v.name for v in layout.views[:4]) + (", ..." if len(layout.views) > 4 else "")
    return f"{layout.description} ({names})"


def find_views(root: Path, camera_names: list[str] | None = None, where: Path | None = None) -> list[ViewLocation]:
    """The cameras' frame locations, in view order.

    Without ``camera_names`` the cameras are whatever the one layout present holds, in natural
    name order. With ``camera_names`` (from ``sequence.yaml``, named by ``where`` in messages)
    each name is looked up in every layout, and the layouts used must hold no other camera.
    Returns an empty list when the folder holds no frames at all (a keypoints-only sequence).
    """
    layouts = find_layouts(root)
    if camera_names is None:
        if len(layouts) > 1:
            raise InputError(
                f"found both {_describe(layouts[0])} and {_describe(layouts[1])}; keep one layout or list the "
                f"cameras in {where.name if where else 'sequence.yaml'}",
                root,
            )
        return list(layouts[0].views) if layouts else []

    if not layouts:
        return []
    found: dict[str, list[tuple[Layout, ViewLocation]]] = {}
    for layout in layouts:
        for view in layout.views:
            found.setdefault(view.name, []).append((layout, view))
    missing = [n for n in camera_names if n not in found]
    if missing:
        exts = "|".join(e.lstrip(".") for e in VIDEO_EXTENSIONS[:3]) + "|..."
        n = missing[0]
        raise InputError(
            f"camera {n!r} listed in sequence.yaml has no frames (looked for {n}.{{{exts}}}, {VIDEOS_DIR}/{n}.*, "
            f"{n}/, {IMAGES_DIR}/{n}/; found cameras: {', '.join(sorted(found, key=natural_key))})",
            where or root,
        )
    chosen = []
    used_layouts: list[Layout] = []
    for name in camera_names:
        candidates = found[name]
        if len(candidates) > 1:
            places = " and ".join(str(v.path.relative_to(root)) for _, v in candidates)
            raise InputError(f"camera {name!r} has frames in two places: {places}", root)
        layout, view = candidates[0]
        chosen.append(view)
        if layout not in used_layouts:
            used_layouts.append(layout)
    listed = set(camera_names)
    extra = [v for layout in used_layouts for v in layout.views if v.name not in listed]
    if extra:
        listing = ", ".join(f"{v.name!r} ({v.path.relative_to(root)})" for v in extra)
        raise InputError(
            f"the folder has camera{'s' if len(extra) > 1 else ''} {listing} that sequence.yaml does not list "
            f"(it lists {', '.join(camera_names)}); list every camera or move {'them' if len(extra) > 1 else 'it'} away",
            where or root,
        )
    return chosen
