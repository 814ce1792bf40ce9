"""Offscreen rendering of triangle meshes through the project's pinhole camera (Open3D ray casting).

Every pixel casts one ray through its centre, ``(u + 0.5, v + 0.5)`` in the convention where the
image spans ``[0, W] x [0, H]`` (the one :func:`core.geometry.camera.project` and the detector
use), from the camera centre ``-R^T t`` along ``R^T K^-1 (u, v, 1)``. So a rendered silhouette lies
exactly on the projected vertices: same intrinsics, same extrinsics, no conversion between
graphics conventions. Ray hits are shaded here: vertex colours and normals interpolated by the
hit's barycentric coordinates, a key light with cast shadows, a camera fill light and ambient.

Why not Open3D's rasterizing ``OffscreenRenderer`` (Filament): on this CPU-only stack (Vulkan on
Mesa llvmpipe) it livelocks in ``render_to_image`` when the camera and the geometry both change
between two frames, more often the busier the machine is; and only one may exist per process
(destroying a second one aborts). Open3D's ``RaycastingScene`` (Embree) has neither problem,
needs no GPU or display, and is faster here (~25 ms of ray casting at 640x480).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.render.shading import diffuse, shade

# Ray offset along the normal for shadow rays, metres (keeps a surface from shadowing itself).
SHADOW_EPS_M = 2e-3
# Default key light: from above, slightly in front and to the side (world, Z up).
DEFAULT_LIGHT_DIR = (0.35, -0.55, 1.0)


@dataclass
class RenderResult:
    """image: (H, W, 3) uint8 RGB. depth: (H, W) float32 camera-frame depth (z) in metres, ``inf``
    where nothing was hit (None unless asked). mask: (H, W) bool, where the rendered *mesh* (not
    the static scene) is visible (None unless asked)."""

    image: np.ndarray
    depth: np.ndarray | None = None
    mask: np.ndarray | None = None


@dataclass
class _Static:
    """Scene geometry that stays: shaded flat (one colour and normal per triangle), which is
    cheaper than interpolating and what floors and walls look like anyway."""

    vertices: np.ndarray  # (N, 3) float32
    faces: np.ndarray  # (M, 3) uint32
    colors: np.ndarray  # (N, 3) float32
    face_normals: np.ndarray = field(init=False)  # (M, 3)
    face_colors: np.ndarray = field(init=False)  # (M, 3)

    def __post_init__(self) -> None:
        v = self.vertices.astype(np.float64)
        f = self.faces.astype(np.int64)
        n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        self.face_normals = (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        self.face_colors = self.colors[f].mean(axis=1).astype(np.float32)


@dataclass
class _Mesh:
    """The mesh being rendered: float32 vertices, uint32 faces, per-vertex colours and normals."""

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray
    normals: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float32)
        self.faces = np.ascontiguousarray(self.faces, dtype=np.uint32)
        self.colors = np.broadcast_to(np.asarray(self.colors, dtype=np.float32), self.vertices.shape)
        self.normals = vertex_normals(self.vertices, self.faces)


@dataclass
class _Traced:
    """Shaded rays of an image rectangle: shade (h, w, 3) float RGB in [0, 1+]; key_part (h, w, 3)
    the key light's share of it (what a shadow takes away); hit, on_mesh (h, w) bool; depth (h, w)
    (inf where nothing was hit)."""

    shade: np.ndarray
    key_part: np.ndarray
    hit: np.ndarray
    depth: np.ndarray
    on_mesh: np.ndarray


@dataclass
class _Background:
    """The static scene through one camera: image and key-light share as uint8 (H, W, 3), hit
    (H, W), depth (H, W) float32."""

    image: np.ndarray
    key_part: np.ndarray
    hit: np.ndarray
    depth: np.ndarray


def intrinsic_matrix(focal: float, principal: tuple[float, float] | np.ndarray) -> np.ndarray:
    """(3, 3) K for a square-pixel pinhole camera."""
    return np.array([[focal, 0.0, principal[0]], [0.0, focal, principal[1]], [0.0, 0.0, 1.0]])


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3) unit vertex normals: area-weighted sums of the adjacent face normals."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    face_n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # length = 2 * area
    normals = np.zeros_like(v)
    for corner in range(3):
        for axis in range(3):
            normals[:, axis] += np.bincount(f[:, corner], weights=face_n[:, axis], minlength=len(v))
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return (normals / np.maximum(length, 1e-12)).astype(np.float32)


def camera_rays(
    width: int,
    height: int,
    focal: float,
    principal: tuple[float, float],
    rotation: np.ndarray,
    translation: np.ndarray,
    rect: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """(h, w, 6) rays (origin, direction) in the world through the pixel centres of the image, or
    of its sub-rectangle ``rect`` = (x0, y0, x1, y1), end-exclusive.

    Directions are ``R^T K^-1 (u + 0.5, v + 0.5, 1)``: their camera-frame z is 1, so a hit's ray
    parameter is its depth.
    """
    x0, y0, x1, y1 = rect if rect is not None else (0, 0, width, height)
    u = ((np.arange(x0, x1, dtype=np.float64) + 0.5 - principal[0]) / focal).astype(np.float32)
    v = ((np.arange(y0, y1, dtype=np.float64) + 0.5 - principal[1]) / focal).astype(np.float32)
    r = np.asarray(rotation, dtype=np.float32)
    rays = np.empty((y1 - y0, x1 - x0, 6), dtype=np.float32)
    rays[..., :3] = (-np.asarray(rotation).T @ np.asarray(translation)).astype(np.float32)
    # R^T (u, v, 1) = u R[0] + v R[1] + R[2] (the rows of R are the camera axes in the world).
    rays[..., 3:] = u[None, :, None] * r[0] + v[:, None, None] * r[1] + r[2]
    return rays


class MeshRenderer:
    """Renders one mesh (posed anew on every call) plus optional static geometry, at one image size.

    Static geometry (:meth:`add_static`) is traced once per camera and cached; later renders
    through that camera re-trace only the rectangle the mesh and its shadow can reach, which makes
    a static rig's frames cheap. Create one renderer per image size and reuse it. :meth:`close`
    and the context manager free the caches.
    """

    # Cameras whose static background stays cached (a rig has at most 8).
    CACHED_CAMERAS = 8

    def __init__(self, width: int, height: int, light_dir: tuple[float, float, float] = DEFAULT_LIGHT_DIR) -> None:
        import open3d as o3d  # here, not at module level: slow to import, only rendering needs it

        self._o3d = o3d
        self.width, self.height = int(width), int(height)
        light = np.asarray(light_dir, dtype=np.float64)
        self.light_dir = light / np.linalg.norm(light)
        self.ambient = 0.32
        self.key = 0.62
        self.fill = 0.22
        self._static: dict[str, _Static] = {}
        self._background_cache: dict[tuple, _Background] = {}

    def close(self) -> None:
        self._static.clear()
        self._background_cache.clear()

    def __enter__(self) -> MeshRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- scene ------------------------------------------------------------------------------

    def add_static(self, name: str, vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | tuple = (0.7, 0.7, 0.7)) -> None:
        """Add (or replace) geometry that stays between renders (a floor, a backdrop).

        vertices: (N, 3) world coordinates, metres. faces: (M, 3). colors: (3,) or (N, 3) RGB in [0, 1].
        """
        vertices = np.ascontiguousarray(vertices, dtype=np.float32)
        colors = np.broadcast_to(np.asarray(colors, dtype=np.float32), vertices.shape).copy()
        self._static[name] = _Static(vertices, np.ascontiguousarray(faces, dtype=np.uint32), colors)
        self._background_cache.clear()

    def remove_static(self, name: str) -> None:
        self._static.pop(name, None)
        self._background_cache.clear()

    # --- rendering --------------------------------------------------------------------------

    def render(
        self,
        vertices: np.ndarray,
        faces: np.ndarray,
        focal: float,
        principal: tuple[float, float] | np.ndarray | None = None,
        rotation: np.ndarray | None = None,
        translation: np.ndarray | None = None,
        color: np.ndarray | tuple[float, float, float] = (0.8, 0.62, 0.52),
        background: np.ndarray | tuple[float, float, float] = (1.0, 1.0, 1.0),
        depth: bool = False,
        mask: bool = False,
        shadows: bool = True,
    ) -> RenderResult:
        """Render the mesh (and the static geometry) through a pinhole camera.

        Args:
            vertices: (N, 3) mesh vertices, metres: in the world frame when ``rotation`` and
                ``translation`` are given, else already in the camera frame (OpenCV axes).
            faces: (M, 3) triangle indices.
            focal: focal length in pixels.
            principal: (2,) principal point in pixels (default: the image centre).
            rotation, translation: (3, 3), (3,) world->camera extrinsics ``X_cam = R X + t``.
            color: (3,) or per-vertex (N, 3) RGB in [0, 1].
            background: (3,) RGB in [0, 1], or an (H, W, 3) uint8 image, where no ray hits.
            depth, mask: also return the depth image / the mesh's own mask.
            shadows: let the mesh cast the key light's shadows (onto itself and the scene).
        Returns:
            RenderResult with the (H, W, 3) uint8 RGB image.
        """
        rotation = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
        translation = np.zeros(3) if translation is None else np.asarray(translation, dtype=np.float64)
        principal = (self.width / 2.0, self.height / 2.0) if principal is None else tuple(float(c) for c in principal)
        mesh = _Mesh(vertices, faces, color)
        camera = (float(focal), principal, rotation, translation)
        H, W = self.height, self.width

        # The frame starts as the static scene (traced once per camera and cached) or empty. Only
        # the rectangle the mesh covers is traced again, with the mesh in it; around it, the mesh's
        # shadow darkens the cached scene where shadow rays from it hit the mesh.
        if self._static:
            base = self._background(camera)
            image, hit, z = base.image.copy(), base.hit.copy(), base.depth.copy()
            if shadows:
                self._shadow_background(mesh, camera, base, image)
        else:
            image = np.zeros((H, W, 3), dtype=np.uint8)
            hit = np.zeros((H, W), dtype=bool)
            z = np.full((H, W), np.inf, dtype=np.float32)
        on_mesh = np.zeros((H, W), dtype=bool)
        rect = self._rect(mesh.vertices, camera)
        if rect is not None:
            x0, y0, x1, y1 = rect
            traced = self._trace(camera, rect, mesh, shadows)
            image[y0:y1, x0:x1] = np.clip(traced.shade * 255.0 + 0.5, 0, 255).astype(np.uint8)
            hit[y0:y1, x0:x1] = traced.hit
            z[y0:y1, x0:x1] = traced.depth
            on_mesh[y0:y1, x0:x1] = traced.on_mesh

        if isinstance(background, np.ndarray) and background.ndim == 3:
            if background.shape[:2] != (H, W):
                raise ValueError(f"background image must be {H}x{W}, got {background.shape[:2]}")
            image[~hit] = background[~hit]
        else:
            image[~hit] = np.clip(np.asarray(background, dtype=np.float64) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return RenderResult(image=image, depth=z if depth else None, mask=on_mesh if mask else None)

    def _background(self, camera: tuple) -> _Background:
        """The static geometry alone through ``camera``, over the whole frame, cached."""
        focal, principal, rotation, translation = camera
        key = (focal, principal, rotation.tobytes(), translation.tobytes())
        if key not in self._background_cache:
            if len(self._background_cache) >= self.CACHED_CAMERAS:
                self._background_cache.pop(next(iter(self._background_cache)))
            t = self._trace(camera, (0, 0, self.width, self.height), None, False)
            self._background_cache[key] = _Background(
                image=np.clip(t.shade * 255.0 + 0.5, 0, 255).astype(np.uint8),
                key_part=np.clip(t.key_part * 255.0 + 0.5, 0, 255).astype(np.uint8),
                hit=t.hit,
                depth=t.depth,
            )
        return self._background_cache[key]

    def _rect(self, points: np.ndarray, camera: tuple) -> tuple[int, int, int, int] | None:
        """The image rectangle (x0, y0, x1, y1), end-exclusive, covering the projections of
        (N, 3) world points; None when it misses the image, the whole frame when a point lies
        behind the camera."""
        focal, principal, rotation, translation = camera
        cam = np.asarray(points, dtype=np.float64) @ rotation.T + translation
        if (cam[:, 2] <= 1e-6).any():
            return 0, 0, self.width, self.height
        uv = cam[:, :2] / cam[:, 2:3] * focal + np.asarray(principal)
        x0, y0 = np.floor(uv.min(axis=0)).astype(int) - 1
        x1, y1 = np.ceil(uv.max(axis=0)).astype(int) + 2
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, self.width), min(y1, self.height)
        if x1 <= x0 or y1 <= y0:
            return None
        return int(x0), int(y0), int(x1), int(y1)

    def _shadow_volume(self, mesh: _Mesh, floor: float) -> tuple[np.ndarray, np.ndarray]:
        """(3,), (3,) a box holding every point the mesh can shadow down to height ``floor``:
        its bounding box swept away from the light."""
        lo, hi = mesh.vertices.min(axis=0).astype(np.float64), mesh.vertices.max(axis=0).astype(np.float64)
        shift = -(hi[2] - floor) * self.light_dir[:2] / max(self.light_dir[2], 1e-3)
        return (
            np.array([*(lo[:2] + np.minimum(shift, 0.0) - 0.05), floor - 0.01]),
            np.array([*(hi[:2] + np.maximum(shift, 0.0) + 0.05), hi[2]]),
        )

    def _shadow_background(self, mesh: _Mesh, camera: tuple, base: _Background, image: np.ndarray) -> None:
        """Darken the cached scene in ``image`` (in place) where the mesh shadows it."""
        floor = min(float(mesh.vertices[:, 2].min()), min(float(s.vertices[:, 2].min()) for s in self._static.values()))
        lo, hi = self._shadow_volume(mesh, floor)
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        rect = self._rect(corners, camera)
        if rect is None:
            return
        x0, y0, x1, y1 = rect
        focal, principal, rotation, translation = camera
        rays = camera_rays(self.width, self.height, focal, principal, rotation, translation, rect).reshape(-1, 6)
        depth = base.depth[y0:y1, x0:x1].reshape(-1)
        lit = base.key_part[y0:y1, x0:x1].reshape(-1, 3).max(axis=1) > 0
        candidates = np.nonzero(np.isfinite(depth) & lit)[0]
        points = rays[candidates, :3] + rays[candidates, 3:] * depth[candidates, None]
        inside = np.all((points >= lo) & (points <= hi), axis=1)
        candidates, points = candidates[inside], points[inside]
        if candidates.size == 0:
            return
        # Static surfaces here are floors and walls: lift the ray start off them along the light.
        blocked = self._blocked(mesh, points + self.light_dir.astype(np.float32) * SHADOW_EPS_M)
        rows, cols = np.divmod(candidates[blocked], x1 - x0)
        darker = image[y0 + rows, x0 + cols].astype(np.int16) - (0.75 * base.key_part[y0 + rows, x0 + cols]).astype(np.int16)
        image[y0 + rows, x0 + cols] = np.clip(darker, 0, 255).astype(np.uint8)

    def _blocked(self, mesh: _Mesh, points: np.ndarray) -> np.ndarray:
        """(N,) bool: whether the mesh lies between each (N, 3) point and the (directional) light."""
        o3d = self._o3d
        caster = o3d.t.geometry.RaycastingScene()
        caster.add_triangles(o3d.core.Tensor(mesh.vertices), o3d.core.Tensor(mesh.faces))
        rays = np.concatenate([points, np.broadcast_to(self.light_dir, points.shape)], axis=1).astype(np.float32)
        return np.isfinite(caster.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy())

    def _trace(self, camera: tuple, rect: tuple[int, int, int, int], mesh: _Mesh | None, shadows: bool) -> _Traced:
        """Cast and shade the rays of ``rect`` against the mesh (if any) and the static geometry."""
        o3d = self._o3d
        focal, principal, rotation, translation = camera
        x0, y0, x1, y1 = rect
        h, w = y1 - y0, x1 - x0
        rays = camera_rays(self.width, self.height, focal, principal, rotation, translation, rect).reshape(-1, 6)
        statics = list(self._static.values())
        scene = o3d.t.geometry.RaycastingScene()
        # Geometry ids: the mesh first (when there is one), then the static pieces in order.
        if mesh is not None:
            scene.add_triangles(o3d.core.Tensor(mesh.vertices), o3d.core.Tensor(mesh.faces))
        for part in statics:
            scene.add_triangles(o3d.core.Tensor(part.vertices), o3d.core.Tensor(part.faces))
        first_static = 1 if mesh is not None else 0
        hits = scene.cast_rays(o3d.core.Tensor(rays))
        t_hit = hits["t_hit"].numpy()
        hit = np.isfinite(t_hit)
        geometry = hits["geometry_ids"].numpy()
        triangle = hits["primitive_ids"].numpy()

        shade_rgb = np.zeros((hit.size, 3), dtype=np.float32)
        key_part = np.zeros((hit.size, 3), dtype=np.float32)
        on_mesh = np.zeros(hit.size, dtype=bool)
        idx = np.nonzero(hit)[0]
        if idx.size:
            gid = geometry[idx]
            albedo = np.empty((idx.size, 3), dtype=np.float32)
            normal = np.empty((idx.size, 3), dtype=np.float32)
            if mesh is not None:
                sel = gid == 0
                on_mesh[idx[sel]] = True
                if sel.any():  # smooth: vertex colours and normals at the hit's barycentric point
                    uv = hits["primitive_uvs"].numpy()[idx[sel]]
                    corners = mesh.faces[triangle[idx[sel]]].astype(np.int64)
                    w0, w1, w2 = (1.0 - uv[:, 0] - uv[:, 1])[:, None], uv[:, 0:1], uv[:, 1:2]
                    c, n = mesh.colors, mesh.normals
                    albedo[sel] = c[corners[:, 0]] * w0 + c[corners[:, 1]] * w1 + c[corners[:, 2]] * w2
                    nn = n[corners[:, 0]] * w0 + n[corners[:, 1]] * w1 + n[corners[:, 2]] * w2
                    normal[sel] = nn / np.maximum(np.linalg.norm(nn, axis=1, keepdims=True), 1e-8)
            for g, part in enumerate(statics, start=first_static):
                sel = gid == g
                if sel.any():
                    albedo[sel] = part.face_colors[triangle[idx[sel]]]
                    normal[sel] = part.face_normals[triangle[idx[sel]]]
            view = rays[idx, 3:] / np.linalg.norm(rays[idx, 3:], axis=1, keepdims=True)
            # Two-sided surfaces: a normal facing away from the camera is flipped.
            facing = np.einsum("ij,ij->i", normal, view)
            normal[facing > 0] *= -1.0
            light = self.light_dir.astype(np.float32)
            visibility = np.ones(idx.size, dtype=np.float32)
            if shadows and mesh is not None:
                points = rays[idx, :3] + rays[idx, 3:] * t_hit[idx, None]
                lo, hi = self._shadow_volume(mesh, float(points[:, 2].min()))
                near = np.nonzero((diffuse(normal, light) > 0) & np.all((points >= lo) & (points <= hi), axis=1))[0]
                if near.size:
                    blocked = self._blocked(mesh, points[near] + normal[near] * SHADOW_EPS_M)
                    visibility[near[blocked]] = 0.25
            key_part[idx] = albedo * shade(normal, light, 0.0, self.key, key_visibility=visibility)[:, None]
            shade_rgb[idx] = albedo * shade(normal, light, self.ambient, self.key, self.fill, np.abs(facing), visibility)[:, None]
        depth = np.where(hit, t_hit, np.inf).astype(np.float32)
        return _Traced(
            shade_rgb.reshape(h, w, 3), key_part.reshape(h, w, 3), hit.reshape(h, w), depth.reshape(h, w), on_mesh.reshape(h, w)
        )
