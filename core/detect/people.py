"""Every person in an image: MediaPipe's pose detector and landmark model, driven person by person.

The ``mediapipe`` wheel ships the legacy one-person graph's models only (``pose_detection.tflite``
and ``pose_landmark_full.tflite``) and its subgraphs, compiled in. The legacy ``Pose`` solution
keeps the first of the pose detector's boxes; the detector itself returns every box it finds
(``PoseDetectionCpu`` ends in a non-max suppression without a count limit). Two small graphs
built from those subgraphs drive it for several people:

* *detect*: image -> every pose detection -> its region of interest (``PoseDetectionToRoi``);
* *landmarks*: image + one region -> the 33 landmarks (``PoseLandmarkByRoiCpu``) and the region
  that follows that person into the next frame (``PoseLandmarksToRoi``).

The detector misses people it sees small or half hidden behind someone it has found (its boxes
come from faces, and its input is 224 px), so each image is searched in rounds: the bodies found
so far are painted grey and the detector runs again. With ``tracking`` the people of the
previous image are followed by their regions first (as the legacy graph follows its one person),
which finds people the detector misses (seen from behind, partly hidden); where the detector, on
the whole image, finds one of them again, its region wins (a followed region can drift).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.detect.box import person_box
from core.detect.mediapipe_pose import import_mediapipe, ensure_model, landmarks_to_coco17
from core.keypoints import COCO17_EDGES, COCO17_NAMES, NUM_KEYPOINTS

# A region of interest: centre x, centre y, width, height (normalized to the image), rotation (rad).
ROI_SIZE = 5
# The search stops after this many detector rounds (each masks the people found before).
MAX_ROUNDS = 3
GREY = (127, 127, 127)
# A followed region moves fully once its centre moves this share of its size; a still one takes
# this share of each new region.
STEADY_SHIFT = 0.1
STEADY_MIN_WEIGHT = 0.2
# A pose whose box lies this much within another person's box is a ghost of that person.
GHOST_INSIDE = 0.8
TORSO = tuple(COCO17_NAMES.index(n) for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip"))

_DETECT_GRAPH = r"""
input_stream: "image"
output_stream: "detections"
output_stream: "rois"
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE_CPU:image" output_stream: "SIZE:image_size" }
node { calculator: "PoseDetectionCpu" input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }
node {
  calculator: "BeginLoopDetectionCalculator"
  input_stream: "ITERABLE:detections"
  input_stream: "CLONE:image_size"
  output_stream: "ITEM:detection"
  output_stream: "CLONE:loop_image_size"
  output_stream: "BATCH_END:loop_end"
}
node {
  calculator: "PoseDetectionToRoi"
  input_stream: "DETECTION:detection"
  input_stream: "IMAGE_SIZE:loop_image_size"
  output_stream: "ROI:roi"
}
node {
  calculator: "EndLoopNormalizedRectCalculator"
  input_stream: "ITEM:roi"
  input_stream: "BATCH_END:loop_end"
  output_stream: "ITERABLE:rois"
}
"""

_LANDMARK_GRAPH = r"""
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
output_stream: "next_roi"
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE_CPU:image" output_stream: "SIZE:image_size" }
node {
  calculator: "ConstantSidePacketCalculator"
  output_side_packet: "PACKET:model_complexity"
  options: { [mediapipe.ConstantSidePacketCalculatorOptions.ext]: { packet { int_value: COMPLEXITY_VALUE } } }
}
node {
  calculator: "PoseLandmarkByRoiCpu"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  output_stream: "LANDMARKS:landmarks"
  output_stream: "AUXILIARY_LANDMARKS:auxiliary_landmarks"
}
node {
  calculator: "PoseLandmarksToRoi"
  input_stream: "LANDMARKS:auxiliary_landmarks"
  input_stream: "IMAGE_SIZE:image_size"
  output_stream: "ROI:next_roi"
}
"""


@dataclass
class ImagePeople:
    """The people found in one image (P of them, strongest first).

    keypoints: (P, 17, 3) float32 x, y (pixels), confidence; boxes: (P, 4) float32 x0, y0, x1, y1
    (pixels, around the confident joints); scores: (P,) float32 mean joint confidence;
    rois: (P, 5) float32 the region that follows each person into the next frame (see ROI_SIZE).
    """

    keypoints: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    rois: np.ndarray

    @classmethod
    def empty(cls) -> ImagePeople:
        return cls(np.zeros((0, NUM_KEYPOINTS, 3), np.float32), np.zeros((0, 4), np.float32),
                   np.zeros(0, np.float32), np.zeros((0, ROI_SIZE), np.float32))

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])


def same_person(a: np.ndarray, b: np.ndarray, conf_threshold: float = 0.3, tolerance: float = 0.1) -> bool:
    """Whether two (17, 3) keypoint sets are one person: their confident joints lie within
    ``tolerance`` of the smaller one's box size of each other (median over the joints)."""
    both = (a[:, 2] > conf_threshold) & (b[:, 2] > conf_threshold)
    if both.sum() < 3:
        return False
    size = min(_extent(a, conf_threshold), _extent(b, conf_threshold))
    distance = np.linalg.norm(a[both, :2] - b[both, :2], axis=-1)
    return bool(np.median(distance) < tolerance * max(size, 1.0))


def _extent(keypoints: np.ndarray, conf_threshold: float) -> float:
    confident = keypoints[keypoints[:, 2] > conf_threshold, :2]
    if len(confident) < 2:
        return 0.0
    return float(np.linalg.norm(confident.max(0) - confident.min(0)))


def _inside(box: np.ndarray, other: np.ndarray) -> float:
    """Share of ``box``'s area (x0, y0, x1, y1) that lies inside ``other``."""
    low, high = np.maximum(box[:2], other[:2]), np.minimum(box[2:], other[2:])
    area = float(np.prod(np.maximum(box[2:] - box[:2], 0.0)))
    return float(np.prod(np.maximum(high - low, 0.0))) / area if area > 0 else 1.0


def steady_roi(previous: np.ndarray, new: np.ndarray, aspect: float) -> np.ndarray:
    """The region that follows a person into the next frame: the new one where the person moved,
    mostly the previous one where they hardly did (as MediaPipe's legacy graph steadies its
    region, so that the crops of a still person, and their joints, do not jitter)."""
    shift = np.hypot((new[0] - previous[0]) * aspect, new[1] - previous[1])
    size = max(float(previous[3]), 1e-6)  # the region's height, in image heights
    weight = float(np.clip(shift / (STEADY_SHIFT * size), STEADY_MIN_WEIGHT, 1.0))
    out = previous + weight * (new - previous)
    out[4] = previous[4] + weight * np.arctan2(np.sin(new[4] - previous[4]), np.cos(new[4] - previous[4]))
    return out.astype(np.float32)


def _rect_to_array(rect) -> np.ndarray:
    return np.array([rect.x_center, rect.y_center, rect.width, rect.height, rect.rotation], dtype=np.float32)


class PeopleDetector:
    """Every person in RGB uint8 images ``(H, W, 3)``: call it to get an :class:`ImagePeople`.

    With ``tracking=True`` consecutive calls are frames of one video: the people of the previous
    call are followed into this one before the detector looks for new ones. :meth:`follow` sets
    the people to follow (for instance those of a cached previous frame). Use one detector per
    camera; close it (or use ``with``) to free the graphs.
    """

    def __init__(self, model_complexity: int = 1, tracking: bool = False, min_detection_score: float = 0.5,
                 min_person_score: float = 0.3, max_people: int = 6):
        ensure_model(model_complexity)
        import_mediapipe()
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.python.solution_base import SolutionBase

        def graph(text: str):
            return SolutionBase(graph_config=text_format.Parse(text, calculator_pb2.CalculatorGraphConfig()))

        self.model_complexity = model_complexity
        self.tracking = tracking
        self.min_detection_score = min_detection_score
        self.min_person_score = min_person_score
        self.max_people = max_people
        self._detect = graph(_DETECT_GRAPH)
        self._landmarks = graph(_LANDMARK_GRAPH.replace("COMPLEXITY_VALUE", str(int(model_complexity))))
        self._follow = np.zeros((0, ROI_SIZE), np.float32)

    def follow(self, rois: np.ndarray) -> None:
        """Follow the people of these (P, 5) regions in the next call (tracking only)."""
        self._follow = np.asarray(rois, dtype=np.float32).reshape(-1, ROI_SIZE)

    def __call__(self, image: np.ndarray) -> ImagePeople:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        image = np.ascontiguousarray(image)
        found: list[tuple[np.ndarray, np.ndarray]] = []  # (keypoints (17, 3), next roi (5,))
        if self.tracking:
            for roi in self._follow:
                self._add(found, *self._person(image, roi))
        # The detector on the whole image first: where it finds someone already followed, its
        # region replaces the followed one (a followed region can drift into a wrong pose).
        tracked = len(found)
        for roi in self._detections(image):
            self._add(found, *self._person(image, roi), replace=tracked > 0)
        for _ in range(MAX_ROUNDS - 1):
            if not found or len(found) >= self.max_people:
                break
            masked = self._mask(image, [k for k, _ in found])
            before = len(found)
            for roi in self._detections(masked):
                self._add(found, *self._person(image, roi))
            if len(found) == before:
                break
        people = self._pack(found)
        self._follow = people.rois if self.tracking else self._follow
        return people

    # ------------------------------------------------------------------ steps

    def _detections(self, image: np.ndarray) -> list[np.ndarray]:
        out = self._detect.process(image)
        detections, rects = out.detections or [], out.rois or []
        return [_rect_to_array(rect) for det, rect in zip(detections, rects)
                if det.score and det.score[0] >= self.min_detection_score and rect.width > 0 and rect.height > 0]

    def _person(self, image: np.ndarray, roi: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        from mediapipe.framework.formats import rect_pb2

        rect = rect_pb2.NormalizedRect(x_center=float(roi[0]), y_center=float(roi[1]), width=float(roi[2]),
                                       height=float(roi[3]), rotation=float(roi[4]))
        out = self._landmarks.process({"image": image, "roi": rect})
        if out.landmarks is None:
            return None, None
        height, width = image.shape[:2]
        keypoints = landmarks_to_coco17(out.landmarks.landmark, width, height)
        next_roi = _rect_to_array(out.next_roi) if out.next_roi is not None else roi
        return keypoints, steady_roi(roi, next_roi, width / height)

    def _add(self, found: list, keypoints: np.ndarray | None, roi: np.ndarray | None, replace: bool = False) -> None:
        """Keep a new person unless weak, already found (then the stronger of the two stays; with
        ``replace``, the found one if the two agree, else the new one), or a ghost: a pose whose box lies within a found person's
        box (the landmark model, given a region on someone's leftover limbs, makes a second body
        out of them); the ghost is whichever of the two boxes lies within the other."""
        if keypoints is None or keypoints[:, 2].mean() < self.min_person_score:
            return
        box = person_box(keypoints, padding=0.0, square=False)
        for i, (other, _) in enumerate(found):
            other_box = person_box(other, padding=0.0, square=False)
            new_inside, other_inside = _inside(box, other_box), _inside(other_box, box)
            if replace and same_person(keypoints, other):
                return  # the followed person, where the detector sees them too: keep the steadier one
            if replace and (new_inside > GHOST_INSIDE or other_inside > GHOST_INSIDE):
                found[i] = (keypoints, roi)  # the followed region drifted into another pose
                return
            if same_person(keypoints, other) or (new_inside > GHOST_INSIDE and other_inside > GHOST_INSIDE):
                if keypoints[:, 2].mean() > other[:, 2].mean():
                    found[i] = (keypoints, roi)
                return
            if new_inside > GHOST_INSIDE:
                return
            if other_inside > GHOST_INSIDE:
                found[i] = (keypoints, roi)
                return
        found.append((keypoints, roi))

    @staticmethod
    def _mask(image: np.ndarray, people: list[np.ndarray]) -> np.ndarray:
        """A copy of ``image`` with each person's body painted grey (torso, thick limbs, head), so
        that the detector looks for someone else while a person standing behind stays visible."""
        masked = image.copy()
        for keypoints in people:
            confident = keypoints[:, 2] > 0.3
            x0, y0, x1, y1 = person_box(keypoints, padding=0.0, square=False)
            size = float(np.hypot(x1 - x0, y1 - y0))
            if size <= 0:
                continue
            thickness = max(4, int(0.1 * size))
            points = np.round(keypoints[:, :2]).astype(np.int32)
            torso = [k for k in TORSO if confident[k]]
            if len(torso) >= 3:
                cv2.fillPoly(masked, [points[torso]], GREY)
            for a, b in COCO17_EDGES:
                if confident[a] and confident[b]:
                    cv2.line(masked, tuple(map(int, points[a])), tuple(map(int, points[b])), GREY, thickness)
            head = [k for k in range(5) if confident[k]]
            if head:
                centre = points[head].mean(0).astype(int)
                cv2.circle(masked, (int(centre[0]), int(centre[1])), max(4, int(0.08 * size)), GREY, -1)
        return masked

    def _pack(self, found: list) -> ImagePeople:
        if not found:
            return ImagePeople.empty()
        found = sorted(found, key=lambda p: -float(p[0][:, 2].mean()))[: self.max_people]
        keypoints = np.stack([k for k, _ in found]).astype(np.float32)
        return ImagePeople(keypoints, person_box(keypoints, padding=0.1, square=False),
                           keypoints[..., 2].mean(-1).astype(np.float32), np.stack([r for _, r in found]).astype(np.float32))

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        for graph in (self._detect, self._landmarks):
            if graph is not None:
                graph.close()
        self._detect = self._landmarks = None

    def __enter__(self) -> PeopleDetector:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
