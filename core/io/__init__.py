"""Multi-view sequences (videos or image folders), their description files, and atomic writes."""

from core.io.atomic import (
    atomic_open,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_npz,
    atomic_write_npz_compressed,
    atomic_write_text,
)
from core.io.sequence import CameraInfo, MultiViewSequence
from core.io.sequence_config import CameraConfig, SequenceConfig, load_sequence_config

__all__ = [
    "CameraConfig",
    "CameraInfo",
    "MultiViewSequence",
    "SequenceConfig",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_npz",
    "atomic_write_npz_compressed",
    "atomic_write_text",
    "load_sequence_config",
]
