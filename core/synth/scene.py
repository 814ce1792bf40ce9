"""The look of rendered synthetic sequences: a clothed person in a room.

The body mesh gets per-vertex colours by body part (skin, hair, shirt, trousers, shoes), the
parts found from Anny's skinning weights; colours and sleeve/trouser lengths are drawn per
sequence. The room is a tiled floor and a cylindrical backdrop of uneven wall panels and some
furniture-like blocks, so the background is neither uniform nor distracting. Images get a touch
of blur and sensor noise. All of it is enough for MediaPipe to find the person.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.body import load_body_model
from core.progress_bar import progress_bar
from core.render import MeshRenderer

if TYPE_CHECKING:
    from core.synth.sequence import SyntheticSequence

SKIN, HAIR, SHIRT, TROUSERS, SHOES = range(5)
SKIN_TONES = np.array(
    [[0.96, 0.80, 0.69], [0.92, 0.73, 0.60], [0.84, 0.63, 0.50], [0.72, 0.52, 0.39], [0.55, 0.38, 0.27], [0.40, 0.27, 0.19]]
)
HAIR_COLOURS = np.array([[0.10, 0.07, 0.05], [0.25, 0.16, 0.09], [0.45, 0.31, 0.17], [0.70, 0.55, 0.33], [0.55, 0.55, 0.55]])
TROUSER_COLOURS = np.array(
    [[0.12, 0.15, 0.30], [0.20, 0.28, 0.45], [0.10, 0.10, 0.11], [0.35, 0.35, 0.37], [0.55, 0.47, 0.32], [0.28, 0.22, 0.16]]
)
SHOE_COLOURS = np.array([[0.08, 0.08, 0.08], [0.85, 0.85, 0.85], [0.35, 0.22, 0.12], [0.25, 0.25, 0.30]])
WALL_COLOURS = np.array([[0.80, 0.77, 0.70], [0.70, 0.72, 0.74], [0.85, 0.83, 0.80], [0.62, 0.66, 0.60], [0.74, 0.66, 0.58]])
FLOOR_COLOURS = np.array([[0.55, 0.45, 0.34], [0.45, 0.45, 0.46], [0.62, 0.58, 0.52], [0.35, 0.30, 0.26]])


def _bone_part(name: str, long_sleeves: bool, long_trousers: bool) -> int:
    base = name.split(".")[0]
    if base.startswith(("toe", "foot")):
        return SHOES
    if base.startswith(("upperleg", "pelvis", "root")):
        return TROUSERS
    if base.startswith("lowerleg"):
        return TROUSERS if long_trousers else SKIN
    if base.startswith(("spine", "clavicle", "shoulder", "upperarm")):
        return SHIRT
    if base.startswith("lowerarm"):
        return SHIRT if long_sleeves else SKIN
    return SKIN  # head, neck, eyes, hands


def body_part_labels(body_model, rng: np.random.Generator, rest_vertices: np.ndarray, rest_keypoints: np.ndarray) -> np.ndarray:
    """(N,) part label per vertex (SKIN, HAIR, SHIRT, TROUSERS, SHOES) of an Anny mesh.

    Each vertex goes to the part with the largest total skinning weight; sleeve and trouser
    lengths are drawn from ``rng``. On the rest pose (``rest_vertices`` (N, 3) and
    ``rest_keypoints`` (17, 3), body frame: Z up, facing -Y) the shirt and trousers then meet
    along a level waistline, and hair covers the top and back of the head.
    """
    anny = body_model.full_model
    long_sleeves = bool(rng.random() < 0.5)
    long_trousers = bool(rng.random() < 0.75)
    part_of_bone = np.array([_bone_part(n, long_sleeves, long_trousers) for n in anny.bone_labels])
    idx = anny.vertex_bone_indices.cpu().numpy()
    w = anny.vertex_bone_weights.cpu().numpy()
    totals = np.zeros((idx.shape[0], 5))
    for j in range(idx.shape[1]):
        np.add.at(totals, (np.arange(idx.shape[0]), part_of_bone[idx[:, j]]), w[:, j])
    labels = totals.argmax(axis=1)
    # A level waistline a little above the hip joints (skinning weights alone make a ragged one).
    hip_z = rest_keypoints[11:13, 2].mean()
    waist = hip_z + 0.2 * (rest_keypoints[5:7, 2].mean() - hip_z)
    clothed = (labels == SHIRT) | (labels == TROUSERS)
    labels = np.where(clothed, np.where(rest_vertices[:, 2] > waist, SHIRT, TROUSERS), labels)

    head_bone = list(anny.bone_labels).index("head")
    on_head = (idx == head_bone) @ np.ones(idx.shape[1]) > 0
    head = rest_vertices[on_head & (labels == SKIN)]
    if len(head):
        top = head[:, 2].max()
        front = head[:, 1].min()
        # Above the brow all round, and down the back of the head to the nape.
        hair = (rest_vertices[:, 2] > top - 0.075) | (
            (rest_vertices[:, 1] > front + 0.11) & (rest_vertices[:, 2] > top - 0.19)
        )
        labels = np.where(on_head & (labels == SKIN) & hair, HAIR, labels)
    return labels


def body_colours(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, 3) RGB in [0, 1] for per-vertex part labels: one colour per part, slight texture."""
    shirt = np.clip(rng.uniform(0.1, 0.95, size=3) * rng.uniform(0.6, 1.0), 0, 1)
    palette = np.stack(
        [
            SKIN_TONES[rng.integers(len(SKIN_TONES))],
            HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))],
            shirt,
            TROUSER_COLOURS[rng.integers(len(TROUSER_COLOURS))],
            SHOE_COLOURS[rng.integers(len(SHOE_COLOURS))],
        ]
    )
    colours = palette[labels] * rng.uniform(0.93, 1.05, size=(len(labels), 1))
    return np.clip(colours, 0.0, 1.0)


def floor_mesh(rng: np.random.Generator, centre: np.ndarray, half_size: float = 9.0, tile: float = 0.6):
    """A tiled floor at z = 0 around ``centre``: (vertices (N, 3), faces (M, 3), colours (N, 3))."""
    base = FLOOR_COLOURS[rng.integers(len(FLOOR_COLOURS))]
    other = np.clip(base * rng.uniform(0.75, 0.9), 0, 1)
    n = int(np.ceil(2 * half_size / tile))
    xs = centre[0] - half_size + tile * np.arange(n)
    ys = centre[1] - half_size + tile * np.arange(n)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) * tile
    quads = np.stack([gx.ravel(), gy.ravel()], axis=1)[:, None, :] + corners[None]  # (Q, 4, 2)
    vertices = np.concatenate([quads, np.zeros(quads.shape[:2] + (1,))], axis=-1).reshape(-1, 3)
    q = np.arange(len(quads))[:, None] * 4
    faces = np.concatenate([q + [0, 1, 2], q + [0, 2, 3]])
    checker = ((np.arange(n)[:, None] + np.arange(n)[None, :]) % 2).ravel()
    tile_colour = np.where(checker[:, None] == 1, base, other) * rng.uniform(0.95, 1.05, size=(len(quads), 1))
    colours = np.repeat(np.clip(tile_colour, 0, 1), 4, axis=0)
    return vertices, faces, colours


def backdrop_mesh(rng: np.random.Generator, centre: np.ndarray, radius: float = 8.5, height: float = 6.0, panels: int = 40):
    """Walls all round (a cylinder of uneven panels) under a ceiling, plus a few blocks standing
    in front of the walls: (vertices (N, 3), faces (M, 3), colours (N, 3))."""
    wall = WALL_COLOURS[rng.integers(len(WALL_COLOURS))]
    angles = np.linspace(0.0, 2 * np.pi, panels + 1)
    rows = np.linspace(0.0, height, 5)
    verts, faces, cols = [], [], []

    def quad(p: np.ndarray, colour: np.ndarray, shade: np.ndarray | None = None) -> None:
        base = sum(len(v) for v in verts)
        verts.append(p)
        faces.append(np.array([[0, 1, 2], [0, 2, 3]]) + base)
        cols.append(np.clip(colour * (np.ones((4, 1)) if shade is None else shade[:, None]), 0, 1))

    for i in range(panels):
        a0, a1 = angles[i], angles[i + 1]
        tint = wall * rng.uniform(0.8, 1.1) * (1.0 + rng.normal(0, 0.04, size=3))
        for j in range(len(rows) - 1):
            z0, z1 = rows[j], rows[j + 1]
            p = np.array(
                [
                    [np.cos(a0), np.sin(a0), 0], [np.cos(a1), np.sin(a1), 0],
                    [np.cos(a1), np.sin(a1), 0], [np.cos(a0), np.sin(a0), 0],
                ]
            ) * [radius, radius, 0] + [[0, 0, z0], [0, 0, z0], [0, 0, z1], [0, 0, z1]]  # fmt: skip
            # Darker towards the floor, a little uneven: gradients a detector sees as texture.
            shade = rng.uniform(0.9, 1.05, size=4) * np.array([0.85, 0.85, 1.0, 1.0])
            quad(p + [centre[0], centre[1], 0.0], tint, shade)
    # The ceiling: a fan of light panels (wide, low cameras see it above the walls).
    ceiling = np.clip(np.array([0.9, 0.9, 0.88]) * rng.uniform(0.85, 1.0), 0, 1)
    for i in range(panels):
        a0, a1 = angles[i], angles[i + 1]
        p = np.array([[0.0, 0.0, height], [np.cos(a0) * radius, np.sin(a0) * radius, height],
                      [np.cos(a1) * radius, np.sin(a1) * radius, height], [0.0, 0.0, height]])  # fmt: skip
        quad(p + [centre[0], centre[1], 0.0], ceiling * rng.uniform(0.95, 1.02))
    # Furniture-like blocks against the walls, never between the cameras and the person.
    for _ in range(rng.integers(4, 9)):
        a = rng.uniform(0, 2 * np.pi)
        r = radius - rng.uniform(0.3, 0.9)
        w, d, h = rng.uniform(0.5, 1.6), rng.uniform(0.3, 0.6), rng.uniform(0.4, 2.0)
        colour = rng.uniform(0.1, 0.8, size=3)
        c = np.array([centre[0] + r * np.cos(a), centre[1] + r * np.sin(a)])
        u = np.array([-np.sin(a), np.cos(a)]) * w / 2  # along the wall
        n = np.array([np.cos(a), np.sin(a)]) * d / 2  # towards the wall
        corners = [c - u - n, c + u - n, c + u + n, c - u + n]
        for k in range(4):  # sides
            p0, p1 = corners[k], corners[(k + 1) % 4]
            quad(np.array([[*p0, 0], [*p1, 0], [*p1, h], [*p0, h]]), colour * rng.uniform(0.8, 1.0))
        quad(np.array([[*corners[0], h], [*corners[1], h], [*corners[2], h], [*corners[3], h]]), colour * 1.1)
    return np.concatenate(verts), np.concatenate(faces), np.concatenate(cols)


class SensorNoise:
    """Sensor noise for images of one size: a random crop of one larger noise field per image
    (drawing fresh noise for every megapixel image would cost more than rendering it)."""

    def __init__(self, rng: np.random.Generator, height: int, width: int, sigma: float = 2.0) -> None:
        self._rng = rng
        self._field = (rng.standard_normal((height + 64, width + 64, 3), dtype=np.float32) * sigma).astype(np.int16)
        self.height, self.width = height, width

    def sample(self) -> np.ndarray:
        y, x = self._rng.integers(0, 64, size=2)
        return self._field[y : y + self.height, x : x + self.width]


def finish_image(image: np.ndarray, noise: SensorNoise) -> np.ndarray:
    """A camera's touch: slight blur and sensor noise on an (H, W, 3) uint8 image."""
    import cv2

    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=0.6)
    return np.clip(blurred.astype(np.int16) + noise.sample(), 0, 255).astype(np.uint8)


def render_sequence_images(
    seq: SyntheticSequence,
    folder: str | Path,
    progress: bool = False,
    on_frame: Callable[[int, int], None] | None = None,
    body_model=None,
) -> None:
    """Render every frame of every view to ``folder/camNN/FFFFFF.png``.

    body_model: the Anny body model the sequence was made with (default: loaded here).
    """
    import cv2
    import torch

    if seq.vertices is None or seq.faces is None:
        raise ValueError("the sequence holds no mesh to render")
    folder = Path(folder)
    # Its own stream: rendering must not change the rest of the sequence.
    rng = np.random.default_rng(np.random.SeedSequence([seq.seed, 7]))
    body = body_model if body_model is not None else load_body_model()
    with torch.no_grad():
        dev = body.device
        rest = body(torch.zeros(1, 3, device=dev), torch.zeros(1, 19, 3, device=dev), torch.as_tensor(seq.shape, dtype=torch.float32, device=dev)[None])
    labels = body_part_labels(body, rng, rest.vertices[0].cpu().numpy(), rest.keypoints[0].cpu().numpy())
    colours = body_colours(labels, rng)
    centre = seq.joints3d.reshape(-1, 3).mean(axis=0)
    floor = floor_mesh(rng, centre)
    backdrop = backdrop_mesh(rng, centre)

    renderers: dict[tuple[int, int], MeshRenderer] = {}
    noises: dict[tuple[int, int], SensorNoise] = {}
    for v, name in enumerate(seq.view_names):
        (folder / name).mkdir(parents=True, exist_ok=True)
        size = (int(seq.image_size[v, 0]), int(seq.image_size[v, 1]))
        if size not in renderers:  # one renderer per image size, shared by the views that have it
            renderer = MeshRenderer(*size)
            renderer.add_static("floor", *floor)
            renderer.add_static("backdrop", *backdrop)
            renderers[size] = renderer
            noises[size] = SensorNoise(rng, size[1], size[0])
    def save(image: np.ndarray, noise: SensorNoise, path: Path) -> None:
        # Fast PNG compression: files a little bigger, written several times faster.
        if not cv2.imwrite(str(path), finish_image(image, noise)[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise OSError(f"could not write {path}")

    total = seq.num_frames * seq.num_views
    # Encoding a PNG costs about as much as rendering it: one thread encodes while the next
    # image renders (OpenCV and Embree release the GIL).
    with ThreadPoolExecutor(max_workers=1) as writer, progress_bar(total=total, desc="rendering", unit="image", disable=not progress) as bar:
        pending = []
        done = 0  # counted here: a disabled tqdm bar does not count

        def finished_one() -> None:
            nonlocal done
            done += 1
            bar.update(1)
            if on_frame is not None:
                on_frame(done, total)

        for f in range(seq.num_frames):
            for v, name in enumerate(seq.view_names):
                size = (int(seq.image_size[v, 0]), int(seq.image_size[v, 1]))
                result = renderers[size].render(
                    seq.vertices[f], seq.faces, float(seq.cam_f[v]), seq.cam_c[v], seq.cam_R[v], seq.cam_t[v], color=colours
                )
                pending.append(writer.submit(save, result.image, noises[size], folder / name / f"{f:06d}.png"))
                while pending and (pending[0].done() or len(pending) > 2):
                    pending.pop(0).result()  # re-raises a failed write
                    finished_one()
        for job in pending:
            job.result()
            finished_one()
    for renderer in renderers.values():
        renderer.close()
