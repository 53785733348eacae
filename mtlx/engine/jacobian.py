"""Per-task gradients: the T × d Jacobian of the task losses with respect to some tensors.

Two exact engines:

- ``loop``: one ``autograd.grad`` call per task (T backward passes, retaining the graph), each
  from the task's own loss tensor;
- ``batched``: one backward with ``is_grads_batched`` (vmap over the T one-hot cotangents).

``auto`` is the loop on every device, because it measured faster everywhere (README,
"Per-task gradients"): batched/loop = 1.1–1.6 on 2 CPU cores; on an H100 1.18 for SegNet at T = 3
and 1.15 for ResNet-18 at T = 40, where the loop also beat a LibMTL-style loop (305 vs 322 ms).
Either engine can be forced (``--jacobian loop|batched``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

JACOBIAN_MODES = ("auto", "loop", "batched")


def resolve_jacobian_mode(mode: str, device: torch.device, num_tasks: int) -> str:
    """The engine for ``mode`` on ``device`` with ``num_tasks`` tasks (``auto``: see above)."""
    if mode not in JACOBIAN_MODES:
        raise ValueError(f"jacobian mode must be one of {', '.join(JACOBIAN_MODES)}, got {mode!r}")
    return "loop" if mode == "auto" else mode


def task_gradients(
    losses: Sequence[Tensor],
    inputs: Sequence[Tensor],
    mode: str = "loop",
    retain_graph: bool = True,
) -> list[Tensor]:
    """Gradients of each of the T ``losses`` w.r.t. ``inputs``: one tensor (T, *input.shape) each.

    ``losses`` are T scalars: each task's own loss tensor, or the elements of a stacked vector.

    Inputs a loss does not depend on get zeros (a head's parameters for another task's loss).
    """
    if mode == "loop":
        rows = [
            torch.autograd.grad(
                loss,
                inputs,
                retain_graph=retain_graph or t < len(losses) - 1,
                allow_unused=True,
                materialize_grads=True,
            )
            for t, loss in enumerate(losses)
        ]
        return [torch.stack(per_input) for per_input in zip(*rows, strict=True)]
    if mode == "batched":
        # One vmapped backward over the T one-hot cotangents of the stacked losses: the stack is
        # traversed once, not once per task.
        stacked = losses if isinstance(losses, Tensor) else torch.stack(list(losses))
        cotangents = torch.eye(len(stacked), dtype=stacked.dtype, device=stacked.device)
        return list(
            torch.autograd.grad(
                stacked,
                inputs,
                grad_outputs=cotangents,
                is_grads_batched=True,
                retain_graph=retain_graph,
                allow_unused=True,
                materialize_grads=True,
            )
        )
    raise ValueError(f"task_gradients takes mode 'loop' or 'batched', got {mode!r}")


def flatten_jacobian(per_input: Sequence[Tensor]) -> Tensor:
    """Concatenate per-input gradient stacks (T, *shape) into one T × d matrix."""
    return torch.cat([g.reshape(g.shape[0], -1) for g in per_input], dim=1)


def unflatten_into_grads(direction: Tensor, parameters: Sequence[Tensor]) -> None:
    """Write a flat d-vector into ``parameter.grad`` (one view per parameter, no host copies)."""
    offset = 0
    for parameter in parameters:
        size = parameter.numel()
        chunk = direction[offset : offset + size].view_as(parameter)
        if parameter.grad is None:
            parameter.grad = chunk.clone()
        else:
            parameter.grad.copy_(chunk)
        offset += size
    if offset != direction.numel():
        raise ValueError(f"direction has {direction.numel()} entries for {offset} parameters")
