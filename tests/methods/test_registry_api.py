"""Every registered method: names, the papers' default hyper-parameters, the pure ``aggregate``
entry point, ``task_weights`` and ``reset()``."""

from __future__ import annotations

import re

import pytest
import torch

from mtlx.methods import (
    METHODS,
    GradientAggregator,
    LossWeighting,
    aggregate,
    build_method,
    method_hyperparameters,
)

DEFAULTS = {
    "adatask": {"betas": (0.9, 0.999), "eps": 1e-8},
    "aligned-mtl": {},
    "cagrad": {"c": 0.4, "rescale": "1+c^2"},
    "db-mtl": {"beta": 0.9, "beta_sigma": 0.0},
    "dwa": {"temperature": 2.0},
    "ew": {},
    "famo": {"logit_lr": 0.025, "logit_decay": 1e-3},
    "graddrop": {"leak": 0.0, "source": "representation"},
    "gradnorm": {"alpha": 1.5},
    "imtl": {"init_log_scale": 0.0},
    "imtl-g": {},
    "imtl-l": {"init_log_scale": 0.0},
    "mgda": {"normalization": "none"},
    "mgda-ub": {"normalization": "none"},
    "mtl-io": {"momentum": 0.9},
    "nash-mtl": {"max_norm": 1.0, "update_weights_every": 1},
    "pcgrad": {},
    "rlw": {},
    "uw": {"init_log_variance": -0.5},
    "uw-o": {},
}
WITHOUT_WEIGHTS = {"graddrop", "adatask", "mtl-io"}
GRADIENT_METHODS = [n for n in METHODS.names() if issubclass(METHODS.get(n), GradientAggregator)]


def test_every_method_is_registered_with_the_papers_defaults() -> None:
    assert sorted(DEFAULTS) == METHODS.names()
    for name, defaults in DEFAULTS.items():
        assert method_hyperparameters(name) == defaults, name
        assert METHODS.get(name).name == name


@pytest.mark.parametrize("name", GRADIENT_METHODS)
@pytest.mark.parametrize("shape", [(2, 3), (3, 17), (40, 64)])
def test_aggregate_works_for_every_gradient_method(name: str, shape: tuple[int, int]) -> None:
    jacobian = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    direction = aggregate(name, jacobian)
    assert direction.shape == (shape[1],)
    assert direction.dtype == jacobian.dtype
    assert torch.isfinite(direction).all()


def test_aggregate_refuses_loss_weightings() -> None:
    with pytest.raises(ValueError, match="weights losses"):
        aggregate("uw-o", torch.ones(2, 3))


def run_steps(method, seed: int, steps: int = 3) -> list[torch.Tensor]:
    """Outputs of a few seeded steps (combined objective or aggregated direction)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # RLW, PCGrad, GradDrop draw from the global generator
    outputs = []
    for _ in range(steps):
        losses = torch.rand(3, generator=generator, dtype=torch.float64) + 0.5
        if isinstance(method, LossWeighting):
            outputs.append(method.combine(losses).detach())
        else:
            jacobian = torch.randn(3, 8, generator=generator, dtype=torch.float64)
            outputs.append(method.aggregate(jacobian, losses))
        method.end_epoch()  # lets DWA reach its ratio regime
    return outputs


@pytest.mark.parametrize("name", METHODS.names())
def test_task_weights_are_exposed_where_the_method_has_weights(name: str) -> None:
    method = build_method(name, 3)
    for parameter in method.parameters():
        parameter.data = parameter.data.double()
    run_steps(method, seed=0, steps=1)
    if name in WITHOUT_WEIGHTS:
        assert method.task_weights is None
    else:
        weights = method.task_weights
        assert weights is not None and weights.shape == (3,) and not weights.requires_grad


@pytest.mark.parametrize("name", METHODS.names())
def test_reset_restores_the_initial_state(name: str) -> None:
    used = build_method(name, 3)
    fresh = build_method(name, 3)
    for method in (used, fresh):
        for parameter in method.parameters():
            parameter.data = parameter.data.double()
    run_steps(used, seed=1)
    with torch.no_grad():  # as if the run's optimizer had moved the method's own parameters
        for parameter in used.parameters():
            parameter.add_(0.5)
    used.reset()
    assert used.task_weights is None
    for after_reset, from_scratch in zip(
        run_steps(used, seed=2), run_steps(fresh, seed=2), strict=True
    ):
        torch.testing.assert_close(after_reset, from_scratch)


INVALID = [
    ("cagrad", {"c": -1.0}, "c must be non-negative, but got -1.0."),
    ("dwa", {"temperature": -1.0}, "temperature must be positive, but got -1.0."),
    ("famo", {"logit_lr": -1.0}, "logit_lr must be positive, but got -1.0."),
    ("gradnorm", {"alpha": -1.0}, "alpha must be non-negative, but got -1.0."),
    ("db-mtl", {"beta_sigma": -1.0}, "beta_sigma must be non-negative, but got -1.0."),
    ("nash-mtl", {"max_norm": -1.0}, "max_norm must be non-negative, but got -1.0."),
    ("mtl-io", {"momentum": -1.0}, "momentum must be in [0, 1), but got -1.0."),
    ("adatask", {"eps": -1.0}, "eps must be positive, but got -1.0."),
    ("graddrop", {"leak": -1.0}, "leak must be in [0, 1], but got -1.0."),
]


@pytest.mark.parametrize(("name", "given", "message"), INVALID)
def test_hyperparameters_are_validated_with_one_message_shape(
    name: str, given: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build_method(name, 2, **given)


def _state_tensors(value: object, depth: int = 0) -> list[torch.Tensor]:
    """Tensors a method keeps: attributes, their containers and a held optimizer's state."""
    if isinstance(value, torch.Tensor):
        return [value]
    if depth > 3:
        return []
    if isinstance(value, torch.optim.Optimizer):
        value = {"params": value.param_groups, "state": list(value.state.values())}
    if isinstance(value, dict):
        return [t for item in value.values() for t in _state_tensors(item, depth + 1)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _state_tensors(item, depth + 1)]
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return _state_tensors(vars(value), depth + 1)
    return []


@pytest.mark.parametrize("name", GRADIENT_METHODS)
def test_directions_never_alias_the_methods_state(name: str) -> None:
    """The step hands the direction to the optimizer as the parameters' ``.grad`` (views, no
    copy): it must be a fresh tensor, never memory the method keeps and updates."""
    method = build_method(name, 3)
    generator = torch.Generator().manual_seed(5)
    for _ in range(3):
        jacobian = torch.randn(3, 11, generator=generator)
        direction = method.aggregate(jacobian, torch.rand(3, generator=generator) + 0.5)
        kept = {t.untyped_storage().data_ptr() for t in _state_tensors(method)}
        assert direction.untyped_storage().data_ptr() not in kept
        assert direction.untyped_storage().data_ptr() != jacobian.untyped_storage().data_ptr()
