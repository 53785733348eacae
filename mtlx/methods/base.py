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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from enum import Enum
from typing import Any, ClassVar

import torch
from torch import Tensor, nn


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
        self.events: Counter[str] = Counter()  # noteworthy steps, read and cleared every epoch

    def parameters(self) -> list[nn.Parameter]:
        """Learnable parameters the method owns (UW's log-variances); optimized with the model."""
        return []

    def to(self, device: str) -> Method:
        for parameter in self.parameters():
            parameter.data = parameter.data.to(device)
        return self

    def reset(self) -> None:
        """Forget all state accumulated during training."""
        self.task_weights = None
        self.events.clear()

    def state_dict(self) -> dict[str, Any]:
        """The state accumulated during training, as plain tensors and numbers (for checkpoints)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict`."""
        return None

    def end_epoch(self) -> None:
        """Called by the trainer after every training epoch (DWA's loss history, for one)."""
        return None


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
        """The T task weights from the T × T Gramian of the task gradients."""

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        weights = self.weights(jacobian @ jacobian.T)
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
