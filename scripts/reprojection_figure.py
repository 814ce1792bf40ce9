"""Draw a result's detections (dots, by confidence) and its reprojected IEV keypoints (skeleton)
on one frame of every view, side by side: ``python scripts/reprojection_figure.py SEQ RES OUT.png [FRAME]``."""

import sys

import cv2
import numpy as np

from core.geometry.camera import project, transform_points
from core.io import MultiViewSequence
from core.io.results import FitResult
from core.keypoints import COCO17_EDGES


def main(seq_dir: str, result_dir: str, out: str, frame: int = 0) -> None:
    import torch

    result = FitResult.load(result_dir)
    world = torch.as_tensor(result.joints3d[frame])
    cam = transform_points(world[None], torch.as_tensor(result.cam_R[frame]), torch.as_tensor(result.cam_t[frame]))
    uv = project(cam, torch.as_tensor(result.cam_f[frame]), torch.as_tensor(result.cam_c[frame])).numpy()
    tiles = []
    with MultiViewSequence.open(seq_dir) as seq:
        for v, image in enumerate(seq.read_frame(frame)):
            canvas = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
            for a, b in COCO17_EDGES:
                cv2.line(canvas, tuple(int(x) for x in uv[v, a]), tuple(int(x) for x in uv[v, b]), (255, 200, 0), 2, cv2.LINE_AA)
            for x, y, c in result.keypoints2d[frame, v]:
                color = (0, 0, 255) if c > 0.3 else (128, 128, 128)
                cv2.circle(canvas, (int(x), int(y)), 4, color, -1 if c > 0.3 else 1, cv2.LINE_AA)
            scale = 360 / canvas.shape[0]
            canvas = cv2.resize(canvas, (int(canvas.shape[1] * scale), 360))
            cv2.putText(canvas, f"{result.view_names[v]}  IEV {result.iev_reproj_px[frame, v]:.1f}px", (8, 24),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2, cv2.LINE_AA)
            tiles.append(canvas)
    cv2.imwrite(out, np.concatenate(tiles, axis=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
