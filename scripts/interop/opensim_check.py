"""Scale Pose2Sim's OpenSim model to our TRC and run inverse kinematics (run with a Python that has
``opensim``, not the project's .venv), as a Pose2Sim user would with the COCO-17 marker set.

Pose2Sim 0.10.49's ``Markers_Coco17.xml`` places ``RHip`` at ``LKnee``'s location on the pelvis
(its HALPE-26 and BODY-25 sets are right): a corrected copy is used, ``RHip`` mirrored from
``LHip`` across the pelvis's sagittal plane (z negated).

Scaling as Pose2Sim does it on a walking trial: each measurement's marker pairs give a scale
factor (their median length over the trial over the model's), applied as manual scales (OpenSim's
own measurement scaling averages marker positions over time, which a walk smears). Prints one JSON
line after ``CHECK-RESULT``: IK marker RMS and max (mm), the knee angles' ranges (deg).

Usage: python opensim_check.py POSE2SIM_WHEEL MARKERS.trc WORK_DIR
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import opensim

SETUP = "Pose2Sim/OpenSim_Setup/"


def extract_setup(wheel: Path, work: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(SETUP) and not name.endswith("/"):
                target = work / "setup" / name[len(SETUP):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
    return work / "setup"


def corrected_markers(setup: Path, work: Path) -> Path:
    tree = ElementTree.parse(setup / "Markers_Coco17.xml")
    markers = {m.get("name"): m for m in tree.iter("Marker")}
    left = [float(v) for v in markers["LHip"].find("location").text.split()]
    wrong = markers["RHip"].find("location").text.strip()
    markers["RHip"].find("location").text = f"{left[0]} {left[1]} {-left[2]}"
    print(f"Markers_Coco17.xml: RHip was at {wrong} (LKnee's location); corrected to LHip mirrored: "
          f"{left[0]} {left[1]} {-left[2]}", flush=True)
    path = work / "Markers_Coco17_corrected.xml"
    tree.write(path)
    return path


def read_trc(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    lines = path.read_text().splitlines()
    names = [n for n in lines[3].split("\t")[2:] if n]
    rows = np.array([[float(v) for v in line.split("\t")[: 2 + 3 * len(names)]] for line in lines[5:] if line.strip()])
    return names, rows[:, 1], rows[:, 2:].reshape(len(rows), len(names), 3)


def scale_factors(setup_root, model, names: list[str], points: np.ndarray) -> dict[str, float]:
    state = model.initSystem()
    where = {m.getName(): m.getLocationInGround(state).to_numpy() for m in model.getMarkerSet()}
    factors: dict[str, list[float]] = {}
    for measurement in setup_root.iter("Measurement"):
        pairs = [p.find("markers").text.split() for p in measurement.iter("MarkerPair")]
        ratios = [np.median(np.linalg.norm(points[:, names.index(a)] - points[:, names.index(b)], axis=-1))
                  / np.linalg.norm(where[a] - where[b]) for a, b in pairs if a in names and b in names and a in where and b in where]
        if not ratios:
            continue
        for body in measurement.iter("BodyScale"):
            factors.setdefault(body.get("name"), []).append(float(np.mean(ratios)))
    return {body: float(np.mean(values)) for body, values in factors.items()}


def main() -> None:
    wheel, trc, work = Path(sys.argv[1]), Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve()
    work.mkdir(parents=True, exist_ok=True)
    setup = extract_setup(wheel, work)
    opensim.ModelVisualizer.addDirToGeometrySearchPaths(str(setup / "Geometry"))
    model = opensim.Model(str(setup / "Model_Pose2Sim_simple.osim"))
    model.set_MarkerSet(opensim.MarkerSet(str(corrected_markers(setup, work))))
    model.initSystem()
    generic = work / "model_with_markers.osim"
    model.printToXML(str(generic))
    names, times, points = read_trc(trc)

    tree = ElementTree.parse(setup / "Scaling_Setup_Pose2Sim_Coco17.xml")
    tool = tree.getroot()[0]
    factors = scale_factors(tool, model, names, points)
    scaled = work / "model_scaled.osim"
    tool.find("GenericModelMaker/model_file").text = str(generic)
    scaler = tool.find("ModelScaler")
    scaler.find("scaling_order").text = " manualScale"
    for measurement in scaler.iter("Measurement"):
        measurement.find("apply").text = "false"
    scale_set = scaler.find("ScaleSet/objects")
    for old in list(scale_set):
        scale_set.remove(old)
    for body, factor in factors.items():
        scale = ElementTree.SubElement(scale_set, "Scale")
        ElementTree.SubElement(scale, "scales").text = f"{factor} {factor} {factor}"
        ElementTree.SubElement(scale, "segment").text = body
        ElementTree.SubElement(scale, "apply").text = "true"
    for element in tool.iter("marker_file"):
        element.text = "Unassigned"
    placer = tool.find("MarkerPlacer")
    if placer is not None and placer.find("apply") is not None:
        placer.find("apply").text = "false"
    scaler.find("output_model_file").text = str(scaled)
    scale_path = work / "scaling_setup.xml"
    tree.write(scale_path)
    opensim.ScaleTool(str(scale_path)).run()

    tree = ElementTree.parse(setup / "IK_Setup_Pose2Sim_Coco17.xml")
    tool = tree.getroot()[0]
    motion = work / "ik.mot"
    tool.find("results_directory").text = str(work)
    tool.find("model_file").text = str(scaled)
    tool.find("time_range").text = f"{times[0]} {times[-1]}"
    tool.find("output_motion_file").text = str(motion)
    tool.find("marker_file").text = str(trc)
    tool.find("report_errors").text = "true"
    ik_path = work / "ik_setup.xml"
    tree.write(ik_path)
    opensim.InverseKinematicsTool(str(ik_path)).run()

    errors = opensim.TimeSeriesTable(str(next(work.glob("*_ik_marker_errors.sto"))))
    rms = errors.getDependentColumn("marker_error_RMS").to_numpy()
    worst = errors.getDependentColumn("marker_error_max").to_numpy()
    angles = opensim.TimeSeriesTable(str(motion))
    knees = {side: angles.getDependentColumn(f"knee_angle_{side}").to_numpy() for side in ("r", "l")}
    print("CHECK-RESULT " + json.dumps({
        "opensim": opensim.GetVersion(), "frames": int(len(rms)), "scale_factors": {k: round(v, 3) for k, v in factors.items()},
        "marker_rms_mm_mean": float(rms.mean() * 1000), "marker_rms_mm_max": float(rms.max() * 1000),
        "marker_error_mm_max": float(worst.max() * 1000),
        "knee_flexion_deg": {side: [float(v.min()), float(v.max())] for side, v in knees.items()},
    }), flush=True)


main()
