"""Messy folders and broken files, case by case (docs/reliability.md lists each case and what the
user sees): the command line answers bad input with exit status 2 and one ``error: ...`` line
naming the file, never a traceback; inputs stay untouched; nothing half-written is left; the cases
that can go on (views cut to a common part, frames without the person, a tiny or cut-off person)
go on with a warning that names what is wrong.

Most cases run ``core.cli.main`` in this process (seconds); a few run ``cmanet`` as a real process
where the process matters (no traceback at all, stderr a full disk or a file).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import yaml
from _make_sequence import video_sequence, write_images, write_video

from core.cli import main
from core.errors import InputError
from core.io.results import FitResult

FAST_FIT_YAML = """\
irv: {orientation_starts: 2, orientation_iterations: 3, iterations: 5}
iev: {rig_iterations: 10, iterations: 5}
device: cpu
"""


# ----------------------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def base_sequence(tmp_path_factory) -> Path:
    """A keypoints-only synthetic sequence (3 views x 6 frames), made once."""
    from core.synth.sequence import make_synthetic_sequence

    return make_synthetic_sequence(tmp_path_factory.mktemp("base") / "seq", views=3, frames=6, seed=0)


@pytest.fixture
def fast_config(tmp_path) -> Path:
    path = tmp_path / "fast.yaml"
    path.write_text(FAST_FIT_YAML)
    return path


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: (size, mtime) by relative path; what "untouched" compares."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def keypoints_sequence(root: Path, keypoints: np.ndarray, size=(1280, 720)) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    views = keypoints.shape[1]
    (root / "sequence.yaml").write_text(yaml.safe_dump(
        {"fps": 25, "cameras": [{"name": f"cam{v + 1:02d}", "image_size": list(size)} for v in range(views)]}))
    np.savez(root / "keypoints.npz", keypoints2d=keypoints.astype(np.float32))
    return root


def base_keypoints(base_sequence: Path) -> np.ndarray:
    with np.load(base_sequence / "keypoints.npz") as data:
        return data["keypoints2d"].copy()


def run_cli(capsys, *args) -> tuple[int, str]:
    """``cmanet ARGS`` in this process: (exit status, stderr)."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def assert_one_error_line(code: int, err: str, *needles: str) -> str:
    """Exit status 2 and exactly one ``error:`` line holding every needle, no traceback."""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2, err
    assert len(errors) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".cmanet-write-test")]


@contextlib.contextmanager
def mounted(kind: str, target: Path, source: Path | None = None, size: str = "64k"):
    """A tmpfs of ``size`` or a read-only bind mount of ``source`` at ``target`` (root only)."""
    target.mkdir(parents=True, exist_ok=True)
    if kind == "tmpfs":
        commands = [["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)]]
    else:
        commands = [["mount", "--bind", str(source), str(target)], ["mount", "-o", "remount,bind,ro", str(target)]]
    done = 0
    try:
        for command in commands:
            if os.geteuid() != 0 or subprocess.run(command, capture_output=True).returncode != 0:
                pytest.skip("mounting needs root (and the right to mount)")
            done += 1
        yield target
    finally:
        if done:
            subprocess.run(["umount", str(target)], capture_output=True)


# -------------------------------------------------------------------------------- output folder

def test_output_folder_that_cannot_be_created(capsys, base_sequence, fast_config):
    before = listing(base_sequence)
    code, err = run_cli(capsys, "fit", base_sequence, "--out", "/proc/x", "--config", fast_config, "--mode", "optimize")
    assert_one_error_line(code, err, "/proc/x", "cannot create the folder")
    assert listing(base_sequence) == before


def test_read_only_output_folder_keeps_the_earlier_result(capsys, base_sequence, fast_config, tmp_path):
    source = tmp_path / "results"
    source.mkdir()
    (source / "result.npz").write_bytes(b"an earlier result")
    with mounted("ro", tmp_path / "ro", source) as read_only:
        code, err = run_cli(capsys, "fit", base_sequence, "--out", read_only, "--config", fast_config, "--mode", "optimize")
        assert_one_error_line(code, err, str(read_only), "Read-only file system")
        code, err = run_cli(capsys, "fit", base_sequence, "--out", read_only / "sub", "--config", fast_config)
        assert_one_error_line(code, err, "sub", "cannot create the folder")
    assert (source / "result.npz").read_bytes() == b"an earlier result" and len(list(source.iterdir())) == 1


def test_full_disk_is_found_before_the_work(capsys, base_sequence, fast_config, tmp_path):
    with mounted("tmpfs", tmp_path / "small", size="64k") as small:
        code, err = run_cli(capsys, "fit", base_sequence, "--out", small / "res", "--config", fast_config, "--mode", "optimize")
        assert_one_error_line(code, err, "free on its disk", "res")
        assert "fit IRV" not in err  # refused before any fitting
        assert list((small / "res").iterdir()) == []


def fill(folder: Path) -> None:
    """Fill ``folder``'s disk (a ballast file up to ENOSPC)."""
    with contextlib.suppress(OSError), open(folder / "ballast", "wb", buffering=0) as f:
        while True:
            f.write(b"\0" * 65536)


def test_disk_filling_up_during_a_fit_keeps_the_old_result(base_sequence, tmp_path):
    """The check before the work passes; the disk fills while fitting; saving fails with one
    line naming result.npz, the earlier result stays whole and no temporary is left."""
    from core.fit.config import load_fit_config
    from core.fit.sequence import fit_sequence

    (tmp_path / "fast.yaml").write_text(FAST_FIT_YAML)
    config = load_fit_config(tmp_path / "fast.yaml")
    with mounted("tmpfs", tmp_path / "disk", size="3m") as disk:
        out = disk / "res"
        fit_sequence(base_sequence, out, config)
        earlier = (out / "result.npz").read_bytes()
        filled = []

        def progress(stage, done, total):
            if stage == "iev" and not filled:
                fill(disk)
                filled.append(True)

        with pytest.raises(InputError) as info:
            fit_sequence(base_sequence, out, config, progress=progress)
        assert "result.npz" in str(info.value) and "No space left" in str(info.value)
        assert (out / "result.npz").read_bytes() == earlier
        FitResult.load(out)
        assert no_temporaries(out)


def test_atomic_write_on_a_full_disk(tmp_path):
    from core.io.atomic import atomic_write_bytes, atomic_write_npz

    with mounted("tmpfs", tmp_path / "disk", size="256k") as disk:
        atomic_write_bytes(disk / "keep.bin", b"old")
        fill(disk)
        with pytest.raises(InputError, match="keep.bin: cannot write: No space left"):
            atomic_write_npz(disk / "keep.bin", big=np.ones(200_000))
        assert (disk / "keep.bin").read_bytes() == b"old" and no_temporaries(disk)


def test_stderr_on_a_full_disk_does_not_stop_a_fit(base_sequence, fast_config, tmp_path):
    """/dev/full as stderr: progress and log lines cannot be written; the fit still finishes."""
    out = tmp_path / "res"
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "core.cli", "fit", str(base_sequence), "--out", str(out),
                               "--config", str(fast_config), "--mode", "optimize"],
                              stderr=full, stdout=subprocess.PIPE, text=True, timeout=600)
    assert proc.returncode == 0 and "wrote" in proc.stdout
    assert FitResult.load(out).num_frames == 6


def test_temporaries_of_a_killed_writer_are_removed(tmp_path):
    from core.io.folders import prepare_output_folder

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".result.npz.{int(dead.stdout)}-0123abcd.tmp"
    live = tmp_path / f".result.npz.{os.getpid()}-0123abcd.tmp"
    other = tmp_path / ".hidden.tmp"
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    prepare_output_folder(tmp_path)
    assert not stale.exists() and live.exists() and other.exists()


def test_output_path_that_is_a_file(capsys, base_sequence, fast_config, tmp_path):
    (tmp_path / "out.txt").write_text("x")
    code, err = run_cli(capsys, "fit", base_sequence, "--out", tmp_path / "out.txt", "--config", fast_config)
    assert_one_error_line(code, err, "out.txt", "not a folder")


# ------------------------------------------------------------------------- the person in the footage

def test_no_person_in_any_frame(capsys, base_sequence, fast_config, tmp_path):
    kp = base_keypoints(base_sequence)
    kp[...] = 0.0
    seq = keypoints_sequence(tmp_path / "nobody", kp)
    code, err = run_cli(capsys, "fit", seq, "--out", tmp_path / "res", "--config", fast_config, "--mode", "optimize")
    assert_one_error_line(code, err, "nobody", "no frame shows the person", "no view sees")
    assert not (tmp_path / "res" / "result.npz").exists()


def test_nobody_detected_in_any_video(capsys, tmp_path, fast_config):
    """Videos in which the detector finds nobody at all (no detection slot in any image)."""
    seq = video_sequence(tmp_path / "empty room", num_frames=(3, 3))
    before = listing(seq)
    code, err = run_cli(capsys, "fit", seq, "--out", tmp_path / "res", "--config", fast_config, "--mode", "optimize")
    assert_one_error_line(code, err, "empty room", "no frame shows the person")
    assert not (tmp_path / "res" / "result.npz").exists() and listing(seq) == before


def test_person_in_one_view_only(capsys, base_sequence, fast_config, tmp_path):
    kp = base_keypoints(base_sequence)
    kp[:, 1:, :, 2] = 0.0
    seq = keypoints_sequence(tmp_path / "one-view", kp)
    code, err = run_cli(capsys, "fit", seq, "--out", tmp_path / "res", "--config", fast_config, "--mode", "optimize")
    assert_one_error_line(code, err, "only cam01 ever sees")


def test_no_person_in_some_frames_and_views(capsys, caplog, base_sequence, fast_config, tmp_path):
    kp = base_keypoints(base_sequence)
    kp[2:4, :, :, 2] = 0.0  # nobody in frames 2-3
    seq = keypoints_sequence(tmp_path / "gaps", kp)
    code, _ = run_cli(capsys, "fit", seq, "--out", tmp_path / "res", "--config", fast_config, "--mode", "optimize")
    assert code == 0
    assert "in fewer than two views in frames 2-3 (2 of 6)" in caplog.text
    result = FitResult.load(tmp_path / "res")
    assert np.isnan(result.iev_reproj_px[2:4]).all() and np.isfinite(result.iev_reproj_px[[0, 1, 4, 5]]).all()

    kp = base_keypoints(base_sequence)
    kp[:, 2, :, 2] = 0.0  # cam03 never sees anyone
    seq = keypoints_sequence(tmp_path / "blind-view", kp)
    caplog.clear()
    code, _ = run_cli(capsys, "fit", seq, "--out", tmp_path / "res2", "--config", fast_config, "--mode", "optimize")
    assert code == 0 and "cam03 never sees the person" in caplog.text


def test_tiny_person_is_fitted_with_a_warning(capsys, caplog, base_sequence, fast_config, tmp_path):
    kp = base_keypoints(base_sequence)
    centre = kp[..., :2].mean(axis=2, keepdims=True)
    kp[..., :2] = centre + (kp[..., :2] - centre) * 0.02
    seq = keypoints_sequence(tmp_path / "tiny", kp)
    code, _ = run_cli(capsys, "fit", seq, "--out", tmp_path / "res", "--config", fast_config, "--mode", "optimize")
    assert code == 0 and "too small for reliable keypoints" in caplog.text
    assert np.isfinite(FitResult.load(tmp_path / "res").joints3d).all()


def test_cut_off_person_is_fitted_with_a_warning(capsys, caplog, base_sequence, fast_config, tmp_path):
    kp = base_keypoints(base_sequence)
    kp[..., 11:, 2] = 0.0  # hips and legs out of every picture
    seq = keypoints_sequence(tmp_path / "cut", kp)
    code, _ = run_cli(capsys, "fit", seq, "--out", tmp_path / "res", "--config", fast_config, "--mode", "optimize")
    assert code == 0 and "no view ever sees left_hip, right_hip, left_knee" in caplog.text
    result = FitResult.load(tmp_path / "res")
    assert np.isfinite(result.joints3d).all() and np.isfinite(result.iev_reproj_px).all()


def test_one_frame_sequence(capsys, base_sequence, fast_config, tmp_path):
    seq = keypoints_sequence(tmp_path / "one", base_keypoints(base_sequence)[:1])
    for mode in ("optimize", "network+refine"):
        code, err = run_cli(capsys, "fit", seq, "--out", tmp_path / mode, "--config", fast_config, "--mode", mode)
        assert code == 0, err
        result = FitResult.load(tmp_path / mode)
        assert result.num_frames == 1 and np.isfinite(result.joints3d).all()


# ------------------------------------------------------------------------------ messy folders

def test_non_ascii_names_spaces_and_symlinks(capsys, base_sequence, fast_config, tmp_path):
    """A sequence under a non-ASCII name with spaces, reached through a symlinked folder, its
    videos named in Greek and symlinked; the result goes to a non-ASCII folder too."""
    real = tmp_path / "Aufnahmen März" / "séance 1 ✓"
    video_sequence(real / "originals", num_frames=(5, 5), under=None, names=["κάμερα 1", "κάμερα 2"])
    (real / "videos").mkdir()
    for name in ("κάμερα 1", "κάμερα 2"):
        (real / "videos" / f"{name}.mp4").symlink_to(real / "originals" / f"{name}.mp4")
    link = tmp_path / "latest take"
    link.symlink_to(real, target_is_directory=True)
    from core.io import MultiViewSequence

    with MultiViewSequence.open(link / "videos" / "..") as seq:
        assert seq.view_names == ["κάμερα 1", "κάμερα 2"] and seq.num_frames == 5
        assert seq.read_frame(4)[1].shape == (64, 80, 3)

    kp_seq = tmp_path / "Ordner mit Leerzeichen" / "シーケンス"
    shutil.copytree(base_sequence, kp_seq)
    before = listing(kp_seq)
    out = tmp_path / "résultats ünïcode"
    code, err = run_cli(capsys, "fit", kp_seq, "--out", out, "--config", fast_config, "--mode", "optimize")
    assert code == 0, err
    assert FitResult.load(out).num_frames == 6 and listing(kp_seq) == before

    # A result folder inside the input, reached through a symlink, is still inside it.
    (tmp_path / "into-input").symlink_to(kp_seq, target_is_directory=True)
    code, err = run_cli(capsys, "fit", kp_seq, "--out", tmp_path / "into-input" / "res", "--config", fast_config)
    assert_one_error_line(code, err, "outside the input")


def test_broken_symlink_to_a_video(capsys, tmp_path, fast_config):
    seq = video_sequence(tmp_path / "seq", num_frames=(4, 4))
    (seq / "videos" / "cam03.mp4").symlink_to(tmp_path / "gone.mp4")
    code, err = run_cli(capsys, "fit", seq, "--out", tmp_path / "res", "--config", fast_config)
    assert code == 2 and "Traceback" not in err, err
    assert err.startswith("error:") and "cam03" in err


def test_files_that_are_not_images_mixed_into_a_view(capsys, tmp_path, fast_config):
    seq = tmp_path / "seq"
    for camera in ("cam01", "cam02"):
        write_images(seq / camera, 3, (64, 48))
        (seq / camera / "notes.txt").write_text("shot on a sunny day")
        (seq / camera / "frame0.json").write_text("{}")
        (seq / camera / "Thumbs.db").write_bytes(b"\0" * 16)
        write_video(seq / camera / "preview.mp4", 2, (64, 48))
    from core.io import MultiViewSequence

    with MultiViewSequence.open(seq) as opened:  # the stray files are not frames
        assert opened.num_frames == 3 and opened.view_kinds == ["images", "images"]
    (seq / "cam02" / "frame1.png").write_text("not really a picture")  # a non-image named like one
    code, err = run_cli(capsys, "detect", seq, "--out", tmp_path / "det")
    assert_one_error_line(code, err, "frame1.png", "cannot read image")


def test_images_of_different_sizes_within_a_view(capsys, tmp_path):
    seq = tmp_path / "seq"
    write_images(seq / "cam01", 3, (64, 48))
    write_images(seq / "cam02", 3, (64, 48))
    write_images(seq / "odd", 1, (80, 60))
    shutil.move(seq / "odd" / "frame0.png", seq / "cam02" / "frame2.png")
    shutil.rmtree(seq / "odd")
    code, err = run_cli(capsys, "detect", seq, "--out", tmp_path / "det")
    assert_one_error_line(code, err, "frame2.png", "80x60", "one size")


def test_views_with_different_frame_counts_rates_and_sizes_warn_on_stderr(base_sequence, fast_config, tmp_path):
    """Views of 6 and 9 frames, 25 and 50 fps, 64x48 and 80x64 pixels: cut to the common part, and
    the warning reaches the user's terminal (a real process)."""
    seq = video_sequence(tmp_path / "seq", sizes=((64, 48), (80, 64)), num_frames=(6, 9))
    write_video(seq / "videos" / "cam02.mp4", 9, (80, 64), fps=50.0)
    proc = subprocess.run([sys.executable, "-m", "core.cli", "detect", str(seq), "--out", str(tmp_path / "det")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "the views cover different times" in proc.stderr or "frame counts differ" in proc.stderr, proc.stderr


# ------------------------------------------------------------------------------- broken files

def test_corrupt_results(capsys, base_sequence, tmp_path):
    folder = tmp_path / "res"
    folder.mkdir()
    (folder / "result.npz").write_bytes(b"garbage" * 20)
    code, err = run_cli(capsys, "eval", folder, "--gt", base_sequence / "gt.npz")
    assert_one_error_line(code, err, "result.npz", "not an .npz archive")
    np.savez(folder / "result.npz", joints3d=np.zeros((2, 17, 3)))
    data = (folder / "result.npz").read_bytes()
    (folder / "result.npz").write_bytes(data[: len(data) // 2])  # cut short, as by a crash elsewhere
    code, err = run_cli(capsys, "export", folder, "--out", tmp_path / "exp")
    assert_one_error_line(code, err, "result.npz")
    assert not (tmp_path / "exp").exists()


def test_corrupt_keypoint_imports_and_calibrations(capsys, base_sequence, fast_config, tmp_path):
    openpose = tmp_path / "openpose"
    (openpose / "cam01_json").mkdir(parents=True)
    (openpose / "cam01_json" / "cam01_000000000000_keypoints.json").write_text('{"people": [{"pose_keypoints_2d": "x"}]}')
    (tmp_path / "coco.json").write_text("{not json")
    (tmp_path / "Calib.toml").write_text("[cam_1]\nmatrix = 'x'\n")
    (tmp_path / "intri.yml").write_text("")
    (tmp_path / "cal.qca.txt").write_text("<calibration><cameras><camera serial='1'/></cameras></calibration>")
    cases = [
        (["--keypoints", openpose], "cam01_000000000000_keypoints.json"),
        (["--keypoints", tmp_path / "coco.json"], "coco.json"),
        (["--calibration", tmp_path / "Calib.toml"], "Calib.toml"),
        (["--calibration", tmp_path / "intri.yml"], "intri.yml"),
        (["--calibration", tmp_path / "cal.qca.txt"], "cal.qca.txt"),
    ]
    for extra, needle in cases:
        code, err = run_cli(capsys, "fit", base_sequence, "--out", tmp_path / "res", "--config", fast_config, *extra)
        assert_one_error_line(code, err, needle)
    assert not (tmp_path / "res" / "result.npz").exists()


def test_corrupt_detection_cache_is_detected_again(tmp_path, caplog):
    """A damaged entry of the detection cache is a miss (that frame is detected again), with a
    warning naming the entry; a whole one still reads back."""
    from core.detect.cache import entry_path, read_entry, write_entry
    from core.detect.people import ROI_SIZE, ImagePeople

    people = ImagePeople(np.ones((1, 17, 3), np.float32), np.ones((1, 4), np.float32), np.ones(1, np.float32),
                         np.ones((1, ROI_SIZE), np.float32))
    write_entry(tmp_path, 3, people)
    assert np.array_equal(read_entry(tmp_path, 3).keypoints, people.keypoints)
    path = entry_path(tmp_path, 3)
    for damage in (b"", b"PK\x03\x04 cut short", b"\x93NUMPY not a zip"):
        path.write_bytes(damage)
        caplog.clear()
        assert read_entry(tmp_path, 3) is None
        assert "damaged detection cache entry" in caplog.text and path.name in caplog.text


def test_checkpoint_of_another_body_model_or_config(capsys, base_sequence, fast_config, tmp_path):
    import torch

    from core.body import load_body_model
    from core.body.smpl_standin import write_smpl_standin
    from core.canonical.pose_prior import default_pose_prior
    from core.nets import build_model, save_model
    from core.nets.checkpoint import read_checkpoint
    from core.train.config import load_train_config

    config = load_train_config("tiny")
    body = load_body_model()
    model = build_model(config.model, body, config.body_model, default_pose_prior(body).mean)
    anny_net = save_model(model, tmp_path / "anny.pt")
    write_smpl_standin(tmp_path / "smpl" / "SMPL_NEUTRAL.pkl")
    smpl_config = tmp_path / "smpl.yaml"
    smpl_config.write_text(FAST_FIT_YAML + f"body_model: {{name: smpl, path: '{tmp_path / 'smpl'}'}}\n")
    code, err = run_cli(capsys, "fit", base_sequence, "--out", tmp_path / "res", "--config", smpl_config,
                        "--checkpoint", anny_net, "--mode", "network")
    assert_one_error_line(code, err, "anny.pt", "trained for the anny body model", "asks for smpl")

    payload = read_checkpoint(anny_net)  # a checkpoint whose weights are not the network it describes
    key = next(k for k, v in payload["state_dict"].items() if v.ndim == 2)
    payload["state_dict"][key] = payload["state_dict"][key][:, :1]
    torch.save(payload, tmp_path / "shrunk.pt")
    code, err = run_cli(capsys, "fit", base_sequence, "--out", tmp_path / "res", "--config", fast_config,
                        "--checkpoint", tmp_path / "shrunk.pt", "--mode", "network")
    assert_one_error_line(code, err, "shrunk.pt", "weights do not fit")


@pytest.mark.parametrize("target, content, needle", [
    ("sequence.yaml", "fps: thirty\n", "fps: expected a number"),
    ("sequence.yaml", "cameras: 5\n", "cameras: expected a list"),
    ("sequence.yaml", "frame_range: [a, b]\n", "frame_range[0]: expected an integer"),
    ("fit.yaml", "irv: {iterations: many}\n", "irv.iterations: expected an integer"),
    ("fit.yaml", "confidence_threshold: [1]\n", "confidence_threshold: expected a number"),
    ("fit.yaml", "body_model: {name: 3}\n", "body_model.name"),
])
def test_wrong_types_in_yaml(capsys, base_sequence, tmp_path, target, content, needle):
    seq = Path(shutil.copytree(base_sequence, tmp_path / "seq"))
    config = tmp_path / "fit.yaml"
    config.write_text(FAST_FIT_YAML)
    (seq / "sequence.yaml" if target == "sequence.yaml" else config).write_text(content)
    code, err = run_cli(capsys, "fit", seq, "--out", tmp_path / "res", "--config", config)
    assert_one_error_line(code, err, target, needle)


def test_wrong_types_in_a_training_config(capsys, base_sequence, tmp_path):
    (tmp_path / "train.yaml").write_text("stage1: {epochs: lots}\n")
    code, err = run_cli(capsys, "train", "--data", base_sequence, "--out", tmp_path / "run", "--config", tmp_path / "train.yaml")
    assert_one_error_line(code, err, "train.yaml")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("make, needle", [
    (lambda d: d / "missing", "no such file or folder"),
    (lambda d: (d / "SMPL_NEUTRAL.pkl").write_bytes(b"junk") and d / "SMPL_NEUTRAL.pkl", "SMPL_NEUTRAL.pkl"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no SMPL_NEUTRAL.pkl"),
])
def test_smpl_path_missing_or_wrong(capsys, base_sequence, tmp_path, make, needle):
    path = make(tmp_path)
    config = tmp_path / "smpl.yaml"
    config.write_text(FAST_FIT_YAML + f"body_model: {{name: smpl, path: '{path}'}}\n")
    code, err = run_cli(capsys, "fit", base_sequence, "--out", tmp_path / "res", "--config", config, "--mode", "optimize")
    line = assert_one_error_line(code, err, needle)
    assert "smpl.is.tue.mpg.de" in line or "SMPL model file" in line


# ---------------------------------------------------------------------- tracebacks never shown

def test_a_real_process_prints_no_traceback_for_an_unwritable_output(base_sequence, fast_config):
    proc = subprocess.run([sys.executable, "-m", "core.cli", "fit", str(base_sequence), "--out", f"/proc/{uuid.uuid4().hex}",
                           "--config", str(fast_config)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("error:")]


# ------------------------------------------------------------------------------------ progress

def test_progress_in_a_log_is_a_few_plain_lines(base_sequence, fast_config, tmp_path):
    """``cmanet fit ... 2>log``: whole lines, a few per stage, no carriage-return redraws."""
    log = tmp_path / "fit.log"
    with open(log, "w") as f:
        proc = subprocess.run([sys.executable, "-m", "core.cli", "fit", str(base_sequence), "--out", str(tmp_path / "res"),
                               "--config", str(fast_config), "--mode", "optimize"], stderr=f, stdout=subprocess.DEVNULL,
                              timeout=600)
    assert proc.returncode == 0
    text = log.read_text()
    progress = [line for line in text.splitlines() if line.startswith("fit I")]
    assert "\r" not in text and 2 <= len(progress) <= 10, text
    assert any(line.startswith("fit IEV: ") and "(100%)" in line for line in progress), progress


def test_plain_progress_counts_quarters_and_says_where_work_stopped():
    import io

    from core.progress_bar import PlainProgress, progress_bar

    stream = io.StringIO()
    with progress_bar(total=400, desc="fit IEV", file=stream) as bar:
        assert isinstance(bar, PlainProgress)
        for _ in range(400):
            bar.update(1)
    assert stream.getvalue().count("\n") == 4 and "400/400 it (100%)" in stream.getvalue()
    stream = io.StringIO()
    bar = progress_bar(total=400, desc="detect", unit="img", file=stream)
    bar.n = 130
    bar.refresh()
    bar.close()  # stopped early (cancelled): one more line saying how far it got
    assert stream.getvalue().splitlines()[-1].startswith("detect: 130/400 img (32%)")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    from tqdm import tqdm

    assert isinstance(progress_bar(total=3, file=Terminal()), tqdm)
