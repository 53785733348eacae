"""The method contract.

A method never sees the model. The training step hands it what its ``source`` asks for:

- ``LOSSES``: the T task losses; a :class:`LossWeighting` returns the scalar objective.
- ``SHARED_PARAMETERS``: the T × d Jacobian of the losses with respect to the shared parameters; a
  :class:`GradientAggregator` returns the d-dimensional update direction for them.
- ``REPRESENTATION``: the same, with respect to the shared representation (one backward through
  the encoder instead of T, as in MGDA-UB).

Scale convention for gradient-level methods: each task head receives the gradient of its own loss,
unweighted (as in LibMTL, which the seed paper builds on); only the shared gradient is aggregated.

Every method exposes the task weights of its last step in ``task_weights`` (a detached T-vector on
the device, or ``None`` where the method has no weights, e.g. PCGrad), so the trainer can record
them without a host synchronisation per step.

Precision: training hands float32 Jacobians. What needs precision — the T × T Gramian and every
solve on it — is computed in float64 from them (:func:`task_gramian`), with tolerances of the
float64 computation; only the final weighted sum of the gradients is in the Jacobian's dtype.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from enum import Enum
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

# Jacobian entries converted to float64 at a time by ``task_gramian``: the extra memory is one
# block, and on the CPU a block of 2²⁰ entries (8 MiB) stays in cache while it is multiplied, which
# makes the float64 product about as fast as float32's (README, "Solvers").
_CPU_BLOCK_ENTRIES = 1 << 20
_DEVICE_BLOCK_ENTRIES = 1 << 26


def state_copy(tensor: Tensor | None) -> Tensor | None:
    """A detached copy of a piece of state (``None`` stays ``None``), so that a state dict is a
    snapshot and a loaded method shares no memory with its source."""
    return None if tensor is None else tensor.detach().clone()


def task_gramian(jacobian: Tensor) -> Tensor:
    """G = J Jᵀ, the T × T Gramian of the task gradients, in float64 on J's device.

    The product of two float32 numbers is exact in float64, so from a float32 Jacobian G is exact
    up to the float64 rounding of its sums: gradient norms orders of magnitude apart and nearly
    dependent gradients, which a float32 Gramian blurs (its sums of millions of terms are rounded
    at ε = 1.2e-7 many times over), keep their geometry. J is converted block by block.
    """
    if jacobian.dtype == torch.float64:
        return jacobian @ jacobian.T
    jacobian = jacobian.detach()
    t, d = jacobian.shape
    entries = _CPU_BLOCK_ENTRIES if jacobian.device.type == "cpu" else _DEVICE_BLOCK_ENTRIES
    columns = max(1, min(d, entries // t))
    gramian = torch.zeros(t, t, dtype=torch.float64, device=jacobian.device)
    block = torch.empty(t, columns, dtype=torch.float64, device=jacobian.device)
    for start in range(0, d, columns):
        part = jacobian[:, start : start + columns]
        converted = block[:, : part.shape[1]]
        converted.copy_(part)
        gramian.addmm_(converted, converted.T)
    return gramian


class GradientSource(str, Enum):
    LOSSES = "losses"
    SHARED_PARAMETERS = "shared_parameters"
    REPRESENTATION = "representation"


class Method(ABC):
    """Base of every multi-task optimization method; subclasses take hyper-parameters as kwargs."""

    name: ClassVar[str]
    source: GradientSource

    def __init__(self, num_tasks: int) -> None:
        if num_tasks < 1:
            raise ValueError(f"num_tasks must be positive, but got {num_tasks}.")
        self.num_tasks = num_tasks
        self.task_weights: Tensor | None = None
        # noteworthy but legitimate things a step did, by name (Nash-MTL's "zero_step"); the
        # trainer reads and clears them after each epoch
        self.events: Counter[str] = Counter()

    def parameters(self) -> list[nn.Parameter]:
        """Learnable parameters the method owns, optimized by the run's optimizer with the model
        (no weight decay): UW's log-variances and IMTL's scales get their gradients through the
        objective, GradNorm's logits from ``aggregate``, which sets them."""
        return []

    def to(self, device: str) -> Method:
        for parameter in self.parameters():
            parameter.data = parameter.data.to(device)
        return self

    def reset(self) -> None:
        """Forget all state accumulated during training."""
        self.task_weights = None
        self.events = Counter()

    def end_epoch(self) -> None:
        """Called by the trainer after every training epoch (DWA's loss history, for one)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """Everything the method has learned or accumulated, as a snapshot of plain tensors,
        numbers, lists and ``None`` (``torch.save`` / ``torch.load(weights_only=True)`` keep it):
        learned parameters' values, optimizer moments, averages, loss histories, previous weights,
        step counters, and the ``events`` not yet cleared (a dict of counts). ``{}`` for a
        stateless method. Tensors stay on the method's device."""
        return {"events": dict(self.events)} if self.events else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``state_dict()``'s state into a method built with the same hyper-parameters;
        it then continues exactly as the method the state came from."""
        self.events = Counter(state.get("events", {}))


class LossWeighting(Method):
    """A method that maps the task losses to one scalar objective."""

    source = GradientSource.LOSSES

    @abstractmethod
    def combine(self, losses: Tensor) -> Tensor:
        """The objective to back-propagate; ``losses`` is the T-vector of task losses."""


class GradientAggregator(Method):
    """A method that maps the T × d task Jacobian to one d-dimensional update direction.

    ``owns_shared_update``: the direction is the final, preconditioned update of the shared
    parameters (per-task optimizer states, as AdaTask and MTL-IO); the trainer then applies
    θ ← θ − lr·direction to them instead of stepping the run's optimizer on them.
    """

    source = GradientSource.SHARED_PARAMETERS
    owns_shared_update: ClassVar[bool] = False

    def transform_loss(self, task: int, loss: Tensor) -> Tensor:
        """A differentiable map of task ``task``'s loss, applied before its gradients are taken.

        Identity by default; IMTL's learned loss scales use it (e^s·L − s), DB-MTL its log. Heads
        and the method's own parameters are trained on the transformed losses. One task at a time,
        so each task's gradient is taken from its own loss (see ``TrainingStep``).
        """
        return loss

    @abstractmethod
    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        """The update direction, a fresh tensor (never the method's kept state: the step hands it
        to the optimizer as the gradients); ``losses`` (detached) for methods that use them."""


class GramianWeighting(GradientAggregator):
    """An aggregator whose direction is ``wᵀ J`` with weights ``w`` computed from ``G = J Jᵀ``."""

    @abstractmethod
    def weights(self, gramian: Tensor) -> Tensor:
        """The T task weights from the T × T Gramian of the task gradients (float64)."""

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        weights = self.weights(task_gramian(jacobian.detach())).to(
            device=jacobian.device, dtype=jacobian.dtype
        )
        self.task_weights = weights.detach()
        return weights @ jacobian

    def batch_weights(self, gramians: Tensor) -> Tensor:
        """The weights of many independent problems at once: (…, T, T) Gramians → (…, T).

        One :meth:`weights` call per Gramian here; methods with a closed form vectorise it (the
        toy task of :mod:`mtlx.studies.toy` steps hundreds of 2-task problems together). Leaves
        ``task_weights`` alone: a batch is not a training step.
        """
        t = gramians.shape[-1]
        flat = gramians.reshape(-1, t, t)
        if flat.shape[0] == 0:
            return gramians.new_zeros(gramians.shape[:-1])
        return torch.stack([self.weights(g) for g in flat]).reshape(gramians.shape[:-1])
