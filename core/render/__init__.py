"""Offscreen rendering through the project's pinhole cameras (Open3D ray casting): :class:`MeshRenderer`."""

from core.render.mesh_renderer import (
    MeshRenderer,
    RenderResult,
    camera_rays,
    intrinsic_matrix,
    vertex_normals,
)

__all__ = ["MeshRenderer", "RenderResult", "camera_rays", "intrinsic_matrix", "vertex_normals"]
