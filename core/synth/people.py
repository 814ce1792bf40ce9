"""Synthetic scenes of several people who cross and hide each other, seen by one random rig.

Each person gets a random body and motion (as :func:`core.synth.sequence.generate_sequence`
makes them) and a path across the scene: the paths are lines through its centre at spread-out
angles, walked in opposite directions over the sequence, so the people pass each other
mid-sequence and, from some cameras, one hides the other. A joint hidden behind another person
counts as occluded (low confidence, more noise, sometimes missing); a person with most of their
joints hidden or out of the image is not detected in that image at all.

``keypoints.npz`` then holds every person of every image in no particular order,
``keypoints2d`` (F, V, P, 17, 3) (an undetected person is zeros), as a multi-person detector
gives them. ``gt.npz`` keeps the single-person keys for person 0 and adds, per person (P first):
``people_joints3d`` (P, F, 17, 3), ``people_global_orient``, ``people_body_pose``,
``people_shape``, ``people_transl``, ``people_keypoints2d`` (P, F, V, 17, 3) (the same detections
in person order) and ``people_keypoints2d_alone`` (the detections each person would get alone in
the scene, the same noise without the others: the single-person reference on the same rig).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from core.body import load_body_model
from core.synth.detections import DetectionFaults, occlusion_by, simulate_detections
from core.synth.motion import generate_motion
from core.synth.rig import RIG_RANGES, RigRanges, random_rig
from core.synth.sequence import _FRAMING_STRIDE, SyntheticSequence, posed_on_floor, random_shape

MAX_PEOPLE = 4
# Half the length of each person's path across the scene (metres), and the largest sideways
# offset of a path from the scene centre.
PATH_HALF_LENGTH_M = 1.2
PATH_OFFSET_M = 0.3
# A person with at least this share of joints hidden, missing or outside the image is not detected.
UNDETECTED_SHARE = 0.6


def _paths(people: int, frames: int, rng: np.random.Generator) -> np.ndarray:
    """(P, F, 2) planar offsets: lines through the centre at spread-out angles, walked in turn
    forwards and backwards, so that everybody meets mid-sequence."""
    start_angle = rng.uniform(0.0, np.pi)
    progress = np.linspace(-1.0, 1.0, frames) if frames > 1 else np.zeros(1)
    out = np.zeros((people, frames, 2))
    for p in range(people):
        angle = start_angle + p * np.pi / people + rng.normal(0.0, 0.1)
        direction = np.array([np.cos(angle), np.sin(angle)]) * (1 if p % 2 == 0 else -1)
        side = np.array([-direction[1], direction[0]]) * rng.uniform(-PATH_OFFSET_M, PATH_OFFSET_M)
        out[p] = side + progress[:, None] * PATH_HALF_LENGTH_M * direction
    return out


def generate_people_sequence(
    people: int = 2,
    views: int = 4,
    frames: int = 30,
    seed: int = 0,
    fps: float = 30.0,
    noise_px: float = 4.0,
    faults: DetectionFaults | None = None,
    image_size: tuple[int, int] | None = None,
    body_model=None,
    rig_ranges: RigRanges | str | None = None,
) -> SyntheticSequence:
    """A synthetic sequence of ``people`` people (see the module doc); the same arguments give the
    same sequence. Its single-person fields are person 0's; ``people`` and
    ``keypoints2d_people`` hold everybody. ``rig_ranges``: the cameras' world (as
    :func:`core.synth.sequence.generate_sequence`)."""
    if not 2 <= people <= MAX_PEOPLE:
        raise ValueError(f"people must be between 2 and {MAX_PEOPLE}, got {people}")
    if body_model is None:
        body_model = load_body_model()
    streams = np.random.SeedSequence([seed, people]).spawn(3 + 2 * people)
    rng_rig, rng_path, rng_order = (np.random.default_rng(s) for s in streams[:3])
    person_rngs = [np.random.default_rng(s) for s in streams[3:]]

    shapes, motions, joints, vertices, transl = [], [], [], [], []
    paths = _paths(people, frames, rng_path)
    for p in range(people):
        rng_body, rng_motion = person_rngs[2 * p], person_rngs[2 * p + 1]
        shape = random_shape(rng_body)
        motion = generate_motion(frames, fps, rng_motion)
        # The person's own wandering is centred and replaced by their path across the scene.
        shift = np.zeros((frames, 3))
        shift[:, :2] = paths[p] - motion.transl[:, :2].mean(axis=0)
        motion = dataclasses.replace(motion, transl=motion.transl + shift)
        j, vtx, t = posed_on_floor(body_model, motion, shape)
        shapes.append(shape), motions.append(motion), joints.append(j), vertices.append(vtx), transl.append(t)
    joints = np.stack(joints)  # (P, F, 17, 3)

    framing = np.concatenate([joints.reshape(-1, 3)] + [v[:, ::_FRAMING_STRIDE].reshape(-1, 3) for v in vertices])
    if isinstance(rig_ranges, str):
        rig_ranges = RIG_RANGES[rig_ranges]
    rig = random_rig(views, rng_rig, framing, image_size=image_size, ranges=rig_ranges)
    faults = dataclasses.replace(faults or DetectionFaults(), noise_px=float(noise_px))
    cam = np.einsum("vij,pfkj->pfvki", rig.rotation, joints) + rig.translation[None, None, :, None, :]
    detected, alone, pixels_all = [], [], []
    for p in range(people):
        pixels, _ = rig.project(joints[p])  # (F, V, 17, 2)
        hidden = np.zeros(cam.shape[1:4], dtype=bool)
        for q in range(people):
            if q != p:
                hidden |= occlusion_by(cam[p], cam[q])
        seed_p = np.random.SeedSequence([seed, people, 1000 + p])
        with_others = simulate_detections(cam[p], pixels, rig.image_size, np.random.default_rng(seed_p), faults, hidden,
                                          focal=rig.focal)
        by_itself = simulate_detections(cam[p], pixels, rig.image_size, np.random.default_rng(seed_p), faults,
                                        focal=rig.focal)
        unseen = (with_others.occluded | with_others.out_of_frame | with_others.missing).mean(-1) >= UNDETECTED_SHARE
        keypoints = np.where(unseen[..., None, None], 0.0, with_others.keypoints).astype(np.float32)
        detected.append(keypoints), alone.append(by_itself.keypoints), pixels_all.append(pixels)
        if p == 0:
            first = with_others
    detected = np.stack(detected)  # (P, F, V, 17, 3)

    # The detector's order: people shuffled in every image.
    order = np.argsort(rng_order.random((frames, views, people)), axis=-1)
    per_image = np.take_along_axis(detected.transpose(1, 2, 0, 3, 4), order[..., None, None], axis=2)

    clean = np.concatenate([pixels_all[0], np.ones(pixels_all[0].shape[:-1] + (1,))], axis=-1)
    return SyntheticSequence(
        seed=int(seed), fps=float(fps), view_names=rig.names, image_size=rig.image_size, cam_R=rig.rotation,
        cam_t=rig.translation, cam_f=rig.focal, cam_c=rig.principal, joints3d=joints[0],
        global_orient=motions[0].global_orient, body_pose=motions[0].body_pose, shape=shapes[0], transl=transl[0],
        keypoints2d_clean=clean, keypoints2d=detected[0], detections=first, vertices=None, faces=None,
        clips=motions[0].clips,
        people={
            "people_joints3d": joints.astype(np.float32),
            "people_global_orient": np.stack([m.global_orient for m in motions]).astype(np.float32),
            "people_body_pose": np.stack([m.body_pose for m in motions]).astype(np.float32),
            "people_shape": np.stack(shapes).astype(np.float32),
            "people_transl": np.stack(transl).astype(np.float32),
            "people_keypoints2d": detected,
            "people_keypoints2d_alone": np.stack(alone).astype(np.float32),
        },
        keypoints2d_people=per_image.astype(np.float32),
    )
