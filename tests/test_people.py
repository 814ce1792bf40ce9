"""People in the scene: tracks through occlusion, association across views by the rig's geometry,
the main person's choice, views that miss the person, several people fitted in one rig, the
multi-person result format and its exports, and ``cmanet synth --people``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.body import load_body_model
from core.detect.sequence import SequencePeople
from core.errors import InputError
from core.io.results import FitResult
from core.people import scene_from_people
from core.people.evaluate import detection_owner, people_report
from core.people.tracks import link_tracks
from core.synth.people import generate_people_sequence

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def two_people(body):
    """Two people who cross mid-sequence, 4 views, 40 frames (seed 0)."""
    return generate_people_sequence(2, views=4, frames=40, seed=0, body_model=body)


def scene_of(seq, keypoints=None):
    people = SequencePeople.from_keypoints(seq.keypoints2d_people if keypoints is None else keypoints)
    return scene_from_people(people, seq.image_size)


def owners(seq, scene, k):
    """(F, V) which true person each of identity k's detections is (-1: none)."""
    return detection_owner(scene.keypoints_of(k), seq.people["people_keypoints2d"])


def test_the_crossing_hides_people(two_people):
    """The synthetic scene really is hard: people hide each other in some images."""
    detected = two_people.people["people_keypoints2d"][..., 2].max(-1) > 0  # (P, F, V)
    assert not detected.all()
    alone = two_people.people["people_keypoints2d_alone"]
    assert (alone[..., 2] > two_people.people["people_keypoints2d"][..., 2]).any()  # occluded joints
    assert two_people.people["people_joints3d"].shape == (2, 40, 17, 3)


def test_tracks_within_a_view_never_mix_people(two_people):
    """Per view, a track holds one true person; crossing cuts tracks rather than swapping them."""
    people = SequencePeople.from_keypoints(two_people.keypoints2d_people)
    truth = two_people.people["people_keypoints2d"]
    for v in range(two_people.num_views):
        tracks = link_tracks(people.keypoints[:, v], people.present[:, v])
        owner = np.stack([detection_owner(people.keypoints[:, v, s][:, None], truth[:, :, v:v + 1])[:, 0]
                          for s in range(people.max_people)], axis=1)  # (F, P)
        for t in np.unique(tracks[tracks >= 0]):
            assert len(set(owner[tracks == t].tolist())) == 1, f"view {v}: track {t} holds two people"


def test_association_follows_each_person_through_the_crossing(two_people):
    scene = scene_of(two_people)
    assert scene.num_people == 2
    matched = set()
    for k in range(2):
        owner = owners(two_people, scene, k)
        true = np.bincount(owner[owner >= 0]).argmax()
        matched.add(int(true))
        assert ((owner >= 0) & (owner != true)).sum() == 0, "identity switch"
        # Nearly every detection of that person is used.
        available = two_people.people["people_keypoints2d"][true][..., 2].max(-1) > 0
        assert (owner == true).sum() >= 0.95 * available.sum()
    assert matched == {0, 1}
    np.testing.assert_array_equal(scene.tracks >= 0, SequencePeople.from_keypoints(two_people.keypoints2d_people).present)


def test_main_person_is_seen_longest_and_most_centrally(two_people):
    """A person seen by two views only (a bystander) is never the main person."""
    truth = two_people.people["people_keypoints2d"]
    for bystander in (0, 1):
        kept = truth.copy()
        kept[bystander, :, 2:] = 0  # seen by views 0 and 1 only
        scene = scene_of(two_people, kept.transpose(1, 2, 0, 3, 4))
        main = owners(two_people, scene, 0)
        assert set(main[main >= 0].tolist()) == {1 - bystander}


def test_a_view_that_misses_the_person_gets_confidence_zero(two_people, body):
    """The main person leaves view 1 for frames 10-19 while the other person stays in it: those
    frames get confidence 0 there (never the other person), the sequence is still fitted, and the
    result shows the gap."""
    from core.fit.sequence import FitInputs, fit_result
    from core.fit.config import load_fit_config
    from core.fit.people import add_people

    scene = scene_of(two_people)
    main_true = int(np.bincount(owners(two_people, scene, 0).ravel() + 1)[1:].argmax())
    detections = two_people.people["people_keypoints2d"].copy()
    detections[main_true, 10:20, 1] = 0
    scene = scene_of(two_people, detections.transpose(1, 2, 0, 3, 4))
    main = scene.keypoints_of(0)
    assert set(owners(two_people, scene, 0)[owners(two_people, scene, 0) >= 0].tolist()) == {main_true}
    assert (main[10:20, 1, :, 2] == 0).all()
    assert (main[:10, 1, :, 2].max(-1) > 0).all()
    assert (scene.track_of(0)[10:20, 1] == -1).all()

    inputs = FitInputs(main, two_people.cam_f.astype(np.float32), two_people.cam_c.astype(np.float32),
                       two_people.image_size, list(two_people.view_names), np.arange(40), scene=scene)
    config = load_fit_config()
    result, _ = fit_result(inputs, config, body=body)
    result = add_people(result, inputs, config, people=1)
    assert np.isfinite(result.joints3d).all()
    assert (result.person_track[10:20, 1] == -1).all() and (result.person_track[:10] >= 0).all()


def test_several_people_share_one_rig(two_people, body):
    """--people 2: the main person, then the other in the same cameras; each is the right person."""
    from core.fit.sequence import FitInputs, fit_result
    from core.fit.config import load_fit_config
    from core.fit.people import add_people, person_summary

    scene = scene_of(two_people)
    inputs = FitInputs(scene.keypoints_of(0), two_people.cam_f.astype(np.float32), two_people.cam_c.astype(np.float32),
                       two_people.image_size, list(two_people.view_names), np.arange(40), scene=scene)
    config = load_fit_config()
    result, _ = fit_result(inputs, config, body=body)
    result = add_people(result, inputs, config, people=None, body=body)
    assert result.num_people == 2
    assert result.people_joints3d.shape == (2, 40, 17, 3) and result.people_track.shape == (2, 40, 4)
    np.testing.assert_array_equal(result.people_joints3d[0], result.joints3d)
    report = people_report(result, two_people.people)
    assert sorted(r["true_person"] for r in report) == [0, 1]
    assert all(r["identity_switches"] == 0 for r in report)
    assert report[0]["pa_mpjpe_mm"] < 35.0
    summary = person_summary(result)
    assert set(summary["views"]) == set(two_people.view_names) and len(summary["people"]) == 2
    assert all(isinstance(t, int) for v in summary["views"].values() for t in v["tracks"])


def _result_with_people(result: FitResult, people: int) -> FitResult:
    import dataclasses

    def stack(a):
        return np.stack([a + 0.1 * p for p in range(people)]).astype(np.float32)

    return dataclasses.replace(
        result, person_track=np.zeros(result.cam_f.shape, np.int64),
        people_joints3d=stack(result.joints3d), people_global_orient=stack(result.global_orient),
        people_transl=stack(result.transl), people_body_pose=stack(result.body_pose), people_shape=stack(result.shape),
        people_keypoints2d=stack(result.keypoints2d), people_iev_reproj_px=stack(result.iev_reproj_px),
        people_track=np.stack([np.full(result.cam_f.shape, p, np.int64) for p in range(people)]))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, body):
    """A small real fit (one synthetic person, 6 frames) to build results from."""
    from core.fit.config import load_fit_config
    from core.fit.sequence import fit_sequence
    from core.synth import make_synthetic_sequence

    tmp = tmp_path_factory.mktemp("fitted")
    seq = make_synthetic_sequence(tmp / "seq", views=3, frames=6, seed=5, body_model=body)
    result, _ = fit_sequence(seq, tmp / "res", load_fit_config())
    return result


def test_multi_person_result_format(fitted, tmp_path):
    assert fitted.num_people == 1 and fitted.person_track is not None  # one person: no people_* keys
    result = _result_with_people(fitted, 3)
    result.save(tmp_path)
    with np.load(tmp_path / "result.npz") as data:
        assert data["people_joints3d"].shape == (3,) + fitted.joints3d.shape
        assert data["people_body_pose"].shape[:2] == (3, fitted.num_frames)
    loaded = FitResult.load(tmp_path)
    assert loaded.num_people == 3
    np.testing.assert_allclose(loaded.person(2).joints3d, fitted.joints3d + 0.2, atol=1e-6)
    assert loaded.person(2).people_joints3d is None and np.isnan(loaded.person(2).irv_joints3d).all()
    np.testing.assert_array_equal(loaded.person(0).joints3d, loaded.joints3d)
    with pytest.raises(IndexError):
        loaded.person(3)

    import dataclasses

    partial = dataclasses.replace(result, people_shape=None)
    with pytest.raises(InputError, match="only some of the people keys"):
        partial.validate()
    # A result written before people were tracked still opens.
    old = dataclasses.replace(fitted, person_track=None)
    old.save(tmp_path / "old")
    assert FitResult.load(tmp_path / "old").person_track is None


def test_exports_write_one_set_per_person(fitted, tmp_path):
    _result_with_people(fitted, 2).save(tmp_path / "res")
    done = subprocess.run([sys.executable, "-m", "core.cli", "export", str(tmp_path / "res"), "--format", "trc,json,npz",
                           "--out", str(tmp_path / "exp")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for p in (0, 1):
        folder = tmp_path / "exp" / f"person{p}"
        assert (folder / "markers.trc").is_file() and (folder / "result.json").is_file()
        person = FitResult.load(folder / "result.npz")
        np.testing.assert_allclose(person.joints3d, fitted.joints3d + 0.1 * p, atol=1e-6)
        data = json.loads((folder / "result.json").read_text())
        np.testing.assert_allclose(np.array(data["joints3d"]), fitted.joints3d + 0.1 * p, atol=1e-4)
    # One person: the files as before, no person folders.
    fitted.save(tmp_path / "one")
    done = subprocess.run([sys.executable, "-m", "core.cli", "export", str(tmp_path / "one"), "--format", "trc",
                           "--out", str(tmp_path / "exp1")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and (tmp_path / "exp1" / "markers.trc").is_file()
    assert not (tmp_path / "exp1" / "person0").exists()


def cmanet(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_synth_and_fit_people_from_the_command_line(tmp_path):
    done = cmanet("synth", tmp_path / "seq", "--people", "2", "--views", "3", "--frames", "8", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "2 people" in done.stdout
    with np.load(tmp_path / "seq" / "gt.npz") as gt:
        assert gt["people_joints3d"].shape == (2, 8, 17, 3)
        np.testing.assert_array_equal(gt["joints3d"], gt["people_joints3d"][0])
    with np.load(tmp_path / "seq" / "keypoints.npz") as kp:
        assert kp["keypoints2d"].shape == (8, 3, 2, 17, 3)

    done = cmanet("fit", tmp_path / "seq", "--out", tmp_path / "res", "--people", "all", "--mode", "optimize")
    assert done.returncode == 0, done.stderr
    assert "fitted 2 people" in done.stdout
    result = FitResult.load(tmp_path / "res")
    assert result.num_people == 2
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert set(summary["person"]["views"]) == {"cam01", "cam02", "cam03"} and len(summary["person"]["people"]) == 2

    for bad in (("--people", "0"), ("--people", "some")):
        done = cmanet("fit", tmp_path / "seq", "--out", tmp_path / "res2", *bad)
        assert done.returncode == 2 and "--people" in done.stderr and "Traceback" not in done.stderr
    for bad in (("--people", "5"), ("--people", "2", "--render")):
        done = cmanet("synth", tmp_path / "bad", *bad)
        assert done.returncode == 2 and done.stderr.startswith("error: ") and not (tmp_path / "bad").exists()
