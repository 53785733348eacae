"""Resolving a component's hyper-parameters: the user's values over the signature's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtlx.registry import REQUIRED


def coerce(value: Any, default: Any, where: str) -> Any:
    """``value`` in the type of ``default``, so ``0``, ``0.0`` and YAML's ``"5e-1"`` are one value.

    Only lossless conversions: an int or a numeric string for a float, an integral number for an
    int, element-wise for a list or tuple. A default of None or of another type accepts anything.
    """
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, but got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} must be a number, but got {value!r}")
        return float(value)
    if isinstance(default, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an integer, but got {value!r}")
        return value
    if isinstance(default, tuple | list) and default:
        if not isinstance(value, tuple | list) or len(value) != len(default):
            raise ValueError(f"{where} must be a list of {len(default)} values, but got {value!r}")
        return [coerce(v, d, where) for v, d in zip(value, default, strict=True)]
    return value


def resolve_hyperparameters(
    parameters: Mapping[str, Any], given: Mapping[str, Any], what: str
) -> dict[str, Any]:
    """Every hyper-parameter in ``parameters`` (name → default, as ``Registry.parameters``
    gives them) with its resolved value.

    Unknown keys are refused with the allowed ones; missing keys take the default; a parameter
    without a default (``REQUIRED``) must be given.
    """
    unknown = sorted(set(given) - set(parameters))
    if unknown:
        names = ", ".join(sorted(parameters)) or "none"
        raise ValueError(f"{what} has no hyper-parameter {', '.join(unknown)}; allowed: {names}")
    resolved = {}
    for name, default in parameters.items():
        if name in given:
            resolved[name] = coerce(given[name], default, f"{what}: {name}")
        elif default is REQUIRED:
            raise ValueError(f"{what} needs the hyper-parameter {name!r}")
        else:
            resolved[name] = default
    return resolved
