"""The names of ``cmanet export``'s formats and what each one is for (light: the command line's
``--help`` reads it without loading the exporters)."""

from __future__ import annotations

FORMATS: dict[str, str] = {
    "calib-toml": "the recovered cameras as a Pose2Sim/anipose calibration (static-rig fits)",
    "easymocap": "the recovered cameras as EasyMocap intri.yml + extri.yml (static-rig fits)",
    "trc": "OpenSim markers with Pose2Sim's COCO-17 names, Neck and Hip (Y up, walking along +X)",
    "bvh": "the canonical skeleton's animation (Y up, metres) for Blender, MotionBuilder",
    "obj": "the fused mesh of every frame (Y up, feet on the floor)",
    "ply": "the fused mesh of every frame (Y up, feet on the floor)",
    "glb": "one animated, skinned body (glTF 2.0 binary) for Blender, Unity, Unreal, web viewers",
    "smpl-npz": "SMPL parameters as smplx and AMASS name them (smpl backend only)",
    "csv": "the 17 3D keypoints per frame with a header (world frame, Z up, metres)",
    "openpose-json": "the 2D detections used, as OpenPose JSON (COCO-17 layout) for Pose2Sim or EasyMocap",
    "json": "keypoints, cameras and body parameters as plain JSON",
    "npz": "a copy of result.npz",
}
ALL = "all"
DEFAULT_FORMATS = ("obj", "bvh", "trc", "json")


def parse_formats(text: str) -> tuple[str, ...]:
    """``"trc,bvh"`` -> ("trc", "bvh"); ``all`` -> every format; ValueError naming an unknown one."""
    names = [f.strip() for f in text.split(",") if f.strip()]
    if ALL in names:
        return tuple(FORMATS)
    unknown = [f for f in names if f not in FORMATS]
    if unknown or not names:
        raise ValueError(f"unknown format {','.join(unknown) or '(none)'} (choose from {','.join(FORMATS)},{ALL})")
    return tuple(dict.fromkeys(names))
