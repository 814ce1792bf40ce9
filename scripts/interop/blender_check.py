"""Open our BVH, OBJ and glTF in Blender (run with a Python that has ``bpy``, not the project's
.venv): each with the importer's default axes, as a user would. Prints one JSON line of findings
after ``CHECK-RESULT``; the caller reads the importers' own output for warnings.

Usage: python blender_check.py EXPORT_DIR EXPECTATIONS.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import bpy
from mathutils import Vector


def fresh() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)


def world_bounds(objects) -> tuple[Vector, Vector]:
    depsgraph = bpy.context.evaluated_depsgraph_get()
    points = []
    for obj in objects:
        mesh = obj.evaluated_get(depsgraph).to_mesh()
        points += [obj.matrix_world @ v.co for v in mesh.vertices]
        obj.evaluated_get(depsgraph).to_mesh_clear()
    low = Vector((min(p.x for p in points), min(p.y for p in points), min(p.z for p in points)))
    high = Vector((max(p.x for p in points), max(p.y for p in points), max(p.z for p in points)))
    return low, high


def check_bvh(path: Path, expected: dict) -> dict:
    fresh()
    print(f"== importing {path.name}", flush=True)
    bpy.ops.import_anim.bvh(filepath=str(path), update_scene_fps=True, update_scene_duration=True)
    scene = bpy.context.scene
    armature = next(o for o in scene.objects if o.type == "ARMATURE")
    bones = armature.data.bones
    lengths = {}
    for name, parent in zip(expected["joint_names"], expected["parents"]):
        kids = [c for c, p in zip(expected["joint_names"], expected["parents"]) if p == expected["joint_names"].index(name)]
        if len(kids) == 1:  # Blender's bone runs from this joint to its only child
            lengths[name] = (bones[name].length, expected["bone_lengths"][kids[0]])
    errors = []
    for f in expected["check_frames"]:
        scene.frame_set(scene.frame_start + f)
        for j, name in enumerate(expected["joint_names"]):
            head = armature.matrix_world @ armature.pose.bones[name].head
            errors.append((head - Vector(expected["joint_positions"][str(f)][j])).length)
    scene.frame_set(scene.frame_start)
    head_z = (armature.matrix_world @ armature.pose.bones["head"].head).z
    root_z = (armature.matrix_world @ armature.pose.bones["root"].head).z
    start, end = armature.animation_data.action.frame_range
    return {
        "scene_fps": scene.render.fps / scene.render.fps_base,
        "frames": int(round(end - start)) + 1,
        "bones": len(bones),
        "shortest_bone_m": min(b.length for b in bones),
        "bone_length_error_m": max(abs(a - b) for a, b in lengths.values()),
        "joint_position_error_m": max(errors),
        "upright": head_z - root_z > 0.3,
    }


def check_obj(path: Path, expected: dict) -> dict:
    fresh()
    print(f"== importing {path.name}", flush=True)
    bpy.ops.wm.obj_import(filepath=str(path))
    meshes = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    low, high = world_bounds(meshes)
    return {"vertices": sum(len(m.data.vertices) for m in meshes), "height_m": high.z - low.z, "lowest_z_m": low.z,
            "upright": (high.z - low.z) > 2 * min(high.x - low.x, high.y - low.y)}


def check_glb(path: Path, expected: dict) -> dict:
    fresh()
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(expected["fps"]), round(expected["fps"]) / expected["fps"]
    print(f"== importing {path.name}", flush=True)
    bpy.ops.import_scene.gltf(filepath=str(path))
    armature = next(o for o in scene.objects if o.type == "ARMATURE")
    # the skinned body (the importer also adds an icosphere it draws bones with)
    meshes = [o for o in scene.objects if o.type == "MESH" and any(m.type == "ARMATURE" for m in o.modifiers)]
    action = armature.animation_data.action
    start, end = action.frame_range
    heights, lowest = [], []
    for f in (int(start), int(round((start + end) / 2)), int(end)):
        scene.frame_set(f)
        low, high = world_bounds(meshes)
        heights.append(high.z - low.z)
        lowest.append(low.z)
    return {"bones": len(armature.data.bones), "vertices": sum(len(m.data.vertices) for m in meshes),
            "frames": int(round(end - start)) + 1, "height_m": max(heights), "lowest_z_m": sorted(lowest)[1],
            "upright": min(heights) > 1.0}


def main() -> None:
    export, expected = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    findings = {
        "blender": bpy.app.version_string,
        "bvh": check_bvh(export / "skeleton.bvh", expected),
        "obj": check_obj(sorted((export / "meshes").glob("*.obj"))[0], expected),
        "glb": check_glb(export / "body.glb", expected),
    }
    print("CHECK-RESULT " + json.dumps(findings), flush=True)


main()
