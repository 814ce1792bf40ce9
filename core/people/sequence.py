"""The people of a sequence: detected (or given, or cached) and put together into a :class:`Scene`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.detect.people import ImagePeople
from core.detect.sequence import SequencePeople, cached_people, detect_people
from core.io.sequence import MultiViewSequence
from core.people.association import Scene, associate


def scene_from_people(people: SequencePeople, image_sizes) -> Scene:
    """Who is who among ``people`` (see :func:`core.people.association.associate`)."""
    return associate(people.keypoints, people.present, people.boxes, image_sizes)


def sequence_scene(
    seq: MultiViewSequence,
    model_complexity: int = 1,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = True,
    force: bool = False,
    cache_root: str | Path | None = None,
    on_image: Callable[[int, int, ImagePeople], None] | None = None,
) -> Scene:
    """Every person of ``seq`` (given, cached or detected: :func:`core.detect.detect_people`, whose
    ``on_image`` sees each image as it is detected) and who is who; ``scene.keypoints_of(0)`` are
    the main person's (F, V, 17, 3) keypoints."""
    people = detect_people(seq, model_complexity, progress, should_cancel, show_progress_bar, force, cache_root,
                           on_image)
    return scene_from_people(people, seq.image_sizes)


def cached_scene(seq: MultiViewSequence, model_complexity: int = 1, cache_root: str | Path | None = None) -> Scene | None:
    """The scene of ``seq`` from given or cached detections only (None until every image has been
    detected)."""
    people = cached_people(seq, model_complexity, cache_root)
    return None if people is None else scene_from_people(people, seq.image_sizes)
