"""2D keypoint detection (MediaPipe Pose -> COCO-17), cached per sequence, and person boxes."""

from core.detect.box import box_to_crop_transform, crop_person, person_box
from core.detect.cache import DETECTIONS_NPZ, default_cache_dir
from core.detect.mediapipe_pose import PoseDetector, landmarks_to_coco17
from core.detect.sequence import cached_detections, detect_sequence, run_detector

__all__ = [
    "DETECTIONS_NPZ",
    "PoseDetector",
    "box_to_crop_transform",
    "cached_detections",
    "crop_person",
    "default_cache_dir",
    "detect_sequence",
    "landmarks_to_coco17",
    "person_box",
    "run_detector",
]
