"""2D keypoint detection (MediaPipe Pose -> COCO-17) of every person, cached per frame, and person boxes."""

from core.detect.box import box_to_crop_transform, crop_person, person_box
from core.detect.cache import cache_base_dir, detections_dir
from core.detect.mediapipe_pose import landmarks_to_coco17
from core.detect.people import ImagePeople, PeopleDetector
from core.detect.sequence import SequencePeople, cached_people, detect_people, view_cache_dirs

__all__ = [
    "ImagePeople",
    "PeopleDetector",
    "SequencePeople",
    "box_to_crop_transform",
    "cache_base_dir",
    "cached_people",
    "crop_person",
    "detect_people",
    "detections_dir",
    "landmarks_to_coco17",
    "person_box",
    "view_cache_dirs",
]
