"""Network files: what a checkpoint holds, writing it atomically, reading it back with clear errors.

A checkpoint is a ``torch.save`` of plain data (loadable with ``weights_only=True``):
``{"format": "cmanet", "version", "model_config", "body_model", "num_joints", "shape_dim",
"state_dict", "meta", ...}``. Training checkpoints add their own keys (optimizer, step, ...);
:func:`load_model` reads either kind.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import torch

from core.body import BodyModelConfig
from core.config import RESOURCES_DIR, from_dict, to_dict
from core.device import resolve_device
from core.errors import InputError
from core.io.atomic import atomic_write_bytes
from core.nets.cmanet import CMANet
from core.nets.config import ModelConfig
from core.nets.param_space import ParamSpace

FORMAT = "cmanet"
# The model that ships with the app (scripts/train_default makes it).
DEFAULT_MODEL = RESOURCES_DIR / "models" / "cmanet_default.pt"
VERSION = 1


def installed_model() -> Path | None:
    """The shipped default model (:data:`DEFAULT_MODEL`) when it is installed, else None."""
    return DEFAULT_MODEL if DEFAULT_MODEL.is_file() else None


def model_payload(model: CMANet, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The network part of a checkpoint (weights on the CPU)."""
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_config": to_dict(model.config),
        "body_model": to_dict(model.body_config),
        "num_joints": model.space.num_joints,
        "shape_dim": model.space.shape_dim,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }


def write_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """``torch.save`` ``payload`` to ``path`` atomically (a crash never leaves half a file)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def save_model(model: CMANet, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write a network-only checkpoint (what ships in resources/models)."""
    return write_checkpoint(path, model_payload(model, meta))


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint file onto the CPU; InputError naming the file when it is missing,
    unreadable, or not a CMANet checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such checkpoint file", path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, AttributeError, KeyError) as exc:
        raise InputError(f"not a readable checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})", path) from None
    except Exception as exc:  # noqa: BLE001 - unpickling garbage raises anything
        raise InputError(f"not a readable checkpoint ({type(exc).__name__})", path) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError("not a CMANet checkpoint", path)
    if data.get("version", 0) > VERSION:
        raise InputError(f"checkpoint version {data.get('version')} is newer than this program reads ({VERSION})", path)
    missing = [k for k in ("model_config", "body_model", "num_joints", "shape_dim", "state_dict") if k not in data]
    if missing:
        raise InputError(f"incomplete checkpoint: missing {', '.join(missing)}", path)
    return data


def model_from_payload(data: dict[str, Any], where: str | Path | None = None) -> CMANet:
    """Rebuild the network a checkpoint describes and load its weights."""
    try:
        config = from_dict(ModelConfig, data["model_config"], "model")
        body_config = from_dict(BodyModelConfig, data["body_model"], "body_model")
    except InputError as exc:
        raise InputError(f"bad model description: {exc}", where) from None
    model = CMANet(config, ParamSpace.empty(int(data["num_joints"]), int(data["shape_dim"])), body_config)
    try:
        model.load_state_dict(data["state_dict"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise InputError(f"weights do not fit the network it describes ({str(exc).splitlines()[0][:200]})", where) from None
    return model


def check_body_model(model: CMANet, body_config: BodyModelConfig, where: str | Path | None = None) -> None:
    """InputError naming ``where`` when ``model`` was built for another body model than
    ``body_config`` names (its pose and shape parameters would not fit that body)."""
    trained = getattr(model, "module", model).body_config.name
    if trained != body_config.name:
        raise InputError(f"this network was trained for the {trained} body model, but the config asks for "
                         f"{body_config.name}: use a network trained for {body_config.name}, or body_model.name: "
                         f"{trained}", where)


def load_model(checkpoint: str | Path, device: str | torch.device = "auto",
               body_config: BodyModelConfig | None = None) -> CMANet:
    """The network of ``checkpoint`` (a model file or a training checkpoint), in eval mode on
    ``device`` (``auto``: CUDA when available); with ``body_config``, InputError when the network
    was trained for another body model."""
    device = resolve_device(device) if isinstance(device, str) else device
    model = model_from_payload(read_checkpoint(checkpoint), checkpoint)
    if body_config is not None:
        check_body_model(model, body_config, checkpoint)
    return model.to(device).eval()
