"""Exports, read back by independent parsers: BVH and TRC (small readers in tests/_interop_readers),
OBJ/PLY and glTF (trimesh, and a glTF skinning reader), SMPL parameters (smplx itself), CSV, and
the command line (formats, ``all``, refusals)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from _interop_readers import (
    bvh_positions,
    glb_skinned_vertices,
    read_bvh,
    read_glb,
    read_trc,
)

from core.body import BodyModelConfig, load_body_model
from core.body.smpl_standin import write_smpl_standin
from core.io.export import export_result
from core.io.export_axes import Z_UP_TO_Y_UP
from core.io.export_skeleton import bvh_text
from core.io.results import FitResult
from core.keypoints import COCO17_NAMES


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def make_result(body, frames=4, views=2, seed=0, fps=30.0, frame_indices=None, walk=None, spread=0.3) -> FitResult:
    """A result built from known body parameters (no fitting), cameras looking at the origin.

    walk: (3,) metres per frame of translation (an upright body walking); else random poses."""
    gen = torch.Generator().manual_seed(seed)
    orient = torch.randn(frames, 3, generator=gen) * 0.4
    pose = torch.randn(frames, body.num_pose_joints, 3, generator=gen) * spread
    transl = torch.randn(frames, 3, generator=gen)
    if walk is not None:
        orient = torch.zeros(frames, 3)
        pose = pose * 0.3
        transl = torch.arange(frames, dtype=torch.float32)[:, None] * torch.tensor(walk, dtype=torch.float32)
    shape = body.mean_shape()[None].expand(frames, -1).clone()
    with torch.no_grad():
        joints = body(orient, pose, shape, transl, vertices=False).keypoints.numpy()
    J, S = body.num_pose_joints, body.shape_dim
    z = lambda *s: np.zeros(s, dtype=np.float32)  # noqa: E731
    cam_R = np.broadcast_to(np.eye(3, dtype=np.float32), (frames, views, 3, 3)).copy()
    return FitResult(
        keypoint_names=np.array(COCO17_NAMES), view_names=np.array([f"cam{v}" for v in range(views)]),
        frame_indices=np.arange(frames) if frame_indices is None else np.asarray(frame_indices),
        joints3d=joints, cam_R=cam_R, cam_t=z(frames, views, 3) + [0, 0, 4],
        cam_f=z(frames, views) + 1000, cam_c=z(frames, views, 2) + 500,
        global_orient=orient.numpy(), transl=transl.numpy(), body_pose=pose.numpy(), shape=shape.numpy(),
        irv_joints3d=z(frames, views, 17, 3), irv_global_orient=z(frames, views, 3), irv_transl=z(frames, views, 3),
        irv_body_pose=z(frames, views, J, 3), irv_shape=z(frames, views, S), irv_reproj_px=z(frames, views),
        iev_reproj_px=z(frames, views), keypoints2d=z(frames, views, 17, 3), image_sizes=np.array([[1000, 1000]] * views),
        fps=fps, body_model=body.name, pose_joint_names=np.array(body.pose_joint_names), mode="optimize",
        irv_cam_f=z(frames, views) + 1000,
    )


def cli(*args):
    return subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)], capture_output=True, text=True)


def test_bvh_reproduces_anny_joints(body):
    result = make_result(body)
    bvh = read_bvh(bvh_text(result, body))
    canonical = ["root", *body.pose_joint_names]
    assert sorted(bvh["names"]) == sorted(canonical)
    positions = bvh_positions(bvh) @ Z_UP_TO_Y_UP  # back to Z up
    positions = positions[:, [bvh["names"].index(n) for n in canonical]]
    with torch.no_grad():  # Anny's own posed bone positions for the same parameters
        pose = body.bone_transforms(torch.as_tensor(result.global_orient), torch.as_tensor(result.body_pose),
                                    torch.as_tensor(result.transl))
        bones = body.full_model(pose_parameters=pose, phenotype_kwargs=torch.as_tensor(result.shape))["bone_poses"][..., :3, 3]
    expected = bones[:, [0] + body.pose_bone_idx.tolist()].numpy()
    assert np.abs(positions - expected).max() < 1e-4


def test_bvh_end_sites_point_along_their_bones_and_frame_time_is_exact(body):
    result = make_result(body, frames=3, fps=60.0, frame_indices=[10, 12, 14])
    bvh = read_bvh(bvh_text(result, body))
    leaves = [n for j, n in enumerate(bvh["names"]) if j not in bvh["parents"]]
    assert sorted(bvh["ends"]) == sorted(leaves) and len(leaves) == 5  # head, wrists, ankles
    for name in leaves:
        end, bone = np.array(bvh["ends"][name]), bvh["offsets"][bvh["names"].index(name)]
        assert np.linalg.norm(end) > 0.02
        assert np.dot(end, bone) / (np.linalg.norm(end) * np.linalg.norm(bone)) > 0.999
    assert float(bvh["frame_time"]) == 2 / 60.0 and bvh["frame_time"] == repr(2 / 60.0)
    # Y up: the upright body's head is above its root
    upright = read_bvh(bvh_text(make_result(body, frames=2, walk=(0.0, 0.2, 0.0)), body))
    pos = bvh_positions(upright)
    assert pos[0, upright["names"].index("head"), 1] - pos[0, 0, 1] > 0.4


def test_trc_uses_pose2sim_names_opensim_axes_and_the_walking_heading(body):
    # walking forwards (Anny faces -Y at rest) at 0.3 m per sample; 60 fps source, every second frame from 10
    result = make_result(body, frames=6, fps=60.0, frame_indices=np.arange(10, 22, 2), walk=(0.0, -0.3, 0.0))
    trc = read_trc(__import__("core.io.export_markers", fromlist=["trc_text"]).trc_text(result))
    expected = ["Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist",
                "RWrist", "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle", "Neck", "Hip"]
    assert trc["names"] == expected
    header = trc["header"]
    assert float(header["DataRate"]) == 30 and float(header["CameraRate"]) == 30 and header["Units"] == "m"
    assert int(header["OrigDataStartFrame"]) == 10 and int(header["NumFrames"]) == 6 and int(header["NumMarkers"]) == 19
    assert trc["frames"].tolist() == list(range(10, 22, 2))
    assert np.allclose(trc["times"], np.arange(10, 22, 2) / 60.0, atol=1e-6) and trc["time_text"][1] == "0.200000"
    p, names = trc["points"], trc["names"]
    assert np.allclose(p[:, names.index("Neck")], 0.5 * (p[:, names.index("LShoulder")] + p[:, names.index("RShoulder")]), atol=1e-5)
    hip = p[:, names.index("Hip")]
    assert hip[-1, 0] - hip[0, 0] == pytest.approx(1.5, abs=0.01)  # walks along +X
    assert abs(hip[-1, 2] - hip[0, 2]) < 0.01
    assert np.allclose(p[:, :17, 1], result.joints3d[..., 2], atol=1e-5)  # Y up is the world's Z
    # OpenSim's Z points to the walker's right: the right shoulder has the larger Z
    assert (p[:, names.index("RShoulder"), 2] > p[:, names.index("LShoulder"), 2]).all()


def test_csv_has_a_header_and_the_keypoints(body, tmp_path):
    result = make_result(body, frames=3)
    result.save(tmp_path / "res")
    assert cli("export", tmp_path / "res", "--format", "csv", "--out", tmp_path / "exp").returncode == 0
    lines = (tmp_path / "exp" / "keypoints3d.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:5] == ["frame", "time_s", "nose_x", "nose_y", "nose_z"] and len(header) == 2 + 51
    values = np.array([line.split(",") for line in lines[1:]], dtype=float)
    assert np.allclose(values[:, 2:].reshape(3, 17, 3), result.joints3d, atol=1e-5)


def test_meshes_are_open3d_files_y_up_with_the_feet_on_the_floor(body, tmp_path):
    import trimesh

    result = make_result(body, frames=3, walk=(0.0, 0.2, 0.0))
    result.save(tmp_path / "res")
    export_result(tmp_path / "res", tmp_path / "exp", ("obj", "ply"), body)
    objs, plys = sorted((tmp_path / "exp" / "meshes").glob("*.obj")), sorted((tmp_path / "exp" / "meshes").glob("*.ply"))
    assert len(objs) == len(plys) == 3
    assert "vn " in objs[0].read_text()[:5000] and b" nx\n" in plys[0].read_bytes()[:1000]
    lowest = []
    for obj, ply in zip(objs, plys):
        a = trimesh.load(obj, process=False, force="mesh").vertices
        b = trimesh.load(ply, process=False, force="mesh").vertices
        assert a.shape == (13718, 3) and np.allclose(a, b, atol=1e-4)
        extent = a.max(0) - a.min(0)
        assert 1.4 < extent[1] < 2.1 and extent[1] > 2 * extent[2]  # standing along Y
        lowest.append(a[:, 1].min())
    assert abs(np.median(lowest)) < 1e-4


def test_glb_is_one_skinned_animated_body_matching_the_meshes(body, tmp_path):
    import trimesh

    result = make_result(body, frames=4, fps=50.0, walk=(0.1, 0.0, 0.0))
    result.save(tmp_path / "res")
    export_result(tmp_path / "res", tmp_path / "exp", ("glb", "obj"), body)
    data = (tmp_path / "exp" / "body.glb").read_bytes()
    gltf, binary = read_glb(data)
    assert gltf["asset"]["version"] == "2.0" and len(gltf["skins"][0]["joints"]) == 1 + body.num_pose_joints
    names = [gltf["nodes"][j]["name"] for j in gltf["skins"][0]["joints"]]
    assert names == ["root", *body.pose_joint_names]
    time_acc = gltf["accessors"][gltf["animations"][0]["samplers"][0]["input"]]
    assert time_acc["count"] == 4 and time_acc["max"][0] == pytest.approx(3 / 50.0)
    objs = sorted((tmp_path / "exp" / "meshes").glob("*.obj"))
    for frame in (0, 3):
        skinned = glb_skinned_vertices(gltf, binary, frame)
        obj = trimesh.load(objs[frame], process=False, force="mesh").vertices
        assert np.abs(skinned - obj).max() < 0.005  # Anny's own skinning, within 5 mm
    scene = trimesh.load(tmp_path / "exp" / "body.glb")  # another glTF reader
    assert sum(len(g.vertices) for g in scene.geometry.values()) == 13718


def test_smpl_npz_poses_smplx_exactly_as_our_body(tmp_path):
    import smplx

    write_smpl_standin(tmp_path / "models" / "SMPL_NEUTRAL.pkl")
    smpl = load_body_model(BodyModelConfig(name="smpl", path=str(tmp_path / "models")))
    result = make_result(smpl, frames=3, fps=25.0)
    result.shape[:] = np.random.default_rng(0).normal(0, 1, smpl.shape_dim)
    result.save(tmp_path / "res")
    export_result(tmp_path / "res", tmp_path / "exp", ("smpl-npz",), smpl)
    data = np.load(tmp_path / "exp" / "smpl.npz")
    assert data["body_pose"].shape == (3, 69) and data["poses"].shape == (3, 72) and float(data["mocap_framerate"]) == 25.0
    model = smplx.SMPL(str(tmp_path / "models" / "SMPL_NEUTRAL.pkl"), num_betas=10)
    t = lambda k: torch.as_tensor(data[k], dtype=torch.float32)  # noqa: E731
    out = model(global_orient=t("global_orient"), body_pose=t("body_pose"), betas=t("betas")[None].expand(3, -1),
                transl=t("transl"))
    with torch.no_grad():
        ours = smpl(torch.as_tensor(result.global_orient), torch.as_tensor(result.body_pose),
                    torch.as_tensor(result.shape), torch.as_tensor(result.transl)).vertices
    assert torch.allclose(out.vertices, ours, atol=1e-4)


def test_export_all_formats_cli(body, tmp_path):
    result = make_result(body, frames=3)
    folder = tmp_path / "res"
    result.save(folder)
    before = (folder / "result.npz").read_bytes()
    proc = cli("export", folder, "--format", "all", "--out", tmp_path / "exp")
    assert proc.returncode == 0, proc.stderr
    assert "smpl-npz: skipped" in proc.stderr  # an Anny fit has no SMPL parameters
    assert (folder / "result.npz").read_bytes() == before  # input untouched
    exp = tmp_path / "exp"
    for name in ("Calib.toml", "easymocap/intri.yml", "easymocap/extri.yml", "markers.trc", "skeleton.bvh", "body.glb",
                 "keypoints3d.csv", "result.json", "result.npz", "openpose/cam0_json/cam0_000000000002_keypoints.json"):
        assert (exp / name).is_file(), name
    assert len(list((exp / "meshes").glob("*.obj"))) == 3 and len(list((exp / "meshes").glob("*.ply"))) == 3
    data = json.loads((exp / "result.json").read_text())
    assert np.allclose(data["joints3d"], result.joints3d, atol=1e-4)
    assert FitResult.load(exp / "result.npz").num_frames == 3


def test_export_refusals(body, tmp_path):
    proc = cli("export", tmp_path, "--format", "fbx")
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error:") and "fbx" in proc.stderr
    proc = cli("export", tmp_path / "nope")
    assert proc.returncode == 2 and "nope: no such result file" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    result = make_result(body, frames=3)
    result.cam_t[1, 0] += 0.5  # cameras that move: a per-frame fit
    result.save(tmp_path / "moving")
    proc = cli("export", tmp_path / "moving", "--format", "trc,calib-toml", "--out", tmp_path / "exp")
    assert proc.returncode == 2 and "per-frame fit" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "exp" / "markers.trc").exists()  # refused before writing anything
    proc = cli("export", tmp_path / "moving", "--format", "smpl-npz", "--out", tmp_path / "exp")
    assert proc.returncode == 2 and "smpl body model" in proc.stderr
