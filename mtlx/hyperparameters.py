"""Resolving a component's hyper-parameters: the user's values over the signature's defaults."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any


def resolve_hyperparameters(
    component: Callable[..., Any], given: Mapping[str, Any], what: str, skip: int = 0
) -> dict[str, Any]:
    """Every keyword hyper-parameter of ``component`` with its resolved value.

    ``skip`` leading positional parameters (``num_tasks``, ``params``…) are not hyper-parameters.
    Unknown keys are refused with the allowed ones; missing keys take the signature's default.
    """
    parameters = list(inspect.signature(component).parameters.values())[skip:]
    allowed = {
        p.name: p.default for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        names = ", ".join(sorted(allowed)) or "none"
        raise ValueError(f"{what} has no hyper-parameter {', '.join(unknown)}; allowed: {names}")
    resolved = {}
    for name, default in allowed.items():
        if name in given:
            resolved[name] = given[name]
        elif default is inspect.Parameter.empty:
            raise ValueError(f"{what} needs the hyper-parameter {name!r}")
        else:
            resolved[name] = default
    return resolved
