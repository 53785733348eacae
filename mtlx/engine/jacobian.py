"""Per-task gradients: the T × d Jacobian of the task losses with respect to some tensors.

Two exact engines:

- ``loop``: one ``autograd.grad`` call per task (T backward passes, retaining the graph), each
  from the task's own loss tensor and with respect to the shared tensors plus that task's own
  *private* tensors (its head): a call never touches, or fills zeros for, another task's head;
- ``batched``: one backward with ``is_grads_batched`` (vmap over the T one-hot cotangents).

``auto`` is the loop on every device, the faster of the two wherever it was measured (README,
"Per-task gradients and their cost"). Either engine can be forced (``--jacobian loop|batched``).
Where the batched backward fails (an op without a batching rule), :class:`JacobianEngine` says so
once in the log and uses the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mtlx.engine import JACOBIAN_MODES

log = logging.getLogger(__name__)


def resolve_jacobian_mode(mode: str, device: torch.device, num_tasks: int) -> str:
    """The engine for ``mode`` on ``device`` with ``num_tasks`` tasks (``auto``: see above)."""
    if mode not in JACOBIAN_MODES:
        raise ValueError(f"jacobian mode must be one of {', '.join(JACOBIAN_MODES)}, got {mode!r}")
    return "loop" if mode == "auto" else mode


@dataclass(frozen=True)
class TaskGradients:
    """``jacobian``: T × d, row t the gradient of loss t w.r.t. the shared tensors (flattened);
    ``private[t]``: the gradients of loss t w.r.t. task t's own private tensors, in their order."""

    jacobian: Tensor
    private: list[tuple[Tensor, ...]]


def _loop(
    losses: Sequence[Tensor],
    shared: Sequence[Tensor],
    private: Sequence[Sequence[Tensor]],
    retain_graph: bool,
) -> TaskGradients:
    """T ``autograd.grad`` calls; each row is written straight into the preallocated Jacobian."""
    reference = shared[0]
    width = sum(tensor.numel() for tensor in shared)
    jacobian = torch.empty(len(losses), width, dtype=reference.dtype, device=reference.device)
    private_gradients = []
    for t, (loss, own) in enumerate(zip(losses, private, strict=True)):
        gradients = torch.autograd.grad(
            loss,
            [*shared, *own],
            retain_graph=retain_graph or t < len(losses) - 1,
            allow_unused=True,
            materialize_grads=True,
        )
        torch.cat([g.reshape(-1) for g in gradients[: len(shared)]], out=jacobian[t])
        private_gradients.append(tuple(gradients[len(shared) :]))
    return TaskGradients(jacobian, private_gradients)


def _batched(
    losses: Sequence[Tensor],
    shared: Sequence[Tensor],
    private: Sequence[Sequence[Tensor]],
    retain_graph: bool,
) -> TaskGradients:
    """One vmapped backward over the T one-hot cotangents of the stacked losses: the stack is
    traversed once, not once per task; every private tensor gets all T rows, task t keeps row t."""
    union: dict[int, int] = {}
    private_inputs: list[Tensor] = []
    for own in private:
        for tensor in own:
            if id(tensor) not in union:
                union[id(tensor)] = len(shared) + len(private_inputs)
                private_inputs.append(tensor)
    stacked = torch.stack(list(losses))
    cotangents = torch.eye(len(stacked), dtype=stacked.dtype, device=stacked.device)
    gradients = torch.autograd.grad(
        stacked,
        [*shared, *private_inputs],
        grad_outputs=cotangents,
        is_grads_batched=True,
        retain_graph=retain_graph,
        allow_unused=True,
        materialize_grads=True,
    )
    return TaskGradients(
        flatten_jacobian(gradients[: len(shared)]),
        [tuple(gradients[union[id(tensor)]][t] for tensor in own) for t, own in enumerate(private)],
    )


def per_task_gradients(
    losses: Sequence[Tensor],
    shared: Sequence[Tensor],
    private: Sequence[Sequence[Tensor]] | None = None,
    mode: str = "loop",
    retain_graph: bool = False,
) -> TaskGradients:
    """Gradients of each of the T scalar ``losses``: w.r.t. ``shared`` as a T × d Jacobian, and
    w.r.t. ``private[t]`` for loss t alone (a head's parameters, the method's own parameters).

    Each loss should be the task's own loss tensor, not an element of a stacked vector: a backward
    from ``stacked[t]`` also runs every other task's head with zero gradients. Tensors a loss does
    not depend on get zeros.
    """
    if not shared:
        raise ValueError("per_task_gradients needs at least one shared tensor")
    private = [()] * len(losses) if private is None else private
    if len(private) != len(losses):
        raise ValueError(f"{len(losses)} losses but private tensors for {len(private)} tasks")
    if mode == "loop":
        return _loop(losses, shared, private, retain_graph)
    if mode == "batched":
        return _batched(losses, shared, private, retain_graph)
    raise ValueError(f"per_task_gradients takes mode 'loop' or 'batched', got {mode!r}")


class JacobianEngine:
    """The per-task gradient engine of one training run.

    With ``batched``, the first call keeps the graph so that, if the vmapped backward fails (an op
    without a batching rule, a custom ``autograd.Function`` without vmap support), the engine can
    log the error once and compute the same gradients by the loop from then on.
    """

    def __init__(self, mode: str, device: torch.device, num_tasks: int) -> None:
        self.mode = resolve_jacobian_mode(mode, device, num_tasks)
        self._batched_verified = False

    def __call__(
        self,
        losses: Sequence[Tensor],
        shared: Sequence[Tensor],
        private: Sequence[Sequence[Tensor]] | None = None,
    ) -> TaskGradients:
        if self.mode == "batched" and not self._batched_verified:
            try:
                result = per_task_gradients(losses, shared, private, "batched", retain_graph=True)
            except RuntimeError as error:
                log.warning(
                    "batched per-task gradients failed, using the loop engine for this run: %s",
                    error,
                )
                self.mode = "loop"
            else:
                self._batched_verified = True
                return result
        return per_task_gradients(losses, shared, private, self.mode)


def flatten_jacobian(per_input: Sequence[Tensor]) -> Tensor:
    """Concatenate per-input gradient stacks (T, *shape) into one T × d matrix."""
    return torch.cat([g.reshape(g.shape[0], -1) for g in per_input], dim=1)


def unflatten_into_grads(direction: Tensor, parameters: Sequence[Tensor]) -> None:
    """Hand a flat d-vector to ``parameters`` as their ``.grad``: views into it, no copies.

    ``direction`` must be a fresh tensor (a method's output, never its kept state), since the
    optimizer then reads it as the gradients.
    """
    offset = 0
    for parameter in parameters:
        size = parameter.numel()
        chunk = direction[offset : offset + size].view_as(parameter)
        if parameter.grad is None:
            parameter.grad = chunk
        else:
            parameter.grad.copy_(chunk)
        offset += size
    if offset != direction.numel():
        raise ValueError(f"direction has {direction.numel()} entries for {offset} parameters")
