"""Read what Blender and OpenSim reported on our exports and judge it against the targets
(scripts/check_interop). Prints the findings and one PASS/FAIL line per check; exit status 1 when
a check fails.

Usage: report.py WORK_DIR
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

MARKER_RMS_MM = 20.0


def findings(log: Path) -> tuple[dict, list[str]]:
    """The CHECK-RESULT JSON of a log and its warning lines."""
    text = log.read_text(errors="replace")
    found = [line for line in text.splitlines() if line.startswith("CHECK-RESULT ")]
    if not found:
        raise SystemExit(f"{log}: the check did not finish; its output:\n{text[-3000:]}")
    warnings = [line for line in text.splitlines() if re.search(r"warn|zero.length", line, re.IGNORECASE)]
    return json.loads(found[-1][len("CHECK-RESULT "):]), warnings


def main() -> int:
    work = Path(sys.argv[1])
    expected = json.loads((work / "expected.json").read_text())
    blender, blender_warnings = findings(work / "blender.log")
    opensim, _ = findings(work / "opensim.log")
    bvh, obj, glb = blender["bvh"], blender["obj"], blender["glb"]
    height = expected["height_m"]
    knee = opensim["knee_flexion_deg"]
    checks = {
        "Blender imports BVH, OBJ, glTF without warnings": not blender_warnings,
        "BVH: scene fps set to the result's": abs(bvh["scene_fps"] - expected["fps"]) < 1e-3,
        "BVH: every frame, no zero-length bone": bvh["frames"] == expected["frames"] and bvh["shortest_bone_m"] > 0.005,
        "BVH: bone lengths of the fitted body (< 0.1 mm)": bvh["bone_length_error_m"] < 1e-4,
        "BVH: joints where the fit put them (< 1 mm)": bvh["joint_position_error_m"] < 1e-3,
        "BVH, OBJ, glTF upright": bvh["upright"] and obj["upright"] and glb["upright"],
        "OBJ: feet on the floor (< 5 cm)": abs(obj["lowest_z_m"]) < 0.05,
        "OBJ, glTF: the fitted body's height (80-110 %)": all(0.8 * height < m["height_m"] < 1.1 * height for m in (obj, glb)),
        "glTF: skeleton, every frame, feet on the floor": glb["bones"] == len(expected["joint_names"])
        and glb["frames"] == expected["frames"] and abs(glb["lowest_z_m"]) < 0.05,
        f"OpenSim IK marker RMS <= {MARKER_RMS_MM:g} mm": opensim["marker_rms_mm_mean"] <= MARKER_RMS_MM,
        "OpenSim knee flexion plausible for walking (peak 40-90 deg, least -10-30 deg)":
            all(40 <= hi <= 90 and -10 <= lo <= 30 for lo, hi in knee.values()),
    }
    report = {"expected": {k: expected[k] for k in ("fps", "frames", "height_m")}, "blender": blender,
              "blender_warnings": blender_warnings, "opensim": opensim, "checks": checks}
    (work / "report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({"blender": blender, "opensim": opensim}, indent=1))
    for line in blender_warnings:
        print(f"Blender: {line}")
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
