"""Network inference on a whole sequence: IRV per view, then IEV, batched over frames."""

from __future__ import annotations

import numpy as np
import torch

from core.body import BodyModel
from core.canonical.params import CanonicalParams, ViewBodies
from core.errors import InputError
from core.nets.cmanet import CMANet
from core.nets.inputs import ViewInputs, make_view_inputs


def _tensor(x, device: torch.device, dtype=torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=dtype).to(device)


def sequence_inputs(model: CMANet, keypoints2d, focal, principal, image_sizes, images=None,
                    device: torch.device | None = None) -> ViewInputs:
    """ViewInputs (F, V) of a sequence; ``images`` are the person crops (F, V, 3, S, S) uint8
    (core.nets.crops.person_crops) or None."""
    device = device or model.space.mean.device
    kp = _tensor(keypoints2d, device)
    if kp.dim() != 4 or kp.shape[-2:] != (17, 3):
        raise InputError(f"keypoints2d must be (F, V, 17, 3), got {tuple(kp.shape)}")
    views = kp.shape[1]
    focal, principal, image_sizes = _tensor(focal, device), _tensor(principal, device), _tensor(image_sizes, device)
    if focal.shape != (views,) or principal.shape != (views, 2) or image_sizes.shape != (views, 2):
        raise InputError(f"intrinsics must be focal (V,), principal (V, 2), image_sizes (V, 2) for V={views} views")
    crops = None
    if model.config.uses_images:
        if images is None:
            raise InputError(f"this network's {model.config.encoder!r} encoder needs images; the sequence has none")
        crops = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images).to(device)
    groups = model.irv.fc1.groups
    if groups > 1 and groups != views:
        raise InputError(f"this network has per-view regressors for {groups} views; the sequence has {views}")
    return make_view_inputs(kp, focal, principal, image_sizes, model.config.confidence_threshold, crops)


@torch.no_grad()
def predict(
    model: CMANet,
    keypoints2d,
    focal,
    principal,
    image_sizes,
    images=None,
    body: BodyModel | None = None,
    batch_frames: int = 1024,
) -> tuple[ViewBodies, CanonicalParams]:
    """Network-mode estimate of a sequence.

    Args:
        keypoints2d: (F, V, 17, 3) detections (numpy or torch); focal: (V,) pixels;
            principal: (V, 2); image_sizes: (V, 2) width, height.
        images: (F, V, 3, S, S) uint8 person crops for image encoders, else None.
        body: the body model (default: the one the network was built for).
        batch_frames: frames per forward pass.
    Returns:
        IRV: ViewBodies with batch (F, V) (camera frames); IEV: CanonicalParams with batch (F,)
        (global_orient, transl (F, V, ...); body_pose (F, J, 3, 3), shape (F, S)).
    """
    was_training = model.training
    model.eval()
    body = body or model.body_model()
    inputs = sequence_inputs(model, keypoints2d, focal, principal, image_sizes, images)
    frames = inputs.keypoints2d.shape[0]
    irv_parts, iev_parts = [], []
    for start in range(0, frames, batch_frames):
        chunk = inputs.map(lambda t, s=start: t[s : s + batch_frames])
        irv, _, states = model(chunk, body, stage="full")
        irv_parts.append(model.view_bodies(irv.theta, chunk))
        iev_parts.append(model.canonical(states[-1], chunk))
    model.train(was_training)
    cat = lambda parts, cls: cls(**{k: torch.cat([getattr(p, k) for p in parts]) for k in vars(parts[0])})  # noqa: E731
    return cat(irv_parts, ViewBodies), cat(iev_parts, CanonicalParams)
