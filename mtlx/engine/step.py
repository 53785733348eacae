"""One optimisation step of a multi-task network under a method, whatever its gradient source.

- Loss-level methods: back-propagate ``method.combine(losses)``.
- Shared-parameter methods: per-task gradients of the (transformed) losses w.r.t. the shared
  parameters and each task's own head in the same backward passes; the method aggregates the shared
  part; each head keeps its own loss's gradient (see ``mtlx.methods.base`` for the convention).
- Representation methods: the same with respect to the encoder's output ``z``; the aggregated
  ``∂/∂z`` is then back-propagated once through the encoder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from mtlx.engine.jacobian import JacobianEngine, unflatten_into_grads
from mtlx.methods import GradientAggregator, GradientSource, LossWeighting, Method
from mtlx.models import MultiTaskNetwork
from mtlx.tasks import Task

log = logging.getLogger(__name__)


class TrainingStep:
    """``step(inputs, targets)`` → detached T-vector of task losses; parameters updated in place."""

    def __init__(
        self,
        network: MultiTaskNetwork,
        method: Method,
        tasks: Sequence[Task],
        optimizer: torch.optim.Optimizer,
        jacobian_mode: str = "auto",
    ) -> None:
        self.network = network
        self.method = method
        self.tasks = list(tasks)
        self.optimizer = optimizer
        self.device = next(network.parameters()).device
        self.jacobian_engine = JacobianEngine(jacobian_mode, self.device, len(tasks))
        self.shared = [p for p in network.shared_parameters() if p.requires_grad]
        self.heads = {
            task.name: [p for p in network.task_parameters(task.name) if p.requires_grad]
            for task in self.tasks
        }
        # what each task's backward reaches besides the shared part: its head and the method's
        # own parameters (IMTL's scales; the same Parameter objects for the whole run)
        self.private = [[*self.heads[task.name], *method.parameters()] for task in self.tasks]
        if isinstance(method, GradientAggregator) and method.owns_shared_update:
            # The method preconditions the shared update itself; the run's optimizer keeps only
            # the heads (and the method's own parameters) — see GradientAggregator.
            shared_ids = {id(p) for p in self.shared}
            for group in optimizer.param_groups:
                kept = [p for p in group["params"] if id(p) not in shared_ids]
                if len(kept) < len(group["params"]) and group.get("weight_decay", 0.0) > 0:
                    log.warning(
                        "%s applies no weight decay to the shared parameters; "
                        "weight_decay=%g acts on the heads only",
                        method.name,
                        group["weight_decay"],
                    )
                group["params"] = kept

    def task_losses(
        self, predictions: Mapping[str, Tensor], targets: Mapping[str, Tensor]
    ) -> Tensor:
        return torch.stack(
            [task.loss(predictions[task.name], targets[task.name]) for task in self.tasks]
        )

    def __call__(self, inputs: Tensor, targets: Mapping[str, Tensor]) -> Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        method = self.method
        if isinstance(method, LossWeighting):
            losses = self.task_losses(self.network(inputs), targets)
            method.combine(losses).backward()
            self.optimizer.step()
            return losses.detach()
        if not isinstance(method, GradientAggregator):
            raise TypeError(
                f"{type(method).__name__} is neither a loss weighting nor an aggregator"
            )
        if method.source is GradientSource.REPRESENTATION:
            losses = self._representation_gradients(method, inputs, targets)
        else:
            losses = self._shared_parameter_gradients(method, inputs, targets)
        self.optimizer.step()
        return losses

    def _differentiated_losses(
        self,
        method: GradientAggregator,
        predictions: Mapping[str, Tensor],
        targets: Mapping[str, Tensor],
    ) -> tuple[Tensor, list[Tensor]]:
        """The stacked raw losses, and the per-task (transformed) losses whose gradients are taken.

        Each task's gradient is taken from its own loss tensor, never from an element of the
        stacked vector: a backward from ``stacked[t]`` would also run every other task's head with
        zero gradients (T² head backwards a step; 15 % of the step at T = 40 on an H100).
        """
        per_task = [task.loss(predictions[task.name], targets[task.name]) for task in self.tasks]
        transformed = [method.transform_loss(t, loss) for t, loss in enumerate(per_task)]
        return torch.stack(per_task), transformed

    @property
    def jacobian_mode(self) -> str:
        """The per-task gradient engine in use: ``loop`` or ``batched``."""
        return self.jacobian_engine.mode

    def _jacobian(
        self, method: GradientAggregator, losses: Sequence[Tensor], shared: Sequence[Tensor]
    ) -> Tensor:
        """T × d Jacobian w.r.t. ``shared``; each head gets its own loss's gradient and the
        method's parameters (IMTL's scales) the sum over tasks of theirs."""
        gradients = self.jacobian_engine(losses, shared, self.private)
        for own, own_gradients in zip(self.private, gradients.private, strict=True):
            for parameter, gradient in zip(own, own_gradients, strict=True):
                if parameter.grad is None:
                    parameter.grad = gradient
                else:
                    parameter.grad += gradient
        return gradients.jacobian

    def _shared_parameter_gradients(
        self, method: GradientAggregator, inputs: Tensor, targets: Mapping[str, Tensor]
    ) -> Tensor:
        raw_losses, losses = self._differentiated_losses(method, self.network(inputs), targets)
        jacobian = self._jacobian(method, losses, self.shared)
        direction = method.aggregate(jacobian, raw_losses.detach())
        if method.owns_shared_update:
            lr = self.optimizer.param_groups[0]["lr"]
            with torch.no_grad():
                offset = 0
                for parameter in self.shared:
                    size = parameter.numel()
                    parameter.sub_(lr * direction[offset : offset + size].view_as(parameter))
                    offset += size
        else:
            unflatten_into_grads(direction, self.shared)
        return raw_losses.detach()

    def _representation_gradients(
        self, method: GradientAggregator, inputs: Tensor, targets: Mapping[str, Tensor]
    ) -> Tensor:
        representation = self.network.encoder(inputs)
        detached = representation.detach().requires_grad_(True)
        raw_losses, losses = self._differentiated_losses(
            method, self.network.decode(detached), targets
        )
        jacobian = self._jacobian(method, losses, [detached])
        direction = method.aggregate(jacobian, raw_losses.detach())
        representation.backward(direction.view_as(representation))
        return raw_losses.detach()
