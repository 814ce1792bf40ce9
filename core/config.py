"""Typed configuration: YAML files loaded into dataclasses, validated with clear errors.

Every config section is a (frozen) dataclass whose field types are plain: bool, int, float, str,
tuples/lists of those, ``X | None``, ``Literal[...]`` or another config dataclass. Unknown keys and
wrong types are reported with the file and the dotted key that is wrong.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import yaml

from core.errors import InputError

T = TypeVar("T")

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"
CONFIGS_DIR = RESOURCES_DIR / "configs"


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(value, option, where)
            except InputError as exc:
                errors.append(str(exc))
        raise InputError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise InputError(f"{where}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{where}: expected a list, got {value!r}")
        args = get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise InputError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise InputError(f"{where}: expected a string, got {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, (str, Path)):
            raise InputError(f"{where}: expected a path, got {value!r}")
        return Path(value)
    raise TypeError(f"unsupported config type {hint!r} at {where}")


def from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build the dataclass ``cls`` from a mapping, recursively, rejecting unknown keys."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{where or 'config'}: expected a mapping, got {data!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise InputError(
            f"unknown key {prefix}{unknown[0]} (known: {', '.join(sorted(fields))})"
        )
    kwargs = {}
    for name, value in data.items():
        key = f"{where}.{name}" if where else name
        kwargs[name] = _convert(value, hints[name], key)
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where or 'config'}: {exc}") from None
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ValueError as exc:
            raise InputError(f"{where + ': ' if where else ''}{exc}") from None
    return obj


def to_dict(obj: Any) -> Any:
    """The plain-YAML form of a config dataclass (paths as strings, tuples as lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning every failure into an InputError that names the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"not valid YAML{line}: {getattr(exc, 'problem', exc)}", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", path) from None


def load_config(cls: type[T], path: str | Path) -> T:
    """Load a YAML file into the config dataclass ``cls``; errors name the file and the key."""
    data = read_yaml(path)
    try:
        return from_dict(cls, data)
    except InputError as exc:
        raise InputError(str(exc), path) from None


def resolve_config_path(name_or_path: str | Path) -> Path:
    """A shipped config by name (``tiny`` -> resources/configs/tiny.yaml) or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    shipped = CONFIGS_DIR / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    names = sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))
    raise InputError(f"no config named {name_or_path!r} (shipped: {', '.join(names)}; or give a .yaml path)")
